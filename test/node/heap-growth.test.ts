// The heap's growth after a full collection: V8's own for small live sets,
// capped at half the live set for large ones.

import t from 'tap';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { HEADROOM_BYTES, boundHeapGrowth, growingPercent } from '../../src/heap-growth.js';

const MB = 1024 * 1024;

t.test('growth is left to V8 while its factor stays within the headroom, then capped at half the live set', async (t) => {
  t.equal(growingPercent(1 * MB), 0);
  t.equal(growingPercent(HEADROOM_BYTES / 3), 0, 'V8 may grow 4x: within the headroom');
  const above = growingPercent(HEADROOM_BYTES / 3 + 1 * MB);
  t.ok(above > 250 && above < 300, `just above it, close to 4x (got ${above} %)`);
  t.equal(growingPercent(HEADROOM_BYTES / 2), 200);
  t.equal(growingPercent(HEADROOM_BYTES), 100);
  t.equal(growingPercent(2 * HEADROOM_BYTES), 50);
  t.equal(growingPercent(10 * HEADROOM_BYTES), 50, 'never below half the live set');
});

t.test('a full collection sets the growth for the live set it leaves', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const applied: number[] = [];
  const stop = boundHeapGrowth((p) => applied.push(p));
  t.teardown(stop);
  const settle = () => new Promise((r) => setTimeout(r, 50));

  // About 2 x HEADROOM_BYTES alive: 1 KB strings, distinct so none is shared.
  let live: string[] | undefined = Array.from({ length: (2 * HEADROOM_BYTES) / 1024 }, (_, i) => `${i}`.padEnd(1024, 'x'));
  gc();
  await settle();
  t.ok(applied.length > 0, 'the collection was observed');
  const capped = applied[applied.length - 1]!;
  t.ok(capped >= 50 && capped < 100, `capped growth with a large live set (got ${capped} %)`);

  live = undefined;
  gc();
  await settle();
  t.equal(live, undefined);
  const relaxed = applied[applied.length - 1]!;
  t.ok(relaxed === 0 || relaxed >= 100, `at least the headroom once the live set is small again (got ${relaxed} %)`);
});
