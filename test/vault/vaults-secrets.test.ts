// Vaults (create, get, list, delete only when empty) and secrets (set, get,
// update, list, list versions), with paging.

import t from 'tap';
import { ErrorKind } from '../../src/vault/index.js';
import { SortedKeys } from '../../src/vault/sorted.js';
import { DAY, Harness, T0, attrs, sealed, setOp, text, thrown, ver } from './fixtures/harness.js';

/** A harness holding one vault, "Vault1". */
function vault(retention = 0, purgeProtection = false) {
  const h = new Harness();
  h.createVault('Vault1', retention, purgeProtection);
  return h;
}

t.test('CreateVault stamps the command time and fills the default retention', async (t) => {
  const h = new Harness();
  const v = h.createVault('Team-Vault1');
  t.same(v, { name: 'Team-Vault1', id: 'keyraft://Team-Vault1', softDeleteRetentionDays: 90, purgeProtection: false, created: T0 / 1000 });
  t.same(h.state.getVault('team-vault1'), v, 'names are case-insensitive; the display keeps the creator\'s case');
  t.same(h.createVault('Other', 7, true).softDeleteRetentionDays, 7);
  t.same(Object.keys(h.dump()), ['vault/other', 'vault/team-vault1']);
});

t.test('CreateVault refusals change nothing', async (t) => {
  const h = new Harness();
  h.createVault('abc');
  const before = h.dump();
  const dup = h.fail({ op: 'createVault', createVault: { name: 'ABC', softDeleteRetentionDays: 0, purgeProtection: false } });
  t.equal(dup.kind, ErrorKind.AlreadyExists);
  t.equal(dup.reason, 'VAULT_ALREADY_EXISTS');
  t.equal(h.fail({ op: 'createVault', createVault: { name: 'a--b', softDeleteRetentionDays: 0, purgeProtection: false } }).reason, 'INVALID_NAME');
  const bad = h.fail({ op: 'createVault', createVault: { name: 'good', softDeleteRetentionDays: 6, purgeProtection: false } });
  t.equal(bad.kind, ErrorKind.InvalidArgument);
  t.equal(bad.reason, 'BAD_PARAMETER');
  t.same(h.dump(), before);
});

t.test('GetVault of a missing or malformed name', async (t) => {
  const h = new Harness();
  const e = thrown(() => h.state.getVault('nope'));
  t.equal(e.kind, ErrorKind.NotFound);
  t.equal(e.reason, 'VAULT_NOT_FOUND');
  t.equal(thrown(() => h.state.getVault('x')).reason, 'INVALID_NAME');
});

t.test('ListVaults pages by name with opaque tokens', async (t) => {
  const h = new Harness();
  const names = Array.from({ length: 30 }, (_, i) => `vault${String(i).padStart(2, '0')}`);
  for (const n of [...names].reverse()) h.createVault(n);
  const p1 = h.state.listVaults(0, '');
  t.same(p1.vaults.map((v) => v.name), names.slice(0, 25), 'page size 0 means 25, sorted by name');
  t.match(p1.nextPageToken, /^[A-Za-z0-9_-]+$/);
  const p2 = h.state.listVaults(0, p1.nextPageToken);
  t.same(p2.vaults.map((v) => v.name), names.slice(25));
  t.equal(p2.nextPageToken, '', 'no token on the last page');
  const exact = h.state.listVaults(15, h.state.listVaults(15, '').nextPageToken);
  t.equal(exact.vaults.length, 15);
  t.equal(exact.nextPageToken, '', 'a page that ends exactly at the end has no token');
  t.same(new Harness().state.listVaults(5, ''), { vaults: [], nextPageToken: '' });
});

t.test('a vault page token stays valid across inserts and deletes', async (t) => {
  const h = new Harness();
  for (const n of ['bbb', 'ddd', 'fff', 'hhh']) h.createVault(n);
  const p1 = h.state.listVaults(2, '');
  t.same(p1.vaults.map((v) => v.name), ['bbb', 'ddd']);
  h.createVault('aaa');
  h.createVault('Eee');
  h.ok({ op: 'deleteVault', deleteVault: { name: 'ddd' } });
  const p2 = h.state.listVaults(2, p1.nextPageToken);
  t.same(p2.vaults.map((v) => v.name), ['Eee', 'fff'], 'continues after ddd: the insert before is not repeated, the one after is seen');
  t.same(h.state.listVaults(2, p2.nextPageToken).vaults.map((v) => v.name), ['hhh']);
});

