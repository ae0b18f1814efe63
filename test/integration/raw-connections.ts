// Connections that hold a node's sockets and do nothing else, as a careless
// or hostile client would (issue 19): for the connection tests and
// scripts/idle-connections.ts.

import { readdirSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

/**
 * tcp: connects and sends nothing; tls: completes TLS (ALPN h2) and sends
 * nothing; h2: also sends the HTTP/2 preface, then reads what the node sends
 * and answers nothing, not even a ping.
 */
export type IdleKind = 'tcp' | 'tls' | 'h2';

export interface IdleConnection {
  /** Resolves once connected (tcp), or once TLS is complete. */
  readonly ready: Promise<void>;
  /** Resolves when the node closed it (or it failed); never rejects. */
  readonly closed: Promise<void>;
  destroy(): void;
}

/** The client preface of HTTP/2 (RFC 9113 §3.4) and an empty SETTINGS frame. */
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** `tls` is required for the tls and h2 kinds: the CA, and a certificate for the peer port. */
export function openIdle(address: string, kind: IdleKind, tls?: ConnectionOptions): IdleConnection {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  const socket =
    kind === 'tcp'
      ? tcpConnect(port, host)
      : tlsConnect({ ...tls, host, port, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
          if (kind === 'h2') socket.write(PREFACE);
        });
  socket.on('error', () => undefined);
  const ready = new Promise<void>((resolve) => socket.once(kind === 'tcp' ? 'connect' : 'secureConnect', () => resolve()));
  // Reading (and dropping) what arrives is how the node's close is seen.
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { ready, closed, destroy: () => socket.destroy() };
}

/** The open files (descriptors) of a process on this machine. */
export function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
