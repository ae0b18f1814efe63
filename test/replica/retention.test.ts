// Log retention in bytes: when compaction runs, where it cuts, and what it
// keeps for a log reader (the secondary region) that is behind.

import t from 'tap';
import { LogRetention, type RetentionLimits } from '../../src/replica/retention.js';

const KiB = 1024;
const limits: RetentionLimits = { compactEvery: 1000, compactEveryBytes: 100 * KiB, readerEntries: 1_000_000, readerBytes: 500 * KiB };

/** Applies entries (after, upTo] of `bytes` each. */
function apply(r: LogRetention, upTo: number, bytes: number, confChangeAt = -1): void {
  for (let i = r.applied + 1; i <= upTo; i++) r.add(i, bytes, i === confChangeAt);
}

t.test('no reader: compaction waits for compactEveryBytes (or compactEvery entries), then cuts at the applied index', async (t) => {
  const r = new LogRetention(limits, 0);
  apply(r, 9, 10 * KiB);
  t.equal(r.compactionPoint(), undefined, '90 KiB held');
  apply(r, 10, 10 * KiB);
  t.equal(r.heldBytes, 100 * KiB);
  t.equal(r.compactionPoint(), 10);
  r.compacted(10);
  t.equal(r.heldBytes, 0);
  apply(r, 1009, 1);
  t.equal(r.compactionPoint(), undefined, '999 small entries');
  apply(r, 1010, 1);
  t.equal(r.compactionPoint(), 1010, 'compactEvery entries');
});

t.test('a reader within its retention keeps what it needs, and only that', async (t) => {
  const r = new LogRetention(limits, 0);
  r.readerNeeds(1);
  apply(r, 20, 10 * KiB);
  t.equal(r.compactionPoint(), undefined, 'the reader needs all of it');
  r.readerNeeds(6);
  t.equal(r.compactionPoint(), 5, 'entries 1-5 (50 KiB, half a compaction) can go');
  r.compacted(5);
  t.equal(r.heldBytes, 150 * KiB);
  t.equal(r.bytesFrom(6), 150 * KiB);
  t.equal(r.bytesFrom(16), 50 * KiB);
  r.readerNeeds(8);
  t.equal(r.compactionPoint(), undefined, 'freeing 20 KiB is not worth a synced write');
  r.readerNeeds(21);
  t.equal(r.compactionPoint(), 20, 'a reader that has everything keeps nothing');
});

t.test('a reader past readerBytes is left to a snapshot: everything applied goes', async (t) => {
  const r = new LogRetention(limits, 0);
  r.readerNeeds(1);
  apply(r, 50, 10 * KiB);
  t.equal(r.compactionPoint(), undefined, '500 KiB: still within');
  apply(r, 51, 10 * KiB);
  t.equal(r.compactionPoint(), 51, '510 KiB: past');
  r.compacted(51);
  apply(r, 70, 10 * KiB);
  t.equal(r.compactionPoint(), 70, 'a reader behind the compaction point keeps nothing either');
});

t.test('readerEntries still bounds the reader in entries', async (t) => {
  const r = new LogRetention({ ...limits, readerEntries: 30 }, 0);
  r.readerNeeds(1);
  apply(r, 30, 10 * KiB);
  t.equal(r.compactionPoint(), undefined);
  apply(r, 31, 10 * KiB);
  t.equal(r.compactionPoint(), 31);
});

t.test('no cut before a membership change applied after it: the cut point\'s membership would be unknown', async (t) => {
  const r = new LogRetention(limits, 0);
  apply(r, 20, 10 * KiB, 12);
  r.readerNeeds(11);
  t.equal(r.compactionPoint(), undefined, 'the change at 12 follows the cut at 10');
  r.readerNeeds(13);
  t.equal(r.compactionPoint(), 12);
});

t.test('a snapshot install resets what is held; entries must be applied in order', async (t) => {
  const r = new LogRetention(limits, 0);
  apply(r, 5, KiB);
  r.reset(100);
  t.equal(r.applied, 100);
  t.equal(r.heldBytes, 0);
  t.throws(() => r.add(102, 1, false), /entry 102 applied after 100/);
  r.add(101, 7, false);
  t.equal(r.heldBytes, 7);
});
