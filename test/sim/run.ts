// The simulator's command line (`make sim`): runs many seeds on worker
// threads, shows progress, and for a failing seed prints the violation, the
// events that led to it and the command that replays it.
//
//   node dist/test/sim/run.js --seeds 20000 [--first 1] [--workers 2]
//   node dist/test/sim/run.js --seed 1234 [--verbose]

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as core from '../../src/raft/index.js';
import { formatFailure, runSeed, type SimResult } from './simulation.js';
import { type Chunk, runOnWorkers, simulatorEntry } from './worker-pool.js';

interface ChunkResult {
  readonly seeds: number;
  readonly failures: SimResult[];
  readonly writes: number;
  readonly reads: number;
  readonly faults: number;
  readonly checks: number;
}

function runChunk(chunk: Chunk<undefined>): ChunkResult {
  const failures: SimResult[] = [];
  let writes = 0;
  let reads = 0;
  let faults = 0;
  let checks = 0;
  for (let seed = chunk.first; seed < chunk.first + chunk.count; seed++) {
    const r = runSeed(seed, core);
    writes += r.stats.acknowledgedWrites;
    reads += r.stats.readsServed;
    faults += r.stats.faults;
    checks += r.stats.checks;
    if (!r.ok) failures.push(r);
  }
  return { seeds: chunk.count, failures, writes, reads, faults, checks };
}

function printFailure(r: SimResult): void {
  console.log(`\n${formatFailure(r)}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string', default: '1000' },
      first: { type: 'string', default: '1' },
      workers: { type: 'string', default: '2' },
      verbose: { type: 'boolean', default: false },
    },
  });
  if (values.seed !== undefined) {
    const r = runSeed(Number(values.seed), core, { verbose: values.verbose });
    if (!r.ok) {
      printFailure(r);
      return 1;
    }
    console.log(`seed ${r.seed} ok: ${JSON.stringify(r.stats)}`);
    return 0;
  }
  const total = Number(values.seeds);
  const first = Number(values.first);
  const workers = Math.max(1, Number(values.workers));
  const started = Date.now();
  const sum = { seeds: 0, writes: 0, reads: 0, faults: 0, checks: 0 };
  const failures: SimResult[] = [];
  await runOnWorkers<undefined, ChunkResult>({ script: fileURLToPath(import.meta.url), first, total, workers, maxChunk: 200, options: undefined }, (result) => {
    sum.seeds += result.seeds;
    sum.writes += result.writes;
    sum.reads += result.reads;
    sum.faults += result.faults;
    sum.checks += result.checks;
    for (const f of result.failures) {
      failures.push(f);
      printFailure(f);
    }
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `${sum.seeds} seeds (${first}..${first + total - 1}) in ${secs} s on ${workers} workers: ` +
      `${failures.length} failed; ${sum.writes} acknowledged writes, ${sum.reads} linearizable reads, ` +
      `${sum.faults} faults, ${sum.checks} checks`,
  );
  return failures.length === 0 ? 0 : 1;
}

simulatorEntry<undefined, ChunkResult>(main, runChunk);
