// Key material: generation, import and the key operations each type allows.
// Everything returned is a plain JSON-serializable KeyMaterial; the private
// JWK goes through node:crypto's own JWK export, so an imported key is stored
// in the same canonical form as a generated one (minimal RSA integers,
// full-length EC coordinates).

import { createECDH, createPrivateKey, createPublicKey, generateKeyPair, privateEncrypt, publicDecrypt, randomBytes, constants, type KeyObject } from 'node:crypto';
import { badParameter } from './errors.js';
import {
  CURVE_INFO,
  OCT_KEY_SIZES,
  RSA_KEY_SIZES,
  RSA_PUBLIC_EXPONENT,
  bytesToBigInt,
  fromNodeJwk,
  isKty,
  memberBytes,
  parseCurve,
  publicJwkOf,
  toBase64url,
  type Curve,
  type KeyMaterial,
  type Kty,
  type PrivateJwk,
} from './jwk.js';

export type KeyOp = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrapKey' | 'unwrapKey';
export const KEY_OPS: readonly KeyOp[] = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];

const ALLOWED_OPS: Readonly<Record<Kty, readonly KeyOp[]>> = {
  RSA: ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'],
  EC: ['sign', 'verify'],
  oct: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'],
};

export function allowedKeyOps(kty: Kty): KeyOp[] {
  return [...ALLOWED_OPS[kty]];
}

/**
 * The operations, each once, in the order given. An empty list stays empty:
 * what "no key_ops" means (every allowed operation, for CreateKey) is the
 * caller's decision.
 */
export function validateKeyOps(kty: Kty, ops: readonly string[]): KeyOp[] {
  const out: KeyOp[] = [];
  for (const op of ops) {
    if (!(KEY_OPS as readonly string[]).includes(op)) {
      throw badParameter(`unknown key operation ${printable(op)}: expected one of ${KEY_OPS.join(', ')}`);
    }
    if (!ALLOWED_OPS[kty].includes(op as KeyOp)) {
      throw badParameter(`key operation "${op}" is not allowed for ${kty} keys (allowed: ${ALLOWED_OPS[kty].join(', ')})`);
    }
    if (!out.includes(op as KeyOp)) out.push(op as KeyOp);
  }
  return out;
}

/** What CreateKey carries: 0 and '' (proto3 defaults) mean "the default". */
export interface KeySpec {
  kty: string;
  keySize?: number | null;
  curve?: string | null;
}

export async function generateKey(spec: KeySpec): Promise<KeyMaterial> {
  const { kty } = spec;
  if (!isKty(kty)) throw badParameter(`unknown kty ${printable(kty)}: expected RSA, EC or oct`);
  const keySize = spec.keySize ? spec.keySize : undefined;
  const curveName = spec.curve ? spec.curve : undefined;
  switch (kty) {
    case 'RSA': {
      if (curveName !== undefined) throw badParameter('a curve applies to EC keys only');
      const size = keySize ?? 2048;
      if (!RSA_KEY_SIZES.includes(size)) throw badParameter(`RSA key size must be one of ${RSA_KEY_SIZES.join(', ')}`);
      // The async form runs on the libuv thread pool: a 4096-bit key takes
      // seconds, and the event loop keeps serving meanwhile.
      const privateKey = await new Promise<KeyObject>((resolve, reject) => {
        generateKeyPair('rsa', { modulusLength: size, publicExponent: RSA_PUBLIC_EXPONENT }, (err, _pub, priv) =>
          err ? reject(err) : resolve(priv),
        );
      });
      return material(kty, fromNodeJwk(kty, privateKey.export({ format: 'jwk' })), size);
    }
    case 'EC': {
      if (keySize !== undefined) throw badParameter('a key size applies to RSA and oct keys only; EC keys take a curve');
      const curve = parseCurve(curveName ?? 'P-256');
      if (curve === undefined) throw badParameter(`unsupported curve ${printable(curveName)}: expected P-256, P-384, P-521 or P-256K`);
      const privateKey = await new Promise<KeyObject>((resolve, reject) => {
        generateKeyPair('ec', { namedCurve: CURVE_INFO[curve].nodeName }, (err, _pub, priv) => (err ? reject(err) : resolve(priv)));
      });
      return material(kty, fromNodeJwk(kty, privateKey.export({ format: 'jwk' })), undefined, curve);
    }
    case 'oct': {
      if (curveName !== undefined) throw badParameter('a curve applies to EC keys only');
      const size = keySize ?? 256;
      if (!OCT_KEY_SIZES.includes(size)) throw badParameter(`oct key size must be one of ${OCT_KEY_SIZES.join(', ')}`);
      const k = randomBytes(size / 8);
      try {
        return material(kty, { kty, k: toBase64url(k) }, size);
      } finally {
        k.fill(0);
      }
    }
  }
}

