// Issue 20 against a real cluster: the unmodified @azure/keyvault-secrets,
// @azure/keyvault-keys and @azure/identity (test/rest/sdk-child.ts, in a
// process of its own that trusts the cluster CA and resolves *.kv.localhost
// to 127.0.0.1) talk HTTPS to the REST gateways of a 3+3 cluster of real
// node processes, and every answer is compared with the same operation over
// gRPC (KeyraftClient):
//
// 1. every SecretClient, KeyClient and CryptographyClient operation keyraft
//    serves, on a primary node, every algorithm, paging with maxresults and
//    nextLink, the delete and recover pollers;
// 2. the same clients on a secondary node's gateway: forwarded while
//    STANDBY, the seed's read-only list while FAILED_OVER (writes refused as
//    src/rest/errors.ts maps READ_ONLY_FAILOVER), writes again after
//    failback; every answer names who served it;
// 3. DefaultAzureCredential with only IDENTITY_ENDPOINT and IDENTITY_HEADER;
// 4. the refusals: no token → 401 challenge, a principal without the role →
//    403 Forbidden, and nothing changed.
//
// One cluster for every subtest, in order, to keep CI time down.

import { constants, createCipheriv, createHash, createPublicKey, generateKeyPairSync, randomBytes, verify as verifySignature, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { KeyraftClient, KeyraftError } from '../../src/client/index.js';
import type { Key } from '../../src/client/types.js';
import { toAzureError } from '../../src/rest/errors.js';
import { IDENTITY_PATH } from '../../src/rest/identity.js';
import { type SdkServer, startSdkServer } from '../rest/gateway-fixture.js';
import { decode, encode } from '../rest/sdk-json.js';
import type { Attempt, ServeAnswer, ServeCommand } from '../rest/sdk-child.js';
import { TestCluster, eventually } from './cluster.js';
import { indexOf, secondaryHas } from './geo.js';

t.setTimeout(240_000);

const VAULT = 'sdkvault';
const POLL = { intervalInMs: 100 };

let cluster: TestCluster;
let grpcClient: KeyraftClient;
let west: KeyraftClient;
let sdk: SdkServer;
let caFile: string;

const restPort = (id: string) => Number(cluster.node(id).rest.split(':')[1]);
const vaultUrl = (id: string) => `https://${VAULT}.kv.localhost:${restPort(id)}`;

type Kind = ServeCommand['client'];

/** One SDK call; the answer's value decoded (bytes as Buffers, Dates). */
async function call(server: SdkServer, command: Omit<ServeCommand, 'id'>): Promise<{ ok?: any; error?: ServeAnswer['error']; attempts: Attempt[] }> {
  const answer = await server.call({ ...command, args: encode(command.args) as unknown[] });
  return { ...answer, ok: decode(answer.ok) };
}

/** The HTTP attempts of the last call `ok` made. */
let lastAttempts: Attempt[] = [];

/** An SDK call that must succeed: its value. */
async function ok(t: Test, client: Kind, url: string, method: string, args: unknown[], extra: Partial<ServeCommand> = {}): Promise<any> {
  const a = await call(sdk, { client, url, method, args, ...extra });
  if (a.error !== undefined) t.fail(`${client}.${method}: ${JSON.stringify(a.error)}`);
  lastAttempts = a.attempts;
  return a.ok;
}

/** The gRPC refusal's reason, or 'OK'. */
const grpcReason = (p: Promise<unknown>): Promise<string> => p.then(() => 'OK', (e: unknown) => (e instanceof KeyraftError ? e.reason : Promise.reject(e)));

/** Every item of a gRPC listing (listAll*). */
async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const seconds = (d: Date | undefined) => (d === undefined ? 0 : d.getTime() / 1000);
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

t.before(async () => {
  cluster = await TestCluster.create({
    regions: [
      { name: 'east', nodes: 3 },
      { name: 'west', nodes: 3 },
    ],
    failoverAfterMs: 2000,
    failbackAfterMs: 2000,
  });
  cluster.startAll();
  caFile = join(cluster.pkiDir, 'ca.crt');
  grpcClient = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 8000 });
  west = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: cluster.endpoints('west'), timeoutMs: 3000, retries: 2 });
  await eventually('the vault', () => grpcClient.createVault({ name: VAULT }).then(() => true), 60_000);
  sdk = startSdkServer(t, caFile, { TOKEN: await cluster.token() });
});

t.teardown(async () => {
  grpcClient?.close();
  west?.close();
  await cluster?.destroy();
});

