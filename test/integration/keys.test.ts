// Keys through a running cluster: creation, import, rotation, the key's
// attributes and operations enforced, soft delete and backup, and the crypto
// operations checked against an independent implementation (the openssl
// command line) — what keyraft signs openssl verifies, what openssl signs or
// encrypts keyraft verifies or decrypts, what keyraft wraps openssl unwraps.

import t from 'tap';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { KeyraftClient, KeyraftError } from '../../src/client/index.js';
import type { Key } from '../../src/client/index.js';
import { Scratch, derToRs, flip, opensslOk, rsToDer } from '../crypto/fixtures/openssl.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(540_000);

const VAULT = 'keys';
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof KeyraftError) return `${e.codeName} ${e.reason}`;
    throw e;
  }
}

/** The public key of an API Key as PEM, for openssl. */
function pem(scratch: Scratch, key: Key): string {
  const k = key.key!;
  const crv = k.crv === 'P-256K' ? 'secp256k1' : k.crv;
  const jwk = k.kty === 'RSA' ? { kty: 'RSA', n: b64u(k.n), e: b64u(k.e) } : { kty: 'EC', crv, x: b64u(k.x), y: b64u(k.y) };
  return scratch.file(createPublicKey({ format: 'jwk', key: jwk }).export({ type: 'spki', format: 'pem' }), 'pem');
}