export type JwkMember = Uint8Array | string | null | undefined;

/** A JWK as ImportKey receives it: binary members as bytes (protobuf) or base64url (JSON). */
export interface JwkInput {
  kty?: string | null;
  crv?: string | null;
  n?: JwkMember;
  e?: JwkMember;
  x?: JwkMember;
  y?: JwkMember;
  d?: JwkMember;
  p?: JwkMember;
  q?: JwkMember;
  dp?: JwkMember;
  dq?: JwkMember;
  qi?: JwkMember;
  k?: JwkMember;
}

/**
 * Validates an imported private key and returns it in canonical form. The
 * messages name members and sizes, never their values.
 */
export function importJwk(jwk: JwkInput): KeyMaterial {
  if (jwk === null || typeof jwk !== 'object') throw badParameter('the key must be a JWK object');
  const { kty } = jwk;
  if (!isKty(kty)) throw badParameter(`unknown kty ${printable(kty)}: expected RSA, EC or oct`);
  switch (kty) {
    case 'RSA':
      return importRsa(jwk);
    case 'EC':
      return importEc(jwk);
    case 'oct':
      return importOct(jwk);
  }
}

const NO_PRIVATE_PART = 'the JWK has no private part: keyraft imports private and symmetric keys only';
const MISMATCH = 'the private members of the JWK do not match its public key';

function importRsa(jwk: JwkInput): KeyMaterial {
  const n = memberBytes(jwk.n, 'n');
  const e = memberBytes(jwk.e, 'e');
  if (n === undefined || e === undefined) throw badParameter('an RSA JWK needs "n" and "e"');
  const names = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;
  const priv = names.map((name) => memberBytes(jwk[name], name));
  if (priv.every((m) => m === undefined)) throw badParameter(NO_PRIVATE_PART);
  const missing = names.filter((_, i) => priv[i] === undefined);
  if (missing.length > 0) throw badParameter(`RSA JWK member(s) ${missing.join(', ')} missing: d, p, q, dp, dq and qi are all required`);
  const N = bytesToBigInt(n);
  const bits = N.toString(2).length;
  if (!RSA_KEY_SIZES.includes(bits)) throw badParameter(`RSA key size must be one of ${RSA_KEY_SIZES.join(', ')} bits, got ${bits}`);
  if (bytesToBigInt(e) !== BigInt(RSA_PUBLIC_EXPONENT)) throw badParameter(`the RSA public exponent must be ${RSA_PUBLIC_EXPONENT}`);
  const [D, P, Q, DP, DQ, QI] = priv.map((m) => bytesToBigInt(m as Buffer)) as [bigint, bigint, bigint, bigint, bigint, bigint];
  const E = BigInt(RSA_PUBLIC_EXPONENT);
  // node:crypto takes the CRT members as given; wrong ones would produce
  // faulty signatures, and a faulty CRT signature gives away a factor of n.
  // BigInt arithmetic is not constant-time; it runs once per import.
  const consistent =
    P > 1n && Q > 1n && P * Q === N && D > 0n && D < N &&
    DP === D % (P - 1n) && DQ === D % (Q - 1n) &&
    (E * DP) % (P - 1n) === 1n && (E * DQ) % (Q - 1n) === 1n &&
    QI < P && (QI * Q) % P === 1n;
  if (!consistent) throw badParameter(MISMATCH);
  const canonical = { kty: 'RSA', n: bigB64(N), e: bigB64(E), d: bigB64(D), p: bigB64(P), q: bigB64(Q), dp: bigB64(DP), dq: bigB64(DQ), qi: bigB64(QI) };
  const key = nodePrivateKey(canonical, 'RSA');
  // Catches what the arithmetic above does not: a p or q that is not prime.
  const k = Math.ceil(bits / 8);
  const probe = Buffer.concat([Buffer.alloc(1), randomBytes(k - 1)]);
  let roundTrip = false;
  try {
    const sig = privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, probe);
    roundTrip = publicDecrypt({ key: createPublicKey(key), padding: constants.RSA_NO_PADDING }, sig).equals(probe);
  } catch {
    roundTrip = false;
  }
  if (!roundTrip) throw badParameter(MISMATCH);
  return material('RSA', fromNodeJwk('RSA', key.export({ format: 'jwk' })), bits);
}

