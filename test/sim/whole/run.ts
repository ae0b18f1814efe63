// The whole-node simulator's command line: many seeds, progress, and for a
// failing seed its violation, the events before it and the replay command.
//
//   node dist/test/sim/whole/run.js --seeds 1000 [--first 1]
//   node dist/test/sim/whole/run.js --seed 1234

import { parseArgs } from 'node:util';
import { formatWholeFailure, runWholeSeed } from './whole-sim.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '100' }, first: { type: 'string', default: '1' }, seed: { type: 'string' }, plant: { type: 'string' } } });
  const first = Number(values.seed ?? values.first);
  const count = values.seed !== undefined ? 1 : Number(values.seeds);
  const started = Date.now();
  let failures = 0;
  let writes = 0;
  let reads = 0;
  let faults = 0;
  for (let seed = first; seed < first + count; seed++) {
    const r = await runWholeSeed(seed, values.plant !== undefined ? { durationMs: 4000, nodes: 3, plant: values.plant } : undefined);
    writes += r.stats.acknowledgedWrites;
    reads += r.stats.readsChecked;
    faults += r.stats.faults;
    if (!r.ok) {
      failures++;
      console.log(formatWholeFailure(r));
    }
    if (count === 1) console.log([...r.trace, JSON.stringify(r.stats)].join('\n'));
    if ((seed - first + 1) % 50 === 0) process.stderr.write(`${seed - first + 1}/${count} seeds, ${failures} failed, ${Math.round((Date.now() - started) / 1000)} s\n`);
  }
  console.log(`${count} seeds, ${failures} with a violation; ${writes} acknowledged writes, ${reads} reads checked, ${faults} faults, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = failures > 0 ? 1 : 0;
}

void main();
