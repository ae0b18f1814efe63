// A snapshot's records are staged under the next state generation, beside the
// state in use: a refused one leaves nothing behind, and only the snapshot
// that was staged can be installed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { SnapshotStaging } from '../../src/replica/snapshot-staging.js';
import type { BatchOp } from '../../src/storage/raft-store.js';
import { NodeStore } from '../../src/storage/store.js';

const conf = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
const metaAt = (index: number) => ({ index, term: 1, conf });

async function* records(prefix: string, n: number): AsyncGenerator<[string, Uint8Array]> {
  for (let i = 0; i < n; i++) yield [`${prefix}/${String(i).padStart(5, '0')}`, new Uint8Array([i % 256])];
}

async function keysOf(store: NodeStore, gen?: number): Promise<string[]> {
  const keys: string[] = [];
  for await (const [key] of store.stateRecords(gen)) keys.push(key);
  return keys;
}

async function openStore(t: Test): Promise<NodeStore> {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-staging-'));
  const store = await NodeStore.open(join(dir, 'db'));
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

t.test('a snapshot the core refuses is cleared before staging resolves; the state in use is untouched', async (t) => {
  const store = await openStore(t);
  await store.write([store.stateOp({ op: 'put', key: 'kept', value: new Uint8Array([1]) })], true);
  const staging = new SnapshotStaging(store, pino({ level: 'silent' }));
  const gen = store.nextGeneration;
  let stagedWhenOffered: string[] = [];
  const installed = await staging.stage(metaAt(10), records('refused', 2500), async () => {
    t.ok(staging.busy, 'busy while the core decides');
    stagedWhenOffered = await keysOf(store, gen);
    return false;
  });
  t.equal(installed, false);
  t.equal(stagedWhenOffered.length, 2500, 'every record was staged, over several batches, before the offer');
  t.notOk(staging.busy);
  t.same(await keysOf(store, gen), [], 'the staged records are gone');
  t.same(await keysOf(store), ['kept'], 'the state in use is as it was');
  t.throws(() => staging.installOps(metaAt(10), []), /not staged/, 'a refused snapshot cannot be installed');
});

t.test('an install switches generations in its own batch; the replaced state is cleared after', async (t) => {
  const store = await openStore(t);
  await store.write([store.stateOp({ op: 'put', key: 'old', value: new Uint8Array([1]) })], true);
  const staging = new SnapshotStaging(store, pino({ level: 'silent' }));
  const installed = await staging.stage(metaAt(20), records('new', 3), async () => {
    t.throws(() => staging.installOps(metaAt(19), []), /snapshot at 19 was not staged/, 'only the staged index installs');
    const ops: BatchOp[] = [];
    const gen = staging.installOps(metaAt(20), ops);
    await store.write(ops, true);
    staging.installed(gen);
    return true;
  });
  t.equal(installed, true, 'the install consumed the staged snapshot');
  t.notOk(staging.busy);
  t.same(await keysOf(store), ['new/00000', 'new/00001', 'new/00002'], 'the new state is in use');
  staging.clearReplaced();
  // The next stage waits for the clearing, so after it the old generation is empty.
  await staging.stage(metaAt(30), records('x', 0), async () => false);
  const all: string[] = [];
  for (let gen = 0; gen <= store.nextGeneration; gen++) all.push(...(await keysOf(store, gen)));
  t.same(all.sort(), ['new/00000', 'new/00001', 'new/00002'], 'nothing of the replaced state is left');
});
