// A secret's life after delete (soft delete, recover, purge, purge
// protection, expiry, backup/restore), request deduplication, data keys, and
// apply's robustness to any command content.

import fc from 'fast-check';
import t from 'tap';
import { type Command, ErrorKind, MAX_REMEMBERED_REQUESTS, type SecretBackup, VaultError, VaultState } from '../../src/vault/index.js';
import { DAY, Harness, T0, attrs, keyOp, recordsOf, sealed, setOp, text, thrown, ver } from './fixtures/harness.js';

/** A harness holding one vault, "Vault1". */
function vault(retention = 0, purgeProtection = false) {
  const h = new Harness();
  h.createVault('Vault1', retention, purgeProtection);
  return h;
}

const ref = (name: string, v = 'vault1') => ({ vault: v, name });

t.test('DeleteSecret soft-deletes every version for the retention period', async (t) => {
  const h = vault(10);
  h.setSecret('vault1', 'Api-Key', 'a', {}, ver(1));
  h.setSecret('vault1', 'api-key', 'b', {}, ver(2));
  h.now += 2000;
  const d = h.deleteSecret('vault1', 'API-KEY');
  t.same(d, {
    properties: { ...h.state.getDeletedSecret('vault1', 'api-key', h.now).properties },
    recoveryId: 'keyraft://Vault1/deletedsecrets/Api-Key',
    deletedDate: T0 / 1000 + 2,
    scheduledPurgeDate: T0 / 1000 + 2 + 10 * 86400,
  });
  t.equal(d.properties.version, ver(2), 'the latest version\'s properties');
  t.equal(d.properties.recoveryLevel, 'CustomizedRecoverable+Purgeable');
  t.same(h.state.getDeletedSecret('vault1', 'api-key', h.now), d);
  t.same(h.state.listDeletedSecrets('vault1', 0, '', h.now), { secrets: [d], nextPageToken: '' });
  t.equal(thrown(() => h.state.getSecret('vault1', 'api-key', ver(1), h.now)).reason, 'SECRET_NOT_FOUND');
  t.equal(thrown(() => h.state.listSecretVersions('vault1', 'api-key', 0, '')).reason, 'SECRET_NOT_FOUND');
  t.equal(thrown(() => h.state.backupSecret('vault1', 'api-key')).reason, 'SECRET_NOT_FOUND');
  t.same(h.state.listSecrets('vault1', 0, '').secrets, []);
  t.equal(h.fail({ op: 'deleteSecret', deleteSecret: ref('api-key') }).reason, 'SECRET_NOT_FOUND', 'twice');
  t.equal(h.fail({ op: 'deleteSecret', deleteSecret: ref('nope') }).reason, 'SECRET_NOT_FOUND');
  t.equal(thrown(() => h.state.getDeletedSecret('vault1', 'nope', h.now)).reason, 'DELETED_SECRET_NOT_FOUND');
});

t.test('a soft-deleted name cannot be set again: CONFLICT_DELETED_EXISTS', async (t) => {
  const h = vault();
  h.setSecret('vault1', 's', 'a');
  h.deleteSecret('vault1', 's');
  const before = h.dump();
  const e = h.fail(setOp('vault1', 'S', 'b', {}, ver(50)));
  t.equal(e.reason, 'CONFLICT_DELETED_EXISTS');
  t.equal(e.kind, ErrorKind.FailedPrecondition);
  t.same(h.dump(), before);
});

