// The Ready loop's write queue: one write at a time, in order, what arrives
// meanwhile merged into one batch, and nothing written after a failure.

import t from 'tap';
import { WriteQueue } from '../../src/replica/write-queue.js';
import type { BatchOp } from '../../src/storage/raft-store.js';

const put = (key: string): BatchOp => ({ type: 'put', key, value: new Uint8Array() });

/** A store whose writes end when the test says so. */
class HeldStore {
  readonly writes: { keys: string[]; sync: boolean }[] = [];
  private readonly pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  inFlight = 0;
  maxInFlight = 0;

  readonly write = (ops: BatchOp[], sync: boolean): Promise<void> => {
    this.writes.push({ keys: ops.map((op) => op.key), sync });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject })).finally(() => this.inFlight--);
  };

  async finish(error?: Error): Promise<void> {
    const w = this.pending.shift();
    if (w === undefined) throw new Error('no write in flight');
    if (error === undefined) w.resolve();
    else w.reject(error);
    // Let the queue see the end and start what waits.
    for (let k = 0; k < 5; k++) await Promise.resolve();
  }
}

t.test('what is queued while a write is in flight goes in one batch after it, synced if any part asked', async (t) => {
  const store = new HeldStore();
  const q = new WriteQueue(store.write);
  const order: string[] = [];
  const first = q.write([put('a')], false).then(() => order.push('a'));
  const second = q.write([put('b')], false).then(() => order.push('b'));
  const third = q.write([put('c'), put('d')], true).then(() => order.push('cd'));
  t.same(store.writes, [{ keys: ['a'], sync: false }], 'one write reaches the store at once');
  await store.finish();
  t.same(store.writes[1], { keys: ['b', 'c', 'd'], sync: true }, 'the two behind it, merged, synced');
  await store.finish();
  await Promise.all([first, second, third]);
  t.same(order, ['a', 'b', 'cd'], 'each hears in the order it was queued');
  t.equal(store.maxInFlight, 1, 'never two writes at once');
});

t.test('an empty write waits for what is before it, and costs no write when nothing is', async (t) => {
  const store = new HeldStore();
  const q = new WriteQueue(store.write);
  await q.write([], true);
  t.equal(store.writes.length, 0, 'nothing queued: no write');
  void q.write([put('a')], true);
  let flushed = false;
  const flush = q.write([], false).then(() => (flushed = true));
  await store.finish();
  t.notOk(flushed, 'the write in flight ended, the batch the flush joined did not');
  await store.finish();
  await flush;
  t.ok(flushed);
});

t.test('a failed write fails what waits behind it and every later write; nothing more reaches the store', async (t) => {
  const store = new HeldStore();
  const q = new WriteQueue(store.write);
  const failing = q.write([put('a')], true);
  const behind = q.write([put('b')], true);
  await store.finish(new Error('disk full'));
  await t.rejects(failing, /disk full/);
  await t.rejects(behind, /disk full/, 'the batch behind it is not written without it');
  await t.rejects(q.write([put('c')], true), /disk full/);
  t.same(
    store.writes.map((w) => w.keys),
    [['a']],
    'only the failed write reached the store',
  );
});