t.test('SecretClient on a primary node: every operation, as gRPC sees it', async (t) => {
  const url = vaultUrl('east-1');
  const set = await ok(t, 'secrets', url, 'setSecret', ['s1', 'first', { contentType: 'text/plain', tags: { team: 'payments' } }]);
  const viaGrpc = await grpcClient.getSecret({ vault: VAULT, name: 's1' });
  t.equal(viaGrpc.value, 'first', 'gRPC reads what the SDK wrote');
  t.equal(set.properties.version, viaGrpc.properties.version, 'the same version');
  t.equal(set.properties.id, `${url}/secrets/s1/${viaGrpc.properties.version}`, 'the id is on the origin called');
  const primaryServed = lastAttempts.at(-1)?.headers ?? {};
  t.match(primaryServed, { 'x-ms-keyvault-region': 'east', 'x-keyraft-region': 'east', 'x-keyraft-mode': 'SERVING', 'x-keyraft-node': /^east-[123]$/ }, 'the answer names the primary node that served it');
  t.equal(set.properties.contentType, viaGrpc.properties.contentType);
  t.same(set.properties.tags, viaGrpc.properties.tags);
  t.equal(seconds(set.properties.createdOn), viaGrpc.properties.created, 'created');
  t.equal(seconds(set.properties.updatedOn), viaGrpc.properties.updated, 'updated');
  t.equal(set.properties.enabled, viaGrpc.properties.enabled);
  t.equal(set.properties.recoveryLevel, viaGrpc.properties.recoveryLevel);
  t.equal(set.properties.recoverableDays, viaGrpc.properties.recoverableDays);

  // A second version written over gRPC, read through the SDK.
  const second = await grpcClient.setSecret({ vault: VAULT, name: 's1', value: 'second' });
  const got = await ok(t, 'secrets', url, 'getSecret', ['s1']);
  t.equal(got.value, 'second');
  t.equal(got.properties.version, second.properties.version);
  const old = await ok(t, 'secrets', url, 'getSecret', ['s1', { version: set.properties.version }]);
  t.equal(old.value, 'first', 'an older version by its id');

  const versions = (await ok(t, 'secrets', url, 'listPropertiesOfSecretVersions', ['s1'], { mode: 'list' })) as { version: string }[];
  const grpcVersions = await all(grpcClient.listAllSecretVersions(VAULT, 's1'));
  t.same(versions.map((v) => v.version).sort(), grpcVersions.map((v) => v.version).sort(), 'listPropertiesOfSecretVersions');

  // Paging: five secrets in pages of two, following nextLink.
  for (let i = 2; i <= 5; i++) await ok(t, 'secrets', url, 'setSecret', [`s${i}`, `value ${i}`]);
  const paged = await call(sdk, { client: 'secrets', url, method: 'listPropertiesOfSecrets', args: [], mode: 'pages', maxPageSize: 2 });
  t.notOk(paged.error);
  const pages = paged.ok as { name: string }[][];
  t.ok(pages.length >= 3 && pages.every((p) => p.length <= 2), `pages of at most 2: ${pages.map((p) => p.length).join(',')}`);
  const grpcNames = (await all(grpcClient.listAllSecrets(VAULT))).map((s) => s.name).sort();
  t.same(pages.flat().map((s) => s.name).sort(), grpcNames, 'the same names as gRPC');
  const followed = paged.attempts.filter((a) => a.status === 200).map((a) => new URL(a.url));
  t.ok(followed.length >= 3 && followed.every((u) => u.origin === url && u.searchParams.get('maxresults') === '2'), 'every page asked with maxresults, nextLink on the origin');
  t.ok(followed.slice(1).every((u) => u.searchParams.has('$skiptoken')), 'pages after the first follow nextLink');

  const updated = await ok(t, 'secrets', url, 'updateSecretProperties', ['s1', second.properties.version, { contentType: 'application/json', tags: { env: 'test' } }]);
  const updatedGrpc = await grpcClient.getSecret({ vault: VAULT, name: 's1' });
  t.equal(updatedGrpc.properties.contentType, 'application/json', 'updateSecretProperties');
  t.same(updatedGrpc.properties.tags, { env: 'test' });
  t.equal(seconds(updated.updatedOn), updatedGrpc.properties.updated);

  const backup = (await ok(t, 'secrets', url, 'backupSecret', ['s1'])) as Buffer;
  t.ok(backup.length > 0, 'backupSecret');

  const deleted = await ok(t, 'secrets', url, 'beginDeleteSecret', ['s1', POLL], { mode: 'poll' });
  const deletedGrpc = await grpcClient.getDeletedSecret({ vault: VAULT, name: 's1' });
  t.equal(deleted.name, 's1', 'beginDeleteSecret, polled until done');
  t.equal(seconds(deleted.properties.deletedOn), deletedGrpc.deletedDate);
  t.equal(seconds(deleted.properties.scheduledPurgeDate), deletedGrpc.scheduledPurgeDate);
  t.equal(deleted.properties.recoveryId, `${url}/deletedsecrets/s1`);
  const gotDeleted = await ok(t, 'secrets', url, 'getDeletedSecret', ['s1']);
  t.equal(gotDeleted.properties.version, deletedGrpc.properties.version, 'getDeletedSecret');
  const listedDeleted = (await ok(t, 'secrets', url, 'listDeletedSecrets', [], { mode: 'list' })) as { name: string }[];
  t.same(listedDeleted.map((d) => d.name).sort(), (await all(grpcClient.listAllDeletedSecrets(VAULT))).map((d) => d.properties.name).sort(), 'listDeletedSecrets');

  const recovered = await ok(t, 'secrets', url, 'beginRecoverDeletedSecret', ['s1', POLL], { mode: 'poll' });
  t.equal(recovered.version, second.properties.version, 'beginRecoverDeletedSecret, polled until done');
  t.equal((await grpcClient.getSecret({ vault: VAULT, name: 's1' })).value, 'second', 'recovered, as gRPC sees it');

  await ok(t, 'secrets', url, 'beginDeleteSecret', ['s1', POLL], { mode: 'poll' });
  await ok(t, 'secrets', url, 'purgeDeletedSecret', ['s1']);
  t.equal(await grpcReason(grpcClient.getDeletedSecret({ vault: VAULT, name: 's1' })), 'DELETED_SECRET_NOT_FOUND', 'purged');
  const missing = await call(sdk, { client: 'secrets', url, method: 'getSecret', args: ['s1'] });
  t.match(missing.error, { statusCode: 404, code: 'SecretNotFound' }, 'SecretNotFound, as Azure says it');

  const restored = await ok(t, 'secrets', url, 'restoreSecretBackup', [backup]);
  t.equal(restored.name, 's1', 'restoreSecretBackup');
  const restoredGrpc = await grpcClient.getSecret({ vault: VAULT, name: 's1' });
  t.equal(restoredGrpc.value, 'second');
  t.equal(restoredGrpc.properties.version, second.properties.version, 'the versions come back');
  // A gRPC backup restores through the SDK, and the other way round: one format.
  const grpcBackup = await grpcClient.backupSecret({ vault: VAULT, name: 's2' });
  await grpcClient.deleteSecret({ vault: VAULT, name: 's2' });
  await eventually('s2 deleted', () => grpcClient.getDeletedSecret({ vault: VAULT, name: 's2' }).then(() => true), 10_000);
  await grpcClient.purgeDeletedSecret({ vault: VAULT, name: 's2' });
  await ok(t, 'secrets', url, 'restoreSecretBackup', [grpcBackup.value]);
  t.equal((await grpcClient.getSecret({ vault: VAULT, name: 's2' })).value, 'value 2', 'a gRPC backup restored by the SDK');
});

