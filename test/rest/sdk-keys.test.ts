// Every KeyClient and CryptographyClient operation of the unmodified
// @azure/keyvault-keys, through the route table to its RPC and back through
// the shapes. RSA keys are real (node:crypto), so the SDK's local RSA
// encrypt, wrap and verifyData run on the JWK we produced, and their output
// is checked with the private key.

import { constants, createHash, generateKeyPairSync, privateDecrypt, sign as signMessage, type KeyObject } from 'node:crypto';
import { CryptographyClient, KeyClient, parseKeyVaultKeyIdentifier } from '@azure/keyvault-keys';
import t from 'tap';
import type { DeletedKey, JsonWebKey, Key, KeyProperties } from '../../src/client/types.js';
import { clientOptions, Failure, gateway, VAULT, VAULT_URL } from './gateway-harness.js';
import { ALL_KEY_OPS, keyProperties } from './objects.js';

const V1 = '11112222333344445555666677778888';
const V2 = '9999aaaabbbbccccddddeeeeffff0000';
const CREATED = 1764720000;
const ALL_OPS = ALL_KEY_OPS;
const EMPTY = Buffer.alloc(0);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function jwkBytes(k: KeyObject, member: string): Buffer {
  return Buffer.from((k.export({ format: 'jwk' }) as Record<string, string>)[member]!, 'base64url');
}

function publicMembers(kty: string): JsonWebKey {
  const blank = { n: EMPTY, e: EMPTY, crv: '', x: EMPTY, y: EMPTY, d: EMPTY, p: EMPTY, q: EMPTY, dp: EMPTY, dq: EMPTY, qi: EMPTY, k: EMPTY };
  if (kty === 'RSA') return { ...blank, kid: '', kty, keyOps: ALL_OPS, n: jwkBytes(rsa.publicKey, 'n'), e: jwkBytes(rsa.publicKey, 'e') };
  if (kty === 'EC') return { ...blank, kid: '', kty, keyOps: ['sign', 'verify'], crv: 'P-256', x: jwkBytes(ec.publicKey, 'x'), y: jwkBytes(ec.publicKey, 'y') };
  return { ...blank, kid: '', kty, keyOps: ALL_OPS };
}

function props(name: string, version: string, kty: string, over: Partial<KeyProperties> = {}): KeyProperties {
  return keyProperties(VAULT, name, version, kty, CREATED, over);
}

function key(name: string, version: string, kty: string, over: Partial<KeyProperties> = {}): Key {
  const p = props(name, version, kty, over);
  return { properties: p, key: { ...publicMembers(kty), kid: p.kid, keyOps: p.keyOps } };
}

function deletedKey(k: Key): DeletedKey {
  return { key: k, recoveryId: `keyraft://${VAULT}/deletedkeys/${k.properties.name}`, deletedDate: CREATED + 5, scheduledPurgeDate: CREATED + 5 + 7 * 86400 };
}

const opResult = (name: string, version: string, value: Buffer, extra: { iv?: Buffer; tag?: Buffer; aad?: Buffer } = {}) => ({
  kid: `keyraft://${VAULT}/keys/${name}/${version}`,
  value,
  iv: extra.iv ?? EMPTY,
  tag: extra.tag ?? EMPTY,
  aad: extra.aad ?? EMPTY,
});

function setup() {
  const g = gateway();
  return { g, client: new KeyClient(VAULT_URL, g.credential, clientOptions(g)) };
}

/** The request the RPC got, without the request id the SDK's x-ms-client-request-id gives. */
function requestOf(g: ReturnType<typeof gateway>, i: number): Record<string, unknown> {
  const { requestId: _, ...rest } = g.calls[i]!.request;
  return rest;
}

