// The block-drawn random values: never handed out twice, across block
// boundaries and sizes that do not divide the block, and not a copy of
// unfilled memory.

import t from 'tap';
import { randomHexId, randomNonSecret } from '../../src/crypto/random.js';

t.test('values never repeat, across many blocks and odd sizes', async (t) => {
  const seen = new Set<string>();
  const counts = new Array<number>(256).fill(0);
  let bytes = 0;
  let repeats = 0;
  let wrongLengths = 0;
  for (let i = 0; i < 30_000; i++) {
    const n = [12, 16, 13, 1, 64][i % 5]!;
    const v = randomNonSecret(n);
    if (v.length !== n) wrongLengths++;
    const hex = v.toString('hex');
    if (n >= 12 && seen.has(hex)) repeats++; // shorter ones may repeat by chance
    seen.add(hex);
    for (const b of v) counts[b]!++;
    bytes += n;
  }
  t.equal(wrongLengths, 0, 'every value has the length asked for');
  t.equal(repeats, 0, 'no value was handed out twice');
  // Uniform bytes: each value about bytes/256 times. Zeroed or reused memory would skew this far past the bound.
  const expected = bytes / 256;
  t.ok(counts.every((c) => Math.abs(c - expected) < expected * 0.25), 'byte values are spread evenly');
});

t.test('a returned buffer is its own: writing to it changes no other value', async (t) => {
  const a = randomNonSecret(16);
  const b = randomNonSecret(16);
  const bBefore = Buffer.from(b);
  a.fill(0);
  t.same(b, bBefore);
  const c = randomNonSecret(16);
  t.not(c.toString('hex'), '0'.repeat(32));
});

t.test('requests larger than a pooled draw are served whole', async (t) => {
  const big = randomNonSecret(5000);
  t.equal(big.length, 5000);
  t.not(big.toString('hex'), randomNonSecret(5000).toString('hex'));
});

t.test('hex ids have the asked length and do not repeat', async (t) => {
  const ids = Array.from({ length: 1000 }, () => randomHexId(16));
  t.ok(ids.every((id) => /^[0-9a-f]{32}$/.test(id)));
  t.equal(new Set(ids).size, ids.length);
});
