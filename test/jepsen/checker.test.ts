// The linearizability checker on its own: hand-made histories of the classic
// shapes, a differential test against the definition searched exhaustively,
// random histories linearizable by construction (with a planted stale read
// that must be caught), and a large history under a time bound.

import fc from 'fast-check';
import t, { type Test } from 'tap';
import {
  bruteForceLinearizable,
  linearizableHistory,
  plantStaleRead,
  prng,
  randomSteps,
  read,
  secondaryRead,
  type Step,
  write,
} from './fixtures.js';
import { formatHistory, type History, parseHistory, type RegisterOp, serializeHistory, validateHistory } from './history.js';
import { checkLinearizability, type LinearizabilityResult } from './linearizability.js';

const verdict = (h: History): LinearizabilityResult['ok'] => checkLinearizability(h).ok;

function failing(t: Test, h: History): RegisterOp[] {
  const r = checkLinearizability(h);
  if (r.ok !== false) {
    t.fail(`expected a violation, got ${JSON.stringify(r)}\n${formatHistory(h)}`);
    return [];
  }
  return r.minimal;
}

t.test('the empty history and a sequential one are linearizable', async (t) => {
  t.same(checkLinearizability([]), { ok: true, keys: 0, operations: 0 });
  t.equal(verdict([read('x', undefined, 0, 5), write('x', '1', 10, 20), read('x', '1', 30, 40), write('x', '2', 50, 60), read('x', '2', 70, 80)]), true);
});

t.test('a stale read is rejected, and shrunk to the three operations that show it', async (t) => {
  const w1 = write('x', '1', 0, 10, 'ok', 1);
  const w2 = write('x', '2', 20, 30, 'ok', 2);
  const stale = read('x', '1', 40, 50, 'ok', 3);
  const noise = [read('x', undefined, 0, 5, 'ok', 4), read('x', '1', 12, 18, 'ok', 4), read('x', '2', 31, 35, 'ok', 5), write('y', '9', 0, 100)];
  t.same(failing(t, [w1, ...noise, w2, stale]), [w1, w2, stale]);
  t.equal(verdict([w1, w2, read('x', '1', 25, 50)]), true, 'the same read overlapping the second write may see either value');
  t.equal(verdict([w1, w2, read('x', '1', 30, 50)]), true, 'ending and starting at the same millisecond counts as overlapping');
});

t.test('a read that starts after a write completed must not find nothing', async (t) => {
  const w = write('x', '1', 0, 10);
  const r = read('x', undefined, 11, 20);
  t.same(failing(t, [w, r]), [w, r]);
  t.equal(verdict([w, read('x', undefined, 5, 20)]), true, 'concurrent with the write it may');
});

t.test('lost updates are rejected', async (t) => {
  const w1 = write('x', '1', 0, 10, 'ok', 1);
  const w2 = write('x', '2', 20, 30, 'ok', 2);
  // Seen, then gone again, as when a new leader lacks an acknowledged entry.
  const seen = read('x', '2', 40, 50);
  const gone = read('x', '1', 60, 70);
  t.same(failing(t, [w1, w2, seen, gone]), [w1, w2, gone], 'the stale read alone already shows it');
  // Concurrent writes: whichever is read last must stay.
  const a = write('x', 'a', 0, 100, 'ok', 1);
  const b = write('x', 'b', 0, 100, 'ok', 2);
  t.equal(verdict([a, b, read('x', 'a', 10, 20), read('x', 'b', 30, 40), read('x', 'a', 50, 60)]), false, 'a value flip-flops back');
  t.equal(verdict([a, b, read('x', 'a', 10, 20), read('x', 'b', 30, 40), read('x', 'b', 50, 60)]), true);
});

t.test('concurrent writes and reads that can be ordered either way are accepted', async (t) => {
  const a = write('x', 'a', 0, 100, 'ok', 1);
  const b = write('x', 'b', 10, 90, 'ok', 2);
  t.equal(verdict([a, b, read('x', 'a', 20, 30), read('x', 'b', 40, 50)]), true, 'a then b');
  t.equal(verdict([a, b, read('x', 'b', 20, 30), read('x', 'a', 40, 50)]), true, 'b then a');
  t.equal(verdict([a, b, read('x', undefined, 5, 15), read('x', 'b', 20, 95), read('x', 'a', 20, 95)]), true, 'overlapping reads see different values');
  t.equal(verdict([a, b, read('x', 'a', 101, 110), read('x', 'b', 120, 130)]), false, 'but not both after both completed');
});

