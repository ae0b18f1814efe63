// Keys in the state machine: creating versions (CreateKey, ImportKey,
// RotateKey), reading them (GetKey, the checks before a cryptographic
// operation), updating attributes, listing with paging, and the separation of
// the key and secret namespaces.

import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { ErrorKind } from '../../src/vault/index.js';
import {
  type Op,
  Harness,
  OCT128,
  OCT256,
  P256,
  P384,
  RSA2048,
  RSA3072,
  T0,
  keyAttrs,
  keyOp,
  material,
  publicJwkOf,
  text,
  thrown,
  ver,
} from './fixtures/harness.js';

/** A harness holding one vault, "Vault1". */
function vault(retention = 0, purgeProtection = false) {
  const h = new Harness();
  h.createVault('Vault1', retention, purgeProtection);
  return h;
}

/** keyOp with one field of the command body replaced. */
function withBody(o: Op, over: Record<string, unknown>): Op {
  const c = o as Extract<Op, { op: 'createKeyVersion' }>;
  return { ...c, createKeyVersion: { ...c.createKeyVersion, ...over } } as Op;
}

const upd = (u: object): Op => ({
  op: 'updateKey',
  updateKey: { vault: 'vault1', name: 'k', version: '', replaceKeyOps: false, keyOps: [], replaceTags: false, tags: {}, ...u },
});

t.test('CreateKeyVersion makes a key with Azure-like properties; GetKey shows the public part only', async (t) => {
  const h = vault();
  h.now += 1500;
  const k = h.createKey('vault1', 'Signing-Key', { attrs: { tags: { b: '2', a: '1' }, keyOps: ['sign', 'verify'], exportable: true, expires: T0 / 1000 + 3600 } });
  t.same(k.properties, {
    vault: 'Vault1',
    name: 'Signing-Key',
    version: ver(1),
    kid: `keyraft://Vault1/keys/Signing-Key/${ver(1)}`,
    kty: 'RSA',
    keySize: 2048,
    curve: '',
    keyOps: ['sign', 'verify'],
    enabled: true,
    notBefore: 0,
    expires: T0 / 1000 + 3600,
    created: T0 / 1000 + 1,
    updated: T0 / 1000 + 1,
    tags: { a: '1', b: '2' },
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
    exportable: true,
  });
  t.same(k.publicJwk, publicJwkOf(RSA2048, ver(1)));
  t.same(h.state.getKey('VAULT1', 'signing-key', ''), k, 'names are case-insensitive');
  t.same(h.state.getKey('vault1', 'signing-key', ver(1)), k);
  t.same(Object.keys(h.dump()).filter((r) => r.startsWith('key')), ['key/vault1/signing-key', `keyv/vault1/signing-key/${ver(1)}`]);
  const records = JSON.stringify(h.dump());
  t.notOk(records.includes('private:'), 'records hold the private part sealed only');
  t.notOk(JSON.stringify(k).includes('sealed'), 'GetKey never shows the sealed private part');
});

t.test('every key type and size is accepted, and Node.js JWK exports as they are', async (t) => {
  const h = vault();
  const specs = [
    RSA2048, RSA3072, { kty: 'RSA' as const, keySize: 4096, curve: '' },
    P256, P384, { kty: 'EC' as const, keySize: 0, curve: 'P-521' }, { kty: 'EC' as const, keySize: 0, curve: 'P-256K' },
    OCT128, { kty: 'oct' as const, keySize: 192, curve: '' }, OCT256,
  ];
  for (const [i, spec] of specs.entries()) {
    const k = h.createKey('vault1', `k${i}`, { spec });
    t.same([k.properties.kty, k.properties.keySize, k.properties.curve], [spec.kty, spec.keySize, spec.curve]);
    t.same(k.properties.keyOps, keyAttrs(spec.kty).keyOps);
  }
  t.same(h.state.getKey('vault1', 'k7', '').publicJwk, { kty: 'oct' }, 'a symmetric key has no public member');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
  const real = (name: string, spec: typeof RSA2048, jwk: object) =>
    h.ok(withBody(keyOp('vault1', name, { spec, version: h.newVersion() }), { material: { ...material(spec), publicJwk: JSON.stringify(jwk) } }));
  t.ok(real('rsa', RSA2048, rsa), 'an RSA export');
  t.ok(real('ec', P384, ec), 'an EC export');
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' });
  const spec256k = { kty: 'EC' as const, keySize: 0, curve: 'P-256K' };
  t.equal(h.fail(withBody(keyOp('vault1', 'k1', { spec: spec256k }), { material: { ...material(spec256k), publicJwk: JSON.stringify(k1) } })).reason, 'BAD_PARAMETER', 'Node names the curve secp256k1: the server must call it P-256K');
  t.ok(real('k1', spec256k, { ...k1, crv: 'P-256K' }));
});