t.test('malformed page tokens and page sizes', async (t) => {
  const h = new Harness();
  h.createVault('abc');
  for (const bad of ['!!!', 'abc', Buffer.from('v:ab').toString('base64url'), Buffer.from('s:abc').toString('base64url'), 'dj phYmM', 'x'.repeat(300)]) {
    const e = thrown(() => h.state.listVaults(5, bad));
    t.equal(e.reason, 'INVALID_PAGE_TOKEN', bad.slice(0, 20));
    t.equal(e.kind, ErrorKind.InvalidArgument);
  }
  t.equal(thrown(() => h.state.listVaults(26, '')).reason, 'BAD_PARAMETER');
});

t.test('DeleteVault is refused while the vault holds any secret, deleted ones included', async (t) => {
  const h = new Harness();
  h.createVault('abc', 7);
  t.equal(h.fail({ op: 'deleteVault', deleteVault: { name: 'nope' } }).reason, 'VAULT_NOT_FOUND');
  h.setSecret('abc', 's1');
  const live = h.fail({ op: 'deleteVault', deleteVault: { name: 'abc' } });
  t.equal(live.reason, 'VAULT_NOT_EMPTY');
  t.equal(live.kind, ErrorKind.FailedPrecondition);
  h.deleteSecret('abc', 's1');
  t.equal(h.fail({ op: 'deleteVault', deleteVault: { name: 'ABC' } }).reason, 'VAULT_NOT_EMPTY', 'a soft-deleted secret counts');
  h.ok({ op: 'purgeSecret', purgeSecret: { vault: 'abc', name: 's1' } });
  const r = h.ok({ op: 'deleteVault', deleteVault: { name: 'ABC' } });
  t.same(r, { kind: 'vault', vault: { name: 'abc', id: 'keyraft://abc', softDeleteRetentionDays: 7, purgeProtection: false, created: T0 / 1000 } });
  t.same(h.dump(), {});
  t.equal(thrown(() => h.state.getVault('abc')).reason, 'VAULT_NOT_FOUND');
  h.createVault('abc');
  t.same(h.state.listSecrets('abc', 0, ''), { secrets: [], nextPageToken: '' }, 'a new vault of the same name starts empty');
});

t.test('DeleteVault removes deleted secrets past their purge date, which count as purged', async (t) => {
  const h = new Harness();
  h.createVault('abc', 7, true);
  h.setSecret('abc', 's1');
  h.deleteSecret('abc', 's1');
  h.now += 7 * DAY - 1;
  t.equal(h.fail({ op: 'deleteVault', deleteVault: { name: 'abc' } }).reason, 'VAULT_NOT_EMPTY', 'one ms before the purge date');
  h.now += 1;
  const out = h.run({ op: 'deleteVault', deleteVault: { name: 'abc' } });
  t.notOk('error' in out);
  t.same(out.mutations.map((m) => `${m.op} ${m.key}`).sort(), [
    `del secret/abc/s1`,
    `del secretv/abc/s1/${'0'.repeat(31)}1`,
    'del vault/abc',
  ]);
  t.same(h.dump(), {});
});

t.test('SetSecret creates a version with Azure-like properties; GetSecret hands back the sealed value', async (t) => {
  const h = vault();
  h.now += 1500;
  const p = h.setSecret('vault1', 'Db-Password', 'one', { contentType: 'text/plain', tags: { b: '2', a: '1' }, expires: T0 / 1000 + 3600 });
  t.same(p, {
    vault: 'Vault1',
    name: 'Db-Password',
    version: ver(1),
    id: `keyraft://Vault1/secrets/Db-Password/${ver(1)}`,
    contentType: 'text/plain',
    tags: { a: '1', b: '2' },
    enabled: true,
    notBefore: 0,
    expires: T0 / 1000 + 3600,
    created: T0 / 1000 + 1,
    updated: T0 / 1000 + 1,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  });
  const got = h.state.getSecret('VAULT1', 'db-password', '', h.now);
  t.same(got.properties, p);
  t.equal(text(got.sealedValue), 'sealed:one');
  t.notOk(Object.values(h.dump()).some((v) => v.includes('"one"')), 'records hold the sealed value only');
});

