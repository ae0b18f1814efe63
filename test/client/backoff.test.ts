// Exponential backoff with full jitter: every delay lies in [0, cap), the cap
// doubles from baseMs up to maxMs and never overflows; a THROTTLED wait honours retry-after-ms.

import fc from 'fast-check';
import t from 'tap';
import { backoffCap, backoffDelay, DEFAULT_BACKOFF, retryAfterDelay } from '../../src/client/index.js';

t.test('the cap doubles up to the maximum', async (t) => {
  const o = { baseMs: 50, maxMs: 1000 };
  t.same([0, 1, 2, 3, 4, 5, 6].map((r) => backoffCap(r, o)), [50, 100, 200, 400, 800, 1000, 1000]);
  t.equal(backoffCap(10_000, o), 1000, 'a huge retry count does not overflow');
  t.same(DEFAULT_BACKOFF, { baseMs: 100, maxMs: 1000 });
});

t.test('a delay spans the whole range below the cap', async (t) => {
  const o = { baseMs: 100, maxMs: 1000 };
  t.equal(backoffDelay(2, o, () => 0), 0, 'full jitter may retry at once');
  t.equal(backoffDelay(2, o, () => 0.999999), 399, 'and never reaches the cap');
  t.equal(backoffDelay(20, o, () => 0.5), 500);
});

t.test('every delay is a whole number in [0, cap)', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (retry, baseMs, extra, r) => {
        const o = { baseMs, maxMs: baseMs + extra };
        const d = backoffDelay(retry, o, () => r);
        return Number.isInteger(d) && d >= 0 && d < backoffCap(retry, o) && d < o.maxMs;
      },
    ),
  );
  t.pass('property holds');
});

t.test('Math.random spreads the delays', async (t) => {
  const delays = Array.from({ length: 200 }, () => backoffDelay(3));
  t.ok(delays.every((d) => d >= 0 && d < backoffCap(3)));
  t.ok(new Set(delays).size > 20, 'jittered, not fixed');
});

t.test('a THROTTLED wait is never shorter than retry-after-ms and at most twice it', async (t) => {
  t.equal(retryAfterDelay(200, DEFAULT_BACKOFF, () => 0), 200);
  t.equal(retryAfterDelay(200, DEFAULT_BACKOFF, () => 0.999), 399);
  t.equal(retryAfterDelay(undefined, { baseMs: 50, maxMs: 1000 }, () => 0), 50, 'no retry-after-ms: the first backoff cap');
});
