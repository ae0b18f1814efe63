// The wait every integration test leans on: a condition that is false must
// be polled again, or a test checks a state it never waited for.

import t from 'tap';
import { eventually } from './wait.js';

t.test('eventually polls until the condition holds, whether it says false or undefined', async (t) => {
  for (const notYet of [false, undefined]) {
    let calls = 0;
    const v = await eventually('the third call', async () => (++calls >= 3 ? 'done' : notYet), 5000, 1);
    t.equal(v, 'done');
    t.equal(calls, 3, `${String(notYet)} means not yet`);
  }
});

t.test('eventually gives up at its bound, naming what it waited for and the last error', async (t) => {
  await t.rejects(eventually('a condition that never holds', async () => false, 50, 5), /timed out waiting for a condition that never holds/);
  await t.rejects(
    eventually('a throwing check', async () => {
      throw new Error('at 3');
    }, 50, 5),
    /timed out waiting for a throwing check: at 3/,
  );
});
