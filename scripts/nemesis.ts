// Jepsen-style runs against real local clusters (issue 6): each run starts a
// fresh cluster, drives the register workload under a seeded nemesis, and
// checks the history. A failing run prints its seed, the schedule and the
// smallest failing sub-history, keeps the nodes' logs, and the exit code is 1.
//
//   node dist/scripts/nemesis.js [--runs N] [--time S] [--seed FIRST] [--regions one|both|alternate]
//
// --regions: one primary region of 3 nodes, or a primary and a secondary
// region of 3 each (the nemesis then also kills the whole primary region and
// brings it back, and reads served by the failed-over secondary are checked),
// or alternate (the default): odd seeds two regions, even seeds one, so that a
// seed replays the same way. --two-regions is --regions both.
//
// --keep-quorum: two regions whose primary always keeps a quorum (one fault
// at a time, each once the region has rejoined, never the whole region) and the production failoverAfterMs:
// every failover is then a false one, and the run fails if there is any.

import { parseArgs } from 'node:util';

import { failureReport, summary } from '../test/jepsen/report.js';
import { runOnce } from '../test/jepsen/runner.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1' },
      time: { type: 'string', default: '30' },
      seed: { type: 'string' },
      regions: { type: 'string', default: 'alternate' },
      'two-regions': { type: 'boolean', default: false },
      'keep-quorum': { type: 'boolean', default: false },
    },
  });
  const regions = values['two-regions'] ? 'both' : values.regions;
  if (regions !== 'one' && regions !== 'both' && regions !== 'alternate') throw new Error('--regions must be one, both or alternate');
  const twoRegionsFor = (seed: number): boolean => regions === 'both' || (regions === 'alternate' && Math.abs(seed) % 2 === 1);
  const runs = Number(values.runs);
  const timeS = Number(values.time);
  if (!Number.isInteger(runs) || runs < 1 || !(timeS > 0)) throw new Error('--runs must be a positive integer and --time a positive number of seconds');
  // Without --seed, runs differ from one invocation to the next; the seed printed replays one.
  const first = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 1_000_000);
  let failed = 0;
  let ops = 0;
  let faults = 0;
  let signatures = 0;
  let secondaryReads = 0;
  let twoRegionRuns = 0;
  let failovers = 0;
  let longestGap = 0;
  const keepPrimaryQuorum = values['keep-quorum'];
  for (let i = 0; i < runs; i++) {
    const seed = first + i;
    const twoRegions = keepPrimaryQuorum || twoRegionsFor(seed);
    console.log(`run ${i + 1}/${runs}: seed ${seed}, ${timeS}s, ${twoRegions ? 'two regions' : 'one region'}`);
    const r = await runOnce({ seed, timeMs: timeS * 1000, twoRegions, keepPrimaryQuorum, log: (l) => console.log(l) });
    failovers += r.failovers;
    longestGap = Math.max(longestGap, r.longestLeaderGapMs);
    ops += r.operations;
    faults += r.faults;
    signatures += r.signatures;
    secondaryReads += r.secondaryReads;
    if (twoRegions) twoRegionRuns++;
    console.log(summary(r));
    const falseFailovers = keepPrimaryQuorum && r.failovers > 0;
    if (falseFailovers) {
      console.log(`seed ${seed} FAILED: the secondary failed over ${r.failovers} times while the primary kept a quorum (node logs kept in ${r.keptDir})\n${r.schedule}`);
    }
    if (!r.ok) console.log(failureReport(r));
    if (falseFailovers || !r.ok) failed++;
  }
  console.log(
    `${runs} runs (${twoRegionRuns} with two regions), ${ops} operations checked (${signatures} signatures, ` +
      `${secondaryReads} reads from a failed-over secondary), ${faults} faults injected, ${failovers} failovers ` +
      `(longest without a primary leader seen by the secondary: ${longestGap} ms), ${failed} failed`,
  );
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  },
);