t.test('RecoverDeletedSecret brings back every version', async (t) => {
  const h = vault();
  h.setSecret('vault1', 's', 'a', {}, ver(1));
  h.setSecret('vault1', 's', 'b', {}, ver(2));
  h.deleteSecret('vault1', 's');
  t.equal(h.fail({ op: 'recoverSecret', recoverSecret: ref('other') }).reason, 'DELETED_SECRET_NOT_FOUND');
  const r = h.ok({ op: 'recoverSecret', recoverSecret: ref('S') });
  t.ok(r.kind === 'secret' && r.secret.version === ver(2) && r.secret.name === 's');
  t.equal(text(h.state.getSecret('vault1', 's', ver(1), h.now).sealedValue), 'sealed:a');
  t.same(h.state.listDeletedSecrets('vault1', 0, '', h.now).secrets, []);
  const e = h.fail({ op: 'recoverSecret', recoverSecret: ref('s') });
  t.equal(e.reason, 'DELETED_SECRET_NOT_FOUND', 'a live secret is not deleted');
  t.equal(e.kind, ErrorKind.NotFound);
  h.setSecret('vault1', 's', 'c', {}, ver(3));
  t.equal(h.state.listSecretVersions('vault1', 's', 0, '').secrets.length, 3);
});

t.test('PurgeDeletedSecret removes every record; purge protection refuses it', async (t) => {
  const h = vault();
  h.setSecret('vault1', 'keep', 'k');
  h.setSecret('vault1', 's', 'a');
  h.setSecret('vault1', 's', 'b');
  t.equal(h.fail({ op: 'purgeSecret', purgeSecret: ref('s') }).reason, 'DELETED_SECRET_NOT_FOUND', 'only a deleted secret can be purged');
  h.deleteSecret('vault1', 's');
  t.same(h.ok({ op: 'purgeSecret', purgeSecret: ref('S') }), { kind: 'none' });
  t.same(Object.keys(h.dump()).filter((k) => k.includes('/s')), [], 'no record of s is left');
  t.equal(thrown(() => h.state.getDeletedSecret('vault1', 's', h.now)).reason, 'DELETED_SECRET_NOT_FOUND');
  const fresh = h.setSecret('vault1', 'S', 'new');
  t.equal(fresh.name, 'S', 'the name is free again, with the new case');
  t.equal(h.state.listSecretVersions('vault1', 's', 0, '').secrets.length, 1);

  const p = vault(7, true);
  p.setSecret('vault1', 's', 'a');
  p.deleteSecret('vault1', 's');
  const before = p.dump();
  const e = p.fail({ op: 'purgeSecret', purgeSecret: ref('s') });
  t.equal(e.reason, 'PURGE_PROTECTED');
  t.equal(e.kind, ErrorKind.FailedPrecondition);
  t.same(p.dump(), before);
  t.ok(p.ok({ op: 'recoverSecret', recoverSecret: ref('s') }), 'recover still works');
});

t.test('a deleted secret past its scheduled purge date counts as purged', async (t) => {
  const h = vault(7, true);
  h.setSecret('vault1', 'old', 'a', {}, ver(1));
  h.setSecret('vault1', 'other', 'x');
  h.deleteSecret('vault1', 'old');
  const purgeAt = h.now + 7 * DAY;
  t.ok(h.state.getDeletedSecret('vault1', 'old', purgeAt - 1));
  t.equal(thrown(() => h.state.getDeletedSecret('vault1', 'old', purgeAt)).reason, 'DELETED_SECRET_NOT_FOUND');
  t.same(h.state.listDeletedSecrets('vault1', 0, '', purgeAt).secrets, []);
  h.now = purgeAt;
  t.equal(h.fail({ op: 'recoverSecret', recoverSecret: ref('old') }).reason, 'DELETED_SECRET_NOT_FOUND');
  t.equal(h.fail({ op: 'purgeSecret', purgeSecret: ref('old') }).reason, 'DELETED_SECRET_NOT_FOUND', 'not PURGE_PROTECTED: already purged');
  const p = h.setSecret('vault1', 'OLD', 'b', {}, ver(2));
  t.equal(p.name, 'OLD', 'the name can be reused, even under purge protection');
  t.same(h.state.listSecretVersions('vault1', 'old', 0, '').secrets.map((s) => s.version), [ver(2)], 'the old versions are gone');
  t.notOk(Object.keys(h.dump()).includes(`secretv/vault1/old/${ver(1)}`));
});

