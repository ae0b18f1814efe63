// A key's life after delete (soft delete, recover, purge, purge protection,
// expiry and the sweep, backup/restore), DeleteVault with keys left,
// deduplication of key commands, load() of key records, and apply's
// robustness to any key command content.

import fc from 'fast-check';
import t from 'tap';
import { type Command, ErrorKind, type KeyBackup, VaultError, VaultState } from '../../src/vault/index.js';
import { DAY, Harness, OCT256, P256, RSA2048, T0, keyAttrs, keyOp, material, publicJwkOf, recordsOf, thrown, ver } from './fixtures/harness.js';

/** A harness holding one vault, "Vault1". */
function vault(retention = 0, purgeProtection = false) {
  const h = new Harness();
  h.createVault('Vault1', retention, purgeProtection);
  return h;
}

const ref = (name: string, v = 'vault1') => ({ vault: v, name });
const restore = (b: KeyBackup, v = 'vault1') => ({ op: 'restoreKey' as const, restoreKey: { vault: v, name: b.name, versions: b.versions } });

t.test('DeleteKey soft-deletes every version for the retention period', async (t) => {
  const h = vault(10);
  h.createKey('vault1', 'Api-Key', { version: ver(1) });
  h.createKey('vault1', 'api-key', { version: ver(2), spec: P256 });
  h.now += 2000;
  const d = h.deleteKey('vault1', 'API-KEY');
  t.same(d, {
    key: h.state.getDeletedKey('vault1', 'api-key', h.now).key,
    recoveryId: 'keyraft://Vault1/deletedkeys/Api-Key',
    deletedDate: T0 / 1000 + 2,
    scheduledPurgeDate: T0 / 1000 + 2 + 10 * 86400,
  });
  t.equal(d.key.properties.version, ver(2), 'the latest version');
  t.same(d.key.publicJwk, publicJwkOf(P256, ver(2)));
  t.equal(d.key.properties.recoveryLevel, 'CustomizedRecoverable+Purgeable');
  t.same(h.state.getDeletedKey('vault1', 'api-key', h.now), d);
  t.same(h.state.listDeletedKeys('vault1', 0, '', h.now), { keys: [d], nextPageToken: '' });
  for (const read of [
    () => h.state.getKey('vault1', 'api-key', ver(1)),
    () => h.state.keyForOperation('vault1', 'api-key', '', 'sign', h.now),
    () => h.state.listKeyVersions('vault1', 'api-key', 0, ''),
    () => h.state.backupKey('vault1', 'api-key'),
    () => h.state.latestKeySpec('vault1', 'api-key'),
  ]) {
    t.equal(thrown(read).reason, 'KEY_NOT_FOUND');
  }
  t.same(h.state.listKeys('vault1', 0, '').keys, []);
  t.equal(h.fail({ op: 'deleteKey', deleteKey: ref('api-key') }).reason, 'KEY_NOT_FOUND', 'twice');
  const e = thrown(() => h.state.getDeletedKey('vault1', 'nope', h.now));
  t.same([e.reason, e.kind], ['DELETED_KEY_NOT_FOUND', ErrorKind.NotFound]);
});

t.test('a soft-deleted key name cannot be created again: CONFLICT_DELETED_EXISTS', async (t) => {
  const h = vault();
  h.createKey('vault1', 'k');
  h.deleteKey('vault1', 'k');
  const before = h.dump();
  const e = h.fail(keyOp('vault1', 'K', { version: ver(50) }));
  t.same([e.reason, e.kind], ['CONFLICT_DELETED_EXISTS', ErrorKind.FailedPrecondition]);
  t.match(e.message, /key "K" is deleted but recoverable/);
  t.same(h.dump(), before);
});