t.test('keys on a running cluster', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 20_000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: VAULT }).then(() => true), 60_000);
  const scratch = new Scratch();
  t.teardown(scratch.remove);

  t.test('create, get, rotate: only public parts come back', async (t) => {
    const rsa = await client.createKey({ vault: VAULT, name: 'rsa', kty: 'RSA', keySize: 2048 });
    t.match(rsa.properties, { kty: 'RSA', keySize: 2048, enabled: true });
    t.same([...rsa.properties!.keyOps].sort(), ['decrypt', 'encrypt', 'sign', 'unwrapKey', 'verify', 'wrapKey']);
    t.equal(rsa.key!.n.length, 256, 'a 2048-bit modulus');
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const) t.equal(rsa.key![m].length, 0, `no ${m}`);
    const ec = await client.createKey({ vault: VAULT, name: 'ec', kty: 'EC', curve: 'P-384' });
    t.match(ec.properties, { kty: 'EC', curve: 'P-384' });
    t.same([...ec.properties!.keyOps].sort(), ['sign', 'verify']);
    const oct = await client.createKey({ vault: VAULT, name: 'aes', kty: 'oct', keySize: 256 });
    t.equal(oct.key!.k.length, 0, 'a symmetric key is never returned');
    const rotated = await client.rotateKey({ vault: VAULT, name: 'rsa' });
    t.not(rotated.properties!.version, rsa.properties!.version, 'rotation adds a version');
    t.match(rotated.properties, { kty: 'RSA', keySize: 2048 });
    const versions = [];
    for await (const v of client.listAllKeyVersions(VAULT, 'rsa')) versions.push(v.version);
    t.same(versions, [rsa.properties!.version, rotated.properties!.version]);
    // Every node returns the same public key for each version.
    for (const n of cluster.nodes) {
      const pinned = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [n.client], retries: 2 });
      const k = await pinned.getKey({ vault: VAULT, name: 'rsa', version: rsa.properties!.version });
      t.ok(Buffer.from(k.key!.n).equals(Buffer.from(rsa.key!.n)), `${n.id} returns the same public key`);
      pinned.close();
    }
    t.equal(await reason(client.createKey({ vault: VAULT, name: 'bad', kty: 'RSA', keySize: 1024 })), 'INVALID_ARGUMENT BAD_PARAMETER');
    t.equal(await reason(client.createKey({ vault: VAULT, name: 'bad', kty: 'EC', curve: 'P-999' })), 'INVALID_ARGUMENT BAD_PARAMETER');
    t.equal(await reason(client.createKey({ vault: VAULT, name: 'bad', kty: 'EC', keyOps: ['encrypt'] })), 'INVALID_ARGUMENT BAD_PARAMETER');
    t.equal(await reason(client.getKey({ vault: VAULT, name: 'missing' })), 'NOT_FOUND KEY_NOT_FOUND');
  });

  t.test('signatures interoperate with openssl', async (t) => {
    const digest256 = createHash('sha256').update('message').digest();
    const cases: { alg: string; name: string; spec: object; digest: Buffer; pkeyopts: string[] }[] = [
      { alg: 'RS256', name: 'sig-rsa', spec: { kty: 'RSA' }, digest: digest256, pkeyopts: ['digest:sha256'] },
      { alg: 'PS256', name: 'sig-rsa', spec: { kty: 'RSA' }, digest: digest256, pkeyopts: ['digest:sha256', 'rsa_padding_mode:pss', 'rsa_pss_saltlen:digest'] },
      { alg: 'ES256', name: 'sig-p256', spec: { kty: 'EC', curve: 'P-256' }, digest: digest256, pkeyopts: ['digest:sha256'] },
      { alg: 'ES256K', name: 'sig-k1', spec: { kty: 'EC', curve: 'P-256K' }, digest: digest256, pkeyopts: ['digest:sha256'] },
      { alg: 'ES512', name: 'sig-p521', spec: { kty: 'EC', curve: 'P-521' }, digest: createHash('sha512').update('message').digest(), pkeyopts: ['digest:sha512'] },
    ];
    const keys = new Map<string, Key>();
    for (const c of cases) {
      if (!keys.has(c.name)) keys.set(c.name, await client.createKey({ vault: VAULT, name: c.name, ...c.spec } as never));
      const key = keys.get(c.name)!;
      const publicPem = pem(scratch, key);
      const ec = key.key!.kty === 'EC';
      const sig = await client.sign({ vault: VAULT, name: c.name, algorithm: c.alg, digest: c.digest });
      const sigFile = scratch.file(ec ? rsToDer(Buffer.from(sig.value)) : sig.value);
      const opts = c.pkeyopts.flatMap((o) => ['-pkeyopt', o]);
      const verified = await opensslOk(['pkeyutl', '-verify', '-pubin', '-inkey', publicPem, '-in', scratch.file(c.digest), '-sigfile', sigFile, ...opts]);
      t.match(verified.toString(), /Signature Verified Successfully/, `${c.alg}: openssl verifies keyraft's signature`);
      t.ok((await client.verify({ vault: VAULT, name: c.name, algorithm: c.alg, digest: c.digest, signature: sig.value })).value, `${c.alg}: keyraft verifies its own`);
      t.notOk((await client.verify({ vault: VAULT, name: c.name, algorithm: c.alg, digest: c.digest, signature: flip(sig.value, 5) })).value, `${c.alg}: a flipped bit does not verify`);
      t.notOk((await client.verify({ vault: VAULT, name: c.name, algorithm: c.alg, digest: flip(c.digest, 0), signature: sig.value })).value, `${c.alg}: another digest does not verify`);
    }
    // The other way: openssl signs with an imported key, keyraft verifies.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    await client.importKey({
      vault: VAULT,
      name: 'imported-ec',
      key: { kty: 'EC', crv: 'P-256', x: Buffer.from(jwk.x!, 'base64url'), y: Buffer.from(jwk.y!, 'base64url'), d: Buffer.from(jwk.d!, 'base64url') } as never,
    });
    const pkPem = scratch.file(privateKey.export({ type: 'pkcs8', format: 'pem' }), 'pem');
    const der = await opensslOk(['pkeyutl', '-sign', '-inkey', pkPem, '-in', scratch.file(digest256), '-pkeyopt', 'digest:sha256']);
    t.ok((await client.verify({ vault: VAULT, name: 'imported-ec', algorithm: 'ES256', digest: digest256, signature: derToRs(der, 32) })).value, 'keyraft verifies what openssl signed');
    t.equal(await reason(client.sign({ vault: VAULT, name: 'sig-rsa', algorithm: 'RS256', digest: digest256.subarray(0, 20) })), 'INVALID_ARGUMENT BAD_PARAMETER', 'the digest length must match');
    t.equal(await reason(client.sign({ vault: VAULT, name: 'sig-p256', algorithm: 'RS256', digest: digest256 })), 'INVALID_ARGUMENT BAD_ALGORITHM', 'the algorithm must fit the key');
  });

  t.test('encryption and key wrapping interoperate with openssl', async (t) => {
    const rsa = await client.createKey({ vault: VAULT, name: 'enc-rsa', kty: 'RSA' });
    const plaintext = randomBytes(48);
    const ct = await opensslOk(
      ['pkeyutl', '-encrypt', '-pubin', '-inkey', pem(scratch, rsa), '-in', scratch.file(plaintext), '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256'],
    );
    const dec = await client.decrypt({ vault: VAULT, name: 'enc-rsa', algorithm: 'RSA-OAEP-256', value: ct });
    t.ok(Buffer.from(dec.value).equals(plaintext), 'keyraft decrypts what openssl encrypted (RSA-OAEP-256)');
    t.equal(await reason(client.decrypt({ vault: VAULT, name: 'enc-rsa', algorithm: 'RSA-OAEP-256', value: flip(ct, 100) })), 'INVALID_ARGUMENT DECRYPTION_FAILED');
    t.match(await reason(client.decrypt({ vault: VAULT, name: 'enc-rsa', algorithm: 'RSA1_5', value: ct })), /BAD_ALGORITHM/, 'RSA1_5 decryption is refused (Marvin)');
    t.equal((await client.encrypt({ vault: VAULT, name: 'enc-rsa', algorithm: 'RSA1_5', value: plaintext })).value.length, 256, 'RSA1_5 encryption works');

    // A known symmetric key, imported, so that openssl can unwrap with it.
    const k = randomBytes(32);
    await client.importKey({ vault: VAULT, name: 'kw', key: { kty: 'oct', k } as never });
    const cek = randomBytes(32);
    const wrapped = await client.wrapKey({ vault: VAULT, name: 'kw', algorithm: 'A256KW', value: cek });
    const unwrapped = await opensslOk(['enc', '-d', '-id-aes256-wrap', '-K', k.toString('hex'), '-iv', 'A6A6A6A6A6A6A6A6', '-in', scratch.file(wrapped.value)]);
    t.ok(unwrapped.equals(cek), 'openssl unwraps what keyraft wrapped (A256KW)');
    t.equal(await reason(client.unwrapKey({ vault: VAULT, name: 'kw', algorithm: 'A256KW', value: flip(wrapped.value, 3) })), 'INVALID_ARGUMENT DECRYPTION_FAILED');

    const gcm = await client.encrypt({ vault: VAULT, name: 'kw', algorithm: 'A256GCM', value: plaintext, aad: Buffer.from('context') });
    t.equal(gcm.iv.length, 12, 'a fresh 96-bit IV');
    t.equal(gcm.tag.length, 16);
    t.equal(
      await reason(client.encrypt({ vault: VAULT, name: 'kw', algorithm: 'A256GCM', value: plaintext, iv: gcm.iv })),
      'INVALID_ARGUMENT BAD_PARAMETER',
      'GCM Encrypt refuses a caller IV: reusing one would give away the XOR of the plaintexts',
    );
    const back = await client.decrypt({ vault: VAULT, name: 'kw', algorithm: 'A256GCM', value: gcm.value, iv: gcm.iv, tag: gcm.tag, aad: Buffer.from('context') });
    t.ok(Buffer.from(back.value).equals(plaintext), 'AES-GCM round trip');
    t.equal(await reason(client.decrypt({ vault: VAULT, name: 'kw', algorithm: 'A256GCM', value: gcm.value, iv: gcm.iv, tag: flip(gcm.tag, 0), aad: Buffer.from('context') })), 'INVALID_ARGUMENT DECRYPTION_FAILED', 'a flipped tag bit');
    t.equal(await reason(client.decrypt({ vault: VAULT, name: 'kw', algorithm: 'A256GCM', value: flip(gcm.value, 0), iv: gcm.iv, tag: gcm.tag, aad: Buffer.from('context') })), 'INVALID_ARGUMENT DECRYPTION_FAILED', 'a flipped ciphertext bit');
    const random = await client.getRandomBytes({ count: 64 });
    t.equal(random.value.length, 64);
    t.equal(await reason(client.getRandomBytes({ count: 129 })), 'INVALID_ARGUMENT BAD_PARAMETER');
  });

  t.test('attributes and key_ops are enforced; delete, recover, backup, restore', async (t) => {
    const key = await client.createKey({ vault: VAULT, name: 'guarded', kty: 'EC', keyOps: ['verify'] });
    const digest = createHash('sha256').update('x').digest();
    t.equal(await reason(client.sign({ vault: VAULT, name: 'guarded', algorithm: 'ES256', digest })), 'PERMISSION_DENIED OPERATION_NOT_ALLOWED');
    await client.updateKeyProperties({ vault: VAULT, name: 'guarded', keyOps: { keyOps: ['sign', 'verify'] } });
    t.equal((await client.sign({ vault: VAULT, name: 'guarded', algorithm: 'ES256', digest })).kid, key.properties!.kid);
    await client.updateKeyProperties({ vault: VAULT, name: 'guarded', enabled: false });
    t.equal(await reason(client.sign({ vault: VAULT, name: 'guarded', algorithm: 'ES256', digest })), 'PERMISSION_DENIED KEY_DISABLED');
    t.equal((await client.getKey({ vault: VAULT, name: 'guarded' })).properties!.enabled, false, 'a disabled key can still be read');
    await client.createKey({ vault: VAULT, name: 'later', kty: 'EC', notBefore: Math.floor(Date.now() / 1000) + 3600 });
    t.equal(await reason(client.sign({ vault: VAULT, name: 'later', algorithm: 'ES256', digest })), 'PERMISSION_DENIED KEY_NOT_YET_VALID');

    const backup = await client.backupKey({ vault: VAULT, name: 'ec' });
    await client.deleteKey({ vault: VAULT, name: 'ec' });
    t.equal(await reason(client.getKey({ vault: VAULT, name: 'ec' })), 'NOT_FOUND KEY_NOT_FOUND');
    t.equal((await client.getDeletedKey({ vault: VAULT, name: 'ec' })).key!.properties!.name, 'ec');
    t.equal(await reason(client.createKey({ vault: VAULT, name: 'ec', kty: 'EC' })), 'FAILED_PRECONDITION CONFLICT_DELETED_EXISTS');
    t.equal((await client.recoverDeletedKey({ vault: VAULT, name: 'ec' })).properties!.name, 'ec');
    await client.createVault({ name: 'keys-copy' });
    const restored = await client.restoreKey({ vault: 'keys-copy', backup: backup.value });
    t.equal(restored.properties!.name, 'ec');
    const sig = await client.sign({ vault: 'keys-copy', name: 'ec', algorithm: 'ES384', digest: createHash('sha384').update('y').digest() });
    t.ok((await client.verify({ vault: VAULT, name: 'ec', algorithm: 'ES384', digest: createHash('sha384').update('y').digest(), signature: sig.value })).value, 'the restored key is the same key');
    t.equal(await reason(client.restoreKey({ vault: VAULT, backup: backup.value })), 'ALREADY_EXISTS KEY_ALREADY_EXISTS');
  });
});