t.test('createRsaKey: CreateKey with every member; the KeyBundle and its JWK parsed exactly', async (t) => {
  const { g, client } = setup();
  g.handlers['CreateKey'] = () => key('k1', V1, 'RSA', { tags: { team: 'a' }, notBefore: CREATED, expires: CREATED + 86400, exportable: false });
  const k = await client.createRsaKey('k1', { keySize: 2048, keyOps: ['sign', 'verify'], tags: { team: 'a' }, notBefore: new Date(CREATED * 1000), expiresOn: new Date((CREATED + 86400) * 1000), enabled: true });
  t.equal(g.calls[0]!.apiVersion, '2025-07-01');
  t.same(requestOf(g, 0), { vault: VAULT, name: 'k1', kty: 'RSA', keySize: 2048, keyOps: ['sign', 'verify'], tags: { team: 'a' }, enabled: true, notBefore: CREATED, expires: CREATED + 86400 });
  t.equal(k.id, `${VAULT_URL}/keys/k1/${V1}`);
  t.equal(k.key?.kid, k.id);
  t.equal(k.keyType, 'RSA');
  t.same(k.keyOperations, ALL_OPS);
  t.ok(Buffer.from(k.key!.n!).equals(jwkBytes(rsa.publicKey, 'n')), 'n');
  t.ok(Buffer.from(k.key!.e!).equals(jwkBytes(rsa.publicKey, 'e')), 'e');
  t.equal(k.key?.d, undefined, 'no private member');
  t.equal(k.properties.notBefore?.getTime(), CREATED * 1000);
  t.equal(k.properties.expiresOn?.getTime(), (CREATED + 86400) * 1000);
  t.equal(k.properties.createdOn?.getTime(), CREATED * 1000);
  t.equal(k.properties.exportable, false);
  t.equal(k.properties.recoverableDays, 90);
  t.same(k.properties.tags, { team: 'a' });
  t.same(parseKeyVaultKeyIdentifier(k.id!), { sourceId: k.id, vaultUrl: VAULT_URL, name: 'k1', version: V1 });
});

t.test('createEcKey and createOctKey', async (t) => {
  const { g, client } = setup();
  g.handlers['CreateKey'] = (r) => key('k2', V1, r['kty'] as string);
  const e = await client.createEcKey('k2', { curve: 'P-256' });
  t.same(requestOf(g, 0), { vault: VAULT, name: 'k2', kty: 'EC', curve: 'P-256' });
  t.equal(e.key?.crv, 'P-256');
  t.ok(Buffer.from(e.key!.x!).equals(jwkBytes(ec.publicKey, 'x')), 'x');
  t.ok(Buffer.from(e.key!.y!).equals(jwkBytes(ec.publicKey, 'y')), 'y');
  const o = await client.createOctKey('k2', { keySize: 256 });
  t.same(requestOf(g, 1), { vault: VAULT, name: 'k2', kty: 'oct', keySize: 256 });
  t.equal(o.keyType, 'oct');
  t.equal(o.key?.k, undefined, 'a symmetric key never leaves');
});

t.test('an HSM key is refused with BadParameter before any RPC', async (t) => {
  const { g, client } = setup();
  await t.rejects(client.createRsaKey('k1', { hsm: true }), { statusCode: 400, code: 'BadParameter', message: /no HSM/ });
  t.equal(g.calls.length, 0);
});

t.test('importKey: the private JWK arrives as bytes', async (t) => {
  const { g, client } = setup();
  g.handlers['ImportKey'] = () => key('k3', V1, 'RSA');
  const jwk = rsa.privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const bytes = (m: string) => new Uint8Array(Buffer.from(jwk[m]!, 'base64url'));
  const k = await client.importKey('k3', { kty: 'RSA', keyOps: ['sign'], n: bytes('n'), e: bytes('e'), d: bytes('d'), p: bytes('p'), q: bytes('q'), dp: bytes('dp'), dq: bytes('dq'), qi: bytes('qi') }, { enabled: true, tags: { a: 'b' } });
  const r = requestOf(g, 0);
  t.match(r, { vault: VAULT, name: 'k3', enabled: true, tags: { a: 'b' } });
  const sent = r['key'] as Record<string, unknown>;
  t.equal(sent['kty'], 'RSA');
  t.same(sent['keyOps'], ['sign']);
  for (const m of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi']) t.ok(Buffer.from(sent[m] as Uint8Array).equals(Buffer.from(jwk[m]!, 'base64url')), `member ${m}`);
  t.equal(k.name, 'k3');
});

t.test('getKey, the key lists and updateKeyProperties', async (t) => {
  const { g, client } = setup();
  g.handlers['GetKey'] = (r) => key('k1', (r['version'] as string) || V2, 'RSA');
  t.equal((await client.getKey('k1')).properties.version, V2);
  t.same(requestOf(g, 0), { vault: VAULT, name: 'k1', version: '' });
  t.equal((await client.getKey('k1', { version: V1 })).properties.version, V1);
  t.same(requestOf(g, 1), { vault: VAULT, name: 'k1', version: V1 });

  g.handlers['ListKeys'] = (r) => (r['pageToken'] === undefined ? { keys: [props('a', V1, 'RSA')], nextPageToken: 'next' } : { keys: [props('b', V1, 'EC')], nextPageToken: '' });
  const listed: string[] = [];
  for await (const p of client.listPropertiesOfKeys()) listed.push(`${p.name}@${p.version ?? 'latest'} ${p.id}`);
  t.same(listed, [`a@latest ${VAULT_URL}/keys/a`, `b@latest ${VAULT_URL}/keys/b`]);
  t.same(requestOf(g, 3), { vault: VAULT, pageToken: 'next' });

  g.handlers['ListKeyVersions'] = () => ({ keys: [props('k1', V1, 'RSA'), props('k1', V2, 'RSA')], nextPageToken: '' });
  const versions: (string | undefined)[] = [];
  for await (const p of client.listPropertiesOfKeyVersions('k1')) versions.push(p.version);
  t.same(versions, [V1, V2]);
  t.same(requestOf(g, 4), { vault: VAULT, name: 'k1' });

  g.handlers['UpdateKeyProperties'] = () => key('k1', V1, 'RSA', { enabled: false, keyOps: ['verify'] });
  const u = await client.updateKeyProperties('k1', V1, { enabled: false, keyOps: ['verify'], tags: { x: 'y' } });
  t.same(requestOf(g, 5), { vault: VAULT, name: 'k1', version: V1, enabled: false, keyOps: { keyOps: ['verify'] }, tags: { tags: { x: 'y' } } });
  t.equal(u.properties.enabled, false);
  t.same(u.keyOperations, ['verify']);
});

t.test('rotateKey, backupKey, restoreKeyBackup, getRandomBytes', async (t) => {
  const { g, client } = setup();
  g.handlers['RotateKey'] = () => key('k1', V2, 'RSA');
  t.equal((await client.rotateKey('k1')).properties.version, V2);
  t.same(requestOf(g, 0), { vault: VAULT, name: 'k1' });
  const blob = Buffer.from('an opaque backup \u0000\u00ff');
  g.handlers['BackupKey'] = () => ({ value: blob });
  const b = await client.backupKey('k1');
  t.ok(b !== undefined && Buffer.from(b).equals(blob));
  g.handlers['RestoreKey'] = () => key('k1', V1, 'RSA');
  t.equal((await client.restoreKeyBackup(b!)).name, 'k1');
  t.ok(Buffer.from(requestOf(g, 2)['backup'] as Uint8Array).equals(blob));
  const random = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255, 62, 63]);
  g.handlers['GetRandomBytes'] = () => ({ value: random });
  const got = await client.getRandomBytes(11);
  t.same(requestOf(g, 3), { count: 11 });
  t.ok(Buffer.from(got).equals(random));
});

