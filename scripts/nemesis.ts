// Jepsen-style runs against real local clusters (issue 6): each run starts a
// fresh cluster, drives the register workload under a seeded nemesis, and
// checks the history. A failing run prints its seed, the schedule and the
// smallest failing sub-history, keeps the nodes' logs, and the exit code is 1.
//
//   node dist/scripts/nemesis.js [--runs N] [--time S] [--seed FIRST] [--two-regions]

import { parseArgs } from 'node:util';

import { failureReport, summary } from '../test/jepsen/report.js';
import { runOnce } from '../test/jepsen/runner.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1' },
      time: { type: 'string', default: '30' },
      seed: { type: 'string' },
      'two-regions': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const timeS = Number(values.time);
  if (!Number.isInteger(runs) || runs < 1 || !(timeS > 0)) throw new Error('--runs must be a positive integer and --time a positive number of seconds');
  // Without --seed, runs differ from one invocation to the next; the seed printed replays one.
  const first = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 1_000_000);
  let failed = 0;
  let ops = 0;
  let faults = 0;
  for (let i = 0; i < runs; i++) {
    const seed = first + i;
    console.log(`run ${i + 1}/${runs}: seed ${seed}, ${timeS}s${values['two-regions'] ? ', two regions' : ''}`);
    const r = await runOnce({ seed, timeMs: timeS * 1000, twoRegions: values['two-regions'], log: (l) => console.log(l) });
    ops += r.operations;
    faults += r.faults;
    console.log(summary(r));
    if (!r.ok) {
      failed++;
      console.log(failureReport(r));
    }
  }
  console.log(`${runs} runs, ${ops} operations checked, ${faults} faults injected, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  },
);
