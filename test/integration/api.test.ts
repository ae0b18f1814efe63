// Every Vaults and Secrets operation against a real three-node cluster,
// through the SDK, with the errors a client can cause: each must come back as
// a clear status with its reason and change nothing.

import t from 'tap';
import { KeyraftClient, KeyraftError, type ServedBy } from '../../src/client/index.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(360_000);

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeyraftError) return `${e.codeName} ${e.reason}`;
    throw e;
  }
  return 'OK';
}

t.test('the Vaults and Secrets API on a running cluster', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 6000 });
  t.teardown(() => client.close());
  await eventually('a leader', async () => ((await client.getStatus({})).regions[0]?.leader ? true : undefined));

  t.test('vaults', async (t) => {
    const v = await client.createVault({ name: 'Team-A', softDeleteRetentionDays: 7, purgeProtection: false });
    t.match(v, { name: 'Team-A', id: 'keyraft://Team-A', softDeleteRetentionDays: 7, purgeProtection: false });
    t.equal((await client.getVault({ name: 'team-a' })).name, 'Team-A', 'names are case-insensitive');
    t.equal(await reason(client.createVault({ name: 'TEAM-A' })), 'ALREADY_EXISTS VAULT_ALREADY_EXISTS');
    t.equal(await reason(client.createVault({ name: 'ab' })), 'INVALID_ARGUMENT INVALID_NAME', 'too short');
    t.equal(await reason(client.createVault({ name: 'a--b' })), 'INVALID_ARGUMENT INVALID_NAME', 'double hyphen');
    t.equal(await reason(client.createVault({ name: 'abc-' })), 'INVALID_ARGUMENT INVALID_NAME', 'trailing hyphen');
    t.equal(await reason(client.createVault({ name: '1abc' })), 'INVALID_ARGUMENT INVALID_NAME', 'leading digit');
    t.equal(await reason(client.createVault({ name: 'okname', softDeleteRetentionDays: 6 })), 'INVALID_ARGUMENT BAD_PARAMETER');
    t.equal(await reason(client.getVault({ name: 'missing' })), 'NOT_FOUND VAULT_NOT_FOUND');
    for (let i = 0; i < 30; i++) await client.createVault({ name: `many-${String(i).padStart(2, '0')}` });
    const names: string[] = [];
    for await (const vault of client.listAllVaults({ pageSize: 7 })) names.push(vault.name);
    t.equal(names.length, 31, 'every vault, across pages');
    t.same(names, [...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())), 'sorted by name');
    t.equal(await reason(client.listVaults({ pageSize: 26 })), 'INVALID_ARGUMENT BAD_PARAMETER');
    t.equal(await reason(client.listVaults({ pageToken: 'not-a-token!' })), 'INVALID_ARGUMENT INVALID_PAGE_TOKEN');
    t.equal((await client.deleteVault({ name: 'many-00' })).vault?.name, 'many-00');
    t.equal(await reason(client.getVault({ name: 'many-00' })), 'NOT_FOUND VAULT_NOT_FOUND');
  });

  t.test('secrets: set, get, versions, update', async (t) => {
    await client.createVault({ name: 'app', softDeleteRetentionDays: 7 });
    const versions: string[] = [];
    for (let i = 1; i <= 4; i++) {
      const s = await client.setSecret({ vault: 'app', name: 'DbPassword', value: `pw-${i}`, contentType: 'text/plain', tags: { env: 'test' } });
      t.match(s.properties, { vault: 'app', name: 'DbPassword', enabled: true, contentType: 'text/plain', recoverableDays: 7 });
      t.match(s.properties?.version, /^[0-9a-f]{32}$/);
      versions.push(s.properties!.version);
    }
    t.equal((await client.getSecret({ vault: 'app', name: 'dbpassword' })).value, 'pw-4', 'latest by default');
    t.equal((await client.getSecret({ vault: 'app', name: 'DbPassword', version: versions[1] })).value, 'pw-2', 'an older version');
    const listed: string[] = [];
    for await (const p of client.listAllSecretVersions('app', 'DbPassword', { pageSize: 3 })) listed.push(p.version);
    t.same(listed, versions, 'versions in creation order, across pages');
    const latest = await client.listSecrets({ vault: 'app' });
    t.equal(latest.secrets.length, 1);
    t.equal(latest.secrets[0]!.version, versions[3], 'list shows the latest version');
    t.notOk('value' in latest.secrets[0]!, 'list never carries values');

    const updated = await client.updateSecretProperties({ vault: 'app', name: 'DbPassword', version: versions[0], enabled: false, tags: { tags: { owner: 'ops' } } });
    t.match(updated, { version: versions[0], enabled: false, tags: { owner: 'ops' } });
    t.equal(await reason(client.getSecret({ vault: 'app', name: 'DbPassword', version: versions[0] })), 'PERMISSION_DENIED SECRET_DISABLED');
    t.equal((await client.getSecret({ vault: 'app', name: 'DbPassword' })).value, 'pw-4', 'other versions still readable');

    t.equal(await reason(client.setSecret({ vault: 'app', name: 'bad_name', value: 'x' })), 'INVALID_ARGUMENT INVALID_NAME');
    t.equal(await reason(client.setSecret({ vault: 'app', name: 'a'.repeat(128), value: 'x' })), 'INVALID_ARGUMENT INVALID_NAME');
    t.equal(await reason(client.setSecret({ vault: 'app', name: 'big', value: 'x'.repeat(25 * 1024 + 1) })), 'INVALID_ARGUMENT VALUE_TOO_LARGE');
    t.equal((await client.setSecret({ vault: 'app', name: 'big', value: 'x'.repeat(25 * 1024) })).value?.length, 25 * 1024, '25 KiB fits');
    t.equal(await reason(client.setSecret({ vault: 'nope', name: 'x', value: 'y' })), 'NOT_FOUND VAULT_NOT_FOUND');
    t.equal(await reason(client.getSecret({ vault: 'app', name: 'missing' })), 'NOT_FOUND SECRET_NOT_FOUND');
    t.equal(await reason(client.getSecret({ vault: 'app', name: 'DbPassword', version: 'f'.repeat(32) })), 'NOT_FOUND SECRET_VERSION_NOT_FOUND');
    t.equal(await reason(client.getSecret({ vault: 'app', name: 'DbPassword', version: 'xyz' })), 'INVALID_ARGUMENT BAD_PARAMETER');
    const future = Math.floor(Date.now() / 1000) + 3600;
    await client.setSecret({ vault: 'app', name: 'later', value: 'soon', notBefore: future });
    t.equal(await reason(client.getSecret({ vault: 'app', name: 'later' })), 'PERMISSION_DENIED SECRET_NOT_YET_VALID');
    t.equal(await reason(client.deleteVault({ name: 'app' })), 'FAILED_PRECONDITION VAULT_NOT_EMPTY');
  });

  t.test('secrets: soft delete, recover, purge, purge protection', async (t) => {
    await client.createVault({ name: 'del', softDeleteRetentionDays: 7 });
    await client.setSecret({ vault: 'del', name: 'gone', value: 'v1' });
    const deleted = await client.deleteSecret({ vault: 'del', name: 'gone' });
    t.match(deleted, { recoveryId: 'keyraft://del/deletedsecrets/gone' });
    t.equal(deleted.scheduledPurgeDate - deleted.deletedDate, 7 * 86400, 'purge scheduled after the retention');
    t.equal(await reason(client.getSecret({ vault: 'del', name: 'gone' })), 'NOT_FOUND SECRET_NOT_FOUND');
    t.match(await reason(client.setSecret({ vault: 'del', name: 'gone', value: 'v2' })), /CONFLICT_DELETED_EXISTS$/, 'setting a soft-deleted name conflicts');
    t.equal((await client.getDeletedSecret({ vault: 'del', name: 'gone' })).properties?.name, 'gone');
    t.equal((await client.listDeletedSecrets({ vault: 'del' })).secrets.length, 1);
    const recovered = await client.recoverDeletedSecret({ vault: 'del', name: 'gone' });
    t.equal(recovered.name, 'gone');
    t.equal((await client.getSecret({ vault: 'del', name: 'gone' })).value, 'v1', 'recovered with its value');
    await client.deleteSecret({ vault: 'del', name: 'gone' });
    await client.purgeDeletedSecret({ vault: 'del', name: 'gone' });
    t.equal(await reason(client.getDeletedSecret({ vault: 'del', name: 'gone' })), 'NOT_FOUND DELETED_SECRET_NOT_FOUND');
    t.equal((await client.setSecret({ vault: 'del', name: 'gone', value: 'fresh' })).value, 'fresh', 'the name is free after a purge');

    await client.createVault({ name: 'locked', purgeProtection: true });
    await client.setSecret({ vault: 'locked', name: 'keep', value: 'x' });
    await client.deleteSecret({ vault: 'locked', name: 'keep' });
    t.equal(await reason(client.purgeDeletedSecret({ vault: 'locked', name: 'keep' })), 'FAILED_PRECONDITION PURGE_PROTECTED');
    t.equal((await client.getDeletedSecret({ vault: 'locked', name: 'keep' })).properties?.recoveryLevel, 'Recoverable');
  });

  t.test('secrets: backup and restore keep every version', async (t) => {
    await client.createVault({ name: 'src' });
    await client.createVault({ name: 'dst' });
    const versions = [];
    for (const value of ['one', 'two', 'three']) versions.push((await client.setSecret({ vault: 'src', name: 'moved', value })).properties!.version);
    const backup = await client.backupSecret({ vault: 'src', name: 'moved' });
    t.ok(backup.value.length > 0, 'an opaque blob');
    t.notOk(Buffer.from(backup.value).includes('three'), 'the blob holds no plaintext value');
    const restored = await client.restoreSecret({ vault: 'dst', backup: backup.value });
    t.equal(restored.name, 'moved');
    const listed = [];
    for await (const p of client.listAllSecretVersions('dst', 'moved')) listed.push(p.version);
    t.same(listed, versions, 'version ids kept, in order');
    t.equal((await client.getSecret({ vault: 'dst', name: 'moved', version: versions[0] })).value, 'one');
    t.equal(await reason(client.restoreSecret({ vault: 'src', backup: backup.value })), 'ALREADY_EXISTS SECRET_ALREADY_EXISTS');
    const tampered = Buffer.from(backup.value);
    tampered[tampered.length - 1]! ^= 1;
    t.equal(await reason(client.restoreSecret({ vault: 'dst', backup: tampered })), 'INVALID_ARGUMENT BAD_BACKUP');
  });

  t.test('every write names the log index of its own entry, wherever it arrives', async (t) => {
    await client.createVault({ name: 'idx' });
    let last = 0;
    for (const n of cluster.nodes) {
      const pinned = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [n.client], retries: 0 });
      const served: ServedBy[] = [];
      await pinned.setSecret({ vault: 'idx', name: 's', value: n.id }, { onServedBy: (s) => served.push(s) });
      const index = served[0]?.commitIndex;
      t.ok(index !== undefined && index > last, `${n.id}: keyraft-commit-index ${index} (forwarded to the leader by a follower)`);
      t.equal(served[0]?.metadata['keyraft-commit-index'], String(index), 'the raw header');
      last = index ?? last;
      pinned.close();
    }
    const status = await client.getStatus({});
    t.ok(status.nodes.some((n) => n.commitIndex >= last), 'at or below the commit index');
    t.equal((await client.setSecret({ vault: 'idx', name: 's', value: 'again' }, { onServedBy: (s) => (last = s.commitIndex ?? 0) })).value, 'again');
    t.ok(last > 0);

    // A retry the state machine deduplicates answers the first entry's index.
    const [a, b] = cluster.nodes;
    const first: ServedBy[] = [];
    const retry: ServedBy[] = [];
    const onA = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [a!.client], retries: 0 });
    const onB = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [b!.client], retries: 0 });
    await onA.setSecret({ vault: 'idx', name: 'once', value: '1', requestId: 'idx-once' }, { onServedBy: (s) => first.push(s) });
    await client.setSecret({ vault: 'idx', name: 'other', value: 'x' });
    await onB.setSecret({ vault: 'idx', name: 'once', value: '1', requestId: 'idx-once' }, { onServedBy: (s) => retry.push(s) });
    t.ok(first[0]?.commitIndex !== undefined && first[0].commitIndex > last, 'a fresh write');
    t.equal(retry[0]?.commitIndex, first[0]?.commitIndex, 'the retry names the first entry');
    onA.close();
    onB.close();
    const reads: ServedBy[] = [];
    await client.getSecret({ vault: 'idx', name: 'once' }, { onServedBy: (s) => reads.push(s) });
    t.equal(reads[0]?.commitIndex, undefined, 'reads carry none');
  });

  t.test('every node answers, and says who it is', async (t) => {
    for (const n of cluster.nodes) {
      const pinned = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [n.client], retries: 0 });
      const served: string[] = [];
      await pinned.getSecret({ vault: 'src', name: 'moved' }, { onServedBy: (s) => served.push(`${s.node}/${s.region}/${s.mode}`) });
      t.equal(served[0], `${n.id}/east/SERVING`, `${n.id} serves reads itself`);
      pinned.close();
    }
  });
});
