// Group commit across requests: proposals made by separate callbacks of one
// turn of the event loop (requests parsed from one read of a socket) share one
// Ready, so one synced batch holds all their entries.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { Replica } from '../../src/replica/replica.js';
import { type BatchOp, NodeStore, entryKey } from '../../src/storage/store.js';

const isEntry = (key: string) => key.length === entryKey(0).length && key.startsWith(entryKey(0).slice(0, -16));

t.test('proposals from callbacks of the same turn are written in one batch', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-replica-'));
  const store = await NodeStore.open(join(dir, 'db'));
  const batches: number[] = [];
  const write = store.write.bind(store);
  store.write = (ops: readonly BatchOp[], sync: boolean) => {
    const entries = ops.filter((op) => op.type === 'put' && isEntry(op.key)).length;
    if (entries > 0) batches.push(entries);
    return write(ops, sync);
  };
  const replica = new Replica({
    id: 'a',
    founders: ['a'],
    tickMs: 10,
    electionTicks: 5,
    heartbeatTicks: 1,
    retention: { compactEvery: 1000, compactEveryBytes: 1 << 30, readerEntries: 1000, readerBytes: 1 << 30 },
    store,
    app: { applyCommand: (_data, index) => ({ result: index, writes: [] }), reload: async () => undefined },
    logger: pino({ level: 'silent' }),
  });
  t.teardown(async () => {
    await replica.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await replica.open();
  replica.start({ send: () => undefined, sendSnapshot: () => undefined });
  const deadline = Date.now() + 30_000;
  while (!replica.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.ok(replica.isLeader, 'a single founder elects itself');
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
