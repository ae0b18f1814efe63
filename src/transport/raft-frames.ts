// Raft's messages between the nodes of a region travel as length-prefixed
// frames on TLS connections of their own, not as gRPC calls. A connection
// asks for them by ALPN on the peer port, which serves gRPC (h2) beside
// them. Measured on a 2-core machine, a message through a grpc-js stream
// cost each side more CPU than everything the follower then did with it, and
// HTTP/2 sends from the next turn of the event loop: a hop took 0.5 ms. A
// frame is one write on the socket.
//
// The sender writes frames of one RaftBatch (src/wire/raft-codec.ts) each;
// the receiver writes nothing back, except one frame saying why it refused
// the connection or a message (`REASON: problem`), just before it closes the
// connection.
// A node that was removed from its region hears REMOVED (etcd's peers answer
// a removed member the same way): the leader stops sending to a node once it
// applies the node's removal, so a removed node that missed the commit of its
// own removal would otherwise campaign against refusals forever.

import { type TLSSocket, connect } from 'node:tls';
import { hostAndPort } from './connections.js';
import { type TlsMaterial, expectNode } from './tls.js';

export const RAFT_ALPN = 'keyraft-raft/1';

/** The largest frame either side takes: the largest Raft message (a 12 MiB restore entry with room to spare), as gRPC's limit was. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

const HEADER_BYTES = 4;
const CONNECT_TIMEOUT_MS = 5_000;
/** TCP keepalive finds a peer whose host went away without a word. */
const KEEPALIVE_MS = 10_000;

/** Why a peer refuses a removed node's messages (reason REMOVED); it names the index the peer has applied. */
export function removedProblem(id: string, appliedIndex: number): string {
  return `node ${id} was removed from this region; the refusing node has applied up to index ${appliedIndex}`;
}

/**
 * The index the refusing peer had applied, if the refusal says this node was
 * removed. A node added again since has applied more than a peer that still
 * remembers the removal, and so can tell that the refusal is out of date.
 */
export function removalIndexOf(refusal: string): number | undefined {
  const match = /^REMOVED: .* applied up to index (\d+)$/.exec(refusal);
  return match === null ? undefined : Number(match[1]);
}

export class FrameError extends Error {
  override name = 'FrameError';
}

/** A frame: its length (4 bytes, big-endian), then its bytes. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Cuts a byte stream back into frames, however the stream split them. */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the frame being read, once its header is in. */
  private length: number | undefined;

  constructor(private readonly maxBytes = MAX_FRAME_BYTES) {}

  /** The frames this chunk completes, in order; throws FrameError for a frame longer than the limit. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.length === undefined) {
        if (this.buffered < HEADER_BYTES) break;
        const length = this.take(HEADER_BYTES).readUInt32BE(0);
        if (length > this.maxBytes) throw new FrameError(`a frame of ${length} bytes is over the limit of ${this.maxBytes}`);
        this.length = length;
      }
      if (this.buffered < this.length) break;
      frames.push(this.take(this.length));
      this.length = undefined;
    }
    return frames;
  }

  /** The next n buffered bytes, copied: a frame must not keep the socket's read buffer alive. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const first = this.chunks[0]!;
      const k = Math.min(first.length, n - at);
      first.copy(out, at, 0, k);
      at += k;
      if (k === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}

/**
 * A connection for Raft frames to the node `expectedNode` at host:port,
 * presenting this node's certificate. It is open to writes at once (TLS
 * holds them until the handshake is done); it is destroyed if the handshake
 * takes too long or the other end does not speak frames.
 */
export function connectForFrames(address: string, tls: TlsMaterial, expectedNode: string): TLSSocket {
  const socket = connect({
    ...hostAndPort(address),
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    ALPNProtocols: [RAFT_ALPN],
    checkServerIdentity: expectNode(expectedNode),
  });
  tuneForFrames(socket);
  socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`no TLS connection to ${address} within ${CONNECT_TIMEOUT_MS} ms`)));
  socket.once('secureConnect', () => {
    socket.setTimeout(0);
    if (socket.alpnProtocol !== RAFT_ALPN) socket.destroy(new Error(`${address} does not take ${RAFT_ALPN} connections`));
  });
  return socket;
}

/** Small frames go out at once (no Nagle), and a dead peer is found. */
export function tuneForFrames(socket: TLSSocket): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, KEEPALIVE_MS);
}
