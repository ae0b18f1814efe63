// The Ready loop's disk bookkeeping: the applied state waits for the next
// synced batch (never an unsynced one), and the log's range on disk decides
// which entries a replacement or a snapshot deletes.

import t from 'tap';
import type { Entry } from '../../src/raft/index.js';
import { EntryType } from '../../src/raft/index.js';
import { ReadyWrites } from '../../src/replica/ready-writes.js';
import type { BatchOp, RaftStore } from '../../src/storage/raft-store.js';

const put = (key: string): BatchOp => ({ type: 'put', key, value: new Uint8Array() });
const entry = (index: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array() });

/** The part of a store ReadyWrites uses, recording each batch's keys. */
function recordingStore() {
  const batches: { keys: string[]; sync: boolean }[] = [];
  const store = {
    write: async (ops: readonly BatchOp[], sync: boolean) => {
      batches.push({ keys: ops.map((op) => op.key), sync });
    },
    entryOp: (e: Entry): BatchOp => put(`e${e.index}`),
    deleteEntryOp: (index: number): BatchOp => ({ type: 'del', key: `e${index}` }),
  };
  return { batches, store: store as unknown as RaftStore };
}

t.test('what waits goes in the next synced batch, ahead of its own records, and never in an unsynced one', async (t) => {
  const { batches, store } = recordingStore();
  let applied = 7;
  const disk = new ReadyWrites(store, () => applied);
  disk.opened(0, 0);
  t.equal(disk.appliedQueued, 7);
  disk.waiting.push(put('state'), put('applied'));
  applied = 9;
  await disk.write([put('hard')], false);
  t.same(batches.at(-1), { keys: ['hard'], sync: false });
  t.equal(disk.appliedQueued, 7, 'an unsynced write queues no applied state');
  await disk.write([put('e10')], true);
  t.same(batches.at(-1), { keys: ['state', 'applied', 'e10'], sync: true });
  t.equal(disk.appliedQueued, 9, 'the applied index the synced batch carries');
  t.same(disk.waiting, []);
});

t.test('a tick makes what waits due; a synced write that takes it first leaves nothing for the flush', async (t) => {
  const { batches, store } = recordingStore();
  const disk = new ReadyWrites(store, () => 3);
  disk.opened(0, 0);
  disk.tick();
  await disk.flushIfDue();
  t.equal(batches.length, 0, 'nothing waited: no write');

  disk.waiting.push(put('state'));
  await disk.flushIfDue();
  t.equal(batches.length, 0, 'not due before a tick');
  disk.tick();
  await disk.flushIfDue();
  t.same(batches, [{ keys: ['state'], sync: true }]);

  disk.waiting.push(put('state2'));
  disk.tick();
  await disk.write([put('e4')], true);
  await disk.flushIfDue();
  t.same(batches.slice(1), [{ keys: ['state2', 'e4'], sync: true }], 'the synced write took it; the flush wrote nothing');
});

t.test('a shorter replacement log deletes the tail on disk; a snapshot deletes whatever compaction left', async (t) => {
  const { store } = recordingStore();
  const disk = new ReadyWrites(store, () => 0);
  disk.opened(2, 3); // entries 3, 4, 5 on disk
  const replace: BatchOp[] = [];
  disk.appendEntries([entry(4)], replace);
  t.same(
    replace.map((op) => `${op.type} ${op.key}`),
    ['put e4', 'del e5'],
  );

  const none: BatchOp[] = [];
  disk.appendEntries([], none);
  t.same(none, [], 'no entries, no records');

  disk.compacted(3); // entry 4 remains
  const snapshot: BatchOp[] = [];
  disk.replaceLog(10, snapshot);
  t.same(
    snapshot.map((op) => `${op.type} ${op.key}`),
    ['del e4'],
  );
  const after: BatchOp[] = [];
  disk.appendEntries([entry(11)], after);
  t.same(
    after.map((op) => `${op.type} ${op.key}`),
    ['put e11'],
    'the log now starts after the snapshot',
  );
});
