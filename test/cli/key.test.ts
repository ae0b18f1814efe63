// `keyraft key` management commands run in-process against a fake client:
// what each sends, what it prints in both formats, its exit code, and that no
// private key member is ever printed, even when a server sends one.

import { generateKeyPairSync } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { KeyraftError } from '../../src/client/index.js';
import { cli, deletedKey, ecKey, kref, octKey, PRIVATE_TEXT, sent, type Outcome } from './key-fixtures.js';

function showsNothingPrivate(t: Test, r: Outcome): void {
  for (const text of PRIVATE_TEXT) t.notMatch(r.out, text, 'no private member is printed');
}

t.test('key create: flags parsed and normalised, defaults filled in', async (t) => {
  const r = await cli([
    'key', 'create', ...kref, '--kty', 'rsa', '--size', '3072', '--ops', 'sign,VERIFY', 'wrapkey', '--tags', 'env=prod',
    '--enabled', 'false', '--not-before', '2030-01-01', '--expires', '1900000000', '--exportable',
  ]);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['createKey', {
    vault: 'pay', name: 'rk', kty: 'RSA', keySize: 3072, curve: '', keyOps: ['sign', 'verify', 'wrapKey'], enabled: false,
    notBefore: 1893456000, expires: 1900000000, tags: { env: 'prod' }, exportable: true,
  }]]);
  t.match(r.out, /^Kid\s+keyraft:\/\/pay\/keys\/rk\/v1$/m);
  showsNothingPrivate(t, r);
  const plain = await cli(['key', 'create', ...kref]);
  t.same(sent(plain), { vault: 'pay', name: 'rk', kty: 'RSA', keySize: 0, curve: '', keyOps: [], enabled: undefined, notBefore: 0, expires: 0, tags: {}, exportable: false });
  const ec = await cli(['key', 'create', ...kref, '--curve', 'p-256k', '--exportable', 'false']);
  t.match(sent(ec), { kty: 'EC', curve: 'P-256K', exportable: false }, 'a curve implies EC');
  t.match(sent(await cli(['key', 'create', ...kref, '--kty', 'OCT', '--size', '128'])), { kty: 'oct', keySize: 128 });
});

t.test('key show: properties and the public JWK in a table; the API object in JSON; never a private member', async (t) => {
  const r = await cli(['key', 'show', ...kref, '--version', 'v1']);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['getKey', { vault: 'pay', name: 'rk', version: 'v1' }]]);
  t.match(r.out, /^Key size\s+2048$/m);
  t.match(r.out, /^Public key \(JWK\)$/m);
  t.match(r.out, /^n\s+w_8B$/m, 'n in base64url');
  t.match(r.out, /^e\s+AQAB$/m);
  showsNothingPrivate(t, r);
  const json = await cli(['key', 'show', ...kref, '-o', 'json']);
  const parsed = JSON.parse(json.out) as { properties: Record<string, unknown>; key: Record<string, unknown> };
  t.same(Object.keys(parsed), ['properties', 'key']);
  t.equal(parsed.key['n'], 'w_8B');
  t.equal(parsed.key['e'], 'AQAB');
  t.equal(parsed.key['d'], '', 'a private member a server sent is blanked');
  t.equal(parsed.properties['created'], '1700000000', 'int64 as a string');
  t.same(parsed.properties['keyOps'], ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey']);
  showsNothingPrivate(t, json);
  const ec = await cli(['key', 'show', ...kref], { answers: { getKey: ecKey } });
  t.match(ec.out, /^crv\s+P-256$/m);
  t.match(ec.out, /^x\s+AQL7$/m);
  t.notMatch(ec.out, /^n\s/m);
  showsNothingPrivate(t, ec);
  const oct = await cli(['key', 'show', ...kref, '-o', 'json'], { answers: { getKey: octKey } });
  t.equal(JSON.parse(oct.out).key.k, '');
  showsNothingPrivate(t, oct);
});

