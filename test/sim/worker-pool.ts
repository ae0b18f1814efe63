// Runs a simulator's seeds on worker threads (both simulators' `run.ts`): the
// seeds are cut into chunks, each worker takes the next chunk when it is done,
// and progress is printed every few seconds.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** What a worker is asked: a range of seeds, and the run's options. */
export interface Chunk<O> {
  readonly first: number;
  readonly count: number;
  readonly options: O;
}

/** What a worker answers for a chunk: at least how many seeds it ran and which failed. */
export interface ChunkOutcome {
  readonly seeds: number;
  readonly failures: readonly unknown[];
}

export interface PoolRun<O> {
  /** The worker script: the caller's own module, started with workerData 'worker'. */
  readonly script: string;
  readonly first: number;
  readonly total: number;
  readonly workers: number;
  readonly maxChunk: number;
  readonly options: O;
}

export async function runOnWorkers<O, R extends ChunkOutcome>(run: PoolRun<O>, onResult: (r: R) => void): Promise<void> {
  const { first, total } = run;
  const chunkSize = Math.max(1, Math.min(run.maxChunk, Math.ceil(total / (run.workers * 20))));
  const chunks: Chunk<O>[] = [];
  for (let s = first; s < first + total; s += chunkSize) chunks.push({ first: s, count: Math.min(chunkSize, first + total - s), options: run.options });
  const started = Date.now();
  let seeds = 0;
  let failed = 0;
  let lastReport = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, run.workers) }, async () => {
      const worker = new Worker(run.script, { workerData: 'worker' });
      try {
        for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
          const result = await new Promise<R>((resolve, reject) => {
            // One listener of each per chunk, removed with it: they would pile up over thousands of chunks.
            const failedWorker = (e: Error) => reject(e);
            worker.once('error', failedWorker);
            worker.once('message', (r: R) => {
              worker.off('error', failedWorker);
              resolve(r);
            });
            worker.postMessage(chunk);
          });
          seeds += result.seeds;
          failed += result.failures.length;
          onResult(result);
          const now = Date.now();
          if (now - lastReport > 5000 || seeds === total) {
            lastReport = now;
            const secs = (now - started) / 1000;
            console.log(`${seeds}/${total} seeds, ${failed} failed, ${secs.toFixed(0)} s elapsed, ~${(((total - seeds) * secs) / seeds).toFixed(0)} s left`);
          }
        }
      } finally {
        await worker.terminate();
      }
    }),
  );
}

/**
 * A simulator's entry point: on the main thread, runs `main` and exits with its
 * code (2 when it throws); on a pool worker, answers each chunk with `runChunk`.
 */
export function simulatorEntry<O, R>(main: () => Promise<number>, runChunk: (chunk: Chunk<O>) => R | Promise<R>): void {
  if (isMainThread) {
    main().then(
      (code) => process.exit(code),
      (e: unknown) => {
        console.error(e);
        process.exit(2);
      },
    );
  } else if (workerData === 'worker') {
    parentPort!.on('message', (chunk: Chunk<O>) => void Promise.resolve(runChunk(chunk)).then((r) => parentPort!.postMessage(r)));
  }
}