t.test('RecoverKey brings back every version', async (t) => {
  const h = vault();
  h.createKey('vault1', 'k', { version: ver(1) });
  h.createKey('vault1', 'k', { version: ver(2) });
  h.deleteKey('vault1', 'k');
  t.equal(h.fail({ op: 'recoverKey', recoverKey: ref('other') }).reason, 'DELETED_KEY_NOT_FOUND');
  const r = h.ok({ op: 'recoverKey', recoverKey: ref('K') });
  t.ok(r.kind === 'key' && r.key.properties.version === ver(2) && r.key.properties.name === 'k');
  t.ok(h.state.keyForOperation('vault1', 'k', ver(1), 'sign', h.now));
  t.same(h.state.listDeletedKeys('vault1', 0, '', h.now).keys, []);
  const e = h.fail({ op: 'recoverKey', recoverKey: ref('k') });
  t.same([e.reason, e.kind], ['DELETED_KEY_NOT_FOUND', ErrorKind.NotFound], 'a live key is not deleted');
  h.createKey('vault1', 'k', { version: ver(3), rotation: true });
  t.equal(h.state.listKeyVersions('vault1', 'k', 0, '').keys.length, 3);
});

t.test('PurgeKey removes every record; purge protection refuses it', async (t) => {
  const h = vault();
  h.createKey('vault1', 'keep');
  h.createKey('vault1', 'k');
  h.createKey('vault1', 'k');
  t.equal(h.fail({ op: 'purgeKey', purgeKey: ref('k') }).reason, 'DELETED_KEY_NOT_FOUND', 'only a deleted key can be purged');
  h.deleteKey('vault1', 'k');
  t.same(h.ok({ op: 'purgeKey', purgeKey: ref('K') }), { kind: 'none' });
  t.same(Object.keys(h.dump()).filter((k) => k.includes('/k/') || k.endsWith('/k')), [], 'no record of k is left');
  t.equal(thrown(() => h.state.getDeletedKey('vault1', 'k', h.now)).reason, 'DELETED_KEY_NOT_FOUND');
  t.equal(h.createKey('vault1', 'K').properties.name, 'K', 'the name is free again, with the new case');
  t.equal(h.state.listKeyVersions('vault1', 'k', 0, '').keys.length, 1);

  const p = vault(7, true);
  p.createKey('vault1', 'k');
  p.deleteKey('vault1', 'k');
  const before = p.dump();
  const e = p.fail({ op: 'purgeKey', purgeKey: ref('k') });
  t.same([e.reason, e.kind], ['PURGE_PROTECTED', ErrorKind.FailedPrecondition]);
  t.same(p.dump(), before);
  t.ok(p.ok({ op: 'recoverKey', recoverKey: ref('k') }), 'recover still works');
});

t.test('a deleted key past its scheduled purge date counts as purged', async (t) => {
  const h = vault(7, true);
  h.createKey('vault1', 'old', { version: ver(1) });
  h.deleteKey('vault1', 'old');
  const purgeAt = h.now + 7 * DAY;
  t.ok(h.state.getDeletedKey('vault1', 'old', purgeAt - 1));
  t.equal(thrown(() => h.state.getDeletedKey('vault1', 'old', purgeAt)).reason, 'DELETED_KEY_NOT_FOUND');
  t.same(h.state.listDeletedKeys('vault1', 0, '', purgeAt).keys, []);
  h.now = purgeAt;
  t.equal(h.fail({ op: 'recoverKey', recoverKey: ref('old') }).reason, 'DELETED_KEY_NOT_FOUND');
  t.equal(h.fail({ op: 'purgeKey', purgeKey: ref('old') }).reason, 'DELETED_KEY_NOT_FOUND', 'not PURGE_PROTECTED: already purged');
  t.equal(h.fail(keyOp('vault1', 'old', { rotation: true, version: ver(2) })).reason, 'KEY_NOT_FOUND');
  const k = h.createKey('vault1', 'OLD', { version: ver(2), spec: OCT256 });
  t.equal(k.properties.name, 'OLD', 'the name can be reused, even under purge protection');
  t.same(h.state.listKeyVersions('vault1', 'old', 0, '').keys.map((p) => p.version), [ver(2)], 'the old versions are gone');
  t.notOk(Object.keys(h.dump()).includes(`keyv/vault1/old/${ver(1)}`));
});