const ALL_CURVES = [
  ['P-256', 'ES256', 'sha256', 'prime256v1'],
  ['P-384', 'ES384', 'sha384', 'secp384r1'],
  ['P-521', 'ES512', 'sha512', 'secp521r1'],
  ['P-256K', 'ES256K', 'sha256', 'secp256k1'],
] as const;

/** The gRPC key's public half as node:crypto's key. */
function publicKeyOf(k: Key): KeyObject {
  const j = k.key;
  if (j.kty === 'RSA') return createPublicKey({ format: 'jwk', key: { kty: 'RSA', n: b64u(j.n), e: b64u(j.e) } });
  const crv = j.crv === 'P-256K' ? 'secp256k1' : j.crv;
  return createPublicKey({ format: 'jwk', key: { kty: 'EC', crv, x: b64u(j.x), y: b64u(j.y) } });
}

/** The SDK's key and gRPC's: the same version, type, operations and public members. */
function sameKey(t: Test, sdkKey: any, grpcKey: Key, what: string): void {
  t.equal(sdkKey.properties.version, grpcKey.properties.version, `${what}: version`);
  t.equal(sdkKey.keyType, grpcKey.properties.kty, `${what}: kty`);
  t.same([...sdkKey.keyOperations].sort(), [...grpcKey.properties.keyOps].sort(), `${what}: key_ops`);
  t.equal(seconds(sdkKey.properties.createdOn), grpcKey.properties.created, `${what}: created`);
  t.equal(sdkKey.properties.enabled, grpcKey.properties.enabled, `${what}: enabled`);
  t.equal(sdkKey.properties.exportable ?? false, grpcKey.properties.exportable, `${what}: exportable`);
  for (const m of ['n', 'e', 'x', 'y'] as const) {
    if (grpcKey.key[m].length > 0) t.equal(b64u(sdkKey.key[m]), b64u(grpcKey.key[m]), `${what}: public member ${m}`);
  }
  if (grpcKey.key.crv !== '') t.equal(sdkKey.key.crv, grpcKey.key.crv, `${what}: crv`);
  t.notOk(sdkKey.key.d, `${what}: no private member`);
}