t.test('recovery level and recoverable days follow the vault settings', async (t) => {
  const cases: [number, boolean, string][] = [
    [90, false, 'Recoverable+Purgeable'],
    [90, true, 'Recoverable'],
    [30, false, 'CustomizedRecoverable+Purgeable'],
    [7, true, 'CustomizedRecoverable'],
  ];
  for (const [days, pp, level] of cases) {
    const h = vault(days, pp);
    const p = h.setSecret('vault1', 's');
    t.equal(p.recoveryLevel, level);
    t.equal(p.recoverableDays, days);
  }
});

t.test('every set is a new version; versions list oldest first, in creation order', async (t) => {
  const h = vault();
  const ids = [ver(9), ver(3), ver(7)];
  for (const [i, id] of ids.entries()) {
    h.now += 1000;
    h.setSecret('vault1', 's', `value${i}`, {}, id);
  }
  const list = h.state.listSecretVersions('vault1', 'S', 0, '');
  t.same(list.secrets.map((p) => p.version), ids, 'creation order, not id order');
  t.same(list.secrets.map((p) => p.created), [1, 2, 3].map((k) => T0 / 1000 + k));
  t.equal(text(h.state.getSecret('vault1', 's', '', h.now).sealedValue), 'sealed:value2', 'latest');
  t.equal(text(h.state.getSecret('vault1', 's', ver(3), h.now).sealedValue), 'sealed:value1', 'by version');
  const p1 = h.state.listSecretVersions('vault1', 's', 2, '');
  t.same(p1.secrets.map((p) => p.version), [ver(9), ver(3)]);
  h.setSecret('vault1', 's', 'value3', {}, ver(1));
  const p2 = h.state.listSecretVersions('vault1', 's', 2, p1.nextPageToken);
  t.same(p2.secrets.map((p) => p.version), [ver(7), ver(1)], 'a version added meanwhile shows up on the next page');
  t.equal(p2.nextPageToken, '');
  t.equal(thrown(() => h.state.listSecretVersions('vault1', 's', 2, Buffer.from(`r:${ver(99)}`).toString('base64url'))).reason, 'INVALID_PAGE_TOKEN');
  t.equal(thrown(() => h.state.listSecretVersions('vault1', 's', 2, p1.nextPageToken.slice(1))).reason, 'INVALID_PAGE_TOKEN');
  t.equal(thrown(() => h.state.listSecretVersions('vault1', 'none', 2, '')).reason, 'SECRET_NOT_FOUND');
});

t.test('names are case-insensitive and keep the case they were created with', async (t) => {
  const h = vault();
  h.setSecret('vault1', 'MySecret', 'a');
  const p = h.setSecret('VAULT1', 'MYSECRET', 'b');
  t.equal(p.name, 'MySecret');
  t.equal(p.vault, 'Vault1');
  t.equal(h.state.listSecretVersions('vault1', 'mysecret', 0, '').secrets.length, 2, 'one secret, two versions');
  t.equal(text(h.state.getSecret('vault1', 'mYsEcReT', '', h.now).sealedValue), 'sealed:b');
  t.same(h.state.listSecrets('vault1', 0, '').secrets.map((s) => s.name), ['MySecret']);
});

