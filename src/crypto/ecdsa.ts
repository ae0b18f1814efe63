// ECDSA over a digest the client computed (Azure's ES256/384/512, ES256K),
// with JOSE R‖S signatures. node:crypto only signs messages (it hashes again),
// so ECDSA is assembled here from two pieces:
//
//  - the scalar multiplication k·G, the step timing attacks on ECDSA go
//    after, is OpenSSL's constant-time one, reached through
//    createECDH(curve).setPrivateKey(k).getPublicKey();
//  - the few operations modulo the group order n are BigInt arithmetic, which
//    is not constant-time. They are blinded with a fresh random factor b: the
//    inversion sees k·b (uniformly random, independent of k) and d is only
//    ever multiplied by b·r. What remains observable is the bit length of d.
//
// The nonce k is random: randomBytes (OpenSSL's CSPRNG) with 64 extra bits,
// reduced mod n-1, plus 1 (FIPS 186-5 A.3.1 style; bias below 2^-64). Not
// RFC 6979: a vault signing with OpenSSL's CSPRNG gains nothing from
// determinism, and random k costs no HMAC-DRBG code.
//
// Everything but the last step depends on neither the key nor the digest:
// k, r = x(k·G) mod n, the blinding factor b and w = (k·b)^-1. Such a
// presignature (r, b, w) is computed ahead on a worker thread (see
// ecdsa-presign.ts); signing is then s = (b·z + (b·r)·d)·w mod n. Each one
// is used once and lives only in memory, like k did.
//
// Verification uses the private scalar, which the vault has: the standard
// check x(u1·G + u2·Q) mod n = r, with u1 = z/s and u2 = r/s, is the same as
// x(((z + r·d)/s)·G) mod n = r because Q = d·G. That is one native scalar
// multiplication and no point addition, which node:crypto does not offer.
//
// S is left as computed, high or low (OpenSSL and Azure do not normalize it),
// and verification accepts both.

import { createECDH, randomBytes } from 'node:crypto';
import { CURVE_INFO, bigIntToBytes, bytesToBigInt, type Curve } from './jwk.js';

/** The order n of each curve's base point. */
export const CURVE_ORDER: Readonly<Record<Curve, bigint>> = {
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  'P-384': 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  'P-521':
    0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  'P-256K': 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
};

/** x(scalar·G) reduced mod n, or undefined when scalar is not in [1, n-1]. */
function baseMulXModN(curve: Curve, scalar: bigint): bigint | undefined {
  const { nodeName, bytes } = CURVE_INFO[curve];
  const n = CURVE_ORDER[curve];
  if (scalar <= 0n || scalar >= n) return undefined;
  const ecdh = createECDH(nodeName);
  const k = bigIntToBytes(scalar, bytes);
  try {
    ecdh.setPrivateKey(k);
    const point = ecdh.getPublicKey(null, 'compressed');
    return bytesToBigInt(point.subarray(1)) % n;
  } finally {
    k.fill(0);
  }
}

function randomScalar(n: bigint, bytes: number): bigint {
  const buf = randomBytes(bytes + 8);
  const v = (bytesToBigInt(buf) % (n - 1n)) + 1n;
  buf.fill(0);
  return v;
}

/** a^-1 mod n for a in [1, n-1] and n prime. */
function modInverse(a: bigint, n: bigint): bigint {
  let [r0, r1] = [n, a];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return t0 < 0n ? t0 + n : t0;
}

/** (z + r·d)·w·b mod n, with d only ever multiplied by b·r: with w = (den·b)^-1, it is (z + r·d) / den. */
function blindedProduct(n: bigint, z: bigint, r: bigint, d: bigint, b: bigint, w: bigint): bigint {
  const numerator = (b * z + ((b * r) % n) * d) % n;
  return (numerator * w) % n;
}

/** A fresh blinding factor b and w = (den·b)^-1 mod n: the inversion only ever sees den·b. */
function blindedInverse(n: bigint, bytes: number, den: bigint): { b: bigint; w: bigint } {
  const b = randomScalar(n, bytes);
  return { b, w: modInverse((den * b) % n, n) };
}