t.test('key import: a JWK or PEM file; --ops replaces key_ops; a bad file is a usage error', async (t) => {
  const jwk = Buffer.from(JSON.stringify({ kty: 'oct', k: '-__-AQ', key_ops: ['wrapKey'], alg: 'A256KW' }));
  const r = await cli(['key', 'import', ...kref, '--file', 'k.json', '--tags', 'a=b'], { files: { 'k.json': jwk } });
  t.equal(r.code, 0, r.err);
  const req = sent(r) as { key: { k: Uint8Array; keyOps: string[] } };
  t.same([...req.key.k], [0xfb, 0xff, 0xfe, 1]);
  t.same(req.key.keyOps, ['wrapKey']);
  t.match(req, { vault: 'pay', name: 'rk', tags: { a: 'b' }, exportable: false, notBefore: 0, expires: 0 });
  const ops = await cli(['key', 'import', ...kref, '-f', 'k.json', '--ops', 'unwrapKey'], { files: { 'k.json': jwk } });
  t.same((sent(ops) as { key: { keyOps: string[] } }).key.keyOps, ['unwrapKey']);
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  const fromPem = await cli(['key', 'import', ...kref, '-f', '-'], { files: { '-': Buffer.from(pem) } });
  t.match(sent(fromPem), { key: { kty: 'EC', crv: 'P-384' } });
  t.notMatch(fromPem.out + fromPem.err, /BEGIN|PRIVATE/);
  for (const bad of ['{"kty":"RSA","n":"a!"}', '[1]', 'nope']) {
    const b = await cli(['key', 'import', ...kref, '-f', 'bad'], { files: { bad: Buffer.from(bad) } });
    t.equal(b.code, 2, bad);
    t.match(b.err, /^error: bad: /);
    t.equal(b.calls.length, 0, 'nothing was sent');
  }
  t.equal((await cli(['key', 'import', ...kref])).code, 2, '--file is required');
});

t.test('key list, list-versions, list-deleted, show-deleted', async (t) => {
  const list = await cli(['key', 'list', '--vault-name', 'pay']);
  t.same(list.calls, [['listAllKeys', ['pay']]]);
  t.match(list.out, /^Name\s+Version\s+Type\s+Size\/curve\s+Enabled\s+Operations\s+Expires\s+Updated$/m);
  t.match(list.out, /^a\s+v1\s+RSA\s+2048\s+true\s+encrypt,decrypt,sign,verify,wrapKey,unwrapKey\s+2023-11-14T22:13:20Z$/m);
  t.match(list.out, /^b\s+v1\s+EC\s+P-384\s/m);
  const versions = await cli(['key', 'list-versions', ...kref, '-o', 'json']);
  t.same(versions.calls, [['listAllKeyVersions', ['pay', 'rk']]]);
  const json = JSON.parse(versions.out) as { keys: { version: string }[]; nextPageToken: string };
  t.same(json.keys.map((k) => k.version), ['v1', 'v2']);
  const gone = await cli(['key', 'list-deleted', '--vault-name', 'pay']);
  t.match(gone.out, /^rk\s+RSA\s+keyraft:\/\/pay\/deletedkeys\/rk\s+2023-11-14T22:15:00Z\s+2024-02-12T22:15:00Z$/m);
  const goneJson = await cli(['key', 'list-deleted', '--vault-name', 'pay', '-o', 'json']);
  t.equal(JSON.parse(goneJson.out).keys[0].key.key.d, '');
  const shown = await cli(['key', 'show-deleted', ...kref]);
  t.same(shown.calls, [['getDeletedKey', { vault: 'pay', name: 'rk' }]]);
  t.match(shown.out, /^Recovery id\s+keyraft:\/\/pay\/deletedkeys\/rk$/m);
  t.match(shown.out, /^n\s+w_8B$/m);
  for (const r of [list, versions, gone, goneJson, shown]) showsNothingPrivate(t, r);
});

