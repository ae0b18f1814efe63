// JSON Web Keys (RFC 7517/7518) as keyraft stores them: plain objects whose
// binary members are base64url strings without padding, so a key version
// serializes with JSON.stringify and nothing else. Curve names are Azure Key
// Vault's (P-256K for secp256k1); node:crypto spells that one 'secp256k1',
// and toNodeJwk/fromNodeJwk are the only places that know.

import { badParameter } from './errors.js';

export type Kty = 'RSA' | 'EC' | 'oct';
export type Curve = 'P-256' | 'P-384' | 'P-521' | 'P-256K';

export const KTYS: readonly Kty[] = ['RSA', 'EC', 'oct'];
export const CURVES: readonly Curve[] = ['P-256', 'P-384', 'P-521', 'P-256K'];
export const RSA_KEY_SIZES: readonly number[] = [2048, 3072, 4096];
export const OCT_KEY_SIZES: readonly number[] = [128, 192, 256];
export const RSA_PUBLIC_EXPONENT = 65537;

export interface RsaPublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
}
export interface EcPublicJwk {
  kty: 'EC';
  crv: Curve;
  x: string;
  y: string;
}
/** A symmetric key has no public part: GetKey shows only its type. */
export interface OctPublicJwk {
  kty: 'oct';
}
export type PublicJwk = RsaPublicJwk | EcPublicJwk | OctPublicJwk;

export interface RsaPrivateJwk extends RsaPublicJwk {
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}
export interface EcPrivateJwk extends EcPublicJwk {
  d: string;
}
export interface OctPrivateJwk extends OctPublicJwk {
  k: string;
}
export type PrivateJwk = RsaPrivateJwk | EcPrivateJwk | OctPrivateJwk;

/** What generateKey and importJwk return; keySize for RSA and oct (bits), curve for EC. */
export interface KeyMaterial {
  kty: Kty;
  keySize?: number;
  curve?: Curve;
  publicJwk: PublicJwk;
  privateJwk: PrivateJwk;
}

export interface CurveInfo {
  /** The name createECDH and generateKeyPair know. */
  nodeName: string;
  /** The `crv` node:crypto reads and writes in a JWK. */
  nodeCrv: string;
  /** Bytes of a coordinate, of d, and of each half of a JOSE signature. */
  bytes: number;
}

export const CURVE_INFO: Readonly<Record<Curve, CurveInfo>> = {
  'P-256': { nodeName: 'prime256v1', nodeCrv: 'P-256', bytes: 32 },
  'P-384': { nodeName: 'secp384r1', nodeCrv: 'P-384', bytes: 48 },
  'P-521': { nodeName: 'secp521r1', nodeCrv: 'P-521', bytes: 66 },
  'P-256K': { nodeName: 'secp256k1', nodeCrv: 'secp256k1', bytes: 32 },
};

export function isKty(value: unknown): value is Kty {
  return typeof value === 'string' && (KTYS as readonly string[]).includes(value);
}

/** Azure's curve names, and node's 'secp256k1' as an alias of P-256K. */
export function parseCurve(value: unknown): Curve | undefined {
  if (value === 'secp256k1') return 'P-256K';
  return typeof value === 'string' && (CURVES as readonly string[]).includes(value) ? (value as Curve) : undefined;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * A binary JWK member given as bytes (protobuf) or as a base64url string
 * (JSON). Absent and empty are the same thing, because proto3 sends an
 * absent bytes field as empty. Buffer.from(.., 'base64url') skips characters
 * it does not know, so the alphabet is checked first: a corrupted member must
 * be refused, not silently shortened. The message names the member only.
 */
export function memberBytes(value: unknown, name: string): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Uint8Array) {
    return value.length === 0 ? undefined : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (typeof value === 'string') {
    if (value.length === 0) return undefined;
    if (!BASE64URL.test(value) || value.length % 4 === 1) {
      throw badParameter(`JWK member "${name}" is not base64url (RFC 4648 §5, without padding)`);
    }
    return Buffer.from(value, 'base64url');
  }
  throw badParameter(`JWK member "${name}" must be bytes or a base64url string`);
}

/** Unsigned big-endian integer, as RFC 7518 encodes RSA members. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

/** `value` as exactly `length` big-endian bytes; the caller guarantees it fits. */
export function bigIntToBytes(value: bigint, length: number): Buffer {
  const hex = value.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError('integer does not fit');
  return Buffer.from(hex, 'hex');
}

/** The JWK node:crypto's createPrivateKey/createPublicKey read. */
export function toNodeJwk(jwk: PublicJwk | PrivateJwk): Record<string, string> {
  const out: Record<string, string> = { ...(jwk as unknown as Record<string, string>) };
  if (jwk.kty === 'EC') out['crv'] = CURVE_INFO[jwk.crv].nodeCrv;
  return out;
}

/** The private JWK keyraft keeps, from what KeyObject.export({ format: 'jwk' }) wrote. */
export function fromNodeJwk(kty: Kty, raw: Record<string, unknown>): PrivateJwk {
  const str = (name: string): string => {
    const v = raw[name];
    if (typeof v !== 'string') throw badParameter(`JWK member "${name}" is missing`);
    return v;
  };
  switch (kty) {
    case 'RSA':
      return { kty, n: str('n'), e: str('e'), d: str('d'), p: str('p'), q: str('q'), dp: str('dp'), dq: str('dq'), qi: str('qi') };
    case 'EC': {
      const crv = parseCurve(raw['crv']);
      if (crv === undefined) throw badParameter('unsupported EC curve');
      return { kty, crv, x: str('x'), y: str('y'), d: str('d') };
    }
    case 'oct':
      return { kty, k: str('k') };
  }
}

/** The public part of a private JWK: never d, p, q, dp, dq, qi or k. */
export function publicJwkOf(jwk: PrivateJwk): PublicJwk {
  switch (jwk.kty) {
    case 'RSA':
      return { kty: 'RSA', n: jwk.n, e: jwk.e };
    case 'EC':
      return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
    case 'oct':
      return { kty: 'oct' };
  }
}

/** The members of the protobuf JsonWebKey message a public JWK fills. */
export interface PublicJwkBytes {
  kty: Kty;
  n?: Buffer;
  e?: Buffer;
  crv?: Curve;
  x?: Buffer;
  y?: Buffer;
}

export function publicJwkToBytes(jwk: PublicJwk): PublicJwkBytes {
  switch (jwk.kty) {
    case 'RSA':
      return { kty: 'RSA', n: Buffer.from(jwk.n, 'base64url'), e: Buffer.from(jwk.e, 'base64url') };
    case 'EC':
      return { kty: 'EC', crv: jwk.crv, x: Buffer.from(jwk.x, 'base64url'), y: Buffer.from(jwk.y, 'base64url') };
    case 'oct':
      return { kty: 'oct' };
    default:
      throw badParameter('unknown kty');
  }
}
