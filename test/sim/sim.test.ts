// Runs the deterministic cluster simulation over a range of seeds. Each seed
// is a different storm of faults; any safety or liveness violation fails the
// test with the seed and the command that replays it.

import t from 'tap';
import * as core from '../../src/raft/index.js';
import { formatFailure, runSeed } from './simulation.js';

const FIRST_SEED = 1;
const SEEDS = Number(process.env.SIM_SEEDS ?? 600);

t.test(`simulation: ${SEEDS} seeds find no violation`, async (t) => {
  let writes = 0;
  let reads = 0;
  let faults = 0;
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const r = runSeed(seed, core);
    writes += r.stats.acknowledgedWrites;
    reads += r.stats.readsServed;
    faults += r.stats.faults;
    if (!r.ok) t.fail(formatFailure(r));
  }
  // The runs did real work: writes acknowledged, reads served, faults injected.
  t.ok(writes > SEEDS * 20, `${writes} acknowledged writes`);
  t.ok(reads > SEEDS * 10, `${reads} linearizable reads`);
  t.ok(faults > SEEDS * 5, `${faults} faults injected`);
});

t.test('a seed replays exactly', async (t) => {
  const a = runSeed(42, core);
  const b = runSeed(42, core);
  t.same(b.stats, a.stats);
  t.same(b.trace, a.trace);
});
