// RSA private-key operations off the event loop. node:crypto has no
// asynchronous privateEncrypt/privateDecrypt, and each costs about 0.3 ms at
// 2048 bits and several ms at 4096, so they run on the worker pool. The
// KeyObject travels to the worker by postMessage, in memory, like any other
// argument.

import type { KeyObject } from 'node:crypto';
import { runOnPool, workerModule } from './pool.js';

export interface RsaPrivateTask {
  readonly op: 'sign' | 'decrypt';
  readonly key: KeyObject;
  readonly padding: number;
  readonly oaepHash?: string;
  readonly data: Buffer;
}

const WORKER = workerModule('rsa-private-worker');

/** The raw RSA private operation: privateEncrypt for 'sign', privateDecrypt for 'decrypt'. */
export async function rsaPrivate(task: RsaPrivateTask): Promise<Buffer> {
  const out = await runOnPool<Uint8Array>(WORKER, task);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
