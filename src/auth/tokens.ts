// Bearer tokens: JWTs naming a principal, signed with the cluster's token
// key. The key is generated once by the leader, sealed under the master key
// and replicated through Raft; this module only takes it, as a KeyObject or
// as its 32-byte seed (the form that gets sealed). No clock and no state:
// the caller passes nowMs and the keys, and compares the returned generation
// with the principal's current one (a reset bumps it, which is how tokens
// already issued stop working).
//
// Algorithm: EdDSA with Ed25519, which node:crypto has natively. Its
// signatures are deterministic, so a weak or repeated random draw on some
// node cannot leak the key, as a repeated ECDSA (ES256) nonce would; the
// whole private key is a 32-byte seed, small to seal and replicate; and it
// has no parameter choices to get wrong.

import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, compactVerify, decodeProtectedHeader } from 'jose';
import { randomNonSecret } from '../crypto/random.js';
import { ErrorKind, VaultError, quote } from '../vault/errors.js';

export const TOKEN_ALGORITHM = 'EdDSA';
/** The claims carry whole seconds; a shorter lifetime could round to nothing. */
export const MIN_TTL_MS = 1000;
export const MAX_TTL_MS = 366 * 24 * 60 * 60 * 1000;
/** The principal and issuer names, in UTF-8 bytes; keeps a token far below MAX_TOKEN_CHARS. */
export const MAX_NAME_BYTES = 256;
/**
 * Tokens longer than this are refused unread: the header arrives from anyone.
 * The largest token issueToken makes is 1.7 KB (names of MAX_NAME_BYTES
 * that JSON must escape throughout), and gRPC's default limit for all
 * metadata is 8 KiB.
 */
export const MAX_TOKEN_CHARS = 4096;
/**
 * How far ahead of this node's clock a token's issue time may be: another
 * node issued it, and node clocks differ. Expiry gets no such slack.
 */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
const JTI_BYTES = 16;
const MAX_JTI_CHARS = 64;
const SEED_BYTES = 32;
/** PKCS#8 DER of an Ed25519 private key, up to the 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export type TokenErrorReason =
  /** Malformed, bad signature, wrong algorithm or issuer, a claim missing or out of bounds. */
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  /** Issued more than CLOCK_SKEW_MS in the future. */
  | 'TOKEN_NOT_YET_VALID'
  /** Signed under a key id none of the given keys has (a retired key, or another cluster's). */
  | 'TOKEN_KEY_UNKNOWN';

/** Why a token was refused; the caller answers UNAUTHENTICATED with this reason. */
export class TokenError extends Error {
  override readonly name = 'TokenError';

