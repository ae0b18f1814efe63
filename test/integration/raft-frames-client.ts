// A peer's side of a connection for Raft frames (src/transport/raft-frames.ts),
// for tests that send a node what a peer, or an impostor, could.

import { FrameReader, connectForFrames, encodeFrame } from '../../src/transport/raft-frames.js';
import type { TlsMaterial } from '../../src/transport/tls.js';

export interface FramesOutcome {
  /** The frame the node sent back before closing: why it refused. */
  readonly refusal?: string;
  /** Whether the connection closed within the wait. */
  readonly closed: boolean;
}

/**
 * Connects to `node`'s peer port at `address` with `tls` (only a CA: no
 * client certificate), sends each payload as a frame (or as raw bytes), and
 * waits for an answer.
 */
export function sendFrames(address: string, node: string, tls: TlsMaterial | { ca: Buffer }, payloads: readonly Uint8Array[], opts: { raw?: boolean; waitMs?: number } = {}): Promise<FramesOutcome> {
  return new Promise((resolve) => {
    const socket = connectForFrames(address, tls as TlsMaterial, node);
    const reader = new FrameReader();
    let refusal: string | undefined;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...(refusal === undefined ? {} : { refusal }), closed });
    };
    const timer = setTimeout(() => done(false), opts.waitMs ?? 1500);
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) refusal = f.toString('utf8');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => done(true));
    for (const p of payloads) socket.write(opts.raw === true ? p : encodeFrame(p));
  });
}