t.test('KeyClient on a primary node: create, import, get, list, update, rotate, delete, recover, purge, backup, restore, random bytes', async (t) => {
  const url = vaultUrl('east-1');
  const rsa = await ok(t, 'keys', url, 'createRsaKey', ['rsa', { keySize: 2048 }]);
  sameKey(t, rsa, await grpcClient.getKey({ vault: VAULT, name: 'rsa' }), 'createRsaKey');
  t.equal(rsa.id, `${url}/keys/rsa/${rsa.properties.version}`, 'the kid is on the origin called');
  for (const [crv] of ALL_CURVES) {
    const ec = await ok(t, 'keys', url, 'createEcKey', [`ec-${crv}`, { curve: crv }]);
    sameKey(t, ec, await grpcClient.getKey({ vault: VAULT, name: `ec-${crv}` }), `createEcKey ${crv}`);
  }
  for (const size of [128, 192, 256]) {
    const oct = await ok(t, 'keys', url, 'createOctKey', [`oct-${size}`, { keySize: size }]);
    sameKey(t, oct, await grpcClient.getKey({ vault: VAULT, name: `oct-${size}` }), `createOctKey ${size}`);
  }

  // Imported keys: the public members are ours, the private ones stay in the vault.
  const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ecPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = (k: KeyObject) => Object.fromEntries(Object.entries(k.export({ format: 'jwk' })).map(([m, v]) => [m, m === 'kty' || m === 'crv' ? v : Buffer.from(v as string, 'base64url')]));
  const importedRsa = await ok(t, 'keys', url, 'importKey', ['imported-rsa', { ...jwk(rsaPair.privateKey), keyOps: ['sign', 'verify', 'encrypt', 'decrypt'] }, { tags: { origin: 'import' } }]);
  const importedRsaGrpc = await grpcClient.getKey({ vault: VAULT, name: 'imported-rsa' });
  sameKey(t, importedRsa, importedRsaGrpc, 'importKey RSA');
  t.equal(b64u(importedRsaGrpc.key.n), (rsaPair.publicKey.export({ format: 'jwk' }) as { n: string }).n, 'the modulus imported');
  const importedEc = await ok(t, 'keys', url, 'importKey', ['imported-ec', jwk(ecPair.privateKey)]);
  sameKey(t, importedEc, await grpcClient.getKey({ vault: VAULT, name: 'imported-ec' }), 'importKey EC');
  // A signature by the vault's copy verifies with the importer's key.
  const digest = createHash('sha256').update('imported').digest();
  const signed = await grpcClient.sign({ vault: VAULT, name: 'imported-ec', algorithm: 'ES256', digest });
  t.ok(verifySignature('sha256', Buffer.from('imported'), { key: ecPair.publicKey, dsaEncoding: 'ieee-p1363' }, signed.value), 'the imported private key signs');

  // A symmetric key: its wrap by the vault is AES key wrap (RFC 3394) under the bytes imported.
  const octBytes = randomBytes(32);
  const importedOct = await ok(t, 'keys', url, 'importKey', ['imported-oct', { kty: 'oct', k: octBytes, keyOps: ['wrapKey', 'unwrapKey'] }]);
  sameKey(t, importedOct, await grpcClient.getKey({ vault: VAULT, name: 'imported-oct' }), 'importKey oct');
  const cek = randomBytes(16);
  const aesKw = createCipheriv('id-aes256-wrap', octBytes, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
  const expectedWrap = Buffer.concat([aesKw.update(cek), aesKw.final()]);
  const wrappedOct = await ok(t, 'crypto', importedOct.id, 'wrapKey', ['A256KW', cek]);
  t.equal(b64u(wrappedOct.result), b64u(expectedWrap), 'the imported oct key wraps as node:crypto does with its bytes');

  const got = await ok(t, 'keys', url, 'getKey', ['rsa']);
  sameKey(t, got, await grpcClient.getKey({ vault: VAULT, name: 'rsa' }), 'getKey');

  const rotated = await ok(t, 'keys', url, 'rotateKey', ['rsa']);
  const rotatedGrpc = await grpcClient.getKey({ vault: VAULT, name: 'rsa' });
  sameKey(t, rotated, rotatedGrpc, 'rotateKey');
  t.not(rotated.properties.version, rsa.properties.version, 'a new version');
  const old = await ok(t, 'keys', url, 'getKey', ['rsa', { version: rsa.properties.version }]);
  sameKey(t, old, await grpcClient.getKey({ vault: VAULT, name: 'rsa', version: rsa.properties.version }), 'getKey of an older version');

  const versions = (await ok(t, 'keys', url, 'listPropertiesOfKeyVersions', ['rsa'], { mode: 'list' })) as { version: string }[];
  t.same(versions.map((v) => v.version).sort(), (await all(grpcClient.listAllKeyVersions(VAULT, 'rsa'))).map((v) => v.version).sort(), 'listPropertiesOfKeyVersions');

  const paged = await call(sdk, { client: 'keys', url, method: 'listPropertiesOfKeys', args: [], mode: 'pages', maxPageSize: 3 });
  t.notOk(paged.error);
  const pages = paged.ok as { name: string }[][];
  t.ok(pages.length >= 4 && pages.every((p) => p.length <= 3), `pages of at most 3: ${pages.map((p) => p.length).join(',')}`);
  t.same(pages.flat().map((k) => k.name).sort(), (await all(grpcClient.listAllKeys(VAULT))).map((k) => k.name).sort(), 'listPropertiesOfKeys: the same names as gRPC');

  const updated = await ok(t, 'keys', url, 'updateKeyProperties', ['imported-ec', importedEc.properties.version, { tags: { env: 'test' }, keyOps: ['sign', 'verify'] }]);
  const updatedGrpc = await grpcClient.getKey({ vault: VAULT, name: 'imported-ec' });
  t.same(updatedGrpc.properties.tags, { env: 'test' }, 'updateKeyProperties');
  t.same(updated.keyOperations, updatedGrpc.properties.keyOps);

  const backup = (await ok(t, 'keys', url, 'backupKey', ['imported-ec'])) as Buffer;
  t.ok(backup.length > 0, 'backupKey');
  const deleted = await ok(t, 'keys', url, 'beginDeleteKey', ['imported-ec', POLL], { mode: 'poll' });
  const deletedGrpc = await grpcClient.getDeletedKey({ vault: VAULT, name: 'imported-ec' });
  t.equal(deleted.properties.recoveryId, `${url}/deletedkeys/imported-ec`, 'beginDeleteKey, polled until done');
  t.equal(seconds(deleted.properties.deletedOn), deletedGrpc.deletedDate);
  const gotDeleted = await ok(t, 'keys', url, 'getDeletedKey', ['imported-ec']);
  t.equal(gotDeleted.properties.version, deletedGrpc.key.properties.version, 'getDeletedKey');
  const listedDeleted = (await ok(t, 'keys', url, 'listDeletedKeys', [], { mode: 'list' })) as { name: string }[];
  t.same(listedDeleted.map((d) => d.name).sort(), (await all(grpcClient.listAllDeletedKeys(VAULT))).map((d) => d.key.properties.name).sort(), 'listDeletedKeys');
  const recovered = await ok(t, 'keys', url, 'beginRecoverDeletedKey', ['imported-ec', POLL], { mode: 'poll' });
  sameKey(t, recovered, await grpcClient.getKey({ vault: VAULT, name: 'imported-ec' }), 'beginRecoverDeletedKey');
  await ok(t, 'keys', url, 'beginDeleteKey', ['imported-ec', POLL], { mode: 'poll' });
  await ok(t, 'keys', url, 'purgeDeletedKey', ['imported-ec']);
  t.equal(await grpcReason(grpcClient.getDeletedKey({ vault: VAULT, name: 'imported-ec' })), 'DELETED_KEY_NOT_FOUND', 'purgeDeletedKey');
  const restored = await ok(t, 'keys', url, 'restoreKeyBackup', [backup]);
  sameKey(t, restored, await grpcClient.getKey({ vault: VAULT, name: 'imported-ec' }), 'restoreKeyBackup');
  t.equal(b64u(restored.key.x), (ecPair.publicKey.export({ format: 'jwk' }) as { x: string }).x, 'the same key material back');

  const random = (await ok(t, 'keys', url, 'getRandomBytes', [32])) as Buffer;
  t.equal(random.length, 32, 'getRandomBytes');
});

t.test('CryptographyClient on a primary node: every algorithm, both ways', async (t) => {
  const url = vaultUrl('east-1');
  const plaintext = randomBytes(32);
  const keyId = async (name: string) => (await ok(t, 'keys', url, 'getKey', [name])).id as string;

  // RSA: the SDK encrypts and wraps locally from the public JWK; the vault decrypts.
  const rsaId = await keyId('rsa');
  for (const algorithm of ['RSA-OAEP', 'RSA-OAEP-256']) {
    const enc = await ok(t, 'crypto', rsaId, 'encrypt', [{ algorithm, plaintext }]);
    t.equal(enc.keyID, rsaId, `${algorithm}: the kid`);
    t.equal(b64u((await grpcClient.decrypt({ vault: VAULT, name: 'rsa', algorithm, value: enc.result })).value), b64u(plaintext), `${algorithm}: SDK encrypt, gRPC decrypt`);
    const grpcEnc = await grpcClient.encrypt({ vault: VAULT, name: 'rsa', algorithm, value: plaintext });
    t.equal(b64u((await ok(t, 'crypto', rsaId, 'decrypt', [{ algorithm, ciphertext: grpcEnc.value }])).result), b64u(plaintext), `${algorithm}: gRPC encrypt, SDK decrypt`);
    const wrapped = await ok(t, 'crypto', rsaId, 'wrapKey', [algorithm, plaintext]);
    t.equal(b64u((await grpcClient.unwrapKey({ vault: VAULT, name: 'rsa', algorithm, value: wrapped.result })).value), b64u(plaintext), `${algorithm}: SDK wrapKey, gRPC unwrapKey`);
    const grpcWrapped = await grpcClient.wrapKey({ vault: VAULT, name: 'rsa', algorithm, value: plaintext });
    t.equal(b64u((await ok(t, 'crypto', rsaId, 'unwrapKey', [algorithm, grpcWrapped.value])).result), b64u(plaintext), `${algorithm}: gRPC wrapKey, SDK unwrapKey`);
  }
  // RSA1_5: encryption works; decryption is refused (the Marvin attack, NOTES.md) the same way over both APIs.
  const enc15 = await ok(t, 'crypto', rsaId, 'encrypt', [{ algorithm: 'RSA1_5', plaintext }]);
  const grpcRefusal = await grpcClient.decrypt({ vault: VAULT, name: 'rsa', algorithm: 'RSA1_5', value: enc15.result }).then(
    () => undefined,
    (e: KeyraftError) => e,
  );
  t.ok(grpcRefusal, 'RSA1_5 decryption refused over gRPC');
  const restRefusal = await call(sdk, { client: 'crypto', url: rsaId, method: 'decrypt', args: [{ algorithm: 'RSA1_5', ciphertext: enc15.result }] });
  const expected = toAzureError({ code: grpcRefusal!.code as grpc.status, reason: grpcRefusal!.reason, message: '' });
  t.match(restRefusal.error, { statusCode: expected.status, code: expected.body.error.code }, `and over REST: ${expected.status} ${expected.body.error.code}`);

  // Signatures: SDK sign → gRPC verify and node:crypto verify; gRPC sign → SDK verify.
  const rsaKey = await grpcClient.getKey({ vault: VAULT, name: 'rsa' });
  const signCases: [string, string, string, KeyObject, string][] = [];
  for (const bits of [256, 384, 512]) {
    signCases.push(['rsa', rsaId, `RS${bits}`, publicKeyOf(rsaKey), `sha${bits}`]);
    signCases.push(['rsa', rsaId, `PS${bits}`, publicKeyOf(rsaKey), `sha${bits}`]);
  }
  for (const [crv, alg, hash] of ALL_CURVES) {
    const name = `ec-${crv}`;
    signCases.push([name, await keyId(name), alg, publicKeyOf(await grpcClient.getKey({ vault: VAULT, name })), hash]);
  }
  for (const [name, id, algorithm, publicKey, hash] of signCases) {
    const data = Buffer.from(`signed with ${algorithm}`);
    const digest = createHash(hash).update(data).digest();
    const options = algorithm.startsWith('PS')
      ? { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }
      : { key: publicKey, dsaEncoding: 'ieee-p1363' as const };
    const signed = await ok(t, 'crypto', id, 'sign', [algorithm, digest]);
    t.ok((await grpcClient.verify({ vault: VAULT, name, algorithm, digest, signature: signed.result })).value, `${algorithm}: SDK sign, gRPC verify`);
    t.ok(verifySignature(hash, data, options, signed.result), `${algorithm}: SDK sign, node:crypto verify`);
    const grpcSigned = await grpcClient.sign({ vault: VAULT, name, algorithm, digest });
    t.equal((await ok(t, 'crypto', id, 'verify', [algorithm, digest, grpcSigned.value])).result, true, `${algorithm}: gRPC sign, SDK verify`);
    const dataSigned = await ok(t, 'crypto', id, 'signData', [algorithm, data]);
    t.ok((await grpcClient.verify({ vault: VAULT, name, algorithm, digest, signature: dataSigned.result })).value, `${algorithm}: SDK signData, gRPC verify`);
    // The SDK verifies RSA data locally (rsaCryptographyProvider.js verifyData: createVerify(hash)
    // with the default PKCS#1 v1.5 padding, for PS* too), so a PSS signature, Azure's or ours, does not
    // verify there; verify (the digest, answered by the node) does.
    const pss = algorithm.startsWith('PS') ? { todo: 'the SDK checks PS* signatures locally with PKCS#1 v1.5 padding' } : {};
    t.equal((await ok(t, 'crypto', id, 'verifyData', [algorithm, data, grpcSigned.value])).result, true, `${algorithm}: SDK verifyData`, pss);
    const tampered = Buffer.from(grpcSigned.value);
    tampered[0]! ^= 1;
    t.equal((await ok(t, 'crypto', id, 'verify', [algorithm, digest, tampered])).result, false, `${algorithm}: a wrong signature does not verify`);
  }

  // AES: GCM (the vault makes the IV), CBC with padding, key wrap; each size with its key.
  for (const size of [128, 192, 256]) {
    const name = `oct-${size}`;
    const id = await keyId(name);
    const aad = Buffer.from('header');
    const gcm = await ok(t, 'crypto', id, 'encrypt', [{ algorithm: `A${size}GCM`, plaintext, additionalAuthenticatedData: aad }]);
    const gcmOpened = await grpcClient.decrypt({ vault: VAULT, name, algorithm: `A${size}GCM`, value: gcm.result, iv: gcm.iv, tag: gcm.authenticationTag, aad });
    t.equal(b64u(gcmOpened.value), b64u(plaintext), `A${size}GCM: SDK encrypt, gRPC decrypt`);
    const grpcGcm = await grpcClient.encrypt({ vault: VAULT, name, algorithm: `A${size}GCM`, value: plaintext, aad });
    const sdkOpened = await ok(t, 'crypto', id, 'decrypt', [{ algorithm: `A${size}GCM`, ciphertext: grpcGcm.value, iv: grpcGcm.iv, authenticationTag: grpcGcm.tag, additionalAuthenticatedData: aad }]);
    t.equal(b64u(sdkOpened.result), b64u(plaintext), `A${size}GCM: gRPC encrypt, SDK decrypt`);

    const iv = randomBytes(16);
    const cbc = await ok(t, 'crypto', id, 'encrypt', [{ algorithm: `A${size}CBCPAD`, plaintext, iv }]);
    const cbcOpened = await grpcClient.decrypt({ vault: VAULT, name, algorithm: `A${size}CBCPAD`, value: cbc.result, iv: cbc.iv ?? iv });
    t.equal(b64u(cbcOpened.value), b64u(plaintext), `A${size}CBCPAD: SDK encrypt, gRPC decrypt`);
    const grpcCbc = await grpcClient.encrypt({ vault: VAULT, name, algorithm: `A${size}CBCPAD`, value: plaintext, iv });
    t.equal(b64u(grpcCbc.value), b64u(cbc.result), `A${size}CBCPAD: the same ciphertext for the same IV both ways`);
    const cbcBack = await ok(t, 'crypto', id, 'decrypt', [{ algorithm: `A${size}CBCPAD`, ciphertext: grpcCbc.value, iv }]);
    t.equal(b64u(cbcBack.result), b64u(plaintext), `A${size}CBCPAD: SDK decrypt`);

    const cek = randomBytes(32);
    const wrapped = await ok(t, 'crypto', id, 'wrapKey', [`A${size}KW`, cek]);
    const grpcWrapped = await grpcClient.wrapKey({ vault: VAULT, name, algorithm: `A${size}KW`, value: cek });
    t.equal(b64u(wrapped.result), b64u(grpcWrapped.value), `A${size}KW: the same wrapped key both ways (deterministic)`);
    t.equal(b64u((await ok(t, 'crypto', id, 'unwrapKey', [`A${size}KW`, grpcWrapped.value])).result), b64u(cek), `A${size}KW: SDK unwrapKey`);
  }
});

/** A raw HTTPS request to a node's gateway for the vault's host name. */
const raw = (node: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) => cluster.restRequest(node, VAULT, method, path, headers, body);

t.test('refusals: no token is a 401 challenge, the wrong role a 403 Forbidden, and nothing changes', async (t) => {
  const url = vaultUrl('east-2');
  const before = await grpcClient.getSecret({ vault: VAULT, name: 's3' });

  const challenged = await raw('east-2', 'PUT', '/secrets/s3?api-version=7.5', { 'content-type': 'application/json' }, JSON.stringify({ value: 'intruder' }));
  t.equal(challenged.status, 401, 'no token: 401');
  t.match(String(challenged.headers['www-authenticate']), /^Bearer authorization="[^"]+", resource="https:\/\/kv\.localhost"/, 'with the challenge the SDK answers');
  const badToken = await raw('east-2', 'PUT', '/secrets/s3?api-version=7.5', { 'content-type': 'application/json', authorization: 'Bearer not-a-token' }, JSON.stringify({ value: 'intruder' }));
  t.equal(badToken.status, 401, 'a token that is not a keyraft token: 401');

  // A principal that may use keys for crypto, and nothing of secrets.
  await grpcClient.createPrincipal({ name: 'crypto-only' });
  await grpcClient.createRoleAssignment({ principal: 'crypto-only', role: 'Key Vault Crypto User', scope: `/vaults/${VAULT}` });
  const cryptoOnly = await cluster.issueToken('crypto-only');
  const refusedSet = await call(sdk, { client: 'secrets', url, token: cryptoOnly, method: 'setSecret', args: ['s3', 'intruder'] });
  t.match(refusedSet.error, { statusCode: 403, code: 'Forbidden' }, 'setSecret with the wrong role: 403 Forbidden');
  t.ok(refusedSet.attempts.some((a) => a.status === 401 && a.authorization === undefined), 'after the challenge, which the SDK answered with the token');
  const rawRefusal = await raw('east-2', 'PUT', '/secrets/s3?api-version=7.5', { 'content-type': 'application/json', authorization: `Bearer ${cryptoOnly}` }, JSON.stringify({ value: 'intruder' }));
  t.equal(rawRefusal.status, 403, 'by hand: 403');
  t.match(JSON.parse(rawRefusal.body), { error: { code: 'Forbidden', innererror: { code: 'ForbiddenByRbac' } } }, "Azure's body");
  const refusedGet = await call(sdk, { client: 'secrets', url, token: cryptoOnly, method: 'getSecret', args: ['s3'] });
  t.match(refusedGet.error, { statusCode: 403, code: 'Forbidden' }, 'getSecret: 403');
  const refusedDelete = await call(sdk, { client: 'secrets', url, token: cryptoOnly, method: 'beginDeleteSecret', args: ['s3', POLL], mode: 'poll' });
  t.match(refusedDelete.error, { statusCode: 403 }, 'beginDeleteSecret: 403');
  const refusedCreate = await call(sdk, { client: 'keys', url, token: cryptoOnly, method: 'createEcKey', args: ['intruder-key'] });
  t.match(refusedCreate.error, { statusCode: 403, code: 'Forbidden' }, 'createEcKey: 403');
  const after = await grpcClient.getSecret({ vault: VAULT, name: 's3' });
  t.same(after, before, 'the secret is unchanged');
  t.equal(await grpcReason(grpcClient.getKey({ vault: VAULT, name: 'intruder-key' })), 'KEY_NOT_FOUND', 'no key was made');
  // What the role allows, it gets.
  const ecId = `${vaultUrl('east-2')}/keys/ec-P-256`;
  const signed = await call(sdk, { client: 'crypto', url: ecId, token: cryptoOnly, method: 'sign', args: ['ES256', createHash('sha256').update('x').digest()] });
  t.notOk(signed.error, 'Crypto User signs');
});

t.test('DefaultAzureCredential with only IDENTITY_ENDPOINT and IDENTITY_HEADER', async (t) => {
  await grpcClient.createPrincipal({ name: 'payments' });
  await grpcClient.createRoleAssignment({ principal: 'payments', role: 'Key Vault Secrets User', scope: `/vaults/${VAULT}` });
  const token = await cluster.issueToken('payments');
  const identity = startSdkServer(t, caFile, { IDENTITY_ENDPOINT: `https://127.0.0.1:${restPort('east-3')}${IDENTITY_PATH}`, IDENTITY_HEADER: token });
  const started = Date.now();
  const got = await call(identity, { client: 'secrets', url: vaultUrl('east-3'), credential: 'default', method: 'getSecret', args: ['s3'] });
  t.notOk(got.error, got.error ? JSON.stringify(got.error) : 'a token from the node, and the secret with it');
  t.equal(got.ok?.value, (await grpcClient.getSecret({ vault: VAULT, name: 's3' })).value);
  t.equal(got.attempts.at(-1)?.authorization, `Bearer ${token}`, 'the bearer is the keyraft token');
  t.comment(`a new SDK process, its token from the node and the secret: ${Date.now() - started} ms`);
  const refused = await call(identity, { client: 'secrets', url: vaultUrl('east-3'), credential: 'default', method: 'setSecret', args: ['s3', 'x'] });
  t.match(refused.error, { statusCode: 403, code: 'Forbidden' }, 'a Secrets User may not write');
});

/** Who served the call's last HTTP attempt. */
const servedBy = (a: { attempts: Attempt[] }) => {
  const h = a.attempts.at(-1)?.headers ?? {};
  return { region: h['x-ms-keyvault-region'], node: h['x-keyraft-node'], keyraftRegion: h['x-keyraft-region'], mode: h['x-keyraft-mode'] };
};

async function westMode(): Promise<string | undefined> {
  return (await west.getStatus({})).regions.find((r) => r.name === 'west')?.mode;
}

t.test('a secondary node: forwarded while STANDBY, the read-only list while FAILED_OVER, writes again after failback', async (t) => {
  const url = vaultUrl('west-1');
  const secretIndex = await indexOf((o) => grpcClient.setSecret({ vault: VAULT, name: 'geo', value: 'before' }, o));
  await secondaryHas(west, secretIndex);
  t.equal(await westMode(), 'STANDBY');

  const read = await call(sdk, { client: 'secrets', url, method: 'getSecret', args: ['geo'] });
  t.equal(read.ok?.value, 'before', 'STANDBY: getSecret');
  t.equal(read.ok?.properties.id.startsWith(`${url}/`), true, 'ids on the secondary\'s origin');
  const write = await call(sdk, { client: 'secrets', url, method: 'setSecret', args: ['geo', 'via west'] });
  t.notOk(write.error, 'STANDBY: setSecret, forwarded to the primary');
  t.equal((await grpcClient.getSecret({ vault: VAULT, name: 'geo' })).value, 'via west');
  const standbyBy = servedBy(write);
  t.comment(`STANDBY write served by ${JSON.stringify(standbyBy)}`);
  t.equal(standbyBy.keyraftRegion, 'east', 'a forwarded write names the primary node that served it');
  t.match(standbyBy.node, /^east-/);
  const signedStandby = await call(sdk, { client: 'crypto', url: `${url}/keys/ec-P-256`, method: 'sign', args: ['ES256', createHash('sha256').update('standby').digest()] });
  t.notOk(signedStandby.error, 'STANDBY: crypto');

  const lastIndex = await indexOf((o) => grpcClient.setSecret({ vault: VAULT, name: 'geo-last', value: 'shipped' }, o));
  await secondaryHas(west, lastIndex);
  const expectedSecrets = (await all(grpcClient.listAllSecrets(VAULT))).map((s) => s.name).sort();
  const expectedKey = await grpcClient.getKey({ vault: VAULT, name: 'rsa' });

  await Promise.all(cluster.regionNodes('east').map((n) => cluster.kill(n.id)));
  await eventually('west FAILED_OVER', async () => ((await westMode()) === 'FAILED_OVER' ? true : undefined), 30_000, 100);

  // The seed's read-only list, served by the secondary itself; each answer says so.
  const failedOverServers = new Set<string>();
  const okFailedOver = async (client: Kind, u: string, method: string, args: unknown[], extra: Partial<ServeCommand> = {}) => {
    const value = await ok(t, client, u, method, args, extra);
    for (const a of lastAttempts.filter((x) => x.status !== 401)) failedOverServers.add(`${a.headers['x-keyraft-region']} ${a.headers['x-keyraft-mode']}`);
    return value;
  };
  const got = await call(sdk, { client: 'secrets', url, method: 'getSecret', args: ['geo'] });
  t.equal(got.ok?.value, 'via west', 'FAILED_OVER: getSecret');
  const by = servedBy(got);
  t.same({ region: by.keyraftRegion, mode: by.mode }, { region: 'west', mode: 'FAILED_OVER' }, `served by ${by.node} of west, FAILED_OVER`);
  t.equal(by.region, 'west', 'x-ms-keyvault-region');
  const listed = (await okFailedOver('secrets', url, 'listPropertiesOfSecrets', [], { mode: 'list' })) as { name: string }[];
  t.same(listed.map((s) => s.name).sort(), expectedSecrets, 'FAILED_OVER: listPropertiesOfSecrets');
  const key = await okFailedOver('keys', url, 'getKey', ['rsa']);
  sameKey(t, key, expectedKey, 'FAILED_OVER: getKey');
  t.ok(((await okFailedOver('keys', url, 'listPropertiesOfKeys', [], { mode: 'list' })) as unknown[]).length > 0, 'FAILED_OVER: listPropertiesOfKeys');
  t.ok(((await okFailedOver('secrets', url, 'backupSecret', ['geo'])) as Buffer).length > 0, 'FAILED_OVER: backupSecret');
  t.ok(((await okFailedOver('keys', url, 'backupKey', ['rsa'])) as Buffer).length > 0, 'FAILED_OVER: backupKey');
  const digest = createHash('sha256').update('failed over').digest();
  const ecId = `${url}/keys/ec-P-256`;
  const signed = await okFailedOver('crypto', ecId, 'sign', ['ES256', digest]);
  t.equal((await okFailedOver('crypto', ecId, 'verify', ['ES256', digest, signed.result])).result, true, 'FAILED_OVER: sign and verify');
  const octId = `${url}/keys/oct-256`;
  const plaintext = randomBytes(24);
  const enc = await okFailedOver('crypto', octId, 'encrypt', [{ algorithm: 'A256GCM', plaintext }]);
  t.equal(b64u((await okFailedOver('crypto', octId, 'decrypt', [{ algorithm: 'A256GCM', ciphertext: enc.result, iv: enc.iv, authenticationTag: enc.authenticationTag }])).result), b64u(plaintext), 'FAILED_OVER: encrypt and decrypt');
  const wrapped = await okFailedOver('crypto', octId, 'wrapKey', ['A256KW', plaintext]);
  t.equal(b64u((await okFailedOver('crypto', octId, 'unwrapKey', ['A256KW', wrapped.result])).result), b64u(plaintext), 'FAILED_OVER: wrap and unwrap');
  const rsaId = `${url}/keys/rsa`;
  const rsaEnc = await okFailedOver('crypto', rsaId, 'encrypt', [{ algorithm: 'RSA-OAEP-256', plaintext }]);
  t.equal(b64u((await okFailedOver('crypto', rsaId, 'decrypt', [{ algorithm: 'RSA-OAEP-256', ciphertext: rsaEnc.result }])).result), b64u(plaintext), 'FAILED_OVER: RSA decrypt');

  t.same([...failedOverServers], ['west FAILED_OVER'], 'every answer while FAILED_OVER names a west node in FAILED_OVER mode');

  // Writes, and what is not on the list: Azure's answer to READ_ONLY_FAILOVER.
  const readOnly = toAzureError({ code: grpc.status.FAILED_PRECONDITION, reason: 'READ_ONLY_FAILOVER', message: '' });
  const refusals: [Kind, string, unknown[], Partial<ServeCommand>][] = [
    ['secrets', 'setSecret', ['geo', 'during failover'], {}],
    ['secrets', 'beginDeleteSecret', ['geo', POLL], { mode: 'poll' }],
    ['secrets', 'updateSecretProperties', ['geo', got.ok.properties.version, { tags: { a: 'b' } }], {}],
    ['secrets', 'listPropertiesOfSecretVersions', ['geo'], { mode: 'list' }],
    ['keys', 'createEcKey', ['during-failover'], {}],
    ['keys', 'rotateKey', ['rsa'], {}],
  ];
  for (const [client, method, args, extra] of refusals) {
    const a = await call(sdk, { client, url, method, args, ...extra });
    t.match(a.error, { statusCode: readOnly.status, code: readOnly.body.error.code }, `FAILED_OVER: ${method} → ${readOnly.status} ${readOnly.body.error.code}`);
    const refusedBy = a.attempts.filter((x) => x.status !== 401);
    t.ok(refusedBy.length > 0 && refusedBy.every((x) => x.headers['x-keyraft-region'] === 'west' && x.headers['x-keyraft-mode'] === 'FAILED_OVER'), `${method}: refused by west, FAILED_OVER (${refusedBy.length} attempts: the SDK retries a 503)`);
  }
  t.equal((await west.getSecret({ vault: VAULT, name: 'geo' })).value, 'via west', 'nothing written');
  t.equal(await grpcReason(west.getKey({ vault: VAULT, name: 'during-failover' })), 'KEY_NOT_FOUND');

  for (const n of cluster.regionNodes('east')) cluster.start(n.id);
  await eventually('west back to STANDBY', async () => ((await westMode()) === 'STANDBY' ? true : undefined), 60_000, 200);
  const after = await call(sdk, { client: 'secrets', url, method: 'setSecret', args: ['geo', 'after failback'] });
  t.notOk(after.error, after.error ? JSON.stringify(after.error) : 'after failback: setSecret through the secondary works again');
  t.equal(servedBy(after).keyraftRegion, 'east', 'served by the primary again');
  t.equal((await grpcClient.getSecret({ vault: VAULT, name: 'geo' })).value, 'after failback', 'as gRPC sees it');
  const created = await call(sdk, { client: 'keys', url: vaultUrl('east-1'), method: 'createEcKey', args: ['after-failback'] });
  t.notOk(created.error, 'and on the primary');
});
