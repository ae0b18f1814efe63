// The node's LevelDB store: a full read of the state gives back the table
// mappings it left, and the reopen that does it neither loses nor fails
// operations started around it; and a batch is written whole or not at all.

import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeStore, stateKey } from '../../src/storage/store.js';

/** Table files of `dir` mapped into this process right now. */
function mappedTables(dir: string): number {
  const files = new Set(
    readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => l.includes(dir) && l.endsWith('.ldb'))
      .map((l) => l.slice(l.indexOf(dir))),
  );
  return files.size;
}

const RECORDS = 24_000;
const value = (i: number) => new Uint8Array(300).fill(i % 251);

/** A store whose state (gen 1) is ~7 MB in several tables, freshly reopened. */
async function filledStore(t: Test): Promise<{ store: NodeStore; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let store = await NodeStore.open(dir);
  for (let i = 0; i < RECORDS; i += 1000) {
    const ops = Array.from({ length: 1000 }, (_, j) => store.stateOp({ op: 'put', key: `k${String(i + j).padStart(6, '0')}`, value: value(i + j) }));
    await store.write(ops, false);
  }
  await store.close();
  store = await NodeStore.open(dir);
  t.teardown(() => store.close().catch(() => undefined));
  return { store, dir };
}

t.test('a full read maps the tables while it runs and gives them back when it ends', { timeout: 60_000 }, async (t) => {
  const { store, dir } = await filledStore(t);
  let seen = 0;
  let wrong = 0;
  let mappedMidway = 0;
  for await (const [, v] of store.stateRecords()) {
    if (seen === RECORDS / 2) mappedMidway = mappedTables(dir);
    if (v[0] !== seen % 251) wrong++;
    seen++;
  }
  t.equal(seen, RECORDS);
  t.equal(wrong, 0, 'every record read back as written');
  t.ok(mappedMidway >= 2, `tables mapped while reading (${mappedMidway})`);
  t.equal(mappedTables(dir), 0, 'none mapped once the read ended');
});

t.test('writes issued during a reopen wait for it and are all kept', { timeout: 60_000 }, async (t) => {
  const { store, dir } = await filledStore(t);
  const release = store.releaseMappings();
  const writes = Array.from({ length: 50 }, (_, i) => store.write([{ type: 'put', key: stateKey(1, `w${i}`), value: value(i) }], i % 2 === 0));
  t.equal(await release, true, 'reopened');
  await Promise.all(writes);
  await store.close();
  const again = await NodeStore.open(dir);
  t.teardown(() => again.close());
  const keys = new Set<string>();
  for await (const [key] of again.stateRecords()) keys.add(key);
  t.equal(keys.size, RECORDS + 50, 'every record, old and new');
  t.ok(keys.has('w0') && keys.has('w49'));
});

t.test('no reopen while an iterator is open: it would be closed under its reader', { timeout: 60_000 }, async (t) => {
  const { store } = await filledStore(t);
  const view = await store.openStateSnapshot().catch(() => undefined);
  // No applied state was written: openStateSnapshot refuses, and closes its iterator.
  t.equal(view, undefined);
  const records = store.stateRecords()[Symbol.asyncIterator]();
  t.ok((await records.next()).done === false, 'a read has started');
  t.equal(await store.releaseMappings(), false, 'refused while it is open');
  let n = 1;
  while ((await records.next()).done !== true) n++;
  t.equal(n, RECORDS, 'the read went on to the end');
  t.equal(await store.releaseMappings(), true, 'done once it ended');
});

t.test('a batch is all or nothing: one bad operation writes none of it, and the store goes on', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await NodeStore.open(dir);
  t.teardown(() => store.close().catch(() => undefined));
  const bad = { type: 'put', key: stateKey(1, 'bad'), value: undefined } as unknown as { type: 'put'; key: string; value: Uint8Array };
  await t.rejects(store.write([{ type: 'put', key: stateKey(1, 'first'), value: value(1) }, bad], true));
  await store.write([{ type: 'put', key: stateKey(1, 'next'), value: value(2) }], true);
  const keys: string[] = [];
  for await (const [key] of store.stateRecords()) keys.push(key);
  t.same(keys, ['next'], 'nothing of the failed batch, and later writes land');
});