t.test('expired deleted secrets are swept from the records by later commands', async (t) => {
  const h = vault(7);
  h.createVault('Vault2', 8);
  for (const n of ['a', 'b', 'c']) {
    h.setSecret('vault1', n);
    h.deleteSecret('vault1', n);
  }
  h.setSecret('vault2', 'z');
  h.deleteSecret('vault2', 'z');
  h.now += 7 * DAY;
  t.same(h.state.listDeletedSecrets('vault1', 1, '', h.now), { secrets: [], nextPageToken: '' }, 'hidden at once');
  t.ok(h.state.getDeletedSecret('vault2', 'z', h.now), 'vault2 keeps them a day longer');
  const out = h.run({ op: 'createVault', createVault: { name: 'unrelated', softDeleteRetentionDays: 0, purgeProtection: false } });
  t.notOk('error' in out);
  t.same(
    out.mutations.filter((m) => m.op === 'del').map((m) => m.key.split('/').slice(0, 3).join('/')).sort(),
    ['secret/vault1/a', 'secret/vault1/b', 'secret/vault1/c', 'secretv/vault1/a', 'secretv/vault1/b', 'secretv/vault1/c'],
  );
  t.same(Object.keys(h.dump()).filter((k) => k.startsWith('secret')).map((k) => k.split('/').slice(0, 3).join('/')), ['secret/vault2/z', 'secretv/vault2/z']);
  const refused = h.run({ op: 'createVault', createVault: { name: 'unrelated', softDeleteRetentionDays: 0, purgeProtection: false } });
  t.same(refused.mutations, [], 'a refused command sweeps nothing');
});

t.test('listing deleted secrets pages by name and skips expired ones', async (t) => {
  const h = vault(7);
  for (const n of ['a', 'b', 'c', 'd', 'e']) h.setSecret('vault1', n);
  for (const n of ['b', 'd', 'a']) {
    h.deleteSecret('vault1', n);
    h.now += DAY;
  }
  h.deleteSecret('vault1', 'e');
  const now = T0 + 7 * DAY + 1; // b has expired, d and a have not
  const p1 = h.state.listDeletedSecrets('vault1', 1, '', now);
  t.same(p1.secrets.map((s) => s.properties.name), ['a']);
  const p2 = h.state.listDeletedSecrets('vault1', 1, p1.nextPageToken, now);
  t.same(p2.secrets.map((s) => s.properties.name), ['d'], 'b skipped');
  const p3 = h.state.listDeletedSecrets('vault1', 1, p2.nextPageToken, now);
  t.same(p3.secrets.map((s) => s.properties.name), ['e']);
  t.equal(p3.nextPageToken, '');
  t.equal(thrown(() => h.state.listDeletedSecrets('vault1', 1, Buffer.from('s:a').toString('base64url'), now)).reason, 'INVALID_PAGE_TOKEN');
});

t.test('backup then restore keeps version ids, dates, attributes and order', async (t) => {
  const h = vault();
  h.createVault('Other');
  h.setSecret('vault1', 'Cert', 'a', { tags: { k: 'v' } }, ver(5));
  h.now += 3000;
  h.setSecret('vault1', 'cert', 'b', { enabled: false, contentType: 'x' }, ver(2));
  h.now += 3000;
  h.ok({ op: 'updateSecret', updateSecret: { vault: 'vault1', name: 'cert', version: ver(5), expires: T0 / 1000 + 999_999, replaceTags: false, tags: {} } });
  const backup = h.state.backupSecret('VAULT1', 'CERT');
  t.same(backup, {
    vault: 'Vault1',
    name: 'Cert',
    versions: [
      { version: ver(5), sealedValue: sealed('a'), attributes: attrs({ tags: { k: 'v' }, expires: T0 / 1000 + 999_999 }), createdMs: T0, updatedMs: T0 + 6000 },
      { version: ver(2), sealedValue: sealed('b'), attributes: attrs({ enabled: false, contentType: 'x' }), createdMs: T0 + 3000, updatedMs: T0 + 3000 },
    ],
  });
  const restore = (b: SecretBackup, v = 'vault1') => ({ op: 'restoreSecret' as const, restoreSecret: { vault: v, name: b.name, versions: b.versions } });
  const e1 = h.fail(restore(backup));
  t.equal(e1.reason, 'SECRET_ALREADY_EXISTS');
  t.equal(e1.kind, ErrorKind.AlreadyExists);
  const before = h.state.listSecretVersions('vault1', 'cert', 0, '');
  h.deleteSecret('vault1', 'cert');
  t.equal(h.fail(restore(backup)).reason, 'CONFLICT_DELETED_EXISTS');
  h.ok({ op: 'purgeSecret', purgeSecret: ref('cert') });
  h.now += 60_000;
  const r = h.ok(restore(backup));
  t.ok(r.kind === 'secret' && r.secret.version === ver(2), 'answers the latest version');
  t.same(h.state.listSecretVersions('vault1', 'cert', 0, ''), before, 'identical to before the delete');
  t.equal(text(h.state.getSecret('vault1', 'cert', ver(5), h.now).sealedValue), 'sealed:a', 'sealed values are restored');
  t.equal(thrown(() => h.state.getSecret('vault1', 'cert', '', h.now)).reason, 'SECRET_DISABLED', 'and so are attributes');
  const into = h.ok(restore(backup, 'other'));
  t.ok(into.kind === 'secret' && into.secret.vault === 'Other' && into.secret.id === `keyraft://Other/secrets/Cert/${ver(2)}`, 'restore into another vault');
});

