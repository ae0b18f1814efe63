// Group commit across requests: proposals made by separate callbacks of one
// turn of the event loop (requests parsed from one read of a socket) share one
// Ready, so one synced batch holds all their entries.

import t from 'tap';
import { type BatchOp, entryKey } from '../../src/storage/store.js';
import { singleLeader } from './harness.js';

const isEntry = (key: string) => key.length === entryKey(0).length && key.startsWith(entryKey(0).slice(0, -16));

t.test('proposals from callbacks of the same turn are written in one batch', async (t) => {
  const batches: number[] = [];
  const replica = await singleLeader(t, {}, (store) => {
    const write = store.write.bind(store);
    store.write = (ops: readonly BatchOp[], sync: boolean) => {
      const entries = ops.filter((op) => op.type === 'put' && isEntry(op.key)).length;
      if (entries > 0) batches.push(entries);
      return write(ops, sync);
    };
  });
  // Once a write is applied its batch was handed to the store; then let the
  // Ready loop go idle: no batch for 100 ms, however slow the machine.
  await replica.propose(new Uint8Array([0]), 5000);
  do {
    batches.length = 0;
    await new Promise((r) => setTimeout(r, 100));
  } while (batches.length > 0);

  const results = await Promise.all(
    Array.from({ length: 5 }, (_, i) => new Promise((resolve, reject) => setImmediate(() => replica.propose(new Uint8Array([i + 1]), 5000).then(resolve, reject)))),
  );
  t.equal(new Set(results).size, 5, 'every proposal applied, each at its own index');
  t.same(batches, [5], 'one batch held the five entries');
});