t.test('unknown writes may take effect at any time after their invocation, or never', async (t) => {
  const u = write('x', '1', 0, undefined, 'unknown');
  t.equal(verdict([u, read('x', undefined, 10, 20), read('x', '1', 500, 510)]), true, 'took effect much later');
  t.equal(verdict([u, read('x', undefined, 10, 20), read('x', undefined, 500, 510)]), true, 'never took effect');
  t.equal(verdict([write('x', '1', 0, 50, 'unknown'), read('x', undefined, 60, 70), read('x', '1', 80, 90)]), true, 'after the client gave up');
  t.equal(verdict([u, read('x', '1', 10, 20), read('x', undefined, 30, 40)]), false, 'but not undone once seen');
  t.equal(verdict([read('x', '1', 0, 10), write('x', '1', 20, undefined, 'unknown')]), false, 'and not before invoked');
  const ok = write('x', '2', 100, 110);
  t.equal(verdict([u, ok, read('x', '1', 120, 130)]), true, 'an unknown write may land after a later acknowledged one');
  t.equal(verdict([u, read('x', '1', 50, 60), ok, read('x', '1', 120, 130)]), false, 'but only once');
  t.equal(verdict([write('x', '1', 0, undefined, 'unknown'), write('x', '1', 5, undefined, 'unknown'), read('x', '1', 10, 20), write('x', '2', 30, 40), read('x', '1', 50, 60)]), true, 'two unknown writes of one value may land apart');
});

t.test('failed operations, unknown reads and secondary reads are not held against the register', async (t) => {
  t.equal(verdict([write('x', '1', 0, 10, 'fail'), read('x', undefined, 20, 30)]), true, 'a failed write had no effect');
  const failedWrite = write('x', '1', 0, 10, 'fail');
  const r = read('x', '1', 20, 30);
  t.same(failing(t, [failedWrite, r]), [failedWrite, r], 'so reading its value is an anomaly');
  t.equal(verdict([write('x', '1', 0, 10), read('x', 'junk', 20, 30, 'fail'), read('x', undefined, 20, undefined, 'unknown')]), true);
  t.equal(verdict([write('x', '1', 0, 10), write('x', '2', 20, 30), secondaryRead('x', '1', 40, 50, { region: 'eu', primaryIndex: 3 })]), true);
});

t.test('a read of a value never written is rejected on its own', async (t) => {
  const ghost = read('x', 'ghost', 20, 30);
  t.same(failing(t, [write('x', '1', 0, 10), read('x', '1', 12, 15), ghost, write('x', '2', 40, 50)]), [ghost]);
});

t.test('many keys are checked independently', async (t) => {
  // Per key each is fine; across keys there is no constraint to break.
  const h: RegisterOp[] = [];
  for (let k = 0; k < 20; k++) {
    h.push(write(`k${k}`, `a${k}`, 0, 100, 'ok', k), write(`k${k}`, `b${k}`, 0, 100, 'ok', k + 100));
    h.push(read(`k${k}`, k % 2 ? `a${k}` : `b${k}`, 110, 120, 'ok', k));
  }
  t.same(checkLinearizability(h), { ok: true, keys: 20, operations: 60 });
  const bad = [...h, read('k7', 'b7', 130, 140), read('k3', 'b3', 130, 140), read('k12', undefined, 130, 140)];
  const r = checkLinearizability(bad);
  t.equal(r.ok, false);
  if (r.ok === false) {
    t.same(r.failedKeys, ['k12', 'k3', 'k7']);
    t.equal(r.key, 'k12');
    t.ok(r.minimal.every((op) => op.key === 'k12'));
  }
});

t.test('the search gives up with unknown rather than hang', async (t) => {
  const h: RegisterOp[] = [];
  for (let i = 0; i < 14; i++) h.push(write('x', `w${i}`, 0, 1000, 'ok', i), read('x', `w${(i * 5) % 14}`, 0, 1000, 'ok', i));
  h.push(read('x', 'w3', 2000, 2010));
  const r = checkLinearizability(h, { maxSteps: 50 });
  t.equal(r.ok, 'unknown');
  if (r.ok === 'unknown') t.match(r.reason, /budget of 50 steps/);
  // Fully concurrent writes, each read back: the NP-hard shape. Whatever the
  // default budget decides, it must be quick and never a false alarm.
  const started = performance.now();
  t.not(verdict(h), false, 'linearizable, so never rejected');
  t.ok(performance.now() - started < 5000, 'the default budget is spent quickly');
});

t.test('histories round-trip through JSON, and malformed ones are refused', async (t) => {
  const h = [write('x', '1', 0, undefined, 'unknown'), read('x', undefined, 1, 2), read('x', '1', 3, 4), { kind: 'versions' as const, key: 'x', versions: ['1'], invokeMs: 5, completeMs: 6 }];
  const back = parseHistory(serializeHistory(h));
  t.same(back, h);
  t.equal(verdict(back), true);
  const nulls = parseHistory('[{"process":0,"kind":"read","key":"x","value":null,"invokeMs":0,"completeMs":1,"outcome":"ok"}]');
  t.equal(verdict(nulls), true, 'null reads as not found');
  t.match(validateHistory([write('x', '1', 10, 5)]), [/completes before it is invoked/]);
  t.match(validateHistory([{ ...read('x', '1', 0, undefined) }]), [/an ok operation needs completeMs/]);
  t.throws(() => checkLinearizability([{ ...write('x', '1', 0, 1), value: undefined }]), /a write needs a string value/);
});

