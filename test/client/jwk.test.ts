// Bytes as text (base64url out; base64url or standard base64 in, strictly),
// JWKs from JSON or PEM, the private members blanked before anything is
// shown, and the digest each signature algorithm signs.

import { createHash, generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import {
  digestFor,
  fromBase64,
  jwkFromJson,
  parseJwk,
  publicJwk,
  signatureHash,
  SIGNATURE_ALGORITHMS,
  toBase64url,
  type JsonWebKey,
} from '../../src/client/index.js';

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

t.test('base64url out: unpadded, URL-safe, honouring a view into a larger buffer', async (t) => {
  t.equal(toBase64url(Uint8Array.of(0xfb, 0xff, 0xfe, 1)), '-__-AQ');
  t.equal(toBase64url(new Uint8Array(0)), '');
  const big = Uint8Array.of(9, 9, 0xfb, 0xff, 9);
  t.equal(toBase64url(big.subarray(2, 4)), '-_8', 'only the view, not the whole buffer');
});

t.test('base64 in: either alphabet, padded or not, whitespace ignored; anything else refused', async (t) => {
  for (const text of ['-__-AQ', '+//+AQ==', '+//+AQ', '-__-\nAQ', ' -__-AQ== ']) t.equal(hex(fromBase64(text)), 'fbfffe01', JSON.stringify(text));
  t.equal(hex(fromBase64('')), '', 'empty is empty');
  for (const bad of ['a!b', 'abcde', 'ab=c', 'a===', 'ab=', '====', 'é']) t.equal(fromBase64(bad), undefined, JSON.stringify(bad));
});

t.test('a JWK from JSON: base64url members decoded, key_ops kept, unknown members ignored', async (t) => {
  const jwk = jwkFromJson({ kty: 'EC', crv: 'P-256', kid: 'mine', key_ops: ['sign'], x: 'AQI', y: 'AwQ=', d: 'BQY', alg: 'ES256', use: 'sig' });
  t.same(Object.keys(jwk).sort(), ['crv', 'd', 'keyOps', 'kid', 'kty', 'x', 'y']);
  t.equal(hex(jwk.x), '0102');
  t.equal(hex(jwk.y), '0304', 'standard base64 is accepted too');
  t.same(jwk.keyOps, ['sign']);
  t.same(jwkFromJson({ kty: 'oct', keyOps: ['wrapKey'], k: 'AA' }).keyOps, ['wrapKey'], 'the JSON mapping\'s keyOps as well');
  t.equal(jwkFromJson({ kty: 'EC', crv: 'secp256k1' }).crv, 'P-256K', "RFC 8812's curve name becomes Azure's");
  for (const [bad, why] of [
    [null, /JSON object/], [[], /JSON object/], ['x', /JSON object/], [{ keys: [] }, /JWK Set/], [{}, /kty/], [{ kty: '' }, /kty/],
    [{ kty: 'RSA', n: 5 }, /"n" must be base64url/], [{ kty: 'RSA', e: 'a!' }, /"e" must be base64url/],
    [{ kty: 'RSA', kid: 1 }, /"kid" must be a string/], [{ kty: 'RSA', key_ops: 'sign' }, /key_ops/],
  ] as const) {
    t.throws(() => jwkFromJson(bad), { name: 'KeyraftError', reason: 'BAD_JWK', message: why }, JSON.stringify(bad));
  }
});

t.test('parseJwk: JSON text or a PEM private key as openssl writes it', async (t) => {
  t.equal(parseJwk('{"kty":"oct","k":"AAEC"}').kty, 'oct');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  for (const type of ['pkcs8', 'pkcs1'] as const) {
    const jwk = parseJwk(rsa.privateKey.export({ format: 'pem', type }) as string);
    t.equal(jwk.kty, 'RSA', type);
    t.equal(jwk.n?.length, 128);
    t.equal(hex(jwk.e), '010001');
    t.ok((jwk.d?.length ?? 0) > 0 && (jwk.p?.length ?? 0) > 0 && (jwk.qi?.length ?? 0) > 0, 'the private members are there to import');
  }
  const ec = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const jwk = parseJwk(ec.privateKey.export({ format: 'pem', type: 'sec1' }) as string);
  t.same([jwk.kty, jwk.crv, jwk.x?.length, jwk.d?.length], ['EC', 'P-256K', 32, 32]);
  const pub = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  t.throws(() => parseJwk(pub), { reason: 'BAD_JWK', message: /not an unencrypted PEM private key/ }, 'a public key cannot be imported');
  t.throws(() => parseJwk('not json'), { reason: 'BAD_JWK', message: /neither JSON/ });
});

t.test('publicJwk empties every private member and keeps the rest', async (t) => {
  const b = (n: number): Uint8Array => new Uint8Array(n).fill(7);
  const full: JsonWebKey = {
    kid: 'k', kty: 'RSA', keyOps: ['sign'], n: b(4), e: b(3), crv: '', x: b(0), y: b(0),
    d: b(4), p: b(2), q: b(2), dp: b(2), dq: b(2), qi: b(2), k: b(16),
  };
  const shown = publicJwk(full);
  for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const) t.equal(shown[m].length, 0, m);
  t.equal(shown.n.length, 4);
  t.equal(shown.e.length, 3);
  t.equal(full.d.length, 4, 'the input is left alone');
  t.same(publicJwk({ kty: 'EC' }), { kty: 'EC' }, 'absent members stay absent');
});

t.test('each signature algorithm signs the digest of its hash', async (t) => {
  const want: Record<string, string> = {
    RS256: 'sha256', PS256: 'sha256', ES256: 'sha256', ES256K: 'sha256',
    RS384: 'sha384', PS384: 'sha384', ES384: 'sha384',
    RS512: 'sha512', PS512: 'sha512', ES512: 'sha512',
  };
  t.same([...SIGNATURE_ALGORITHMS].sort(), Object.keys(want).sort());
  const data = Buffer.from('the data to sign');
  for (const [alg, hash] of Object.entries(want)) {
    t.equal(signatureHash(alg), hash, alg);
    t.equal(hex(digestFor(alg, data)), createHash(hash).update(data).digest('hex'), alg);
  }
  t.equal(digestFor('ES384', data).length, 48);
  for (const bad of ['A256GCM', 'RSA-OAEP', 'es256', 'toString', '']) {
    t.equal(signatureHash(bad), undefined, bad);
    t.throws(() => digestFor(bad, data), { name: 'KeyraftError', reason: 'BAD_ALGORITHM' }, bad);
  }
});
