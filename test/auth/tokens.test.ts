// Bearer tokens: a round trip, and each way a token must be refused
// (expired, issued ahead of the clock, another key, a forged or tampered
// signature, another issuer, alg none, bad claims under a good signature),
// the bounds on lifetime, names and size, and key rotation. The clock is
// always an argument: no test reads the wall clock.

import { createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import { CompactSign, SignJWT } from 'jose';
import t, { type Test } from 'tap';
import {
  CLOCK_SKEW_MS,
  MAX_NAME_BYTES,
  MAX_TOKEN_CHARS,
  MAX_TTL_MS,
  MIN_TTL_MS,
  TokenError,
  type TokenErrorReason,
  type TokenKey,
  generateTokenKey,
  issueToken,
  tokenKeyFromSeed,
  tokenKeyId,
  tokenKeySeed,
  verifyToken,
} from '../../src/auth/index.js';
import { ErrorKind, VaultError } from '../../src/vault/errors.js';

const NOW_MS = Date.UTC(2030, 0, 1, 12, 0, 0, 250);
const HOUR_MS = 3_600_000;
const ISSUER = 'local';
const key = generateTokenKey();
const otherKey = generateTokenKey();

const issue = (o: Partial<Parameters<typeof issueToken>[0]> = {}) =>
  issueToken({ principal: 'alice', generation: 3, ttlMs: HOUR_MS, nowMs: NOW_MS, key, issuer: ISSUER, ...o });

const verify = (token: unknown, o: { keys?: TokenKey[]; nowMs?: number; issuer?: string } = {}) =>
  verifyToken(token, { keys: [key], nowMs: NOW_MS, issuer: ISSUER, ...o });

async function refused(p: Promise<unknown>): Promise<TokenErrorReason> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TokenError) return e.reason;
    throw e;
  }
  throw new Error('the token was accepted');
}