t.test('expired deleted keys are swept from the records by later commands, with secrets', async (t) => {
  const h = vault(7);
  h.createVault('Vault2', 8);
  for (const n of ['a', 'b']) {
    h.createKey('vault1', n);
    h.deleteKey('vault1', n);
  }
  h.setSecret('vault1', 'a');
  h.deleteSecret('vault1', 'a');
  h.createKey('vault2', 'z');
  h.deleteKey('vault2', 'z');
  h.now += 7 * DAY;
  t.same(h.state.listDeletedKeys('vault1', 1, '', h.now), { keys: [], nextPageToken: '' }, 'hidden at once');
  t.ok(h.state.getDeletedKey('vault2', 'z', h.now), 'vault2 keeps them a day longer');
  const out = h.run({ op: 'createVault', createVault: { name: 'unrelated', softDeleteRetentionDays: 0, purgeProtection: false } });
  t.same(
    out.mutations.filter((m) => m.op === 'del').map((m) => m.key.split('/').slice(0, 3).join('/')).sort(),
    ['key/vault1/a', 'key/vault1/b', 'keyv/vault1/a', 'keyv/vault1/b', 'secret/vault1/a', 'secretv/vault1/a'],
  );
  t.same(Object.keys(h.dump()).filter((k) => k.startsWith('key')).map((k) => k.split('/').slice(0, 3).join('/')), ['key/vault2/z', 'keyv/vault2/z']);
});

t.test('listing deleted keys pages by name and skips expired ones', async (t) => {
  const h = vault(7);
  for (const n of ['a', 'b', 'c', 'd', 'e']) h.createKey('vault1', n);
  for (const n of ['b', 'd', 'a']) {
    h.deleteKey('vault1', n);
    h.now += DAY;
  }
  h.deleteKey('vault1', 'e');
  const now = T0 + 7 * DAY + 1; // b has expired, d and a have not
  const p1 = h.state.listDeletedKeys('vault1', 1, '', now);
  t.same(p1.keys.map((d) => d.key.properties.name), ['a']);
  const p2 = h.state.listDeletedKeys('vault1', 1, p1.nextPageToken, now);
  t.same(p2.keys.map((d) => d.key.properties.name), ['d'], 'b skipped');
  const p3 = h.state.listDeletedKeys('vault1', 1, p2.nextPageToken, now);
  t.same(p3.keys.map((d) => d.key.properties.name), ['e']);
  t.equal(p3.nextPageToken, '');
  t.equal(thrown(() => h.state.listDeletedKeys('vault1', 1, Buffer.from('d:a').toString('base64url'), now)).reason, 'INVALID_PAGE_TOKEN', 'a deleted secrets token');
});

