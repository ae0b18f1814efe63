// Connection limits of a node's gRPC ports (issue 19). The TLS server that
// grpc-js binds itself takes no connection limit and no handshake timeout
// (Node's 120 s apply), and a connection that completed TLS but never speaks
// HTTP/2 has no bound at all: 500 such sockets were held for as long as
// their client kept them.
//
// So the node owns the listening socket: a TLS server of its own, with a
// connection limit (one connection past it is closed as soon as it is
// accepted) and a handshake timeout, hands a connection to grpc-js (through
// Server.createConnectionInjector, as a plain HTTP/2 connection over the
// TLSSocket: grpc-js reads the peer's certificate and address from that
// socket as it does for its own) only once its first HTTP/2 bytes have
// arrived. From then on grpc-js bounds it: streams per connection, the idle
// timeout (no calls) and keepalive pings. An unanswered ping closes a client
// that stopped reading, which the idle timeout's graceful close may wait on
// for ever.

import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Server as NetServer } from 'node:net';
import { type Server as TlsServer, type TLSSocket, createServer } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { TlsMaterial } from './tls.js';

export interface ConnectionLimits {
  /** Connections the client port holds at once, handshakes included; the next one is closed when accepted. */
  readonly clientMaxConnections: number;
  /** The same for the peer port. */
  readonly peerMaxConnections: number;
  /** The same for the HTTPS operations port (/metrics, the status page). */
  readonly metricsMaxConnections: number;
  /**
   * The same for the REST gateway (src/rest/gateway.ts). HTTP/1.1 carries one
   * call at a time on a connection, so a client's calls in flight are its
   * connections: the Azure SDKs open one per concurrent request.
   */
  readonly restMaxConnections: number;
  /** Calls open at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); the client holds more back. */
  readonly maxConcurrentStreams: number;
  /** For TLS to complete, and again for the first HTTP/2 bytes after it (or the first HTTP request's headers). */
  readonly handshakeTimeoutMs: number;
  /** A connection with no call for this long is closed (a GOAWAY first). */
  readonly idleTimeoutMs: number;
  /** The node pings every connection this often... */
  readonly keepaliveTimeMs: number;
  /** ...and closes one whose answer takes longer than this. */
  readonly keepaliveTimeoutMs: number;
}

/**
 * Production defaults. Streams are far above the admission control's
 * capacity per connection (src/server/admission.ts: 64 calls in progress,
 * 64 waiting), so that a client sending more is answered THROTTLED with a
 * retry-after rather than held back silently by its own HTTP/2 stack; and
 * above a burst a client sends before it has read the node's SETTINGS: the
 * streams past the limit then are reset (grpc-js reports RESOURCE_EXHAUSTED
 * with no reason), which a limit of 1,000 did to 667 of a 5,000-call burst
 * (scripts/overload.ts). An SDK channel that the idle timeout closed
 * reconnects on its next call.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  clientMaxConnections: 1000,
  peerMaxConnections: 200,
  metricsMaxConnections: 32,
  restMaxConnections: 1000,
  maxConcurrentStreams: 10_000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
};

/** What grpc-js bounds itself, once a connection is HTTP/2. */
export function grpcServerOptions(limits: ConnectionLimits): grpc.ServerOptions {
  return {
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.max_connection_idle_ms': limits.idleTimeoutMs,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
  };
}

export type RefusalReason = 'limit' | 'handshake_timeout' | 'tls_error';

export interface PortOptions {
  /** The peer port asks for a certificate of the cluster CA (as tls.ts's peerPortCredentials); the client port for none. */
  readonly port: 'client' | 'peer';
  /** host:port */
  readonly address: string;
  readonly tls: TlsMaterial;
  readonly limits: ConnectionLimits;
  readonly logger: Logger;
  /** Told of each connection closed before grpc-js saw it: metrics. */
  readonly onRefused?: (reason: RefusalReason) => void;
  /** Sees each HTTP/2 stream before grpc-js does; true when it answered the stream itself (admission control). */
  readonly refuseEarly?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;
  /** Protocols served beside gRPC, by ALPN name: each takes its connections once TLS is done (the peer port's Raft frames). */
  readonly protocols?: ReadonlyMap<string, (socket: TLSSocket) => void>;
}

