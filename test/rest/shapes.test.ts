// The JSON shapes on their own: JWKs that node:crypto imports and verifies
// with, nothing private ever, base64url without padding, Unix seconds, ids
// the SDKs' parsers take apart, nextLinks.

import { createPublicKey, generateKeyPairSync, type JsonWebKey as NodeJsonWebKey, type KeyObject, sign, verify } from 'node:crypto';
import { parseKeyVaultIdentifier } from '@azure/keyvault-common';
import { parseKeyVaultKeyIdentifier } from '@azure/keyvault-keys';
import { parseKeyVaultSecretIdentifier } from '@azure/keyvault-secrets';
import t from 'tap';
import type { JsonWebKey, Key, KeyProperties, SecretProperties } from '../../src/client/types.js';
import * as shapes from '../../src/rest/shapes.js';

const ORIGIN = 'https://vault1.kv.localhost:8443';
const V = 'fedcba9876543210fedcba9876543210';
const EMPTY = Buffer.alloc(0);
const MESSAGE = Buffer.from('the message');

function member(k: KeyObject, name: string): Buffer {
  return Buffer.from((k.export({ format: 'jwk' }) as Record<string, string>)[name]!, 'base64url');
}

function keyProps(kty: string, over: Partial<KeyProperties> = {}): KeyProperties {
  return {
    vault: 'vault1', name: 'k', version: V, kid: `keyraft://vault1/keys/k/${V}`, kty, keySize: 0, curve: '', keyOps: ['sign', 'verify'],
    enabled: true, notBefore: 0, expires: 0, created: 1700000000, updated: 1700000001, tags: {}, recoveryLevel: 'Recoverable', recoverableDays: 0, exportable: false,
    ...over,
  };
}

/** A keyraft Key whose JWK carries the private members too, as a careless server might: the shape must drop them. */
function keyFrom(kty: string, pair: { publicKey: KeyObject; privateKey: KeyObject } | undefined): Key {
  const blank: JsonWebKey = { kid: `keyraft://vault1/keys/k/${V}`, kty, keyOps: ['sign', 'verify'], n: EMPTY, e: EMPTY, crv: '', x: EMPTY, y: EMPTY, d: EMPTY, p: EMPTY, q: EMPTY, dp: EMPTY, dq: EMPTY, qi: EMPTY, k: EMPTY };
  if (pair === undefined) return { properties: keyProps(kty), key: { ...blank, k: Buffer.alloc(32, 9) } };
  const jwk = pair.privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const bytes = (m: string) => (jwk[m] === undefined ? EMPTY : Buffer.from(jwk[m]!, 'base64url'));
  return {
    properties: keyProps(kty),
    key: { ...blank, n: bytes('n'), e: bytes('e'), crv: jwk['crv'] ?? '', x: bytes('x'), y: bytes('y'), d: bytes('d'), p: bytes('p'), q: bytes('q'), dp: bytes('dp'), dq: bytes('dq'), qi: bytes('qi') },
  };
}

t.test('RSA JWK: exactly the public members, importable, verifies the private key signature', async (t) => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const json = shapes.keyBundle(keyFrom('RSA', pair), { origin: ORIGIN });
  t.same(Object.keys(json.key), ['kid', 'kty', 'key_ops', 'n', 'e']);
  t.equal(json.key.kid, `${ORIGIN}/keys/k/${V}`);
  t.equal(json.key.n, member(pair.publicKey, 'n').toString('base64url'));
  t.equal(json.key.e, 'AQAB', '65537, unpadded');
  const imported = createPublicKey({ key: { ...json.key } satisfies NodeJsonWebKey, format: 'jwk' });
  t.ok(verify('sha256', MESSAGE, imported, sign('sha256', MESSAGE, pair.privateKey)), 'RS256 signature verifies');
  t.notOk(verify('sha256', Buffer.from('another'), imported, sign('sha256', MESSAGE, pair.privateKey)), 'and not for another message');
});

for (const curve of ['P-256', 'P-384', 'P-521'] as const) {
  t.test(`EC ${curve} JWK: exactly crv, x, y; importable, verifies`, async (t) => {
    const pair = generateKeyPairSync('ec', { namedCurve: curve });
    const json = shapes.keyBundle(keyFrom('EC', pair), { origin: ORIGIN });
    t.same(Object.keys(json.key), ['kid', 'kty', 'key_ops', 'crv', 'x', 'y']);
    t.equal(json.key.crv, curve);
    t.equal(json.key.x, member(pair.publicKey, 'x').toString('base64url'));
    const imported = createPublicKey({ key: { ...json.key } satisfies NodeJsonWebKey, format: 'jwk' });
    t.ok(verify(null, MESSAGE, imported, sign(null, MESSAGE, pair.privateKey)), 'ECDSA signature verifies');
  });
}

t.test('oct: nothing but kid, kty and key_ops, whatever the response held', async (t) => {
  const json = shapes.keyBundle(keyFrom('oct', undefined), { origin: ORIGIN });
  t.same(json.key, { kid: `${ORIGIN}/keys/k/${V}`, kty: 'oct', key_ops: ['sign', 'verify'] });
  t.notMatch(JSON.stringify(json), /"k"|"d"/);
});

