// Key material: generation of every type, size and curve (each checked by
// openssl verifying a signature against the public JWK), import of keys made
// by openssl (sign in keyraft, verify with openssl's own public key), the
// validation of imports, key operations, and the protobuf form of public JWKs.

import t from 'tap';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { CURVE_ORDER } from '../../src/crypto/ecdsa.js';
import { CURVE_INFO, bigIntToBytes, toNodeJwk, type Curve, type KeyMaterial } from '../../src/crypto/jwk.js';
import { allowedKeyOps, generateKey, importJwk, publicJwkToBytes, validateKeyOps, type JwkInput } from '../../src/crypto/keys.js';
import { UsableKey } from '../../src/crypto/operations.js';
import { Scratch, openssl, opensslOk, rsToDer } from './fixtures/openssl.js';

const scratch = new Scratch();
t.teardown(scratch.remove);

const EC_SIGN: Record<Curve, [string, string]> = {
  'P-256': ['ES256', 'sha256'],
  'P-384': ['ES384', 'sha384'],
  'P-521': ['ES512', 'sha512'],
  'P-256K': ['ES256K', 'sha256'],
};
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** keyraft signs with the private JWK; openssl verifies with `pubPem` (default: the public JWK). */
async function signedAndVerified(m: KeyMaterial, pubPem = scratch.publicPem(m.publicJwk)): Promise<boolean> {
  const key = UsableKey.fromPrivateJwk(m.kty, m.privateJwk);
  const [alg, md] = m.kty === 'EC' ? EC_SIGN[m.curve!] : ['PS256', 'sha256'];
  const digest = createHash(md).update('proof of possession').digest();
  let sig = await key.sign(alg, digest);
  const opts = ['-pkeyopt', `digest:${md}`];
  if (m.kty === 'EC') sig = rsToDer(sig);
  else opts.push('-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest');
  const r = await openssl(['pkeyutl', '-verify', '-pubin', '-inkey', pubPem, '-in', scratch.file(digest), '-sigfile', scratch.file(sig), ...opts]);
  return r.code === 0;
}