t.test('delete, deleted, recover and purge, with the pollers', async (t) => {
  const { g, client } = setup();
  g.handlers['DeleteKey'] = () => deletedKey(key('k1', V1, 'RSA'));
  let polls = 0;
  g.handlers['GetDeletedKey'] = () => {
    if (++polls < 2) throw new Failure({ code: 5, reason: 'DELETED_KEY_NOT_FOUND', message: 'not yet' });
    return deletedKey(key('k1', V1, 'RSA'));
  };
  const d = await (await client.beginDeleteKey('k1', { intervalInMs: 1 })).pollUntilDone();
  t.equal(polls, 2);
  t.equal(d.properties.recoveryId, `${VAULT_URL}/deletedkeys/k1`);
  t.equal(d.properties.deletedOn?.getTime(), (CREATED + 5) * 1000);
  t.equal(d.properties.scheduledPurgeDate?.getTime(), (CREATED + 5 + 7 * 86400) * 1000);
  t.equal((await client.getDeletedKey('k1')).properties.recoveryId, `${VAULT_URL}/deletedkeys/k1`);
  g.handlers['ListDeletedKeys'] = () => ({ keys: [deletedKey(key('k1', V1, 'RSA'))], nextPageToken: '' });
  const names: string[] = [];
  for await (const x of client.listDeletedKeys()) names.push(`${x.name} ${x.properties.recoveryId}`);
  t.same(names, [`k1 ${VAULT_URL}/deletedkeys/k1`]);

  g.handlers['RecoverDeletedKey'] = () => key('k1', V1, 'RSA');
  let gets = 0;
  g.handlers['GetKey'] = () => {
    if (++gets < 3) throw new Failure({ code: 5, reason: 'KEY_NOT_FOUND', message: 'not yet' });
    return key('k1', V1, 'RSA');
  };
  const r = await (await client.beginRecoverDeletedKey('k1', { intervalInMs: 1 })).pollUntilDone();
  t.equal(r.name, 'k1');
  t.same(g.calls.slice(-4).map((c) => c.rpc), ['GetKey', 'RecoverDeletedKey', 'GetKey', 'GetKey']);

  g.handlers['PurgeDeletedKey'] = () => ({});
  await client.purgeDeletedKey('k1');
  t.match(g.calls.at(-1), { rpc: 'PurgeDeletedKey', request: { vault: VAULT, name: 'k1' } });
});