async function badParameter(t: Test, p: Promise<unknown>, what: string) {
  try {
    await p;
    t.fail(`${what}: accepted`);
  } catch (e) {
    t.ok(e instanceof VaultError && e.kind === ErrorKind.InvalidArgument && e.reason === 'BAD_PARAMETER', `${what}: ${String(e)}`);
  }
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const parts = (token: string) => token.split('.') as [string, string, string];

t.test('round trip: the principal, its generation and the expiry come back', async (t) => {
  const issued = await issue();
  t.equal(issued.expiresAtMs, Math.floor((NOW_MS + HOUR_MS) / 1000) * 1000);
  t.equal(issued.keyId, await tokenKeyId(key));
  const v = await verify(issued.token, { nowMs: NOW_MS + 1000 });
  t.same(v, {
    principal: 'alice',
    generation: 3,
    expiresAtMs: issued.expiresAtMs,
    issuedAtMs: Math.floor(NOW_MS / 1000) * 1000,
    tokenId: issued.tokenId,
    keyId: issued.keyId,
  });
  const header = JSON.parse(Buffer.from(parts(issued.token)[0], 'base64url').toString());
  t.same(header, { alg: 'EdDSA', kid: issued.keyId, typ: 'JWT' });
  const claims = JSON.parse(Buffer.from(parts(issued.token)[1], 'base64url').toString());
  t.same(Object.keys(claims).sort(), ['exp', 'gen', 'iat', 'iss', 'jti', 'sub']);
  t.equal(claims.iss, ISSUER);
});

t.test('each token has its own id', async (t) => {
  const a = await issue();
  const b = await issue();
  t.not(a.token, b.token);
  t.not(a.tokenId, b.tokenId);
  t.match(a.tokenId, /^[A-Za-z0-9_-]{22}$/);
});

t.test('a non-Unicode-safe or odd principal round-trips as given', async (t) => {
  for (const principal of ['ops@example.com', 'svc-backup', 'ünïcødé 😀', '"quoted"\\']) {
    t.equal((await verify((await issue({ principal })).token)).principal, principal);
  }
});

t.test('expired: valid up to the last millisecond before exp, refused from exp on', async (t) => {
  const { token, expiresAtMs } = await issue();
  t.equal((await verify(token, { nowMs: expiresAtMs - 1 })).principal, 'alice');
  t.equal(await refused(verify(token, { nowMs: expiresAtMs })), 'TOKEN_EXPIRED');
  t.equal(await refused(verify(token, { nowMs: expiresAtMs + 365 * 24 * HOUR_MS })), 'TOKEN_EXPIRED');
});

t.test('the lifetime rounds down to whole seconds', async (t) => {
  const { token, expiresAtMs } = await issue({ nowMs: 1_000_999, ttlMs: 1500 });
  t.equal(expiresAtMs, 1_002_000);
  t.equal(await refused(verify(token, { nowMs: 1_002_000 })), 'TOKEN_EXPIRED');
  t.ok(await verify(token, { nowMs: 1_001_999 }));
});

t.test('issued ahead of this node\'s clock: accepted within the skew, refused beyond', async (t) => {
  const { token } = await issue();
  const issuedAtMs = Math.floor(NOW_MS / 1000) * 1000;
  t.ok(await verify(token, { nowMs: issuedAtMs - CLOCK_SKEW_MS }));
  t.equal(await refused(verify(token, { nowMs: issuedAtMs - CLOCK_SKEW_MS - 1 })), 'TOKEN_NOT_YET_VALID');
});

t.test('a token under another key id is refused; rotation verifies both keys', async (t) => {
  const { token } = await issue({ key: otherKey });
  t.equal(await refused(verify(token)), 'TOKEN_KEY_UNKNOWN');
  t.equal((await verify(token, { keys: [key, otherKey] })).principal, 'alice');
  t.equal((await verify(token, { keys: [otherKey] })).keyId, await tokenKeyId(otherKey));
  t.equal(await refused(verify(token, { keys: [] })), 'TOKEN_KEY_UNKNOWN');
});

t.test('a signature by the wrong key under the right key id is refused', async (t) => {
  const forged = await new SignJWT({ gen: 3 })
    .setProtectedHeader({ alg: 'EdDSA', kid: await tokenKeyId(key), typ: 'JWT' })
    .setSubject('alice')
    .setIssuer(ISSUER)
    .setIssuedAt(Math.floor(NOW_MS / 1000))
    .setExpirationTime(Math.floor(NOW_MS / 1000) + 3600)
    .setJti('abcdefghijklmnopqrstuv')
    .sign(otherKey);
  t.equal(await refused(verify(forged)), 'TOKEN_INVALID');
});

t.test('a tampered payload, header or signature is refused', async (t) => {
  const { token } = await issue();
  const [h, p, s] = parts(token);
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  t.equal(await refused(verify(`${h}.${b64({ ...claims, sub: 'mallory' })}.${s}`)), 'TOKEN_INVALID', 'another principal');
  t.equal(await refused(verify(`${h}.${b64({ ...claims, gen: 4 })}.${s}`)), 'TOKEN_INVALID', 'another generation');
  t.equal(await refused(verify(`${h}.${b64({ ...claims, exp: claims.exp + 3600 })}.${s}`)), 'TOKEN_INVALID', 'a later expiry');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  t.equal(await refused(verify(`${b64({ ...header, typ: 'at+jwt' })}.${p}.${s}`)), 'TOKEN_INVALID', 'another header');
  const sig = Buffer.from(s, 'base64url');
  sig[5]! ^= 1;
  t.equal(await refused(verify(`${h}.${p}.${sig.toString('base64url')}`)), 'TOKEN_INVALID', 'a flipped signature bit');
  t.equal(await refused(verify(`${h}.${p}.`)), 'TOKEN_INVALID', 'no signature');
});

t.test('another cluster\'s token is refused, even under the same key', async (t) => {
  const { token } = await issue({ issuer: 'elsewhere' });
  t.equal(await refused(verify(token)), 'TOKEN_INVALID');
  t.ok(await verify(token, { issuer: 'elsewhere' }));
});

t.test('alg none, and HMAC keyed with the public key, are refused', async (t) => {
  const kid = await tokenKeyId(key);
  const { token } = await issue();
  const p = parts(token)[1];
  t.equal(await refused(verify(`${b64({ alg: 'none', kid })}.${p}.`)), 'TOKEN_INVALID');
  t.equal(await refused(verify(`${b64({ alg: 'none' })}.${p}.`)), 'TOKEN_INVALID');
  const publicDer = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const hs = await new SignJWT(JSON.parse(Buffer.from(p, 'base64url').toString()))
    .setProtectedHeader({ alg: 'HS256', kid })
    .sign(new Uint8Array(publicDer));
  t.equal(await refused(verify(hs)), 'TOKEN_INVALID');
  const noKid = await new SignJWT({ gen: 1 }).setProtectedHeader({ alg: 'EdDSA' }).sign(key);
  t.equal(await refused(verify(noKid)), 'TOKEN_INVALID');
});

t.test('a good signature over bad claims is still refused', async (t) => {
  const kid = await tokenKeyId(key);
  const iat = Math.floor(NOW_MS / 1000);
  const good = { sub: 'alice', gen: 1, iss: ISSUER, iat, exp: iat + 3600, jti: 'abcdefghijklmnopqrstuv' };
  const sign = (claims: object) => new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', kid }).sign(key);
  t.equal((await verify(await sign(good))).generation, 1, 'the baseline passes');
  const { sub: _s, ...noSub } = good;
  const { gen: _g, ...noGen } = good;
  const { jti: _j, ...noJti } = good;
  const { exp: _e, ...noExp } = good;
  const { iat: _i, ...noIat } = good;
  const bad: [string, object][] = [
    ['no sub', noSub],
    ['empty sub', { ...good, sub: '' }],
    ['sub not a string', { ...good, sub: 7 }],
    ['sub with a control character', { ...good, sub: 'al\nice' }],
    ['no gen', noGen],
    ['gen negative', { ...good, gen: -1 }],
    ['gen fractional', { ...good, gen: 1.5 }],
    ['gen a string', { ...good, gen: '1' }],
    ['no jti', noJti],
    ['no exp', noExp],
    ['no iat', noIat],
    ['exp before iat', { ...good, exp: iat - 1 }],
    ['exp fractional', { ...good, exp: iat + 0.5 }],
    ['lifetime over the bound', { ...good, exp: iat + MAX_TTL_MS / 1000 + 1 }],
  ];
  for (const [what, claims] of bad) t.equal(await refused(verify(await sign(claims))), 'TOKEN_INVALID', what);
  const signBytes = (payload: string) =>
    new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'EdDSA', kid }).sign(key);
  t.equal((await verify(await signBytes(JSON.stringify(good)))).principal, 'alice', 'the baseline, signed as bytes, passes');
  for (const payload of ['[1]', 'null', '"alice"', 'not json', '']) {
    t.equal(await refused(verify(await signBytes(payload))), 'TOKEN_INVALID', `payload ${JSON.stringify(payload)}`);
  }
});