t.test('CreateKeyVersion refusals change nothing', async (t) => {
  const h = vault();
  h.createKey('vault1', 'k');
  const before = h.dump();
  const base = keyOp('vault1', 'k', { version: ver(2) });
  const jwk = (over: object, spec = RSA2048) => ({ material: { ...material(spec), publicJwk: JSON.stringify({ ...publicJwkOf(spec), ...over }) } });
  const cases: [string, Op, string, ErrorKind][] = [
    ['no vault', keyOp('missing', 'k', { version: ver(2) }), 'VAULT_NOT_FOUND', ErrorKind.NotFound],
    ['bad name', keyOp('vault1', 'k_1', { version: ver(2) }), 'INVALID_NAME', ErrorKind.InvalidArgument],
    ['bad version', keyOp('vault1', 'k', { version: 'v2' }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['same version', keyOp('vault1', 'k', { version: ver(1) }), 'KEY_VERSION_ALREADY_EXISTS', ErrorKind.AlreadyExists],
    ['no material', withBody(base, { material: null }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['no attributes', withBody(base, { attributes: null }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['HSM', withBody(base, { material: { ...material(), kty: 'RSA-HSM' } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['RSA 1024', withBody(base, { material: { ...material(), keySize: 1024 } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['RSA with a curve', withBody(base, { material: { ...material(), curve: 'P-256' } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['EC with a size', withBody(base, { material: { ...material(P256), keySize: 256 } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['unknown curve', withBody(base, { material: { ...material(P256), curve: 'P-192' } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['private member d', withBody(base, jwk({ d: 'AAAA' })), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['private member k', withBody(base, jwk({ k: 'AAAA' }, OCT256)), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['a kid', withBody(base, jwk({ kid: 'x' })), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['not JSON', withBody(base, { material: { ...material(), publicJwk: '{"kty":' } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['a JSON list', withBody(base, { material: { ...material(), publicJwk: '[]' } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['kty differs', withBody(base, jwk({ kty: 'EC' })), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['short modulus', withBody(base, jwk({ n: publicJwkOf(RSA3072).n })), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['n not base64url', withBody(base, jwk({ n: 'ab+/' })), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['no e', withBody(base, jwk({ e: undefined })), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['crv differs', withBody(base, jwk({ crv: 'P-384' }, P256)), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['short x', withBody(base, jwk({ x: 'AAAA' }, P256)), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['empty sealed part', withBody(base, { material: { ...material(), sealedPrivateJwk: new Uint8Array() } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['huge sealed part', withBody(base, { material: { ...material(), sealedPrivateJwk: new Uint8Array(16 * 1024 + 1) } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['sign on oct', keyOp('vault1', 'o', { spec: OCT256, attrs: { keyOps: ['sign'] } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['encrypt on EC', keyOp('vault1', 'e', { spec: P256, attrs: { keyOps: ['encrypt'] } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['unknown op', keyOp('vault1', 'k', { version: ver(2), attrs: { keyOps: ['import'] } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['dates', keyOp('vault1', 'k', { version: ver(2), attrs: { notBefore: 10, expires: 5 } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['tags', keyOp('vault1', 'k', { version: ver(2), attrs: { tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, ''])) } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['exportable', withBody(base, { attributes: { ...keyAttrs(), exportable: 'yes' } }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
    ['rotation', withBody(base, { rotation: 1 }), 'BAD_PARAMETER', ErrorKind.InvalidArgument],
  ];
  for (const [what, op, reason, kind] of cases) {
    const e = h.fail(op);
    t.equal(e.reason, reason, what);
    t.equal(e.kind, kind, what);
  }
  t.notMatch(h.fail(withBody(base, jwk({ d: 'UFJJVkFURQ' }))).message, /UFJJVkFURQ/, 'a refused member\'s value is not quoted');
  t.same(h.dump(), before);
});

t.test('creating an existing name adds a version; versions list in creation order, paged', async (t) => {
  const h = vault();
  const ids = [ver(9), ver(3), ver(7)];
  for (const id of ids) {
    h.now += 1000;
    h.createKey('vault1', 'k', { version: id });
  }
  h.createKey('vault1', 'K', { version: ver(4), spec: P256 });
  const list = h.state.listKeyVersions('vault1', 'k', 0, '');
  t.same(list.keys.map((p) => p.version), [...ids, ver(4)], 'creation order, not id order');
  t.same(list.keys.map((p) => p.kty), ['RSA', 'RSA', 'RSA', 'EC'], 'CreateKey may change the type: only a rotation may not');
  t.equal(h.state.getKey('vault1', 'k', '').properties.version, ver(4), 'the latest');
  t.same(h.state.getKey('vault1', 'k', ver(3)).publicJwk, publicJwkOf(RSA2048, ver(3)), 'by version');
  const p1 = h.state.listKeyVersions('vault1', 'k', 3, '');
  t.same(p1.keys.map((p) => p.version), ids);
  h.createKey('vault1', 'k', { version: ver(1) });
  const p2 = h.state.listKeyVersions('vault1', 'k', 3, p1.nextPageToken);
  t.same(p2.keys.map((p) => p.version), [ver(4), ver(1)], 'a version added meanwhile shows up on the next page');
  t.equal(p2.nextPageToken, '');
  const secretToken = Buffer.from(`r:${ver(9)}`).toString('base64url');
  t.equal(thrown(() => h.state.listKeyVersions('vault1', 'k', 2, secretToken)).reason, 'INVALID_PAGE_TOKEN', 'a secret versions token');
  t.equal(thrown(() => h.state.listKeyVersions('vault1', 'k', 2, Buffer.from(`kr:${ver(99)}`).toString('base64url'))).reason, 'INVALID_PAGE_TOKEN');
  t.equal(thrown(() => h.state.listKeyVersions('vault1', 'none', 2, '')).reason, 'KEY_NOT_FOUND');
});

t.test('a rotation adds a version of the same type and size to a live key', async (t) => {
  const h = vault();
  h.createKey('vault1', 'k', { spec: P256, attrs: { keyOps: ['sign'], tags: { t: '1' } } });
  t.same(h.state.latestKeySpec('VAULT1', 'K'), { kty: 'EC', keySize: 0, curve: 'P-256', attributes: keyAttrs('EC', { keyOps: ['sign'], tags: { t: '1' } }) });
  const r = h.createKey('vault1', 'k', { spec: P256, rotation: true });
  t.equal(r.properties.version, ver(2));
  t.same(h.state.listKeyVersions('vault1', 'k', 0, '').keys.map((p) => p.version), [ver(1), ver(2)]);
  const before = h.dump();
  const other = h.fail(keyOp('vault1', 'k', { spec: P384, rotation: true, version: ver(3) }));
  t.equal(other.reason, 'BAD_PARAMETER', 'another curve is not a rotation');
  t.equal(h.fail(keyOp('vault1', 'none', { spec: P256, rotation: true, version: ver(3) })).reason, 'KEY_NOT_FOUND');
  t.equal(thrown(() => h.state.latestKeySpec('vault1', 'none')).reason, 'KEY_NOT_FOUND');
  h.createKey('vault1', 'r', { spec: RSA3072 });
  t.equal(h.fail(keyOp('vault1', 'r', { rotation: true, version: ver(9) })).reason, 'BAD_PARAMETER', 'another size is not a rotation');
  h.deleteKey('vault1', 'k');
  const e = h.fail(keyOp('vault1', 'k', { spec: P256, rotation: true, version: ver(5) }));
  t.equal(e.reason, 'KEY_NOT_FOUND', 'a deleted key is not rotated');
  t.equal(e.kind, ErrorKind.NotFound);
  t.equal(thrown(() => h.state.latestKeySpec('vault1', 'k')).reason, 'KEY_NOT_FOUND');
  t.notSame(h.dump(), before);
});

t.test('keys and secrets are separate namespaces', async (t) => {
  const h = vault();
  h.setSecret('vault1', 'shared', 'value');
  const k = h.createKey('vault1', 'Shared');
  t.equal(k.properties.name, 'Shared');
  t.equal(text(h.state.getSecret('vault1', 'shared', '', h.now).sealedValue), 'sealed:value');
  t.same(h.state.listKeys('vault1', 0, '').keys.map((p) => p.name), ['Shared']);
  t.same(h.state.listSecrets('vault1', 0, '').secrets.map((p) => p.name), ['shared']);
  h.deleteSecret('vault1', 'shared');
  t.ok(h.state.getKey('vault1', 'shared', ''), 'deleting the secret leaves the key');
  t.ok(h.createKey('vault1', 'shared'), 'a deleted secret does not hold the key name');
  h.deleteKey('vault1', 'shared');
  t.equal(h.fail({ op: 'recoverKey', recoverKey: { vault: 'vault1', name: 'other' } }).reason, 'DELETED_KEY_NOT_FOUND');
  t.same(h.state.listDeletedSecrets('vault1', 0, '', h.now).secrets.map((d) => d.properties.name), ['shared']);
  t.same(h.state.listDeletedKeys('vault1', 0, '', h.now).keys.map((d) => d.key.properties.name), ['Shared']);
  h.ok({ op: 'purgeSecret', purgeSecret: { vault: 'vault1', name: 'shared' } });
  t.ok(h.state.getDeletedKey('vault1', 'shared', h.now), 'purging the secret leaves the deleted key');
  t.equal(h.fail({ op: 'deleteKey', deleteKey: { vault: 'vault1', name: 'nosuch' } }).reason, 'KEY_NOT_FOUND');
  t.equal(thrown(() => h.state.listKeys('vault1', 0, h.state.listSecrets('vault1', 0, '').nextPageToken || Buffer.from('s:a').toString('base64url'))).reason, 'INVALID_PAGE_TOKEN', 'a secrets token does not list keys');
});

t.test('UpdateKey changes one version\'s attributes, operations and tags, never its material', async (t) => {
  const h = vault();
  h.createKey('vault1', 'k', { attrs: { tags: { keep: 'me' }, exportable: true } });
  h.createKey('vault1', 'k');
  h.now += 5000;
  const r = h.ok(upd({ name: 'K', version: ver(1), enabled: false, expires: T0 / 1000 + 99, replaceKeyOps: true, keyOps: ['verify', 'sign', 'verify'], tags: { ignored: 'x' } }));
  t.ok(r.kind === 'key');
  if (r.kind !== 'key') return;
  const p = r.key.properties;
  t.same([p.version, p.enabled, p.expires, p.keyOps, p.tags, p.exportable], [ver(1), false, T0 / 1000 + 99, ['sign', 'verify'], { keep: 'me' }, true], 'operations deduplicated, in canonical order');
  t.equal(p.updated, T0 / 1000 + 5);
  t.equal(p.created, T0 / 1000);
  t.same(r.key.publicJwk, publicJwkOf(RSA2048, ver(1)), 'the material is unchanged');
  t.same(h.state.keyForOperation('vault1', 'k', ver(2), 'encrypt', h.now).sealedPrivateJwk, material(RSA2048, ver(2)).sealedPrivateJwk);
  const latest = h.ok(upd({ replaceTags: true, tags: { z: '1', y: '2' }, keyOps: ['sign'] }));
  t.ok(latest.kind === 'key' && latest.key.properties.version === ver(2));
  t.same(h.state.getKey('vault1', 'k', '').properties.tags, { y: '2', z: '1' });
  t.same(h.state.getKey('vault1', 'k', '').properties.keyOps, keyAttrs().keyOps, 'replace_key_ops false leaves them');
  h.ok(upd({ replaceKeyOps: true, keyOps: [] }));
  t.same(h.state.getKey('vault1', 'k', '').properties.keyOps, [], 'an empty list allows no operation');
  t.equal(thrown(() => h.state.keyForOperation('vault1', 'k', '', 'verify', h.now)).reason, 'OPERATION_NOT_ALLOWED');
  t.same(h.state.listKeyVersions('vault1', 'k', 0, '').keys.map((x) => x.version), [ver(1), ver(2)], 'no new version');
});

t.test('UpdateKey refusals change nothing', async (t) => {
  const h = vault();
  h.createKey('vault1', 'k', { attrs: { notBefore: 100 } });
  h.createKey('vault1', 'o', { spec: OCT256 });
  const before = h.dump();
  t.equal(h.fail(upd({ expires: 50 })).reason, 'BAD_PARAMETER', 'expires before the version\'s not_before');
  t.equal(h.fail(upd({ version: ver(5) })).reason, 'KEY_VERSION_NOT_FOUND');
  t.equal(h.fail(upd({ version: 'latest' })).reason, 'BAD_PARAMETER');
  t.equal(h.fail(upd({ name: 'other' })).reason, 'KEY_NOT_FOUND');
  t.equal(h.fail(upd({ vault: 'other' })).reason, 'VAULT_NOT_FOUND');
  t.equal(h.fail(upd({ enabled: 'yes' })).reason, 'BAD_PARAMETER');
  t.equal(h.fail(upd({ name: 'o', replaceKeyOps: true, keyOps: ['sign'] })).reason, 'BAD_PARAMETER', 'sign is not an oct operation');
  t.equal(h.fail(upd({ replaceKeyOps: true, keyOps: ['export'] })).reason, 'BAD_PARAMETER');
  t.equal(h.fail(upd({ replaceKeyOps: true, keyOps: 'sign' })).reason, 'BAD_PARAMETER');
  t.equal(h.fail(upd({ replaceTags: true, tags: { ['x'.repeat(300)]: '' } })).reason, 'BAD_PARAMETER');
  t.same(h.dump(), before);
  h.deleteKey('vault1', 'k');
  const afterDelete = h.dump();
  t.equal(h.fail(upd({ enabled: false })).reason, 'KEY_NOT_FOUND', 'a deleted key cannot be updated');
  t.same(h.dump(), afterDelete);
});

t.test('GetKey reads disabled, not-yet-valid and expired versions, as Azure does', async (t) => {
  const h = vault();
  h.createKey('vault1', 'k', { attrs: { enabled: false, notBefore: T0 / 1000 + 100, expires: T0 / 1000 + 200 } });
  t.equal(h.state.getKey('vault1', 'k', '').properties.enabled, false);
  t.equal(thrown(() => h.state.getKey('vault1', 'none', '')).reason, 'KEY_NOT_FOUND');
  const missing = thrown(() => h.state.getKey('vault1', 'k', ver(2)));
  t.equal(missing.reason, 'KEY_VERSION_NOT_FOUND');
  t.equal(missing.kind, ErrorKind.NotFound);
  t.equal(thrown(() => h.state.getKey('vault1', 'k', 'latest')).reason, 'BAD_PARAMETER');
  t.equal(thrown(() => h.state.getKey('nope', 'k', '')).reason, 'VAULT_NOT_FOUND');
  t.equal(thrown(() => h.state.getKey('vault1', 'a.b', '')).reason, 'INVALID_NAME');
});

t.test('keyForOperation checks existence, enabled, dates, then the operation, in that order', async (t) => {
  const h = vault();
  const nbf = T0 / 1000 + 100;
  const exp = T0 / 1000 + 200;
  h.createKey('vault1', 'k', { attrs: { enabled: false, notBefore: nbf, keyOps: ['sign'] } });
  const check = (nowMs: number, op = 'verify', version = '') => thrown(() => h.state.keyForOperation('vault1', 'k', version, op, nowMs));
  t.equal(thrown(() => h.state.keyForOperation('vault1', 'none', '', 'verify', h.now)).reason, 'KEY_NOT_FOUND');
  t.equal(check(h.now, 'verify', ver(9)).reason, 'KEY_VERSION_NOT_FOUND');
  const off = check(h.now);
  t.same([off.reason, off.kind], ['KEY_DISABLED', ErrorKind.PermissionDenied], 'disabled first, whatever else is wrong');
  h.ok(upd({ enabled: true }));
  const early = check(nbf * 1000 - 1);
  t.same([early.reason, early.kind], ['KEY_NOT_YET_VALID', ErrorKind.PermissionDenied]);
  const op = check(nbf * 1000);
  t.same([op.reason, op.kind], ['OPERATION_NOT_ALLOWED', ErrorKind.PermissionDenied], 'valid from not_before; then the operation');
  const ok = h.state.keyForOperation('vault1', 'K', '', 'sign', nbf * 1000);
  // Asked as "K": the key's own name and id, as its properties give them.
  const { kid, name, version } = h.state.getKey('vault1', 'k', '').properties;
  t.same(ok, {
    kid,
    name,
    version,
    sealedPrivateJwk: material(RSA2048, ver(1)).sealedPrivateJwk,
    kty: 'RSA',
    keySize: 2048,
    curve: '',
  });
  ok.sealedPrivateJwk[0] = 0;
  t.same(h.state.keyForOperation('vault1', 'k', ver(1), 'sign', nbf * 1000).sealedPrivateJwk, material(RSA2048, ver(1)).sealedPrivateJwk, 'a copy is handed out');
  h.ok(upd({ expires: exp }));
  t.ok(h.state.keyForOperation('vault1', 'k', '', 'sign', exp * 1000 - 1));
  const late = check(exp * 1000, 'verify');
  t.same([late.reason, late.kind], ['KEY_EXPIRED', ErrorKind.PermissionDenied], 'expiry before the operation');
  t.equal(check(h.now, 'export').reason, 'BAD_PARAMETER', 'an unknown operation');
  t.equal(thrown(() => h.state.keyForOperation('vault1', 'k', '', 'sign', exp * 1000)).reason, 'KEY_EXPIRED');
  h.deleteKey('vault1', 'k');
  t.equal(check(nbf * 1000, 'sign').reason, 'KEY_NOT_FOUND', 'a deleted key serves nothing');
});

t.test('ListKeys: latest properties of each live key, by name, paged stably', async (t) => {
  const h = vault();
  for (const n of ['delta', 'Bravo', 'alpha', 'echo', 'charlie']) h.createKey('vault1', n);
  h.createKey('vault1', 'alpha', { spec: P256 });
  h.deleteKey('vault1', 'echo');
  const all = h.state.listKeys('vault1', 0, '');
  t.same(all.keys.map((k) => k.name), ['alpha', 'Bravo', 'charlie', 'delta'], 'case-insensitive order; deleted left out');
  t.equal(all.keys[0]!.kty, 'EC', 'the latest version');
  const p1 = h.state.listKeys('vault1', 2, '');
  t.same(p1.keys.map((k) => k.name), ['alpha', 'Bravo']);
  h.createKey('vault1', 'aardvark');
  h.createKey('vault1', 'BZ');
  h.ok({ op: 'purgeKey', purgeKey: { vault: 'vault1', name: 'echo' } });
  const p2 = h.state.listKeys('vault1', 2, p1.nextPageToken);
  t.same(p2.keys.map((k) => k.name), ['BZ', 'charlie']);
  const p3 = h.state.listKeys('vault1', 2, p2.nextPageToken);
  t.same(p3.keys.map((k) => k.name), ['delta']);
  t.equal(p3.nextPageToken, '');
  t.equal(thrown(() => h.state.listKeys('vault1', 26, '')).reason, 'BAD_PARAMETER');
  t.equal(thrown(() => h.state.listKeys('none', 2, '')).reason, 'VAULT_NOT_FOUND');
  t.equal(thrown(() => h.state.listSecrets('vault1', 2, p1.nextPageToken)).reason, 'INVALID_PAGE_TOKEN', 'a keys token does not list secrets');
  h.createVault('empty');
  t.same(h.state.listKeys('empty', 0, ''), { keys: [], nextPageToken: '' });
});