/** (z + r·d) / den mod n, blinded as the header explains. */
function blindedQuotient(n: bigint, bytes: number, z: bigint, r: bigint, d: bigint, den: bigint): bigint {
  const { b, w } = blindedInverse(n, bytes, den);
  return blindedProduct(n, z, r, d, b, w);
}

/** What a signature needs besides the key and the digest; secret, and used once. */
export interface Presignature {
  /** x(k·G) mod n, never 0. */
  readonly r: bigint;
  /** The blinding factor. */
  readonly b: bigint;
  /** (k·b)^-1 mod n. */
  readonly w: bigint;
}

export function presign(curve: Curve): Presignature {
  const n = CURVE_ORDER[curve];
  const { bytes } = CURVE_INFO[curve];
  for (;;) {
    const k = randomScalar(n, bytes);
    const r = baseMulXModN(curve, k);
    if (r === undefined || r === 0n) continue;
    return { r, ...blindedInverse(n, bytes, k) };
  }
}

/** `count` presignatures as r‖b‖w each, to cross a thread boundary. */
export function encodePresignatures(curve: Curve, count: number): Uint8Array {
  const { bytes } = CURVE_INFO[curve];
  const out = new Uint8Array(count * 3 * bytes);
  for (let i = 0; i < count; i++) {
    const p = presign(curve);
    const at = i * 3 * bytes;
    out.set(bigIntToBytes(p.r, bytes), at);
    out.set(bigIntToBytes(p.b, bytes), at + bytes);
    out.set(bigIntToBytes(p.w, bytes), at + 2 * bytes);
  }
  return out;
}

export function decodePresignatures(curve: Curve, encoded: Uint8Array): Presignature[] {
  const { bytes } = CURVE_INFO[curve];
  const size = 3 * bytes;
  if (encoded.length % size !== 0) throw new RangeError(`presignatures for ${curve} come in ${size}-byte records`);
  const out: Presignature[] = [];
  for (let at = 0; at < encoded.length; at += size) {
    const part = (i: number) => bytesToBigInt(encoded.subarray(at + i * bytes, at + (i + 1) * bytes));
    out.push({ r: part(0), b: part(1), w: part(2) });
  }
  encoded.fill(0);
  return out;
}

/** bits2int of SEC 1 / RFC 6979 §2.3.2: the leftmost bits of the digest, as many as n has. */
function digestToInt(curve: Curve, digest: Buffer): bigint {
  const nBits = CURVE_ORDER[curve].toString(2).length;
  const excess = digest.length * 8 - nBits;
  const z = bytesToBigInt(digest);
  return excess > 0 ? z >> BigInt(excess) : z;
}

/** Signs with `pre` when given (it must be fresh: see Presignature), else with a presignature computed here. */
export function ecdsaSign(curve: Curve, d: bigint, digest: Buffer, pre?: Presignature): Buffer {
  const n = CURVE_ORDER[curve];
  const { bytes } = CURVE_INFO[curve];
  const z = digestToInt(curve, digest);
  for (;;) {
    const { r, b, w } = pre ?? presign(curve);
    pre = undefined;
    const s = blindedProduct(n, z, r, d, b, w);
    if (s === 0n) continue;
    return Buffer.concat([bigIntToBytes(r, bytes), bigIntToBytes(s, bytes)]);
  }
}

/** False for anything that is not a valid R‖S signature of the digest under d·G. */
export function ecdsaVerify(curve: Curve, d: bigint, digest: Buffer, signature: Buffer): boolean {
  const n = CURVE_ORDER[curve];
  const { bytes } = CURVE_INFO[curve];
  if (signature.length !== 2 * bytes) return false;
  const r = bytesToBigInt(signature.subarray(0, bytes));
  const s = bytesToBigInt(signature.subarray(bytes));
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false;
  const u = blindedQuotient(n, bytes, digestToInt(curve, digest), r, d, s);
  const x = baseMulXModN(curve, u);
  return x !== undefined && x === r;
}