  constructor(
    readonly reason: TokenErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A signing key, or its 32-byte seed (the form sealed and replicated). Each
 * is converted once and remembered by identity: a seed array must not later
 * be refilled with another key's seed.
 */
export type TokenKey = KeyObject | Uint8Array;

export interface VerifiedToken {
  principal: string;
  generation: number;
  expiresAtMs: number;
  issuedAtMs: number;
  /** The token's own random id (jti), for the audit log. */
  tokenId: string;
  /** The id of the key that signed it. */
  keyId: string;
}

export interface IssuedToken {
  token: string;
  expiresAtMs: number;
  tokenId: string;
  keyId: string;
}

/** A new Ed25519 signing key: once per cluster, or per rotation. */
export const generateTokenKey = (): KeyObject => generateKeyPairSync('ed25519').privateKey;

/** The signing key a 32-byte seed stands for. */
export function tokenKeyFromSeed(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new TypeError(`an Ed25519 token key seed is ${SEED_BYTES} bytes`);
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The 32-byte seed of a signing key: what the leader seals and replicates. */
export function tokenKeySeed(key: KeyObject): Buffer {
  const jwk = privateEd25519(key).export({ format: 'jwk' });
  return Buffer.from(jwk.d!, 'base64url');
}

function privateEd25519(key: KeyObject): KeyObject {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('a token signing key must be an Ed25519 private key');
  }
  return key;
}

interface PreparedKey {
  /** RFC 7638 thumbprint of the public key: every node derives the same id, nothing stores it. */
  kid: string;
  /** Undefined for a public key, which can only verify. */
  sign: webcrypto.CryptoKey | undefined;
  verify: webcrypto.CryptoKey;
}

// jose turns a KeyObject into a WebCrypto key on every call (Node 20 has no
// KeyObject.toCryptoKey), which made a verification about three times as
// costly. The keys change only on rotation, so each is converted once and
// kept beside the object it came from.
const prepared = new WeakMap<object, Promise<PreparedKey>>();

function prepare(input: TokenKey): Promise<PreparedKey> {
  let p = prepared.get(input);
  if (p === undefined) {
    p = prepareNow(input);
    prepared.set(input, p);
    // A bad key should fail each time it is passed, not poison the cache.
    p.catch(() => prepared.delete(input));
  }
  return p;
}

async function prepareNow(input: TokenKey): Promise<PreparedKey> {
  const key = input instanceof Uint8Array ? tokenKeyFromSeed(input) : input;
  if (key.asymmetricKeyType !== 'ed25519' || key.type === 'secret') {
    throw new TypeError('a token key must be an Ed25519 key (private, its seed, or public to verify only)');
  }
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const algorithm = { name: 'Ed25519' };
  const verify = await webcrypto.subtle.importKey(
    'spki',
    publicKey.export({ format: 'der', type: 'spki' }),
    algorithm,
    false,
    ['verify'],
  );
  const sign =
    key.type === 'private'
      ? await webcrypto.subtle.importKey('pkcs8', key.export({ format: 'der', type: 'pkcs8' }), algorithm, false, ['sign'])
      : undefined;
  const kid = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as Parameters<typeof calculateJwkThumbprint>[0]);
  return { kid, sign, verify };
}

/** The key id tokens signed with this key carry. */
export const tokenKeyId = async (key: TokenKey): Promise<string> => (await prepare(key)).kid;

const badParameter = (message: string) => new VaultError(ErrorKind.InvalidArgument, 'BAD_PARAMETER', message);

/** Control characters, which JSON escapes to six characters each, and lone surrogates, which UTF-8 cannot carry. */
const UNFIT_IN_NAME = /[\p{Cc}\p{Cs}]/u;

/** A principal or issuer name fit for a claim: 1 to MAX_NAME_BYTES of UTF-8, nothing that breaks the size bound. */
const isClaimName = (s: unknown): s is string =>
  typeof s === 'string' && s.length > 0 && Buffer.byteLength(s, 'utf8') <= MAX_NAME_BYTES && !UNFIT_IN_NAME.test(s);

function checkName(what: string, s: unknown): string {
  if (!isClaimName(s)) {
    throw badParameter(`the ${what} ${quote(s)} must be 1-${MAX_NAME_BYTES} bytes of UTF-8 without control characters`);
  }
  return s;
}

export interface IssueTokenOptions {
  principal: string;
  /** The principal's generation now; a reset bumps it and so voids this token. */
  generation: number;
  ttlMs: number;
  nowMs: number;
  key: TokenKey;
  /** The cluster's name: a token from another cluster is refused even under a shared key. */
  issuer: string;
}

/**
 * A token for the principal, valid from nowMs for ttlMs (rounded down to
 * whole seconds). Bad arguments throw VaultError BAD_PARAMETER, which the
 * server already answers as INVALID_ARGUMENT.
 */
export async function issueToken(o: IssueTokenOptions): Promise<IssuedToken> {
  const principal = checkName('principal', o.principal);
  const issuer = checkName('issuer', o.issuer);
  if (!Number.isSafeInteger(o.generation) || o.generation < 0) {
    throw badParameter(`generation must be a non-negative integer, got ${quote(o.generation)}`);
  }
  if (!Number.isSafeInteger(o.ttlMs) || o.ttlMs < MIN_TTL_MS || o.ttlMs > MAX_TTL_MS) {
    throw badParameter(`the token lifetime must be ${MIN_TTL_MS} ms to ${MAX_TTL_MS} ms (366 days), got ${quote(o.ttlMs)}`);
  }
  if (!Number.isSafeInteger(o.nowMs) || o.nowMs < 0) throw badParameter(`nowMs must be unix milliseconds, got ${quote(o.nowMs)}`);
  const key = await prepare(o.key);
  if (key.sign === undefined) throw new TypeError('a token signing key must be private');
  // exp - iat never exceeds MAX_TTL_MS in seconds, whatever nowMs's
  // milliseconds: verifyToken holds every token to that bound.
  const iat = Math.floor(o.nowMs / 1000);
  const exp = Math.floor((o.nowMs + o.ttlMs) / 1000);
  const tokenId = randomNonSecret(JTI_BYTES).toString('base64url');
  const token = await new SignJWT({ gen: o.generation })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setSubject(principal)
    .setIssuer(issuer)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(tokenId)
    .sign(key.sign);
  return { token, expiresAtMs: exp * 1000, tokenId, keyId: key.kid };
}

export interface VerifyTokenOptions {
  /** Every key a current token may be signed with: the active one and any being retired. */
  keys: readonly TokenKey[];
  nowMs: number;
  issuer: string;
}

const invalid = (message: string) => new TokenError('TOKEN_INVALID', message);

/**
 * The principal and generation a token names, once its signature, issuer
 * and lifetime check out; a TokenError otherwise. Nothing in a token is
 * looked at before its signature is checked, but the key id in its header.
 */
export async function verifyToken(token: unknown, o: VerifyTokenOptions): Promise<VerifiedToken> {
  // NaN would compare false with every expiry and let an expired token through.
  if (!Number.isSafeInteger(o.nowMs)) throw new TypeError(`nowMs must be unix milliseconds, got ${quote(o.nowMs)}`);
  if (typeof token !== 'string' || token.length === 0) throw invalid('the token is empty');
  if (token.length > MAX_TOKEN_CHARS) throw invalid(`the token is longer than ${MAX_TOKEN_CHARS} characters`);
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalid('the token is not a JWS in compact form');
  }
  if (header.alg !== TOKEN_ALGORITHM) throw invalid(`the token's algorithm must be ${TOKEN_ALGORITHM}, got ${quote(header.alg)}`);
  if (typeof header.kid !== 'string') throw invalid('the token names no key id');
  const keys = await Promise.all(o.keys.map(prepare));
  const key = keys.find((k) => k.kid === header.kid);
  if (key === undefined) {
    throw new TokenError('TOKEN_KEY_UNKNOWN', `the token is signed with key ${quote(header.kid)}, which this cluster does not have`);
  }
  let payloadBytes: Uint8Array;
  try {
    payloadBytes = (await compactVerify(token, key.verify, { algorithms: [TOKEN_ALGORITHM] })).payload;
  } catch {
    throw invalid('the token signature does not verify');
  }
  return checkClaims(payloadBytes, key.kid, o);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function checkClaims(payloadBytes: Uint8Array, keyId: string, o: VerifyTokenOptions): VerifiedToken {
  let claims: unknown;
  try {
    claims = JSON.parse(utf8.decode(payloadBytes));
  } catch {
    throw invalid('the token payload is not JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw invalid('the token payload is not a JSON object');
  const { iss, sub, gen, iat, exp, jti } = claims as Record<string, unknown>;
  if (iss !== o.issuer) throw invalid(`the token was issued by ${quote(iss)}, not by this cluster`);
  if (!isClaimName(sub)) throw invalid('the token names no valid principal (sub)');
  if (!Number.isSafeInteger(gen) || (gen as number) < 0) throw invalid('the token has no valid generation (gen)');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_CHARS) throw invalid('the token has no valid id (jti)');
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp) || (iat as number) < 0) {
    throw invalid('the token has no valid issue and expiry times (iat, exp)');
  }
  const issuedAtMs = (iat as number) * 1000;
  const expiresAtMs = (exp as number) * 1000;
  if (expiresAtMs <= issuedAtMs || expiresAtMs - issuedAtMs > MAX_TTL_MS) {
    throw invalid(`the token's lifetime must be 1 second to 366 days`);
  }
  if (o.nowMs >= expiresAtMs) throw new TokenError('TOKEN_EXPIRED', `the token expired at ${new Date(expiresAtMs).toISOString()}`);
  if (issuedAtMs > o.nowMs + CLOCK_SKEW_MS) {
    throw new TokenError('TOKEN_NOT_YET_VALID', `the token is issued at ${new Date(issuedAtMs).toISOString()}, in the future`);
  }
  return { principal: sub, generation: gen as number, expiresAtMs, issuedAtMs, tokenId: jti, keyId };
}
