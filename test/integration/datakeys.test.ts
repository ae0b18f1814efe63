// Data-key rotation and the background re-seal on real nodes in two regions:
// with rotateAfterWrites 5, writes move to a new data key every 5 values,
// every value reads back on the primary and on a FAILED_OVER secondary
// whatever key sealed it, and the re-seal leaves every value under the
// active key without losing the write that raced it.

import { createHash } from 'node:crypto';
import t from 'tap';
import { KeyraftClient, type ServedBy } from '../../src/client/index.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(300_000);

const VAULT = 'datakeys';
const N = 5;

t.test('data keys rotate every N writes; old values stay readable; the re-seal moves them all', async (t) => {
  const cluster = await TestCluster.create({
    regions: [
      { name: 'east', nodes: 3 },
      { name: 'west', nodes: 3 },
    ],
    dataKeys: { rotateAfterWrites: N },
  });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 8000 });
  const west = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: cluster.endpoints('west'), timeoutMs: 3000, retries: 2 });
  t.teardown(() => {
    client.close();
    west.close();
  });
  await eventually('the vault', () => client.createVault({ name: VAULT }).then(() => true), 60_000);

  // One write at a time, so that each key seals exactly N values.
  const values = new Map<string, string>();
  let lastIndex = 0;
  const onServedBy = (s: ServedBy) => (lastIndex = Math.max(lastIndex, s.commitIndex ?? 0));
  for (let i = 0; i < 17; i++) {
    const name = `s${i}`;
    values.set(name, `value ${i}`);
    await client.setSecret({ vault: VAULT, name, value: `value ${i}` }, { onServedBy });
  }
  await client.createKey({ vault: VAULT, name: 'signer', kty: 'EC', curve: 'P-256' }, { onServedBy });
  const digest = createHash('sha256').update('keyraft').digest();

  const before = await client.listDataKeys();
  const written = before.dataKeys.reduce((n, k) => n + k.writes, 0);
  t.ok(written >= 19, `${written} sealing writes counted (17 secrets, a key, the token key)`);
  t.equal(before.dataKeys.length, Math.ceil(written / N), 'one new key per N writes, no more');
  for (const k of before.dataKeys.slice(0, -1)) t.equal(k.writes, N, `key ${k.keyId} sealed ${N} writes`);
  t.ok(before.dataKeys.at(-1)!.active && before.activeKeyId === before.dataKeys.at(-1)!.keyId, 'the last installed is active');
  t.ok(before.valuesToReseal > 0, `${before.valuesToReseal} values under older keys`);
  for (const [name, value] of values) t.equal((await client.getSecret({ vault: VAULT, name })).value, value, `${name} reads back on the primary`);

  // The secondary got every key through the geo stream: failed over, it opens old and new values alike.
  await eventually(
    'west applies the writes',
    async () => (await west.getStatus({})).nodes.filter((n) => n.region === 'west').every((n) => n.reachable && n.primaryIndex >= lastIndex),
    60_000,
  );
  t.match(await client.failover({ reason: 'data key test' }), { name: 'west', mode: 'FAILED_OVER' });
  for (const [name, value] of values) t.equal((await west.getSecret({ vault: VAULT, name })).value, value, `${name} reads back on the FAILED_OVER secondary`);
  t.ok((await west.sign({ vault: VAULT, name: 'signer', algorithm: 'ES256', digest })).value.length > 0, 'the secondary signs with the sealed key');
  t.match(await client.failback({ reason: 'data key test over' }), { name: 'west', mode: 'STANDBY' });

  // Two batches at once read the same values: each value is replaced once, by whichever applies first.
  const pending = (await client.listDataKeys()).valuesToReseal;
  const pair = await Promise.all([client.resealValues({ maxValues: 4 }), client.resealValues({ maxValues: 4 })]);
  const moved = pair[0].resealed + pair[1].resealed;
  t.equal((await client.listDataKeys()).valuesToReseal, pending - moved, `two concurrent batches: ${moved} re-sealed, ${pair[0].skipped + pair[1].skipped} skipped`);

  // The rest, with a write and a delete racing it on values it is moving.
  const batches: number[] = [];
  const race = (async () => {
    await new Promise((r) => setTimeout(r, 5));
    values.set('s0', 'raced');
    await client.setSecret({ vault: VAULT, name: 's0', value: 'raced' });
    await client.deleteSecret({ vault: VAULT, name: 's16' });
  })();
  for (;;) {
    const r = await client.resealValues({ maxValues: 4 });
    batches.push(r.resealed);
    if (r.remaining === 0) break;
    t.ok(batches.length < 50, 'the re-seal makes progress');
    if (batches.length >= 50) break;
  }
  await race;
  t.ok(batches.length > 1, `in ${batches.length} bounded batches`);
  await client.recoverDeletedSecret({ vault: VAULT, name: 's16' });
  t.equal((await client.resealValues({})).resealed, 0, 'run again, it has nothing to do');

  const after = await client.listDataKeys();
  t.equal(after.valuesToReseal, 0);
  for (const k of after.dataKeys) t.equal(k.values, k.active ? k.values : 0, `key ${k.keyId} seals ${k.values} values`);
  const total = after.dataKeys.find((k) => k.active)!.values;
  t.ok(total >= 20, `every value (${total}) is under the active key`);
  for (const [name, value] of values) t.equal((await client.getSecret({ vault: VAULT, name })).value, value, `${name} reads back after the re-seal`);
  t.equal((await client.getSecret({ vault: VAULT, name: 's0' })).value, 'raced', 'the racing write is kept');
  t.ok((await client.sign({ vault: VAULT, name: 'signer', algorithm: 'ES256', digest })).value.length > 0, 'the re-sealed key still signs');
  // The token key's seed was re-sealed too: tokens are still issued and accepted.
  const fresh = new KeyraftClient({ ca: cluster.ca, token: await cluster.issueToken('admin'), endpoints: cluster.endpoints('east'), timeoutMs: 8000 });
  t.teardown(() => fresh.close());
  t.equal((await fresh.getSecret({ vault: VAULT, name: 's1' })).value, 'value 1', 'a token issued after the re-seal is accepted');

  // The re-sealed values reach the secondary like any write, and open there.
  // A write after the last batch: once west has applied it, it has applied every batch.
  await client.setSecret({ vault: VAULT, name: 'last', value: 'l' }, { onServedBy });
  values.set('last', 'l');
  const index = lastIndex;
  await eventually(
    'west applies the re-seal',
    async () => (await west.getStatus({})).nodes.filter((n) => n.region === 'west').every((n) => n.reachable && n.primaryIndex >= index),
    60_000,
  );
  t.match(await client.failover({ reason: 'data key test, after the re-seal' }), { name: 'west', mode: 'FAILED_OVER' });
  for (const [name, value] of values) t.equal((await west.getSecret({ vault: VAULT, name })).value, value, `${name} reads back on the secondary after the re-seal`);
  t.ok((await west.sign({ vault: VAULT, name: 'signer', algorithm: 'ES256', digest })).value.length > 0, 'the secondary signs with the re-sealed key');
});

t.test('a data key also rotates after rotateAfterMs, at the first write past it', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }], dataKeys: { rotateAfterMs: 3000 } });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 8000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: VAULT }).then(() => true), 60_000);
  await client.setSecret({ vault: VAULT, name: 'early', value: 'e' });
  const first = await client.listDataKeys();
  // The first key may already be older than the limit if the start was slow: wait past it from the last install either way.
  await new Promise((r) => setTimeout(r, Math.max(0, first.dataKeys.at(-1)!.installedMs + 3200 - Date.now())));
  await client.setSecret({ vault: VAULT, name: 'late', value: 'l' });
  const after = await client.listDataKeys();
  t.equal(after.dataKeys.length, first.dataKeys.length + 1, 'one new key');
  t.equal(after.dataKeys.at(-1)!.writes, 1, 'the late write is sealed under it');
  t.ok(after.dataKeys.at(-1)!.installedMs - first.dataKeys.at(-1)!.installedMs >= 3000, 'installed past the limit');
  t.equal((await client.getSecret({ vault: VAULT, name: 'early' })).value, 'e');
  t.equal((await client.getSecret({ vault: VAULT, name: 'late' })).value, 'l');
});