t.test('SetSecret refusals change nothing', async (t) => {
  const h = vault();
  h.setSecret('vault1', 's', 'x', {}, ver(1));
  const before = h.dump();
  const cases: [Parameters<Harness['fail']>[0], string, ErrorKind][] = [
    [setOp('missing', 's', 'x', {}, ver(2)), 'VAULT_NOT_FOUND', ErrorKind.NotFound],
    [setOp('vault1', 'bad_name', 'x', {}, ver(2)), 'INVALID_NAME', ErrorKind.InvalidArgument],
    [setOp('vault1', 's', 'x', {}, 'ABC'), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    [setOp('vault1', 's', 'x', {}, ver(1)), 'SECRET_VERSION_ALREADY_EXISTS', ErrorKind.AlreadyExists],
    [setOp('vault1', 's', 'x', { notBefore: 10, expires: 5 }, ver(2)), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    [setOp('vault1', 's', 'x', { tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, ''])) }, ver(2)), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    [{ op: 'setSecret', setSecret: { vault: 'vault1', name: 's', version: ver(2), sealedValue: new Uint8Array(64 * 1024 + 1), attributes: attrs() } }, 'VALUE_TOO_LARGE', ErrorKind.InvalidArgument],
    [{ op: 'setSecret', setSecret: { vault: 'vault1', name: 's', version: ver(2), sealedValue: sealed('x'), attributes: null } }, 'BAD_PARAMETER', ErrorKind.InvalidArgument],
  ];
  for (const [op, reason, kind] of cases) {
    const e = h.fail(op);
    t.equal(e.reason, reason, reason);
    t.equal(e.kind, kind);
  }
  t.same(h.dump(), before);
});

t.test('GetSecret refuses disabled, not-yet-valid and expired versions, as Azure does', async (t) => {
  const h = vault();
  const nbf = T0 / 1000 + 100;
  const exp = T0 / 1000 + 200;
  h.setSecret('vault1', 's', 'x', { notBefore: nbf, expires: exp }, ver(1));
  h.setSecret('vault1', 'off', 'x', { enabled: false }, ver(2));
  const early = thrown(() => h.state.getSecret('vault1', 's', '', nbf * 1000 - 1));
  t.equal(early.reason, 'SECRET_NOT_YET_VALID');
  t.equal(early.kind, ErrorKind.PermissionDenied);
  t.equal(text(h.state.getSecret('vault1', 's', '', nbf * 1000).sealedValue), 'sealed:x', 'valid from not_before');
  t.ok(h.state.getSecret('vault1', 's', ver(1), exp * 1000 - 1));
  t.equal(thrown(() => h.state.getSecret('vault1', 's', '', exp * 1000)).reason, 'SECRET_EXPIRED');
  const off = thrown(() => h.state.getSecret('vault1', 'off', '', h.now));
  t.equal(off.reason, 'SECRET_DISABLED');
  t.equal(off.kind, ErrorKind.PermissionDenied);
  t.equal(thrown(() => h.state.getSecret('vault1', 'none', '', h.now)).reason, 'SECRET_NOT_FOUND');
  t.equal(thrown(() => h.state.getSecret('vault1', 's', ver(3), h.now)).reason, 'SECRET_VERSION_NOT_FOUND');
  t.equal(thrown(() => h.state.getSecret('nope', 's', '', h.now)).reason, 'VAULT_NOT_FOUND');
  t.equal(thrown(() => h.state.getSecret('vault1', 's', 'latest', h.now)).reason, 'BAD_PARAMETER');
  t.same(h.state.listSecrets('vault1', 0, '').secrets.map((s) => s.enabled), [false, true], 'listing shows disabled ones');
});

t.test('UpdateSecret changes one version\'s attributes and tags, never the value', async (t) => {
  const h = vault();
  h.setSecret('vault1', 's', 'one', { tags: { keep: 'me' }, contentType: 'a' }, ver(1));
  h.setSecret('vault1', 's', 'two', {}, ver(2));
  h.now += 5000;
  const r = h.ok({
    op: 'updateSecret',
    updateSecret: { vault: 'vault1', name: 'S', version: ver(1), enabled: false, expires: T0 / 1000 + 99, replaceTags: false, tags: { ignored: 'x' } },
  });
  t.ok(r.kind === 'secret');
  if (r.kind !== 'secret') return;
  t.same([r.secret.version, r.secret.enabled, r.secret.expires, r.secret.tags, r.secret.contentType], [ver(1), false, T0 / 1000 + 99, { keep: 'me' }, 'a']);
  t.equal(r.secret.updated, T0 / 1000 + 5);
  t.equal(r.secret.created, T0 / 1000);
  const latest = h.ok({ op: 'updateSecret', updateSecret: { vault: 'vault1', name: 's', version: '', contentType: 'b', replaceTags: true, tags: { z: '1', y: '2' } } });
  t.ok(latest.kind === 'secret' && latest.secret.version === ver(2) && latest.secret.contentType === 'b');
  t.same(h.state.getSecret('vault1', 's', '', h.now).properties.tags, { y: '2', z: '1' });
  t.equal(text(h.state.getSecret('vault1', 's', '', h.now).sealedValue), 'sealed:two', 'value unchanged');
  t.equal(thrown(() => h.state.getSecret('vault1', 's', ver(1), h.now)).reason, 'SECRET_DISABLED');
  h.ok({ op: 'updateSecret', updateSecret: { vault: 'vault1', name: 's', version: ver(1), enabled: true, expires: 0, replaceTags: true, tags: {} } });
  const v1 = h.state.getSecret('vault1', 's', ver(1), h.now);
  t.equal(text(v1.sealedValue), 'sealed:one');
  t.same(v1.properties.tags, {});
  t.same(h.state.listSecretVersions('vault1', 's', 0, '').secrets.map((p) => p.version), [ver(1), ver(2)], 'no new version');
});