t.test('garbage is refused as invalid, never thrown as something else', async (t) => {
  for (const token of ['', 'abc', 'a.b.c', '...', 'e30.e30.e30', `${b64({ alg: 'EdDSA' })}`, undefined, null, 42, {}]) {
    t.equal(await refused(verify(token)), 'TOKEN_INVALID', JSON.stringify(token));
  }
  t.equal(await refused(verify('a'.repeat(MAX_TOKEN_CHARS + 1))), 'TOKEN_INVALID', 'too long');
});

t.test('lifetime bounds: 1 second to 366 days, in whole milliseconds', async (t) => {
  for (const ttlMs of [0, -1, -HOUR_MS, MIN_TTL_MS - 1, MAX_TTL_MS + 1, 1500.5, NaN, Infinity]) {
    await badParameter(t, issue({ ttlMs }), `ttlMs ${ttlMs}`);
  }
  t.ok(await verify((await issue({ ttlMs: MIN_TTL_MS })).token));
  t.equal(MAX_TTL_MS, 366 * 24 * HOUR_MS);
  // The worst rounding: 999 ms into a second, for the longest lifetime.
  const longest = await issue({ nowMs: 999, ttlMs: MAX_TTL_MS });
  t.ok(await verify(longest.token, { nowMs: 999 }), 'the longest token passes the lifetime bound');
});

