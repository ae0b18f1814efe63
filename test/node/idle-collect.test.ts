// Collecting a burst's garbage once the node is quiet: the rule, and a real
// collection of real garbage while the event loop idles, none while it is busy.

import t from 'tap';
import { atLeast } from '../wait.js';
import { GARBAGE_BYTES, IDLE_UTILIZATION, fullCollection, heldBytes, shouldCollect, startIdleCollection } from '../../src/idle-collect.js';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('collects only when quiet after a burst and holding enough beyond the last collection', async (t) => {
  const quietAfterBurst = { busySinceCollection: true, utilization: 0.01, held: 100 * MB + GARBAGE_BYTES, afterLastCollection: 100 * MB };
  t.equal(shouldCollect(quietAfterBurst), true);
  t.equal(shouldCollect({ ...quietAfterBurst, held: 100 * MB + GARBAGE_BYTES - 1 }), false, 'not enough garbage');
  t.equal(shouldCollect({ ...quietAfterBurst, utilization: IDLE_UTILIZATION }), false, 'not quiet');
  t.equal(shouldCollect({ ...quietAfterBurst, busySinceCollection: false, held: 500 * MB }), false, 'no burst since the last one');
});

/** What a burst leaves behind once dropped: objects and ArrayBuffers, held in old space meanwhile. */
function holdBytes(bytes: number): { buffer: Uint8Array; name: string }[] {
  const held = [];
  for (let made = 0; made < bytes; made += 4096 + 64) held.push({ buffer: new Uint8Array(4096), name: `record-${made}` });
  return held;
}

t.test('a quiet process with a burst of garbage gets one full collection; a busy one none', { timeout: 30_000 }, async (t) => {
  const gc = fullCollection();
  gc();
  let collections = 0;
  const stop = startIdleCollection({ checkMs: 250, collect: () => (collections++, gc()) });
  t.teardown(stop);

  let burst: unknown[] | undefined = holdBytes(3 * GARBAGE_BYTES);
  // Busy: the loop works ~90 % of every check's interval.
  const busyUntil = Date.now() + 1500;
  while (Date.now() < busyUntil) {
    const spinUntil = Date.now() + 9;
    while (Date.now() < spinUntil);
    await sleep(1);
  }
  t.equal(collections, 0, 'none while busy, however much is held');

  t.ok(burst.length > 0);
  burst = undefined;
  const before = heldBytes();
  await atLeast('collections once quiet', () => collections, 1, 10_000);
  t.equal(collections, 1, 'one once quiet');
  // V8 gives the freed pages back on background threads, which a loaded
  // machine runs late: wait for the bytes to go, within a bound.
  let after = heldBytes();
  await atLeast('MB of garbage given back', () => Math.floor((before - (after = heldBytes())) / MB), (2 * GARBAGE_BYTES) / MB, 10_000).catch(() => undefined);
  t.ok(before - after >= 2 * GARBAGE_BYTES, `the garbage is gone (${Math.round(before / MB)} -> ${Math.round(after / MB)} MB)`);
  await sleep(750);
  t.equal(collections, 1, 'and no more while nothing new is held');
});

t.test('what a light load leaves is left to V8; after a busy stretch it is collected', { timeout: 30_000 }, async (t) => {
  let held = 100 * MB;
  let collections = 0;
  // Checks every 250 ms, as above. At 50 ms, 13 ms of loop activity made a
  // burst, and on a loaded machine the quiet phase once got a collection (a
  // fresh-clone suite run): a preempted callback stretches its active time.
  const stop = startIdleCollection({ checkMs: 250, collect: () => collections++, held: () => held });
  t.teardown(stop);
  await sleep(200);
  held += 4 * GARBAGE_BYTES;
  await sleep(500);
  t.equal(collections, 0, 'none without a burst');
  const busyUntil = Date.now() + 300;
  while (Date.now() < busyUntil);
  await atLeast('collections once quiet after a burst', () => collections, 1, 10_000);
  t.equal(collections, 1, 'one once quiet after a burst');
});
