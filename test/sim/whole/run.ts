// The whole-node simulator's command line (`make sim`): many seeds on worker
// threads with progress, and for a failing seed its violation, the events
// before it and the command that replays it.
//
//   node dist/test/sim/whole/run.js --seeds 20000 [--first 1] [--workers 2]
//   node dist/test/sim/whole/run.js --seed 1234 [--plant NAME] [--no-lease-reads]

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Chunk, runOnWorkers, simulatorEntry } from '../worker-pool.js';
import { DEFAULT_WHOLE, formatWholeFailure, runWholeSeed, type WholeOptions, type WholeResult } from './whole-sim.js';

interface ChunkResult {
  readonly seeds: number;
  readonly failures: WholeResult[];
  readonly totals: Record<string, number>;
}

async function runChunk(chunk: Chunk<WholeOptions>): Promise<ChunkResult> {
  const failures: WholeResult[] = [];
  const totals: Record<string, number> = {};
  for (let seed = chunk.first; seed < chunk.first + chunk.count; seed++) {
    const r = await runWholeSeed(seed, chunk.options);
    for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
    if (!r.ok) failures.push(r);
  }
  return { seeds: chunk.count, failures, totals };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string', default: '1000' },
      first: { type: 'string', default: '1' },
      workers: { type: 'string', default: '2' },
      plant: { type: 'string' },
      'no-lease-reads': { type: 'boolean', default: false },
    },
  });
  const options: WholeOptions = {
    ...DEFAULT_WHOLE,
    ...(values.plant !== undefined ? { plant: values.plant } : {}),
    ...(values['no-lease-reads'] ? { leaseReads: false } : {}),
  };
  if (values.seed !== undefined) {
    const r = await runWholeSeed(Number(values.seed), options);
    if (!r.ok) {
      console.log(formatWholeFailure(r));
      return 1;
    }
    console.log([...r.trace, `seed ${r.seed} ok: ${JSON.stringify(r.stats)}`].join('\n'));
    return 0;
  }
  const total = Number(values.seeds);
  const first = Number(values.first);
  const workers = Math.max(1, Number(values.workers));
  const started = Date.now();
  let seeds = 0;
  const totals: Record<string, number> = {};
  const failures: WholeResult[] = [];
  await runOnWorkers<WholeOptions, ChunkResult>({ script: fileURLToPath(import.meta.url), first, total, workers, maxChunk: 100, options }, (result) => {
    seeds += result.seeds;
    for (const [k, v] of Object.entries(result.totals)) totals[k] = (totals[k] ?? 0) + v;
    for (const f of result.failures) {
      failures.push(f);
      console.log(`\n${formatWholeFailure(f)}`);
    }
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const figures = Object.entries(totals)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  console.log(`whole-node simulation: ${seeds} seeds (${first}..${first + total - 1}) in ${secs} s on ${workers} workers: ${failures.length} failed; ${figures}`);
  return failures.length === 0 ? 0 : 1;
}

simulatorEntry<WholeOptions, ChunkResult>(main, runChunk);