// Every RSA size once, concurrently: generateKey runs on the thread pool.
// Everything awaited at the top level is done before the first t.test: tap
// may end the root test (and remove the scratch folder) between its subtests
// and a later top-level await.
const opensslRsaPromise = opensslKey(['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
const [rsa2048, rsa3072, rsa4096] = await Promise.all([2048, 3072, 4096].map((keySize) => generateKey({ kty: 'RSA', keySize })));
const opensslRsa = await opensslRsaPromise;

t.test('RSA keys of 2048, 3072 and 4096 bits, e = 65537, that openssl verifies', async (t) => {
  for (const [bits, m] of [[2048, rsa2048!], [3072, rsa3072!], [4096, rsa4096!]] as const) {
    t.equal(m.kty, 'RSA');
    t.equal(m.keySize, bits);
    t.equal(m.curve, undefined);
    t.equal(createPublicKey({ format: 'jwk', key: toNodeJwk(m.publicJwk) }).asymmetricKeyDetails?.modulusLength, bits);
    t.same(Object.keys(m.publicJwk).sort(), ['e', 'kty', 'n']);
    t.same(Object.keys(m.privateJwk).sort(), ['d', 'dp', 'dq', 'e', 'kty', 'n', 'p', 'q', 'qi']);
    t.equal((m.publicJwk as { e: string }).e, 'AQAB', 'e = 65537');
    t.same(JSON.parse(JSON.stringify(m)), m, 'plain JSON');
    t.ok(await signedAndVerified(m), `openssl verifies a ${bits}-bit PS256 signature`);
  }
});

t.test('EC keys on every curve, that openssl verifies', async (t) => {
  for (const curve of Object.keys(EC_SIGN) as Curve[]) {
    const m = await generateKey({ kty: 'EC', curve });
    t.equal(m.curve, curve);
    t.equal(m.keySize, undefined);
    const jwk = m.privateJwk as { crv: string; x: string; y: string; d: string };
    t.equal(jwk.crv, curve, 'Azure curve names (P-256K, not secp256k1)');
    for (const member of ['x', 'y', 'd'] as const) t.equal(Buffer.from(jwk[member], 'base64url').length, CURVE_INFO[curve].bytes, `${member} at full length`);
    t.same(Object.keys(m.publicJwk).sort(), ['crv', 'kty', 'x', 'y']);
    t.ok(await signedAndVerified(m), `openssl verifies ${EC_SIGN[curve][0]}`);
  }
});

t.test('oct keys of 128, 192 and 256 bits', async (t) => {
  for (const bits of [128, 192, 256]) {
    const m = await generateKey({ kty: 'oct', keySize: bits });
    t.equal(m.keySize, bits);
    t.equal(Buffer.from((m.privateJwk as { k: string }).k, 'base64url').length, bits / 8);
    t.same(m.publicJwk, { kty: 'oct' }, 'nothing public about a symmetric key');
  }
  const a = await generateKey({ kty: 'oct' });
  const b = await generateKey({ kty: 'oct' });
  t.not((a.privateJwk as { k: string }).k, (b.privateJwk as { k: string }).k);
});

t.test('defaults, and proto3 zero values meaning "default"', async (t) => {
  t.equal((await generateKey({ kty: 'EC' })).curve, 'P-256');
  t.equal((await generateKey({ kty: 'EC', keySize: 0, curve: '' })).curve, 'P-256');
  t.equal((await generateKey({ kty: 'oct', keySize: 0, curve: '' })).keySize, 256);
  t.equal((await generateKey({ kty: 'EC', curve: 'secp256k1' })).curve, 'P-256K', "node's name is an alias");
});

t.test('a bad spec is BAD_PARAMETER', async (t) => {
  for (const [what, spec] of [
    ['unknown kty', { kty: 'DSA' }],
    ['HSM kty', { kty: 'RSA-HSM' }],
    ['RSA 1024', { kty: 'RSA', keySize: 1024 }],
    ['RSA 2047', { kty: 'RSA', keySize: 2047 }],
    ['RSA with a curve', { kty: 'RSA', curve: 'P-256' }],
    ['EC with a key size', { kty: 'EC', keySize: 256 }],
    ['EC on P-192', { kty: 'EC', curve: 'P-192' }],
    ['oct 512', { kty: 'oct', keySize: 512 }],
    ['oct with a curve', { kty: 'oct', curve: 'P-256' }],
  ] as const) {
    await t.rejects(generateKey(spec), { name: 'CryptoError', reason: 'BAD_PARAMETER' }, what);
  }
});

// --- import ------------------------------------------------------------------------

/** openssl genpkey, then the JWK node:crypto reads from openssl's PEM, and openssl's own public PEM. */
async function opensslKey(args: string[]): Promise<{ jwk: Record<string, string>; pub: string }> {
  const pem = scratch.path('pem');
  await opensslOk(['genpkey', ...args, '-out', pem]);
  const pub = scratch.path('pem');
  await opensslOk(['pkey', '-in', pem, '-pubout', '-out', pub]);
  return { jwk: createPrivateKey(scratch.read(pem)).export({ format: 'jwk' }) as Record<string, string>, pub };
}

/** The JWK as ImportKey gets it from protobuf: binary members as bytes. */
function asBytes(jwk: Record<string, string>): JwkInput {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(jwk)) out[k] = k === 'kty' || k === 'crv' ? v : new Uint8Array(Buffer.from(v, 'base64url'));
  return out as JwkInput;
}

t.test('an RSA key made by openssl imports, and signs what openssl verifies with its own public key', async (t) => {
  const m = importJwk(opensslRsa.jwk);
  t.equal(m.keySize, 2048);
  t.ok(await signedAndVerified(m, opensslRsa.pub));
  t.same(importJwk(asBytes(opensslRsa.jwk)), m, 'bytes (protobuf) and base64url (JSON) import the same');
  const padded = { ...asBytes(opensslRsa.jwk), n: new Uint8Array(Buffer.concat([Buffer.alloc(1), Buffer.from(opensslRsa.jwk['n']!, 'base64url')])) };
  t.same(importJwk(padded), m, 'a leading zero byte on n is canonicalized away');
});

t.test('EC keys made by openssl on every curve import and sign what openssl verifies', async (t) => {
  for (const curve of Object.keys(EC_SIGN) as Curve[]) {
    const { jwk, pub } = await opensslKey(['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${CURVE_INFO[curve].nodeName}`]);
    const m = importJwk(asBytes(jwk));
    t.equal(m.curve, curve);
    t.ok(await signedAndVerified(m, pub), `${curve}`);
  }
});

t.test('oct keys import at 128, 192 and 256 bits', async (t) => {
  for (const bytes of [16, 24, 32]) {
    const k = randomBytes(bytes);
    const m = importJwk({ kty: 'oct', k: new Uint8Array(k) });
    t.equal(m.keySize, bytes * 8);
    t.same(m.privateJwk, { kty: 'oct', k: k.toString('base64url') });
    t.same(importJwk({ kty: 'oct', k: k.toString('base64url') }), m);
  }
});

t.test('an EC member that lost its leading zero bytes is padded back', async (t) => {
  for (let i = 0; i < 20000; i++) {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
    const x = Buffer.from(jwk['x']!, 'base64url');
    if (x[0] !== 0) continue;
    const m = importJwk({ ...jwk, x: x.subarray(1).toString('base64url') });
    t.equal((m.publicJwk as { x: string }).x, jwk['x'], 'full-length x');
    return;
  }
  t.fail('no key with a leading zero byte in x');
});

t.test('an import without the private part is refused', async (t) => {
  const rsaPublic = { kty: 'RSA', n: opensslRsa.jwk['n'], e: opensslRsa.jwk['e'] };
  const ecJwk = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
  for (const [what, jwk] of [
    ['RSA public key', rsaPublic],
    ['RSA public key, proto3 empty members', { ...rsaPublic, d: new Uint8Array(0), p: new Uint8Array(0), q: '' }],
    ['EC public key', { kty: 'EC', crv: 'P-384', x: ecJwk['x'], y: ecJwk['y'] }],
    ['oct without k', { kty: 'oct' }],
  ] as const) {
    t.throws(() => importJwk(jwk as JwkInput), { name: 'CryptoError', reason: 'BAD_PARAMETER', message: /no private part/ }, what);
  }
  t.throws(() => importJwk({ ...rsaPublic, d: opensslRsa.jwk['d'] }), { name: 'CryptoError', reason: 'BAD_PARAMETER', message: /p, q, dp, dq, qi missing/ }, 'RSA with d only');
});

t.test('invalid or inconsistent keys are refused, and no message shows key material', async (t) => {
  const good = opensslRsa.jwk;
  const other = rsa2048!.privateJwk as unknown as Record<string, string>;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const ec2 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const flipB64 = (s: string, i: number): string => {
    const b = Buffer.from(s, 'base64url');
    b[i] = b[i]! ^ 1;
    return b.toString('base64url');
  };
  const n = CURVE_ORDER['P-256'];
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
  const cases: [string, Record<string, unknown>][] = [
    ['RSA 1024', rsa1024 as Record<string, unknown>],
    ['RSA e = 3', { ...good, e: 'Aw' }],
    ['RSA d of another key', { ...good, d: other['d'] }],
    ['RSA p and q of another key', { ...good, p: other['p'], q: other['q'] }],
    ['RSA dp off by a bit', { ...good, dp: flipB64(good['dp']!, 10) }],
    ['RSA dq off by a bit', { ...good, dq: flipB64(good['dq']!, 10) }],
    ['RSA qi off by a bit', { ...good, qi: flipB64(good['qi']!, 10) }],
    ['RSA n off by a bit', { ...good, n: flipB64(good['n']!, 100) }],
    ['EC point off the curve', { ...ec, x: flipB64(ec['x']!, 5) }],
    ['EC d of another key', { ...ec, d: ec2['d'] }],
    ['EC d = 0', { ...ec, d: Buffer.alloc(32).toString('base64url') }],
    ['EC d = n', { ...ec, d: bigIntToBytes(n, 32).toString('base64url') }],
    ['EC x too long', { ...ec, x: Buffer.alloc(33, 1).toString('base64url') }],
    ['EC P-256 point on P-384', { ...ec, crv: 'P-384' }],
    ['EC unknown curve', { ...ec, crv: 'P-192' }],
    ['oct 160 bits', { kty: 'oct', k: randomBytes(20).toString('base64url') }],
    ['base64 with +/', { kty: 'oct', k: randomBytes(32).toString('base64') + '+/' }],
    ['base64 with padding', { kty: 'oct', k: randomBytes(16).toString('base64') }],
    ['a member that is a number', { kty: 'oct', k: 42 }],
    ['unknown kty', { ...good, kty: 'RSA-HSM' }],
    ['no kty', {}],
  ];
  const secrets = [good, other, ec, ec2].flatMap((j) => PRIVATE_MEMBERS.flatMap((m) => (j[m] ? [j[m]!, Buffer.from(j[m]!, 'base64url').toString('hex')] : [])));
  for (const [what, jwk] of cases) {
    let message = '';
    t.throws(() => {
      try {
        importJwk(jwk as JwkInput);
      } catch (e) {
        message = (e as Error).message;
        throw e;
      }
    }, { name: 'CryptoError', reason: 'BAD_PARAMETER' }, what);
    t.notOk(secrets.some((s) => message.includes(s) || message.includes(s.slice(0, 16))), `${what}: no material in "${message}"`);
  }
});

// --- key operations, protobuf form, UsableKey hygiene ---------------------------------

t.test('allowedKeyOps and validateKeyOps', async (t) => {
  t.same(allowedKeyOps('RSA'), ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey']);
  t.same(allowedKeyOps('EC'), ['sign', 'verify']);
  t.same(allowedKeyOps('oct'), ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
  t.same(validateKeyOps('RSA', ['sign', 'verify', 'sign']), ['sign', 'verify'], 'each once, in order');
  t.same(validateKeyOps('oct', []), [], 'empty stays empty');
  for (const [kty, ops] of [['EC', ['encrypt']], ['oct', ['sign']], ['EC', ['wrapKey']], ['RSA', ['Sign']], ['RSA', ['export']], ['RSA', ['toString']]] as const) {
    t.throws(() => validateKeyOps(kty, [...ops]), { name: 'CryptoError', reason: 'BAD_PARAMETER' }, `${kty} ${ops[0]}`);
  }
});

t.test('publicJwkToBytes gives the protobuf members', async (t) => {
  const r = publicJwkToBytes(rsa2048!.publicJwk);
  t.equal(r.kty, 'RSA');
  t.equal(r.n?.length, 256);
  t.same(r.e, Buffer.from([1, 0, 1]));
  const ec = await generateKey({ kty: 'EC', curve: 'P-521' });
  const e = publicJwkToBytes(ec.publicJwk);
  t.same([e.kty, e.crv, e.x?.length, e.y?.length], ['EC', 'P-521', 66, 66]);
  t.same(publicJwkToBytes({ kty: 'oct' }), { kty: 'oct' });
});

t.test('a UsableKey shows and serializes no material, and checks its JWK', async (t) => {
  const ec = await generateKey({ kty: 'EC' });
  const oct = await generateKey({ kty: 'oct' });
  for (const m of [rsa2048!, ec, oct]) {
    const key = UsableKey.fromPrivateJwk(m.kty, m.privateJwk);
    const shown = inspect(key, { showHidden: true, depth: 10 }) + JSON.stringify(key) + String(key);
    const jwk = m.privateJwk as unknown as Record<string, string>;
    for (const member of PRIVATE_MEMBERS) if (jwk[member]) t.notOk(shown.includes(jwk[member]!.slice(0, 12)), `${m.kty} ${member} not shown`);
    t.same([key.kty, key.keySize, key.curve], [m.kty, m.keySize, m.curve]);
  }
  t.throws(() => UsableKey.fromPrivateJwk('EC', rsa2048!.privateJwk), { name: 'CryptoError', reason: 'BAD_PARAMETER' }, 'kty mismatch');
  t.throws(() => UsableKey.fromPrivateJwk('oct', { kty: 'oct', k: 'AAAA' }), { name: 'CryptoError', reason: 'BAD_PARAMETER' }, 'bad oct size');
});