t.test('backup then restore keeps version ids, dates, material, attributes and order', async (t) => {
  const h = vault();
  h.createVault('Other');
  h.createKey('vault1', 'Cert', { version: ver(5), attrs: { tags: { k: 'v' }, exportable: true } });
  h.now += 3000;
  h.createKey('vault1', 'cert', { version: ver(2), attrs: { enabled: false, keyOps: ['verify'] } });
  h.now += 3000;
  h.ok({ op: 'updateKey', updateKey: { vault: 'vault1', name: 'cert', version: ver(5), expires: T0 / 1000 + 999_999, replaceKeyOps: false, keyOps: [], replaceTags: false, tags: {} } });
  const backup = h.state.backupKey('VAULT1', 'CERT');
  t.same(backup, {
    vault: 'Vault1',
    name: 'Cert',
    versions: [
      { version: ver(5), material: material(RSA2048, ver(5)), attributes: keyAttrs('RSA', { tags: { k: 'v' }, exportable: true, expires: T0 / 1000 + 999_999 }), createdMs: T0, updatedMs: T0 + 6000 },
      { version: ver(2), material: material(RSA2048, ver(2)), attributes: keyAttrs('RSA', { enabled: false, keyOps: ['verify'] }), createdMs: T0 + 3000, updatedMs: T0 + 3000 },
    ],
  });
  const e1 = h.fail(restore(backup));
  t.same([e1.reason, e1.kind], ['KEY_ALREADY_EXISTS', ErrorKind.AlreadyExists]);
  const before = h.state.listKeyVersions('vault1', 'cert', 0, '');
  h.deleteKey('vault1', 'cert');
  t.equal(h.fail(restore(backup)).reason, 'CONFLICT_DELETED_EXISTS');
  h.ok({ op: 'purgeKey', purgeKey: ref('cert') });
  h.now += 60_000;
  const r = h.ok(restore(backup));
  t.ok(r.kind === 'key' && r.key.properties.version === ver(2), 'answers the latest version');
  t.same(h.state.listKeyVersions('vault1', 'cert', 0, ''), before, 'identical to before the delete');
  t.same(h.state.keyForOperation('vault1', 'cert', ver(5), 'sign', h.now).sealedPrivateJwk, material(RSA2048, ver(5)).sealedPrivateJwk, 'sealed parts are restored');
  t.equal(thrown(() => h.state.keyForOperation('vault1', 'cert', '', 'verify', h.now)).reason, 'KEY_DISABLED', 'and so are attributes');
  const into = h.ok(restore(backup, 'other'));
  t.ok(into.kind === 'key' && into.key.properties.kid === `keyraft://Other/keys/Cert/${ver(2)}`, 'restore into another vault');
});

t.test('restore of an expired deleted name replaces it; malformed backups are BAD_BACKUP', async (t) => {
  const h = vault(7);
  h.createKey('vault1', 'k', { version: ver(1) });
  const backup = h.state.backupKey('vault1', 'k');
  h.createKey('vault1', 'k', { version: ver(2) });
  h.deleteKey('vault1', 'k');
  h.now += 7 * DAY;
  h.ok(restore(backup));
  t.same(h.state.listKeyVersions('vault1', 'k', 0, '').keys.map((p) => p.version), [ver(1)]);
  const v = backup.versions[0]!;
  const bad = (versions: unknown) => h.fail({ op: 'restoreKey', restoreKey: { vault: 'vault1', name: 'n2', versions: versions as KeyBackup['versions'] } });
  const before = h.dump();
  for (const [what, versions] of [
    ['empty', []],
    ['not a list', 'x'],
    ['duplicate version', [v, v]],
    ['bad version id', [{ ...v, version: 'XYZ' }]],
    ['missing material', [{ ...v, material: null }]],
    ['missing attributes', [{ ...v, attributes: null }]],
    ['a private member', [{ ...v, material: { ...v.material!, publicJwk: JSON.stringify({ ...publicJwkOf(RSA2048), d: 'AQAB' }) } }]],
    ['operations of another type', [{ ...v, attributes: { ...v.attributes!, keyOps: ['sign'] }, material: material(OCT256) }]],
    ['negative date', [{ ...v, createdMs: -1 }]],
    ['null entry', [null]],
  ] as const) {
    const e = bad(versions);
    t.same([e.reason, e.kind], ['BAD_BACKUP', ErrorKind.InvalidArgument], what);
  }
  t.equal(h.fail({ op: 'restoreKey', restoreKey: { vault: 'vault1', name: 'bad name', versions: backup.versions } }).reason, 'INVALID_NAME');
  t.equal(h.fail({ op: 'restoreKey', restoreKey: { vault: 'nope', name: 'n', versions: backup.versions } }).reason, 'VAULT_NOT_FOUND');
  t.same(h.dump(), before);
});

