// The short version of `make nemesis`: two seeds against real clusters, each
// 16 s of faults and then, if it has not yet done the work checked below (a
// slow machine does less), a calm in which the workload goes on until it
// has. One seed runs a single region of three nodes, the other two regions
// (3 + 3) whose first fault kills the whole primary region, so that reads
// served by the failed-over secondary are recorded and checked. Every check
// must pass, and the run must have done real work — a harness that records
// nothing, or a nemesis that never fires, would pass trivially. The recorded
// history must also be tight enough to catch a stale read planted into it, or
// the passes would mean little.

import t from 'tap';
import { checkSecondaryReads } from './checks.js';
import { checkLinearizability } from './linearizability.js';
import { plantStaleRead } from './fixtures.js';
import { isRegisterOp, type RegisterOp } from './history.js';
import { failureReport, summary } from './report.js';
import { type RunProgress, runOnce, tally } from './runner.js';

// 16 s of faults, and on a slow machine up to 90 s more of work until the
// run has done what it is checked for below.
const MIN_TIME_MS = 16_000;
const MAX_TIME_MS = 106_000;
t.setTimeout(600_000);

/** What a run must have done for its passes to mean anything: [done, what]. */
function workDone(p: RunProgress, twoRegions: boolean): [boolean, string][] {
  const r = tally(p);
  const done: [boolean, string][] = [
    [r.operations > 500, `real work was done (${r.operations} operations)`],
    [r.okOperations > 200, `many operations were acknowledged (${r.okOperations})`],
    [r.faults > 0, `faults were injected (${r.faults})`],
    [p.history.some((op) => op.kind === 'versions'), 'version lists were observed'],
    [r.signatures > 20, `keys were used to sign (${r.signatures} signatures, checked locally)`],
    [p.history.some((op) => op.kind === 'key' && op.action === 'delete' && op.outcome === 'ok'), 'keys were deleted'],
    [p.history.some((op) => op.kind === 'key' && op.action === 'rotate' && op.outcome === 'ok'), 'keys were rotated'],
  ];
  if (twoRegions) done.push([r.secondaryReads > 0, `the failed-over secondary served reads (${r.secondaryReads})`]);
  return done;
}

for (const { seed, twoRegions } of [
  { seed: 101, twoRegions: false },
  { seed: 202, twoRegions: true },
]) {
  t.test(`nemesis seed ${seed}${twoRegions ? ', two regions' : ''}`, async (t) => {
    const r = await runOnce({
      seed,
      timeMs: MIN_TIME_MS,
      untilEnough: { enough: (p) => workDone(p, twoRegions).every(([done]) => done), maxTimeMs: MAX_TIME_MS },
      twoRegions,
      firstFault: twoRegions ? 'kill-region' : undefined,
    });
    t.comment(summary(r));
    t.ok(r.ok, r.ok ? 'every check passes' : failureReport(r));
    for (const [done, what] of workDone(r, twoRegions)) t.ok(done, what);
    t.equal(Object.keys(r.finalStates).length, twoRegions ? 6 : 3, 'every node gave its final state');

    const registers = r.history.filter((op): op is RegisterOp => isRegisterOp(op));
    const acked = registers.filter((op) => op.kind === 'write' && op.outcome === 'ok');
    t.ok(acked.length > 0 && acked.every((w) => w.primaryIndex !== undefined), `every acknowledged write carries its commit index (${acked.length})`);
    const planted = plantStaleRead(registers.filter((op) => !op.secondary).slice(0, 400), seed, 3);
    if (planted !== undefined) {
      t.not(checkLinearizability(planted.history).ok, true, 'a stale read planted into the recorded history is caught');
    }
    if (!twoRegions) return;
    const secondary = registers.filter((op) => op.secondary !== undefined && op.outcome === 'ok');
    // The run's other checks passed, so its logs are gone: its schedule is what is left to read.
    if (secondary.length === 0) t.comment(`schedule of seed ${seed}:\n${r.schedule}`);
    const top = secondary.reduce((a, b) => (b.secondary!.primaryIndex > a.secondary!.primaryIndex ? b : a), secondary[0]!);
    t.ok(top !== undefined && top.secondary!.primaryIndex > 0, 'the primary index is recorded');
    if (top !== undefined) {
      // The same client reading from that region later, at an older index: must be caught.
      const end = r.history.reduce((m, op) => Math.max(m, op.completeMs ?? op.invokeMs), 0);
      const older: RegisterOp = { ...top, invokeMs: end + 1, completeMs: end + 2, secondary: { ...top.secondary!, primaryIndex: top.secondary!.primaryIndex - 1 } };
      t.notOk(checkSecondaryReads([...registers, older]).ok, 'a secondary read older than one the client saw is caught');
    }
    // A secondary read given the value of a write committed above its index: must be caught.
    const ahead = secondary
      .map((read) => ({ read, later: acked.find((w) => w.key === read.key && w.primaryIndex! > read.secondary!.primaryIndex && w.value !== read.value) }))
      .find((x) => x.later !== undefined);
    if (ahead !== undefined) {
      const future: RegisterOp = { ...ahead.read, value: ahead.later!.value ?? null };
      t.notOk(checkSecondaryReads(registers.map((op) => (op === ahead.read ? future : op))).ok, 'a secondary read from the future is caught');
    }
  });
}