t.test('restore of an expired deleted name replaces it; malformed backups are BAD_BACKUP', async (t) => {
  const h = vault(7);
  h.setSecret('vault1', 's', 'a', {}, ver(1));
  const backup = h.state.backupSecret('vault1', 's');
  h.setSecret('vault1', 's', 'b', {}, ver(2));
  h.deleteSecret('vault1', 's');
  h.now += 7 * DAY;
  h.ok({ op: 'restoreSecret', restoreSecret: { vault: 'vault1', name: 's', versions: backup.versions } });
  t.same(h.state.listSecretVersions('vault1', 's', 0, '').secrets.map((p) => p.version), [ver(1)]);
  const v = backup.versions[0]!;
  const bad = (versions: unknown) => h.fail({ op: 'restoreSecret', restoreSecret: { vault: 'vault1', name: 'n2', versions: versions as typeof backup.versions } });
  const before = h.dump();
  for (const [what, versions] of [
    ['empty', []],
    ['not a list', 'x'],
    ['duplicate version', [v, v]],
    ['bad version id', [{ ...v, version: 'XYZ' }]],
    ['missing attributes', [{ ...v, attributes: null }]],
    ['negative date', [{ ...v, createdMs: -1 }]],
    ['not bytes', [{ ...v, sealedValue: 'abc' }]],
    ['null entry', [null]],
  ] as const) {
    const e = bad(versions);
    t.equal(e.reason, 'BAD_BACKUP', what);
    t.equal(e.kind, ErrorKind.InvalidArgument);
  }
  t.equal(h.fail({ op: 'restoreSecret', restoreSecret: { vault: 'vault1', name: 'bad name', versions: backup.versions } }).reason, 'INVALID_NAME');
  t.equal(h.fail({ op: 'restoreSecret', restoreSecret: { vault: 'nope', name: 'n', versions: backup.versions } }).reason, 'VAULT_NOT_FOUND');
  t.same(h.dump(), before);
});

