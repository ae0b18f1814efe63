// One small pool of worker threads (piscina) for the crypto work that must not
// run on the event loop, where it would delay Raft's heartbeats and every
// other request: RSA private operations and ECDSA presignatures. Each kind of
// task is a sibling worker module whose default export runs it.

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';

let pool: Piscina | undefined;

/** The URL of a worker module beside this one: .js when built, .ts under the test runner's loader. */
export function workerModule(name: string): string {
  return new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
}

/** Runs `task` on a worker thread with the default export of `filename` (from workerModule). */
export function runOnPool<T>(filename: string, task: unknown): Promise<T> {
  // One thread per core: the main thread mostly waits on gRPC and the disk meanwhile.
  pool ??= new Piscina({ minThreads: 1, maxThreads: Math.max(1, availableParallelism()), idleTimeout: 30_000 });
  return pool.run(task, { filename }) as Promise<T>;
}
