// Geo shipping in bytes: a follow event or a shipped proposal carries entries
// up to a byte budget, and always at least one, however large.

import t from 'tap';
import { upToBytes } from '../../src/geo/codec.js';

const entries = (...sizes: number[]) => sizes.map((n, i) => ({ index: i + 1, data: new Uint8Array(n) }));

t.test('upToBytes keeps the longest prefix within the budget, never less than one entry', async (t) => {
  t.same(upToBytes(entries(10, 10, 10), 25).map((e) => e.index), [1, 2]);
  t.same(upToBytes(entries(10, 10, 10), 30).map((e) => e.index), [1, 2, 3], 'exactly the budget');
  t.same(upToBytes(entries(100, 1), 25).map((e) => e.index), [1], 'one entry larger than the budget still travels');
  t.same(upToBytes([], 25), []);
});