t.test('attributes: Unix seconds as given, unset nbf/exp and recoverableDays left out', async (t) => {
  const k = keyFrom('oct', undefined);
  t.same(shapes.keyBundle(k, { origin: ORIGIN }).attributes, { enabled: true, created: 1700000000, updated: 1700000001, recoveryLevel: 'Recoverable', exportable: false });
  const set = { ...k, properties: keyProps('oct', { notBefore: 1700000100, expires: 4102444800, recoverableDays: 7, enabled: false, exportable: true, tags: { a: 'b' } }) };
  const json = shapes.keyBundle(set, { origin: ORIGIN });
  t.same(json.attributes, { enabled: false, created: 1700000000, updated: 1700000001, recoveryLevel: 'Recoverable', nbf: 1700000100, exp: 4102444800, recoverableDays: 7, exportable: true });
  t.same(json.tags, { a: 'b' });
});

function secretProps(over: Partial<SecretProperties> = {}): SecretProperties {
  return {
    vault: 'vault1', name: 's', version: V, id: `keyraft://vault1/secrets/s/${V}`, contentType: '', tags: {}, enabled: true,
    notBefore: 0, expires: 0, created: 1, updated: 2, recoveryLevel: 'Purgeable', recoverableDays: 0, ...over,
  };
}

t.test('ids: what the SDKs parse, versioned in bundles, not in "list latest" items', async (t) => {
  const bundle = shapes.secretBundle({ properties: secretProps(), value: 'x' }, { origin: ORIGIN });
  t.same(bundle, { value: 'x', id: `${ORIGIN}/secrets/s/${V}`, attributes: { enabled: true, created: 1, updated: 2, recoveryLevel: 'Purgeable' } });
  t.same(parseKeyVaultSecretIdentifier(bundle.id), { sourceId: bundle.id, vaultUrl: ORIGIN, name: 's', version: V });
  const page = { secrets: [secretProps()], nextPageToken: '' };
  const link = { origin: ORIGIN, path: '/secrets', apiVersion: '7.4' };
  t.same(parseKeyVaultSecretIdentifier(shapes.secretListPage(page, link).value[0]!.id), { sourceId: `${ORIGIN}/secrets/s`, vaultUrl: ORIGIN, name: 's', version: undefined });
  t.equal(shapes.secretVersionsPage(page, link).value[0]!.id, `${ORIGIN}/secrets/s/${V}`);
  const deleted = shapes.deletedSecretBundle({ properties: secretProps(), recoveryId: 'keyraft://vault1/deletedsecrets/s', deletedDate: 10, scheduledPurgeDate: 20 }, { origin: ORIGIN });
  t.same(parseKeyVaultIdentifier('deletedsecrets', deleted.recoveryId), { vaultUrl: ORIGIN, name: 's', version: undefined });
  t.equal(deleted.deletedDate, 10);
  t.notOk('value' in deleted);
  const keyItem = shapes.keyListPage({ keys: [keyProps('RSA')], nextPageToken: '' }, { ...link, path: '/keys' }).value[0]!;
  t.same(parseKeyVaultKeyIdentifier(keyItem.kid), { sourceId: `${ORIGIN}/keys/k`, vaultUrl: ORIGIN, name: 'k', version: undefined });
});

t.test('nextLink: the listing again with its token, or null', async (t) => {
  const res = { secrets: [], nextPageToken: 'a/b+c=' };
  t.equal(shapes.secretListPage(res, { origin: ORIGIN, path: '/secrets', apiVersion: '2026-04-01', maxResults: 5 }).nextLink, `${ORIGIN}/secrets?api-version=2026-04-01&maxresults=5&$skiptoken=a%2Fb%2Bc%3D`);
  const link = new URL(shapes.secretListPage(res, { origin: ORIGIN, path: '/secrets', apiVersion: '7.4' }).nextLink!);
  t.equal(link.searchParams.get('$skiptoken'), 'a/b+c=', 'the token reads back whole');
  t.equal(link.searchParams.get('maxresults'), null);
  t.equal(shapes.secretListPage({ secrets: [], nextPageToken: '' }, { origin: ORIGIN, path: '/secrets', apiVersion: '7.4' }).nextLink, null);
});

t.test('results: base64url without padding, the kid as a URL', async (t) => {
  const kid = `keyraft://vault1/keys/k/${V}`;
  const res = shapes.keyOperationResult({ kid, value: Buffer.from([0xfb, 0xff]), iv: Buffer.from([1]), tag: EMPTY, aad: EMPTY }, { origin: ORIGIN });
  t.same(res, { kid: `${ORIGIN}/keys/k/${V}`, value: '-_8', iv: 'AQ' });
  t.throws(() => shapes.keyOperationResult({ kid: 'https://elsewhere/keys/k', value: EMPTY, iv: EMPTY, tag: EMPTY, aad: EMPTY }, { origin: ORIGIN }), /not a keyraft key id/);
  t.same(shapes.bytesValue({ value: Buffer.from('any carnal pleas') }), { value: 'YW55IGNhcm5hbCBwbGVhcw' });
  t.same(shapes.verifyResult({ value: false }), { value: false });
});