t.test('a request id applied before answers its first result again and writes nothing', async (t) => {
  const h = new Harness();
  h.createVault('abc');
  const first = h.run({ ...setOp('abc', 's', 'x', {}, ver(1)), requestId: 'req-1' });
  t.ok('result' in first);
  t.ok(first.mutations.some((m) => m.key === 'request/req-1'), 'the request id is persisted');
  const before = h.dump();
  h.now += 5000;
  // A retry prepared by another leader: new version id, new time, new ciphertext.
  const retry = h.run({ ...setOp('ABC', 'S', 'y', {}, ver(2)), requestId: 'req-1' });
  t.same(retry, { result: (first as { result: unknown }).result, index: (first as { index?: number }).index, mutations: [] }, 'the first result, and the index of the entry that made it');
  t.ok((first as { index?: number }).index! > 0, 'a fresh apply reports its own index');
  t.same(h.dump(), before);
  t.equal(h.state.listSecretVersions('abc', 's', 0, '').secrets.length, 1, 'applied once');

  const vault = h.run({ op: 'createVault', createVault: { name: 'v2x', softDeleteRetentionDays: 0, purgeProtection: false }, requestId: 'req-2' });
  h.ok({ op: 'deleteVault', deleteVault: { name: 'v2x' } });
  const again = h.run({ op: 'createVault', createVault: { name: 'v2x', softDeleteRetentionDays: 0, purgeProtection: false }, requestId: 'req-2' });
  t.same(again, { result: (vault as { result: unknown }).result, index: (vault as { index?: number }).index, mutations: [] }, 'the first outcome, even if the state moved on');
  t.equal(h.state.listVaults(0, '').vaults.length, 1);
});

t.test('a refused command is not remembered: its retry runs again', async (t) => {
  const h = new Harness();
  t.equal(h.fail({ ...setOp('abc', 's', 'x', {}, ver(1)), requestId: 'r' }).reason, 'VAULT_NOT_FOUND');
  h.createVault('abc');
  t.ok(h.ok({ ...setOp('abc', 's', 'x', {}, ver(1)), requestId: 'r' }), 'nothing happened the first time, so the retry applies');
});

t.test('a request id reused for another operation is refused', async (t) => {
  const h = new Harness();
  h.createVault('abc');
  h.ok({ ...setOp('abc', 's', 'x', {}, ver(1)), requestId: 'r' });
  const before = h.dump();
  t.equal(h.fail({ op: 'deleteSecret', deleteSecret: { vault: 'abc', name: 's' }, requestId: 'r' }).reason, 'REQUEST_ID_REUSED');
  t.equal(h.fail({ ...setOp('abc', 'other', 'x', {}, ver(2)), requestId: 'r' }).reason, 'REQUEST_ID_REUSED');
  t.same(h.dump(), before);
});

t.test(`the last ${MAX_REMEMBERED_REQUESTS} request ids are remembered, in apply order, across a reload`, async (t) => {
  const h = new Harness();
  // The cheapest command that succeeds again and again: re-installing the same data key.
  const install = (i: number) => ({ op: 'installDataKey' as const, installDataKey: { keyId: 'dk', wrappedKey: new Uint8Array([1]) }, requestId: `id-${i}` });
  // Past twice the limit, so that the forgotten ids are dropped from the order at least once.
  const applied = 2 * MAX_REMEMBERED_REQUESTS + 500;
  for (let i = 0; i < applied; i++) {
    const out = h.run(install(i));
    if ('error' in out) t.fail(`apply ${i}: ${out.error.reason}`);
    if (i >= MAX_REMEMBERED_REQUESTS) {
      const gone = out.mutations.filter((m) => m.op === 'del').map((m) => m.key);
      if (gone.length !== 1 || gone[0] !== `request/id-${i - MAX_REMEMBERED_REQUESTS}`) t.fail(`apply ${i} forgot ${gone.join(', ')}`);
    }
  }
  const first = applied - MAX_REMEMBERED_REQUESTS;
  const ids = new Set([...h.state.records()].map(([k]) => k).filter((k) => k.startsWith('request/')));
  t.equal(ids.size, MAX_REMEMBERED_REQUESTS);
  t.notOk(ids.has(`request/id-${first - 1}`), 'the older ones were forgotten');
  t.ok(ids.has(`request/id-${first}`) && ids.has(`request/id-${applied - 1}`), 'the last ones are remembered');
  h.state = VaultState.load(h.state.records());
  t.equal(h.run(install(first)).mutations.length, 0, 'the oldest remembered is still remembered after the reload');
  const out = h.run(install(0));
  t.ok(out.mutations.some((m) => m.op === 'del' && m.key === `request/id-${first}`), 'id-0 applies again, and the oldest remembered goes');
  t.ok(out.mutations.some((m) => m.op === 'put' && m.key === 'request/id-0'));
});