t.test('key update sends only what was given', async (t) => {
  const r = await cli(['key', 'update', ...kref, '--version', 'v2', '--enabled', 'no', '--ops', 'sign', '--tags', '']);
  t.equal(r.code, 0, r.err);
  t.same(sent(r), { vault: 'pay', name: 'rk', version: 'v2', enabled: false, keyOps: { keyOps: ['sign'] }, tags: { tags: {} } });
  t.same(sent(await cli(['key', 'update', ...kref, '--expires', '0'])), { vault: 'pay', name: 'rk', version: '', expires: 0 });
  const nothing = await cli(['key', 'update', ...kref]);
  t.equal(nothing.code, 2);
  t.match(nothing.err, /nothing to update/);
  t.equal((await cli(['key', 'update', ...kref, '--exportable'])).code, 2, 'exportability is set at creation only');
});

t.test('key rotate, delete, recover, purge', async (t) => {
  t.same((await cli(['key', 'rotate', ...kref])).calls, [['rotateKey', { vault: 'pay', name: 'rk' }]]);
  const del = await cli(['key', 'delete', ...kref, '-o', 'json']);
  t.same(del.calls, [['deleteKey', { vault: 'pay', name: 'rk' }]]);
  t.equal(JSON.parse(del.out).recoveryId, deletedKey.recoveryId);
  t.same((await cli(['key', 'recover', ...kref])).calls, [['recoverDeletedKey', { vault: 'pay', name: 'rk' }]]);
  const purge = await cli(['key', 'purge', ...kref]);
  t.same(purge.calls, [['purgeDeletedKey', { vault: 'pay', name: 'rk' }]]);
  t.equal(purge.out, '');
  t.equal((await cli(['key', 'purge', ...kref, '-o', 'json'])).out, '{}\n');
});

t.test('key backup to a file or as base64url; restore from a file', async (t) => {
  const toFile = await cli(['key', 'backup', ...kref, '--file', 'rk.bak']);
  t.same([...toFile.written.get('rk.bak')!], [0xfb, 0xff, 1]);
  t.match(toFile.out, /written to rk\.bak \(3 bytes\)/);
  t.same(JSON.parse((await cli(['key', 'backup', ...kref, '--file', 'x', '-o', 'json'])).out), { file: 'x', bytes: 3 });
  t.equal((await cli(['key', 'backup', ...kref])).out, '-_8B\n');
  t.same(JSON.parse((await cli(['key', 'backup', ...kref, '-o', 'json'])).out), { value: '-_8B' });
  const restore = await cli(['key', 'restore', '--vault-name', 'pay', '--file', 'rk.bak'], { files: { 'rk.bak': Buffer.from([1, 2]) } });
  t.same(restore.calls, [['restoreKey', { vault: 'pay', backup: Buffer.from([1, 2]) }]]);
});

t.test('usage errors exit 2 and send nothing; a server refusal exits 1', async (t) => {
  for (const argv of [
    ['key'],
    ['key', 'show', '--name', 'rk'],
    ['key', 'create', ...kref, '--kty', 'DSA'],
    ['key', 'create', ...kref, '--curve', 'P-192'],
    ['key', 'create', ...kref, '--size', 'big'],
    ['key', 'create', ...kref, '--ops', 'encrypt,export'],
    ['key', 'create', ...kref, '--exportable', 'maybe'],
    ['key', 'restore', '--vault-name', 'pay'],
  ]) {
    const r = await cli(argv);
    t.equal(r.code, 2, argv.join(' '));
    t.equal(r.calls.length, 0);
  }
  const failWith = new KeyraftError(grpc.status.NOT_FOUND, 'KEY_NOT_FOUND', 'key rk not found in vault pay');
  const r = await cli(['key', 'show', ...kref], { failWith });
  t.equal(r.code, 1);
  t.equal(r.err, 'error: KEY_NOT_FOUND: key rk not found in vault pay\n');
  const help = await cli(['key', 'create', '--help']);
  t.equal(help.code, 0);
  t.match(help.out, /--kty <type>/);
  t.match(help.out, /P-256K/);
});
