// The short version of `make nemesis`: two seeds of about 20 s against a real
// three-node cluster. Every check must pass, and the run must have done real
// work — a harness that records nothing, or a nemesis that never fires, would
// pass trivially. The recorded history must also be tight enough to catch a
// stale read planted into it, or the passes would mean little.

import t from 'tap';
import { checkLinearizability } from './linearizability.js';
import { plantStaleRead } from './fixtures.js';
import { isRegisterOp, type RegisterOp } from './history.js';
import { failureReport, summary } from './report.js';
import { runOnce } from './runner.js';

t.setTimeout(170_000);

for (const seed of [101, 202]) {
  t.test(`nemesis seed ${seed}`, async (t) => {
    const r = await runOnce({ seed, timeMs: 20_000 });
    t.comment(summary(r));
    t.ok(r.ok, r.ok ? 'every check passes' : failureReport(r));
    t.ok(r.operations > 500, `real work was done (${r.operations} operations)`);
    t.ok(r.okOperations > 200, `many operations were acknowledged (${r.okOperations})`);
    t.ok(r.faults > 0, `faults were injected (${r.faults})`);
    t.ok(r.history.some((op) => op.kind === 'versions'), 'version lists were observed');
    t.equal(Object.keys(r.finalStates).length, 3, 'every node gave its final state');

    const registers = r.history.filter((op): op is RegisterOp => isRegisterOp(op));
    const planted = plantStaleRead(registers.slice(0, 400), seed, 3);
    if (planted !== undefined) {
      t.not(checkLinearizability(planted.history).ok, true, 'a stale read planted into the recorded history is caught');
    }
  });
}