t.test('data keys: the last installed is active; an id cannot change its key', async (t) => {
  const h = new Harness();
  t.same(h.state.dataKeys(), { activeKeyId: '', keys: [] });
  const install = (keyId: string, bytes: number[]) => ({ op: 'installDataKey' as const, installDataKey: { keyId, wrappedKey: new Uint8Array(bytes) } });
  t.same(h.ok(install('dk-1', [1])), { kind: 'none' });
  h.ok(install('dk-2', [2]));
  t.same(h.state.dataKeys(), { activeKeyId: 'dk-2', keys: [{ keyId: 'dk-1', wrappedKey: new Uint8Array([1]) }, { keyId: 'dk-2', wrappedKey: new Uint8Array([2]) }] });
  h.ok(install('dk-1', [1]));
  t.equal(h.state.dataKeys().activeKeyId, 'dk-1', 'installing the same key again makes it active');
  t.same(VaultState.load(h.state.records()).dataKeys(), h.state.dataKeys());
  t.equal(h.fail(install('dk-1', [9])).reason, 'DATA_KEY_ALREADY_EXISTS');
  t.equal(h.fail(install('a/b', [9])).reason, 'BAD_PARAMETER');
  t.equal(h.fail(install('dk-3', [])).reason, 'BAD_PARAMETER');
  t.notOk(JSON.stringify(recordsOf(h.state)).includes('sealed'));
});

t.test('apply refuses malformed commands with BAD_COMMAND or a field error, and never throws', async (t) => {
  const h = new Harness();
  h.createVault('abc');
  h.setSecret('abc', 's');
  const reasons = (c: unknown) => {
    const out = h.state.apply(c as Command, 99);
    t.same(out.mutations, []);
    return 'error' in out ? out.error.reason : 'ok';
  };
  t.equal(reasons(null), 'BAD_COMMAND');
  t.equal(reasons({}), 'BAD_COMMAND');
  t.equal(reasons({ timeMs: T0, op: 'nope', nope: {} }), 'BAD_COMMAND');
  t.equal(reasons({ timeMs: T0, op: 'toString' }), 'BAD_COMMAND');
  t.equal(reasons({ timeMs: T0, op: 'createVault' }), 'BAD_COMMAND', 'no body');
  t.equal(reasons({ timeMs: NaN, op: 'createVault', createVault: { name: 'abcd' } }), 'BAD_COMMAND');
  t.equal(reasons({ timeMs: -1, op: 'createVault', createVault: { name: 'abcd' } }), 'BAD_COMMAND');
  t.equal(reasons({ timeMs: T0, requestId: 5, op: 'createVault', createVault: { name: 'abcd' } }), 'BAD_PARAMETER');
  t.equal(reasons({ timeMs: T0, op: 'createVault', createVault: { name: 'abcd', purgeProtection: 'yes' } }), 'BAD_PARAMETER');
  t.equal(reasons({ timeMs: T0, op: 'setSecret', setSecret: { vault: 'abc', name: 's', version: ver(7), sealedValue: [1], attributes: {} } }), 'BAD_PARAMETER');
  t.equal(reasons({ timeMs: T0, op: 'setSecret', setSecret: { vault: 'abc', name: 's', version: ver(7), sealedValue: new Uint8Array(), attributes: { enabled: true, tags: 'x' } } }), 'BAD_PARAMETER');

  const ops = ['createVault', 'deleteVault', 'setSecret', 'updateSecret', 'deleteSecret', 'recoverSecret', 'purgeSecret', 'restoreSecret', 'installDataKey', 'resealValues'];
  fc.assert(
    fc.property(fc.constantFrom(...ops), fc.anything({ withTypedArray: true, withNullPrototype: true, withMap: true }), fc.anything(), (op, body, requestId) => {
      const c = { requestId: typeof requestId === 'string' ? requestId : '', timeMs: T0, op, [op]: body };
      const out = h.state.apply(c as unknown as Command, 100);
      return 'result' in out || (out.error instanceof VaultError && out.mutations.length === 0);
    }),
    { numRuns: 1000 },
  );
});