function importEc(jwk: JwkInput): KeyMaterial {
  const curve = parseCurve(jwk.crv);
  if (curve === undefined) throw badParameter(`unsupported curve ${printable(jwk.crv)}: expected P-256, P-384, P-521 or P-256K`);
  const info = CURVE_INFO[curve];
  const x = fixed(memberBytes(jwk.x, 'x'), 'x', info.bytes);
  const y = fixed(memberBytes(jwk.y, 'y'), 'y', info.bytes);
  const dRaw = memberBytes(jwk.d, 'd');
  if (x === undefined || y === undefined) throw badParameter('an EC JWK needs "x" and "y"');
  if (dRaw === undefined) throw badParameter(NO_PRIVATE_PART);
  const d = fixed(dRaw, 'd', info.bytes) as Buffer;
  try {
    try {
      createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: info.nodeCrv, x: toBase64url(x), y: toBase64url(y) } });
    } catch {
      throw badParameter(`the point (x, y) is not on curve ${curve}`);
    }
    // node:crypto accepts a d that does not belong to (x, y) without a word;
    // d·G computed natively must be the public point.
    const ecdh = createECDH(info.nodeName);
    try {
      ecdh.setPrivateKey(d);
    } catch {
      throw badParameter(`"d" is not a private scalar of curve ${curve} (it must be in [1, n-1])`);
    }
    if (!ecdh.getPublicKey().equals(Buffer.concat([Buffer.from([4]), x, y]))) throw badParameter(MISMATCH);
    const key = nodePrivateKey({ kty: 'EC', crv: info.nodeCrv, x: toBase64url(x), y: toBase64url(y), d: toBase64url(d) }, 'EC');
    return material('EC', fromNodeJwk('EC', key.export({ format: 'jwk' })), undefined, curve);
  } finally {
    if (d !== dRaw) d.fill(0);
  }
}

function importOct(jwk: JwkInput): KeyMaterial {
  const k = memberBytes(jwk.k, 'k');
  if (k === undefined) throw badParameter(`${NO_PRIVATE_PART} ("k" is missing)`);
  const bits = k.length * 8;
  if (!OCT_KEY_SIZES.includes(bits)) throw badParameter(`oct key size must be one of ${OCT_KEY_SIZES.join(', ')} bits, got ${bits}`);
  return material('oct', { kty: 'oct', k: toBase64url(k) }, bits);
}

function material(kty: Kty, privateJwk: PrivateJwk, keySize?: number, curve?: Curve): KeyMaterial {
  const out: KeyMaterial = { kty, publicJwk: publicJwkOf(privateJwk), privateJwk };
  if (keySize !== undefined) out.keySize = keySize;
  if (curve !== undefined) out.curve = curve;
  return out;
}

function nodePrivateKey(jwk: Record<string, string>, kty: Kty): KeyObject {
  try {
    return createPrivateKey({ format: 'jwk', key: jwk });
  } catch {
    throw badParameter(`node:crypto refuses the ${kty} key`);
  }
}

/**
 * RFC 7518 wants EC members at full length; some encoders drop leading zero
 * bytes, so a shorter member is padded back, a longer one refused.
 */
function fixed(bytes: Buffer | undefined, name: string, length: number): Buffer | undefined {
  if (bytes === undefined || bytes.length === length) return bytes;
  if (bytes.length > length) throw badParameter(`JWK member "${name}" is longer than ${length} bytes`);
  return Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}

function bigB64(value: bigint): string {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : '0' + hex, 'hex').toString('base64url');
}

/** A caller's value, quoted and cut short, for a message. */
function printable(value: unknown): string {
  if (typeof value !== 'string') return value === undefined || value === null ? '(none)' : `(${typeof value})`;
  return JSON.stringify(value.length > 32 ? value.slice(0, 32) + '…' : value);
}

// Re-exported so that callers need one import for key material.
export { publicJwkToBytes, type KeyMaterial, type PrivateJwk, type PublicJwk } from './jwk.js';