t.test('other arguments are checked before signing', async (t) => {
  await badParameter(t, issue({ generation: -1 }), 'generation -1');
  await badParameter(t, issue({ generation: 0.5 }), 'generation 0.5');
  await badParameter(t, issue({ nowMs: NaN }), 'nowMs NaN');
  await badParameter(t, issue({ nowMs: -1 }), 'nowMs -1');
  await badParameter(t, issue({ principal: '' }), 'empty principal');
  await badParameter(t, issue({ principal: 'a'.repeat(MAX_NAME_BYTES + 1) }), 'long principal');
  await badParameter(t, issue({ principal: 'é'.repeat(MAX_NAME_BYTES / 2 + 1) }), 'long principal in bytes');
  await badParameter(t, issue({ principal: 'a\u0000b' }), 'NUL in principal');
  await badParameter(t, issue({ principal: 'a\ud800b' }), 'lone surrogate in principal');
  await badParameter(t, issue({ issuer: '' }), 'empty issuer');
  t.ok(await issue({ generation: 0 }));
  await t.rejects(verify((await issue()).token, { nowMs: NaN }), TypeError, 'verify refuses a NaN clock');
});

t.test('the largest token stays under the size bound', async (t) => {
  const principal = '"'.repeat(MAX_NAME_BYTES);
  const issuer = '\\'.repeat(MAX_NAME_BYTES);
  const { token } = await issue({ principal, issuer, generation: Number.MAX_SAFE_INTEGER });
  t.ok(token.length <= MAX_TOKEN_CHARS, `${token.length} characters`);
  t.ok(token.length <= 1750, `${token.length} characters, as the comment on MAX_TOKEN_CHARS says`);
  t.equal((await verify(token, { issuer })).principal, principal);
});

t.test('the key as a seed: the same key, the same id, either form signs and verifies', async (t) => {
  const seed = tokenKeySeed(key);
  t.equal(seed.length, 32);
  const again = tokenKeyFromSeed(seed);
  t.equal(await tokenKeyId(again), await tokenKeyId(key));
  t.equal(await tokenKeyId(seed), await tokenKeyId(key));
  const fromSeed = await issue({ key: seed });
  t.ok(await verify(fromSeed.token, { keys: [key] }));
  t.ok(await verify((await issue()).token, { keys: [seed] }));
  t.ok(await verify(fromSeed.token, { keys: [createPublicKey(key)] }), 'a public key verifies');
  await t.rejects(issue({ key: createPublicKey(key) }), TypeError, 'a public key cannot sign');
  t.throws(() => tokenKeyFromSeed(new Uint8Array(31)), TypeError);
  t.throws(() => tokenKeySeed(createPublicKey(key)), TypeError);
  t.not(await tokenKeyId(otherKey), await tokenKeyId(key));
  t.match(await tokenKeyId(key), /^[A-Za-z0-9_-]{43}$/, 'an RFC 7638 SHA-256 thumbprint');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  await t.rejects(issue({ key: ec }), TypeError, 'an ECDSA key is not a token key');
  await t.rejects(verify((await issue()).token, { keys: [key, createSecretKey(Buffer.alloc(32))] }), TypeError, 'nor a secret key');
});