t.test('a result shares nothing with the state: changing it changes neither the state nor what a retry answers', async (t) => {
  const h = new Harness();
  h.createVault('abc');
  const vandalize = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(vandalize);
      v.push('changed');
    } else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (typeof o[k] === 'object') vandalize(o[k]);
        else o[k] = typeof o[k] === 'string' ? 'changed' : 12345;
      }
      o.added = 'changed';
    }
  };
  const ops = [
    { ...setOp('abc', 's', 'x', { tags: { team: 'a' } }, ver(1)), requestId: 'set' },
    { ...keyOp('abc', 'k', { version: ver(2), attrs: { tags: { team: 'b' } } }), requestId: 'key' },
    { op: 'deleteSecret' as const, deleteSecret: { vault: 'abc', name: 's' }, requestId: 'del' },
  ];
  for (const op of ops) {
    const out = h.run(op);
    if ('error' in out) throw out.error;
    const before = { dump: h.dump(), result: JSON.stringify(out.result) };
    vandalize(out.result);
    t.same(h.dump(), before.dump, `${op.op}: the state is unchanged`);
    const retry = h.run(op);
    t.equal('result' in retry && JSON.stringify(retry.result), before.result, `${op.op}: a retry answers the first result`);
    vandalize('result' in retry && retry.result);
    t.equal(JSON.stringify((h.run(op) as { result: unknown }).result), before.result, `${op.op}: and so does the next`);
  }
});

t.test('rotateMasterKey rewraps every data key in place, or refuses and changes nothing', async (t) => {
  const h = new Harness();
  const install = (keyId: string, bytes: number[]) => ({ op: 'installDataKey' as const, installDataKey: { keyId, wrappedKey: new Uint8Array(bytes) } });
  const rotate = (keys: { keyId: string; wrappedKey: Uint8Array }[], masterKeyFingerprint = '0123456789abcdef') => ({
    op: 'rotateMasterKey' as const,
    rotateMasterKey: { masterKeyFingerprint, keys },
  });
  h.ok(install('dk-1', [1]));
  h.ok(install('dk-2', [2]));
  const before = recordsOf(h.state);
  t.equal(h.fail(rotate([{ keyId: 'dk-1', wrappedKey: new Uint8Array([11]) }])).reason, 'DATA_KEYS_CHANGED', 'a data key left out');
  t.equal(h.fail(rotate([{ keyId: 'dk-1', wrappedKey: new Uint8Array([11]) }, { keyId: 'dk-9', wrappedKey: new Uint8Array([9]) }])).reason, 'DATA_KEYS_CHANGED', 'an unknown one');
  t.equal(h.fail(rotate([{ keyId: 'dk-1', wrappedKey: new Uint8Array([11]) }, { keyId: 'dk-1', wrappedKey: new Uint8Array([11]) }])).reason, 'DATA_KEYS_CHANGED', 'one twice');
  t.equal(h.fail(rotate([{ keyId: 'dk-1', wrappedKey: new Uint8Array() }, { keyId: 'dk-2', wrappedKey: new Uint8Array([2]) }])).reason, 'BAD_PARAMETER');
  t.equal(h.fail(rotate([], 'not-a-fingerprint')).reason, 'BAD_PARAMETER');
  t.same(recordsOf(h.state), before, 'refusals change nothing');

  t.same(h.ok(rotate([{ keyId: 'dk-2', wrappedKey: new Uint8Array([22]) }, { keyId: 'dk-1', wrappedKey: new Uint8Array([11]) }])), { kind: 'none' });
  const expected = { activeKeyId: 'dk-2', keys: [{ keyId: 'dk-1', wrappedKey: new Uint8Array([11]) }, { keyId: 'dk-2', wrappedKey: new Uint8Array([22]) }] };
  t.same(h.state.dataKeys(), expected, 'new wrappings, install order and active key kept');
  t.same(VaultState.load(h.state.records()).dataKeys(), expected, 'and so after a reload');
});
