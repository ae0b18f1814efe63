// A one-node group on a real LevelDB in a temp folder, elected and ready for
// proposals; the test's teardown stops it and removes the folder.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Test } from 'tap';
import { Replica, type ReplicaOptions } from '../../src/replica/replica.js';
import { NodeStore } from '../../src/storage/store.js';

/** `prepare` sees the store before the replica does (to watch its writes). */
export async function singleLeader(t: Test, options: Partial<ReplicaOptions> = {}, prepare?: (store: NodeStore) => void): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-replica-'));
  const store = await NodeStore.open(join(dir, 'db'));
  prepare?.(store);
  const replica = new Replica({
    id: 'a',
    founders: ['a'],
    tickMs: 10,
    electionTicks: 5,
    heartbeatTicks: 1,
    compactEvery: 1000,
    retainForReaders: 1000,
    store,
    app: { applyCommand: (_data, index) => ({ result: index, writes: [] }), reload: async () => undefined },
    logger: pino({ level: 'silent' }),
    ...options,
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
  return replica;
}