t.test('DeleteVault is refused while the vault holds any key, deleted ones included', async (t) => {
  const h = new Harness();
  h.createVault('abc', 7);
  h.createKey('abc', 'k1');
  h.createKey('abc', 'k2');
  const live = h.fail({ op: 'deleteVault', deleteVault: { name: 'abc' } });
  t.same([live.reason, live.kind], ['VAULT_NOT_EMPTY', ErrorKind.FailedPrecondition]);
  t.match(live.message, /secrets or keys/);
  h.deleteKey('abc', 'k1');
  h.deleteKey('abc', 'k2');
  t.equal(h.fail({ op: 'deleteVault', deleteVault: { name: 'abc' } }).reason, 'VAULT_NOT_EMPTY', 'a soft-deleted key counts');
  h.ok({ op: 'purgeKey', purgeKey: { vault: 'abc', name: 'k1' } });
  t.equal(h.fail({ op: 'deleteVault', deleteVault: { name: 'abc' } }).reason, 'VAULT_NOT_EMPTY', 'one is left');
  h.now += 7 * DAY;
  const out = h.run({ op: 'deleteVault', deleteVault: { name: 'ABC' } });
  t.notOk('error' in out, 'a deleted key past its purge date counts as purged');
  t.same(out.mutations.map((m) => `${m.op} ${m.key.replace(/\/[0-9a-f]{32}$/, '/<v>')}`).sort(), ['del key/abc/k2', 'del keyv/abc/k2/<v>', 'del vault/abc']);
  t.same(h.dump(), {});
  h.createVault('abc');
  t.same(h.state.listKeys('abc', 0, ''), { keys: [], nextPageToken: '' }, 'a new vault of the same name starts empty');
});

t.test('key commands are deduplicated by request id like the others', async (t) => {
  const h = vault();
  const first = h.run({ ...keyOp('vault1', 'k', { version: ver(1) }), requestId: 'req-1' });
  t.ok('result' in first && first.mutations.some((m) => m.key === 'request/req-1'));
  const before = h.dump();
  h.now += 5000;
  // A retry prepared by another leader: new version id, new material, new time.
  const retry = h.run({ ...keyOp('VAULT1', 'K', { version: ver(2), spec: P256 }), requestId: 'req-1' });
  t.same(retry, { result: (first as { result: unknown }).result, index: (first as { index?: number }).index, mutations: [] });
  t.same(h.dump(), before);
  h.ok({ ...keyOp('vault1', 'k', { version: ver(3), rotation: true }), requestId: 'rot' });
  t.same(h.run({ ...keyOp('vault1', 'k', { version: ver(4), rotation: true }), requestId: 'rot' }).mutations, [], 'a retried rotation');
  t.equal(h.state.listKeyVersions('vault1', 'k', 0, '').keys.length, 2);
  const del = h.run({ op: 'deleteKey', deleteKey: ref('k'), requestId: 'del' });
  h.ok({ op: 'recoverKey', recoverKey: ref('k') });
  t.same(h.run({ op: 'deleteKey', deleteKey: ref('k'), requestId: 'del' }), { result: (del as { result: unknown }).result, index: (del as { index?: number }).index, mutations: [] }, 'the first outcome, even if the state moved on');
  t.equal(h.fail({ op: 'deleteKey', deleteKey: ref('k'), requestId: 'req-1' }).reason, 'REQUEST_ID_REUSED');
  t.equal(h.fail({ op: 'deleteSecret', deleteSecret: ref('k'), requestId: 'del' }).reason, 'REQUEST_ID_REUSED', 'a secret of the same name is another target');
  const reloaded = VaultState.load(h.state.records());
  t.same(reloaded.apply(h.command({ op: 'deleteKey', deleteKey: ref('k'), requestId: 'del' }), 99), { result: (del as { result: unknown }).result, index: (del as { index?: number }).index, mutations: [] }, 'remembered across a reload, with its index');
});