t.test('CryptographyClient on an RSA key: local encrypt, wrap and verifyData on our JWK; remote decrypt, unwrap, sign', async (t) => {
  const g = gateway();
  g.handlers['GetKey'] = () => key('k1', V1, 'RSA');
  const crypto = new CryptographyClient(`${VAULT_URL}/keys/k1/${V1}`, g.credential, clientOptions(g));
  const plaintext = Buffer.from('attack at dawn');

  const enc = await crypto.encrypt({ algorithm: 'RSA-OAEP', plaintext });
  t.ok(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, enc.result).equals(plaintext), 'the SDK encrypted with our JWK locally');
  const wrapped = await crypto.wrapKey('RSA-OAEP', plaintext);
  t.ok(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, wrapped.result).equals(plaintext), 'and wrapped');
  const signature = signMessage('sha256', plaintext, rsa.privateKey);
  t.equal((await crypto.verifyData('RS256', plaintext, signature)).result, true, 'verifyData on our JWK accepts the private key signature');
  t.equal((await crypto.verifyData('RS256', Buffer.from('attack at dusk'), signature)).result, false, 'and refuses another message');
  t.notOk(g.calls.some((c) => c.rpc !== 'GetKey'), 'no remote call for the local operations');

  g.handlers['Decrypt'] = () => opResult('k1', V1, plaintext);
  const dec = await crypto.decrypt({ algorithm: 'RSA-OAEP', ciphertext: enc.result });
  t.match(requestOf(g, g.calls.length - 1), { vault: VAULT, name: 'k1', version: V1, algorithm: 'RSA-OAEP' });
  t.ok(Buffer.from(requestOf(g, g.calls.length - 1)['value'] as Uint8Array).equals(Buffer.from(enc.result)));
  t.ok(Buffer.from(dec.result).equals(plaintext));
  t.equal(dec.keyID, `${VAULT_URL}/keys/k1/${V1}`);

  g.handlers['UnwrapKey'] = () => opResult('k1', V1, plaintext);
  const unwrapped = await crypto.unwrapKey('RSA-OAEP', wrapped.result);
  t.equal(g.calls.at(-1)!.rpc, 'UnwrapKey');
  t.ok(Buffer.from(unwrapped.result).equals(plaintext));

  const digest = createHash('sha256').update(plaintext).digest();
  g.handlers['Sign'] = () => opResult('k1', V1, signature);
  const signed = await crypto.sign('RS256', digest);
  t.same(requestOf(g, g.calls.length - 1), { vault: VAULT, name: 'k1', version: V1, algorithm: 'RS256', digest });
  t.ok(Buffer.from(signed.result).equals(signature));
  t.equal(signed.keyID, `${VAULT_URL}/keys/k1/${V1}`);
});

t.test('CryptographyClient: remote verify (EC) and AES-GCM encrypt (oct) with iv, tag and aad', async (t) => {
  const g = gateway();
  g.handlers['GetKey'] = (r) => key(r['name'] as string, V1, r['name'] === 'ec1' ? 'EC' : 'oct');
  const ecClient = new CryptographyClient(`${VAULT_URL}/keys/ec1/${V1}`, g.credential, clientOptions(g));
  g.handlers['Verify'] = () => ({ value: true });
  const digest = createHash('sha256').update('m').digest();
  const sig = Buffer.alloc(64, 7);
  t.equal((await ecClient.verify('ES256', digest, sig)).result, true);
  t.same(requestOf(g, g.calls.length - 1), { vault: VAULT, name: 'ec1', version: V1, algorithm: 'ES256', digest, signature: sig });

  const aes = new CryptographyClient(`${VAULT_URL}/keys/aes1/${V1}`, g.credential, clientOptions(g));
  const iv = Buffer.alloc(12, 1);
  const tag = Buffer.alloc(16, 2);
  const aad = Buffer.from('header');
  g.handlers['Encrypt'] = () => opResult('aes1', V1, Buffer.from('ciphertext'), { iv, tag, aad });
  const enc = await aes.encrypt({ algorithm: 'A256GCM', plaintext: Buffer.from('p'), additionalAuthenticatedData: aad });
  t.same(requestOf(g, g.calls.length - 1), { vault: VAULT, name: 'aes1', version: V1, algorithm: 'A256GCM', value: Buffer.from('p'), aad });
  t.ok(Buffer.from(enc.result).equals(Buffer.from('ciphertext')));
  t.ok(Buffer.from(enc.iv!).equals(iv), 'iv');
  t.ok(Buffer.from(enc.authenticationTag!).equals(tag), 'tag');
  t.ok(Buffer.from(enc.additionalAuthenticatedData!).equals(aad), 'aad');
});