/**
 * Puts `refuseEarly` in front of grpc-js's call handler on the HTTP/2 server
 * grpc-js made for an injector. grpc-js gives no handle on that server: it
 * is the newest in a private map (Server.http2Servers, grpc-js 1.14). Were
 * that to change, the node refuses to start rather than run without its gate.
 */
function gateStreams(grpcServer: grpc.Server, refuseEarly: NonNullable<PortOptions['refuseEarly']>): void {
  const servers = (grpcServer as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  const h2 = servers instanceof Map ? [...servers.keys()].at(-1) : undefined;
  const handlers = h2?.listeners('stream') ?? [];
  if (h2 === undefined || handlers.length !== 1) throw new Error('cannot find the HTTP/2 server of grpc-js (Server.http2Servers) to put admission control in front of it');
  const handle = handlers[0] as (this: Http2Server, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => void;
  h2.removeAllListeners('stream');
  h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
    if (!refuseEarly(stream, headers)) handle.call(h2, stream, headers, ...rest);
  });
}

/** host:port as Node's listen and connect take them: a bracketed IPv6 host without its brackets. */
export function hostAndPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
}

/**
 * Listens on host:port (port 0: any free one). From then on, failing to
 * accept a connection (EMFILE: out of file descriptors) is logged: no
 * reason to stop the node.
 */
export async function listenOn(server: NetServer, address: string, logger: Logger): Promise<void> {
  const { host, port } = hostAndPort(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.warn({ err, address }, 'failed to accept a connection'));
}

/** A gRPC port: the node's listening TLS server in front of a grpc-js server. */
export class GrpcPort {
  private constructor(
    private readonly server: TlsServer,
    private readonly waiting: Set<TLSSocket>,
  ) {}

  /** Listens on the address; grpc-js serves each connection that gets through. */
  static async open(grpcServer: grpc.Server, o: PortOptions): Promise<GrpcPort> {
    // Not plaintext: every connection handed over is a TLSSocket that has
    // completed TLS with this port's certificate (and, on the peer port, the
    // caller's); "insecure" only tells grpc-js not to wrap it in TLS again.
    const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    if (o.refuseEarly !== undefined) gateStreams(grpcServer, o.refuseEarly);
    const refused = o.onRefused ?? (() => undefined);
    const waiting = new Set<TLSSocket>();
    const server = createServer({
      ca: o.tls.ca,
      cert: o.tls.cert,
      key: o.tls.key,
      // The peer port takes only the cluster's certificates. The client port asks for one
      // too but takes clients without: a node's certificate there marks a node relaying
      // its clients' calls, which admission control bounds as a whole node (admission.ts).
      requestCert: true,
      rejectUnauthorized: o.port === 'peer',
      ALPNProtocols: ['h2', ...(o.protocols?.keys() ?? [])],
      handshakeTimeout: o.limits.handshakeTimeoutMs,
    });
    server.maxConnections = o.port === 'peer' ? o.limits.peerMaxConnections : o.limits.clientMaxConnections;
    server.on('drop', () => refused('limit'));
    // Node only reports a handshake that failed or timed out: closing it is ours to do.
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      refused(err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'handshake_timeout' : 'tls_error');
      socket.destroy();
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      // A reset after the handshake must not crash the node; grpc-js's session reports its own.
      socket.on('error', () => undefined);
      const other = typeof socket.alpnProtocol === 'string' ? o.protocols?.get(socket.alpnProtocol) : undefined;
      if (other !== undefined) return void other(socket);
      waiting.add(socket);
      const timer = setTimeout(() => {
        refused('handshake_timeout');
        socket.destroy();
      }, o.limits.handshakeTimeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        waiting.delete(socket);
      });
      socket.once('readable', () => {
        if (socket.destroyed) return;
        clearTimeout(timer);
        waiting.delete(socket);
        // Readable with nothing to read: the client ended without a byte.
        if (socket.readableLength === 0) return void socket.destroy();
        // Node's HTTP/2 session takes what is already buffered, then reads the socket itself.
        injector.injectConnection(socket);
      });
    });
    await listenOn(server, o.address, o.logger);
    return new GrpcPort(server, waiting);
  }

  /**
   * Stops accepting and closes the connections grpc-js has not seen; the
   * grpc-js server's own shutdown drains the others.
   */
  close(): void {
    this.server.close();
    for (const socket of this.waiting) socket.destroy();
  }
}