t.test('load rebuilds keys from their records and refuses records it cannot place', async (t) => {
  const h = vault(7);
  h.createKey('vault1', 'k', { attrs: { tags: JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string> } });
  h.createKey('vault1', 'k', { spec: P256 });
  h.createKey('vault1', 'gone');
  h.deleteKey('vault1', 'gone');
  h.setSecret('vault1', 'k');
  const records = [...h.state.records()];
  const back = VaultState.load([...records].reverse());
  t.same(recordsOf(back), recordsOf(h.state));
  t.same(back.listKeyVersions('vault1', 'k', 0, ''), h.state.listKeyVersions('vault1', 'k', 0, ''));
  t.same(back.getDeletedKey('vault1', 'gone', h.now), h.state.getDeletedKey('vault1', 'gone', h.now));
  t.same(Object.keys(back.getKey('vault1', 'k', ver(1)).properties.tags), ['__proto__', 'a'], 'a "__proto__" tag stays data');
  const junk = new TextEncoder().encode('{}');
  for (const key of ['key/vault1', 'keyv/vault1/k', 'keys/vault1/k']) {
    t.throws(() => VaultState.load([...records, [key, junk]]), /unknown record key/, key);
  }
  t.throws(() => VaultState.load(records.filter(([k]) => !k.startsWith('key/'))), /missing key/);
  t.throws(() => VaultState.load(records.filter(([k]) => !k.startsWith('keyv/'))), /key vault1\/gone has no versions/);
  t.throws(() => VaultState.load(records.filter(([k]) => !k.startsWith('vault/') && !k.startsWith('secret'))), /key \w+ of a missing vault/);
  h.now += 7 * DAY;
  h.createVault('Another');
  t.same(recordsOf(VaultState.load(h.state.records())), recordsOf(h.state), 'after the sweep too');
});

t.test('apply refuses malformed key commands cleanly, and never throws', async (t) => {
  const h = vault();
  h.createKey('vault1', 'k');
  h.deleteKey('vault1', 'k');
  h.createKey('vault1', 'live');
  const ops = ['createKeyVersion', 'updateKey', 'deleteKey', 'recoverKey', 'purgeKey', 'restoreKey'];
  const valid = keyOp('vault1', 'x', { version: ver(7) }) as Extract<Command, { op: 'createKeyVersion' }>;
  // Close to valid bodies: every field of a good command, some swapped for anything.
  const nearly = fc.record({
    vault: fc.oneof(fc.constant('vault1'), fc.anything()),
    name: fc.oneof(fc.constantFrom('k', 'live', 'x'), fc.anything()),
    version: fc.oneof(fc.constant(ver(7)), fc.anything()),
    material: fc.oneof(fc.constant(valid.createKeyVersion.material), fc.anything({ withTypedArray: true })),
    attributes: fc.oneof(fc.constant(keyAttrs()), fc.anything()),
    rotation: fc.oneof(fc.boolean(), fc.anything()),
    replaceKeyOps: fc.boolean(),
    keyOps: fc.oneof(fc.constant(['sign']), fc.anything()),
    versions: fc.oneof(fc.constant(h.state.backupKey('vault1', 'live').versions), fc.anything({ withTypedArray: true })),
  }, { requiredKeys: [] });
  const body = fc.oneof(fc.anything({ withTypedArray: true, withNullPrototype: true, withMap: true }), nearly);
  fc.assert(
    fc.property(fc.constantFrom(...ops), body, (op, b) => {
      const before = recordsOf(h.state);
      const out = h.state.apply({ requestId: '', timeMs: h.now, op, [op]: b } as unknown as Command, 100);
      if ('error' in out) return out.error instanceof VaultError && out.mutations.length === 0 && JSON.stringify(recordsOf(h.state)) === JSON.stringify(before);
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass('no key command threw or half-applied');
});
