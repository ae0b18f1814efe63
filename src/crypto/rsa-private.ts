// RSA private-key operations off the event loop. node:crypto has no
// asynchronous privateEncrypt/privateDecrypt, and each costs about 0.3 ms at
// 2048 bits and several ms at 4096: run on the event loop under load, they
// would delay Raft's heartbeats and every other request. A small pool of
// worker threads (piscina) runs them instead. The KeyObject travels to the
// worker by postMessage, in memory, like any other argument.

import { availableParallelism } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { Piscina } from 'piscina';

export interface RsaPrivateTask {
  readonly op: 'sign' | 'decrypt';
  readonly key: KeyObject;
  readonly padding: number;
  readonly oaepHash?: string;
  readonly data: Buffer;
}

// The worker is a sibling module: .js when built, .ts under the test runner's loader.
const WORKER = new URL(`./rsa-private-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

let pool: Piscina | undefined;

/** The raw RSA private operation: privateEncrypt for 'sign', privateDecrypt for 'decrypt'. */
export async function rsaPrivate(task: RsaPrivateTask): Promise<Buffer> {
  // One thread per core: the main thread mostly waits on gRPC and the disk meanwhile.
  pool ??= new Piscina({ filename: WORKER, minThreads: 1, maxThreads: Math.max(1, availableParallelism()), idleTimeout: 30_000 });
  const out = (await pool.run(task)) as Uint8Array;
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