t.test('UpdateSecret refusals change nothing', async (t) => {
  const h = vault();
  h.setSecret('vault1', 's', 'x', { notBefore: 100 }, ver(1));
  const before = h.dump();
  const upd = (u: object) => ({ op: 'updateSecret' as const, updateSecret: { vault: 'vault1', name: 's', version: '', replaceTags: false, tags: {}, ...u } });
  t.equal(h.fail(upd({ expires: 50 })).reason, 'BAD_PARAMETER', 'expires before the version\'s not_before');
  t.equal(h.fail(upd({ version: ver(5) })).reason, 'SECRET_VERSION_NOT_FOUND');
  t.equal(h.fail(upd({ name: 'other' })).reason, 'SECRET_NOT_FOUND');
  t.equal(h.fail(upd({ vault: 'other' })).reason, 'VAULT_NOT_FOUND');
  t.equal(h.fail(upd({ enabled: 'yes' })).reason, 'BAD_PARAMETER');
  t.equal(h.fail(upd({ replaceTags: true, tags: { ['x'.repeat(300)]: '' } })).reason, 'BAD_PARAMETER');
  h.deleteSecret('vault1', 's');
  const afterDelete = h.dump();
  t.equal(h.fail(upd({ enabled: false })).reason, 'SECRET_NOT_FOUND', 'a deleted secret cannot be updated');
  t.same(h.dump(), afterDelete);
  t.notSame(before, afterDelete);
});

t.test('ListSecrets: latest properties of each live secret, by name, paged stably', async (t) => {
  const h = vault();
  for (const n of ['delta', 'Bravo', 'alpha', 'echo', 'charlie']) h.setSecret('vault1', n, n);
  h.setSecret('vault1', 'alpha', 'again', { contentType: 'second' });
  h.deleteSecret('vault1', 'echo');
  const all = h.state.listSecrets('vault1', 0, '');
  t.same(all.secrets.map((s) => s.name), ['alpha', 'Bravo', 'charlie', 'delta'], 'case-insensitive order; deleted left out');
  t.equal(all.secrets[0]!.contentType, 'second', 'the latest version');
  t.notOk(JSON.stringify(all).includes('sealed'), 'properties only');
  const p1 = h.state.listSecrets('vault1', 2, '');
  t.same(p1.secrets.map((s) => s.name), ['alpha', 'Bravo']);
  h.setSecret('vault1', 'aardvark', 'x');
  h.setSecret('vault1', 'BZ', 'x');
  h.ok({ op: 'purgeSecret', purgeSecret: { vault: 'vault1', name: 'echo' } });
  const p2 = h.state.listSecrets('vault1', 2, p1.nextPageToken);
  t.same(p2.secrets.map((s) => s.name), ['BZ', 'charlie']);
  const p3 = h.state.listSecrets('vault1', 2, p2.nextPageToken);
  t.same(p3, { secrets: [h.state.listSecrets('vault1', 0, '').secrets.at(-1)], nextPageToken: '' });
  t.equal(thrown(() => h.state.listSecrets('vault1', 2, 'AAAA')).reason, 'INVALID_PAGE_TOKEN');
  t.equal(thrown(() => h.state.listSecrets('vault1', 2, h.state.listVaults(1, '').nextPageToken || Buffer.from('v:vault1').toString('base64url'))).reason, 'INVALID_PAGE_TOKEN');
  t.equal(thrown(() => h.state.listSecrets('none', 2, '')).reason, 'VAULT_NOT_FOUND');
});