// Tiny histories with duplicate values and tied timestamps, where the checker
// must agree with the definition searched exhaustively.
const tinyOp = fc
  .record({
    write: fc.boolean(),
    value: fc.constantFrom<string | undefined>(undefined, 'a', 'b', 'c'),
    invoke: fc.nat(20),
    length: fc.nat(10),
    outcome: fc.constantFrom('ok', 'ok', 'ok', 'unknown', 'fail') as fc.Arbitrary<'ok' | 'unknown' | 'fail'>,
    gaveUp: fc.boolean(),
  })
  .map((o): RegisterOp => {
    const complete = o.outcome === 'unknown' && !o.gaveUp ? undefined : o.invoke + o.length;
    return o.write ? write('x', o.value ?? 'a', o.invoke, complete, o.outcome) : read('x', o.value, o.invoke, complete, o.outcome);
  });

t.test('agrees with an exhaustive search on tiny histories', async (t) => {
  let rejected = 0;
  fc.assert(
    fc.property(fc.array(tinyOp, { maxLength: 7 }), (h) => {
      const expected = bruteForceLinearizable(h);
      const r = checkLinearizability(h);
      if (!expected) rejected++;
      if (r.ok !== expected) return false;
      // The minimal sub-history is drawn from the original and fails too.
      return r.ok !== false || (r.minimal.every((op) => h.includes(op)) && !bruteForceLinearizable(r.minimal));
    }),
    { numRuns: 1500 },
  );
  t.ok(rejected > 100, `both verdicts exercised (${rejected} rejected)`);
});

const step: fc.Arbitrary<Step> = fc.record({
  write: fc.boolean(),
  key: fc.constantFrom('x', 'y', 'z'),
  before: fc.nat(35),
  after: fc.nat(35),
  outcome: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'fail', 'unknown', 'lost') as fc.Arbitrary<Step['outcome']>,
  gaveUp: fc.boolean(),
  process: fc.nat(5),
});

t.test('jittered sequential histories are accepted; with a stale read planted, rejected', async (t) => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => checkLinearizability(linearizableHistory(steps)).ok === true),
    { numRuns: 300 },
  );
  let planted = 0;
  fc.assert(
    fc.property(fc.array(step, { minLength: 30, maxLength: 80 }), fc.nat(), fc.nat(40), (steps, pick, delay) => {
      const stale = plantStaleRead(linearizableHistory(steps), pick, delay);
      fc.pre(stale !== undefined);
      planted++;
      const r = checkLinearizability(stale!.history);
      // Usually the two writes and the stale read; when the writes' intervals touch, the reads that order
      // them too (seed 1665526144 shrank to 5: two writes, a read of each, the stale read).
      return r.ok === false && r.minimal.includes(stale!.planted) && r.minimal.length <= 6 && !bruteForceLinearizable(r.minimal);
    }),
    { numRuns: 200 },
  );
  t.ok(planted >= 150, `${planted} stale reads planted`);
});

t.test('about 2000 operations on a few keys are checked within a time bound', async (t) => {
  const history = linearizableHistory(randomSteps(prng(6), 2000, ['a', 'b', 'c'], 60));
  let started = performance.now();
  const r = checkLinearizability(history);
  const elapsed = performance.now() - started;
  t.match(r, { ok: true, keys: 3 });
  t.ok(elapsed < 3000, `accepted in ${elapsed.toFixed(0)} ms`);

  const stale = plantStaleRead(history, 12345, 7)!;
  started = performance.now();
  const bad = checkLinearizability(stale.history);
  const shrinking = performance.now() - started;
  t.match(bad, { ok: false, fullyShrunk: true });
  if (bad.ok === false) {
    t.ok(bad.minimal.includes(stale.planted) && bad.minimal.length <= 4, `shrunk to\n${formatHistory(bad.minimal)}`);
  }
  t.ok(shrinking < 8000, `rejected and shrunk in ${shrinking.toFixed(0)} ms`);

  // A few thousand on one key, with dozens of operations in flight at once.
  const crowded = linearizableHistory(randomSteps(prng(7), 3000, ['a'], 200, 40));
  started = performance.now();
  t.match(checkLinearizability(crowded), { ok: true, keys: 1 });
  t.match(checkLinearizability(plantStaleRead(crowded, 777, 3)!.history), { ok: false, fullyShrunk: true });
  t.ok(performance.now() - started < 8000, `3000 operations on one key in ${(performance.now() - started).toFixed(0)} ms`);
});