t.test('GetSecret on a secret whose dates lapse later keeps working for other versions', async (t) => {
  const h = vault();
  h.setSecret('vault1', 's', 'old', { expires: T0 / 1000 + 10 }, ver(1));
  h.setSecret('vault1', 's', 'new', {}, ver(2));
  const later = T0 + 30 * DAY;
  t.equal(text(h.state.getSecret('vault1', 's', '', later).sealedValue), 'sealed:new');
  t.equal(thrown(() => h.state.getSecret('vault1', 's', ver(1), later)).reason, 'SECRET_EXPIRED');
});

t.test('the name index stays sorted and cheap at 100,000 keys', async (t) => {
  const keys = new SortedKeys();
  const n = 100_000;
  // A fixed permutation, so inserts land all over the index.
  for (let i = 0; i < n; i++) keys.insert(`s-${String((i * 7919) % n).padStart(6, '0')}`);
  t.equal(keys.size, n);
  t.notOk(keys.insert('s-000042'), 'no duplicates');
  let prev = '';
  let count = 0;
  for (const k of keys) {
    if (k <= prev) break;
    prev = k;
    count++;
  }
  t.equal(count, n, 'iterates in order');
  for (let i = 0; i < n; i += 2) keys.delete(`s-${String(i).padStart(6, '0')}`);
  t.equal(keys.size, n / 2);
  t.notOk(keys.has('s-000042'));
  t.ok(keys.has('s-000043'));
  t.same([...take(keys.after('s-050000'), 3)], ['s-050001', 's-050003', 's-050005'], 'a position between keys');
  t.same([...take(keys.after('s-050001'), 2)], ['s-050003', 's-050005'], 'a position on a key');
  t.same([...keys.after('s-099999')], []);
  t.equal(keys.first(), 's-000001');
  const start = performance.now();
  for (let i = 0; i < 1000; i++) [...take(keys.after(`s-${String((i * 97) % n).padStart(6, '0')}`), 25)];
  t.ok(performance.now() - start < 1000, 'a thousand pages take well under a second: no sort per call');
});

t.test('paging through thousands of secrets while others are added sees each original once, in order', async (t) => {
  const h = vault();
  const names = Array.from({ length: 3000 }, (_, i) => `n${String(i * 2).padStart(5, '0')}`);
  for (const [i, n] of names.entries()) h.ok(setOp('vault1', n, 'x', {}, ver(i + 1)));
  const odd = (k: number) => `n${String(k).padStart(5, '0')}`;
  const seen: string[] = [];
  const behind: string[] = [];
  const ahead: string[] = [];
  let token = '';
  let page = 0;
  do {
    const p = h.state.listSecrets('vault1', 0, token);
    seen.push(...p.secrets.map((s) => s.name));
    token = p.nextPageToken;
    // Odd names: one just behind the position (not to be listed), one just ahead (to be listed).
    const last = p.secrets.at(-1)?.name ?? 'n00000';
    const at = Number(last.slice(1));
    behind.push(odd(at - 1));
    ahead.push(odd(at + 3));
    h.ok(setOp('vault1', behind.at(-1)!, 'x', {}, ver(10_000 + page * 2)));
    h.ok(setOp('vault1', ahead.at(-1)!, 'x', {}, ver(10_001 + page * 2)));
    page++;
  } while (token !== '');
  t.same(seen.filter((n) => names.includes(n)), names, 'every original secret, once, in order');
  t.same(seen, [...seen].sort(), 'the whole listing is ordered');
  t.equal(new Set(seen).size, seen.length, 'nothing repeated');
  t.notOk(behind.some((n) => seen.includes(n)), 'an insert behind the position is not listed');
  t.same(seen.filter((n) => ahead.includes(n)), ahead.slice(0, -1), 'an insert ahead of it is (all but the one after the last page)');
});

function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  for (const x of it) {
    yield x;
    if (--n === 0) return;
  }
}
