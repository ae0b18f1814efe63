// The cryptographic operations of a key version, with Azure Key Vault's
// algorithm names and semantics. A UsableKey holds node:crypto KeyObjects
// (outside the JS heap, printed as nothing but their type) and is built once
// per key version: the server caches it. Operations change no state.
//
// The methods are async: the private RSA operations run on worker threads
// (rsa-private.ts), the rest is quick enough for the event loop.
//
// Empty byte fields mean "absent" (proto3 sends absent bytes as empty).

import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  publicEncrypt,
  randomBytes,
  type CipherGCMTypes,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';
import { ecdsaSign, ecdsaVerify, CURVE_ORDER } from './ecdsa.js';
import { takePresignature } from './ecdsa-presign.js';
import { badAlgorithm, badParameter, decryptionFailed, CryptoError } from './errors.js';
import { OCT_KEY_SIZES, bytesToBigInt, parseCurve, toNodeJwk, type Curve, type Kty, type PrivateJwk } from './jwk.js';
import { HASH_BYTES, pkcs1Sign, pkcs1Verify, pssSign, pssVerify, type HashName } from './rsa.js';
import { rsaPrivate } from './rsa-private.js';
import { randomNonSecret } from './random.js';

export const ENCRYPT_ALGORITHMS = ['RSA-OAEP', 'RSA-OAEP-256', 'RSA1_5', 'A128GCM', 'A192GCM', 'A256GCM', 'A128CBCPAD', 'A192CBCPAD', 'A256CBCPAD'] as const;
export const WRAP_ALGORITHMS = ['RSA-OAEP', 'RSA-OAEP-256', 'RSA1_5', 'A128KW', 'A192KW', 'A256KW'] as const;
export const SIGN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'ES256K'] as const;
export type EncryptAlgorithm = (typeof ENCRYPT_ALGORITHMS)[number];
export type WrapAlgorithm = (typeof WRAP_ALGORITHMS)[number];
export type SignAlgorithm = (typeof SIGN_ALGORITHMS)[number];

export const RSA1_5_DECRYPT_REFUSED =
  'RSA1_5 decryption is disabled: Node.js 20 refuses PKCS#1 v1.5 private decryption because of the Marvin attack (CVE-2023-46809); use RSA-OAEP-256';

export interface EncryptParams {
  value: Uint8Array;
  iv?: Uint8Array | null;
  aad?: Uint8Array | null;
}
export interface DecryptParams extends EncryptParams {
  tag?: Uint8Array | null;
}
/** Azure's KeyOperationResult without the kid (the server adds it). */
export interface OperationResult {
  value: Buffer;
  iv?: Buffer;
  tag?: Buffer;
  aad?: Buffer;
}

// OAEP overhead is 2·hLen + 2 bytes, PKCS#1 v1.5's 11 (RFC 8017 §7.1.1, §7.2.1).
const RSA_ENCRYPTION: Record<string, { padding: number; oaepHash?: string; overhead: number }> = {
  'RSA-OAEP': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1', overhead: 2 * 20 + 2 },
  'RSA-OAEP-256': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', overhead: 2 * 32 + 2 },
  RSA1_5: { padding: constants.RSA_PKCS1_PADDING, overhead: 11 },
};
const AES_GCM: Record<string, number> = { A128GCM: 128, A192GCM: 192, A256GCM: 256 };
const GCM_CIPHER: Record<number, CipherGCMTypes> = { 128: 'aes-128-gcm', 192: 'aes-192-gcm', 256: 'aes-256-gcm' };
const AES_CBCPAD: Record<string, number> = { A128CBCPAD: 128, A192CBCPAD: 192, A256CBCPAD: 256 };
const AES_KW: Record<string, number> = { A128KW: 128, A192KW: 192, A256KW: 256 };
// The IV RFC 3394 §2.2.3.1 fixes; node:crypto's id-aesN-wrap wants it given.
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const CBC_IV_BYTES = 16;

type SignatureScheme = { kind: 'pkcs1' | 'pss'; hash: HashName } | { kind: 'ecdsa'; curve: Curve; digestBytes: number };
const SIGNATURE: Record<string, SignatureScheme> = {
  RS256: { kind: 'pkcs1', hash: 'sha256' },
  RS384: { kind: 'pkcs1', hash: 'sha384' },
  RS512: { kind: 'pkcs1', hash: 'sha512' },
  PS256: { kind: 'pss', hash: 'sha256' },
  PS384: { kind: 'pss', hash: 'sha384' },
  PS512: { kind: 'pss', hash: 'sha512' },
  ES256: { kind: 'ecdsa', curve: 'P-256', digestBytes: 32 },
  ES384: { kind: 'ecdsa', curve: 'P-384', digestBytes: 48 },
  ES512: { kind: 'ecdsa', curve: 'P-521', digestBytes: 64 },
  ES256K: { kind: 'ecdsa', curve: 'P-256K', digestBytes: 32 },
};

// EC keys keep the scalar d itself (a BigInt in a private field, so neither
// inspect nor JSON shows it): ECDSA over a digest is computed in ecdsa.ts,
// which needs it.
type Material =
  | { kty: 'RSA'; privateKey: KeyObject; publicKey: KeyObject; modBits: number }
  | { kty: 'EC'; curve: Curve; d: bigint }
  | { kty: 'oct'; secret: KeyObject; bits: number };

export class UsableKey {
  readonly #m: Material;

  private constructor(material: Material) {
    this.#m = material;
  }

  /** From the private JWK keyraft stored (generateKey or importJwk made it). */
  static fromPrivateJwk(kty: Kty, jwk: PrivateJwk): UsableKey {
    if (jwk?.kty !== kty) throw badParameter(`the JWK is not an ${kty} key`);
    switch (jwk.kty) {
      case 'RSA': {
        const privateKey = nodeKey(() => createPrivateKey({ format: 'jwk', key: toNodeJwk(jwk) }), kty);
        const publicKey = createPublicKey(privateKey);
        return new UsableKey({ kty: 'RSA', privateKey, publicKey, modBits: publicKey.asymmetricKeyDetails?.modulusLength ?? 0 });
      }
      case 'EC': {
        const curve = parseCurve(jwk.crv);
        if (curve === undefined) throw badParameter('unsupported EC curve');
        const dBytes = Buffer.from(jwk.d ?? '', 'base64url');
        const d = bytesToBigInt(dBytes);
        dBytes.fill(0);
        if (d <= 0n || d >= CURVE_ORDER[curve]) throw badParameter(`"d" is not a private scalar of curve ${curve}`);
        return new UsableKey({ kty: 'EC', curve, d });
      }
      case 'oct': {
        const k = Buffer.from(jwk.k ?? '', 'base64url');
        try {
          if (!OCT_KEY_SIZES.includes(k.length * 8)) throw badParameter(`oct key size must be one of ${OCT_KEY_SIZES.join(', ')} bits`);
          return new UsableKey({ kty: 'oct', secret: createSecretKey(k), bits: k.length * 8 });
        } finally {
          k.fill(0);
        }
      }
      default:
        throw badParameter('unknown kty');
    }
  }

  get kty(): Kty {
    return this.#m.kty;
  }

  /** Bits, for RSA and oct keys. */
  get keySize(): number | undefined {
    return this.#m.kty === 'RSA' ? this.#m.modBits : this.#m.kty === 'oct' ? this.#m.bits : undefined;
  }

  get curve(): Curve | undefined {
    return this.#m.kty === 'EC' ? this.#m.curve : undefined;
  }

  async encrypt(alg: string, params: EncryptParams): Promise<OperationResult> {
    const value = requireBytes(params?.value, 'value');
    const iv = optionalBytes(params.iv, 'iv');
    const aad = optionalBytes(params.aad, 'aad');
    if (has(RSA_ENCRYPTION, alg)) {
      noExtras(alg, { iv, aad });
      return { value: this.#rsaEncrypt(alg, value) };
    }
    if (has(AES_GCM, alg)) {
      const secret = this.#aesKey(alg, AES_GCM[alg]!);
      // A repeated (key, IV) pair leaks the XOR of the plaintexts and the
      // GHASH key: only a fresh random IV is safe, so none is taken from outside.
      if (iv !== undefined) throw badParameter(`${alg} Encrypt takes no IV: the vault generates a random one and returns it for Decrypt`);
      const nonce = randomNonSecret(GCM_IV_BYTES);
      const cipher = createCipheriv(GCM_CIPHER[AES_GCM[alg]!]!, secret, nonce, { authTagLength: GCM_TAG_BYTES });
      if (aad !== undefined) cipher.setAAD(aad);
      const out = Buffer.concat([cipher.update(value), cipher.final()]);
      const result: OperationResult = { value: out, iv: nonce, tag: cipher.getAuthTag() };
      if (aad !== undefined) result.aad = aad;
      return result;
    }
    if (has(AES_CBCPAD, alg)) {
      const secret = this.#aesKey(alg, AES_CBCPAD[alg]!);
      noExtras(alg, { aad });
      const civ = iv ?? randomNonSecret(CBC_IV_BYTES);
      if (civ.length !== CBC_IV_BYTES) throw badParameter(`${alg} takes a ${CBC_IV_BYTES}-byte IV, got ${civ.length} bytes`);
      const cipher = createCipheriv(`aes-${AES_CBCPAD[alg]}-cbc`, secret, civ);
      return { value: Buffer.concat([cipher.update(value), cipher.final()]), iv: civ };
    }
    throw unknownAlgorithm(alg, 'encrypt', ENCRYPT_ALGORITHMS);
  }

  async decrypt(alg: string, params: DecryptParams): Promise<OperationResult> {
    const value = requireBytes(params?.value, 'value');
    const iv = optionalBytes(params.iv, 'iv');
    const aad = optionalBytes(params.aad, 'aad');
    const tag = optionalBytes(params.tag, 'tag');
    if (has(RSA_ENCRYPTION, alg)) {
      noExtras(alg, { iv, aad, tag });
      return { value: await this.#rsaDecrypt(alg, value, 'decryption') };
    }
    if (has(AES_GCM, alg)) {
      const secret = this.#aesKey(alg, AES_GCM[alg]!);
      if (iv === undefined || iv.length !== GCM_IV_BYTES) throw badParameter(`${alg} decryption needs the ${GCM_IV_BYTES}-byte IV`);
      if (tag === undefined || tag.length !== GCM_TAG_BYTES) throw badParameter(`${alg} decryption needs the ${GCM_TAG_BYTES}-byte authentication tag`);
      return {
        value: decipher(() => {
          const d = createDecipheriv(GCM_CIPHER[AES_GCM[alg]!]!, secret, iv, { authTagLength: GCM_TAG_BYTES });
          d.setAuthTag(tag);
          if (aad !== undefined) d.setAAD(aad);
          return Buffer.concat([d.update(value), d.final()]);
        }, 'decryption'),
      };
    }
    if (has(AES_CBCPAD, alg)) {
      const secret = this.#aesKey(alg, AES_CBCPAD[alg]!);
      noExtras(alg, { aad, tag });
      if (iv === undefined || iv.length !== CBC_IV_BYTES) throw badParameter(`${alg} decryption needs the ${CBC_IV_BYTES}-byte IV`);
      if (value.length === 0 || value.length % 16 !== 0) throw badParameter(`${alg} ciphertext is a non-zero multiple of 16 bytes`);
      return {
        value: decipher(() => {
          const d = createDecipheriv(`aes-${AES_CBCPAD[alg]}-cbc`, secret, iv);
          return Buffer.concat([d.update(value), d.final()]);
        }, 'decryption'),
      };
    }
    throw unknownAlgorithm(alg, 'decrypt', ENCRYPT_ALGORITHMS);
  }

  async wrapKey(alg: string, keyToWrap: Uint8Array): Promise<OperationResult> {
    const value = requireBytes(keyToWrap, 'value');
    if (has(RSA_ENCRYPTION, alg)) return { value: this.#rsaEncrypt(alg, value) };
    if (has(AES_KW, alg)) {
      const secret = this.#aesKey(alg, AES_KW[alg]!);
      // RFC 3394 wraps whole 64-bit blocks, at least two.
      if (value.length < 16 || value.length % 8 !== 0) throw badParameter(`${alg} wraps a key of 16 bytes or more, a multiple of 8`);
      const cipher = createCipheriv(`id-aes${AES_KW[alg]}-wrap`, secret, KW_IV);
      return { value: Buffer.concat([cipher.update(value), cipher.final()]) };
    }
    throw unknownAlgorithm(alg, 'wrapKey', WRAP_ALGORITHMS);
  }

  async unwrapKey(alg: string, wrapped: Uint8Array): Promise<OperationResult> {
    const value = requireBytes(wrapped, 'value');
    if (has(RSA_ENCRYPTION, alg)) return { value: await this.#rsaDecrypt(alg, value, 'unwrap') };
    if (has(AES_KW, alg)) {
      const secret = this.#aesKey(alg, AES_KW[alg]!);
      if (value.length < 24 || value.length % 8 !== 0) throw badParameter(`${alg} unwraps 24 bytes or more, a multiple of 8`);
      return {
        value: decipher(() => {
          const d = createDecipheriv(`id-aes${AES_KW[alg]}-wrap`, secret, KW_IV);
          return Buffer.concat([d.update(value), d.final()]);
        }, 'unwrap'),
      };
    }
    throw unknownAlgorithm(alg, 'unwrapKey', WRAP_ALGORITHMS);
  }

  /** The signature of a digest the client computed: raw RSA, or JOSE R‖S for ECDSA. */
  async sign(alg: string, digest: Uint8Array): Promise<Buffer> {
    const scheme = this.#scheme(alg, digest);
    const dg = requireBytes(digest, 'digest');
    const m = this.#m;
    if (scheme.kind === 'ecdsa' && m.kty === 'EC') return ecdsaSign(m.curve, m.d, dg, takePresignature(m.curve));
    if (scheme.kind === 'pkcs1' && m.kty === 'RSA') return pkcs1Sign(m.privateKey, scheme.hash, dg);
    if (scheme.kind === 'pss' && m.kty === 'RSA') return pssSign(m.privateKey, m.modBits, scheme.hash, dg);
    throw badAlgorithm(`${alg} is not valid for this key`);
  }

  /**
   * Whether `signature` is a valid signature of `digest`. A wrong algorithm or
   * digest length is the caller's error and throws; a bad signature answers false.
   */
  async verify(alg: string, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const scheme = this.#scheme(alg, digest);
    const dg = requireBytes(digest, 'digest');
    if (!(signature instanceof Uint8Array)) return false;
    const sig = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
    const m = this.#m;
    try {
      if (scheme.kind === 'ecdsa' && m.kty === 'EC') return ecdsaVerify(m.curve, m.d, dg, sig);
      if (scheme.kind === 'pkcs1' && m.kty === 'RSA') return pkcs1Verify(m.publicKey, m.modBits, scheme.hash, dg, sig);
      if (scheme.kind === 'pss' && m.kty === 'RSA') return pssVerify(m.publicKey, m.modBits, scheme.hash, dg, sig);
    } catch {
      return false;
    }
    throw badAlgorithm(`${alg} is not valid for this key`);
  }

  /** A UsableKey never prints or serializes its material. */
  toJSON(): { kty: Kty; keySize?: number; curve?: Curve } {
    const { keySize, curve } = this;
    return { kty: this.kty, ...(keySize !== undefined ? { keySize } : {}), ...(curve !== undefined ? { curve } : {}) };
  }

  [inspect.custom](): string {
    return `UsableKey ${JSON.stringify(this.toJSON())}`;
  }

  #scheme(alg: string, digest: Uint8Array): SignatureScheme {
    const scheme = has(SIGNATURE, alg) ? SIGNATURE[alg] : undefined;
    if (scheme === undefined) throw unknownAlgorithm(alg, 'sign', SIGN_ALGORITHMS);
    const m = this.#m;
    if (scheme.kind === 'ecdsa') {
      if (m.kty !== 'EC') throw badAlgorithm(`${alg} needs an EC key, this is an ${m.kty} key`);
      if (m.curve !== scheme.curve) throw badAlgorithm(`${alg} needs a ${scheme.curve} key, this key is on ${m.curve}`);
    } else if (m.kty !== 'RSA') {
      throw badAlgorithm(`${alg} needs an RSA key, this is an ${m.kty} key`);
    }
    const want = scheme.kind === 'ecdsa' ? scheme.digestBytes : HASH_BYTES[scheme.hash];
    const got = requireBytes(digest, 'digest').length;
    if (got !== want) throw badParameter(`${alg} signs a ${want}-byte digest, got ${got} bytes`);
    return scheme;
  }

  #rsa(alg: string): Extract<Material, { kty: 'RSA' }> {
    if (this.#m.kty !== 'RSA') throw badAlgorithm(`${alg} needs an RSA key, this is an ${this.#m.kty} key`);
    return this.#m;
  }

  #rsaEncrypt(alg: string, value: Buffer): Buffer {
    const m = this.#rsa(alg);
    const spec = RSA_ENCRYPTION[alg]!;
    const max = Math.ceil(m.modBits / 8) - spec.overhead;
    if (value.length > max) throw badParameter(`${alg} takes at most ${max} bytes with a ${m.modBits}-bit key, got ${value.length}`);
    return publicEncrypt({ key: m.publicKey, padding: spec.padding, ...(spec.oaepHash ? { oaepHash: spec.oaepHash } : {}) }, value);
  }

  async #rsaDecrypt(alg: string, value: Buffer, what: 'decryption' | 'unwrap'): Promise<Buffer> {
    const m = this.#rsa(alg);
    if (alg === 'RSA1_5') throw badAlgorithm(RSA1_5_DECRYPT_REFUSED);
    const spec = RSA_ENCRYPTION[alg]!;
    const k = Math.ceil(m.modBits / 8);
    if (value.length !== k) throw badParameter(`${alg} ciphertext is ${k} bytes with a ${m.modBits}-bit key, got ${value.length}`);
    try {
      return await rsaPrivate({ op: 'decrypt', key: m.privateKey, padding: spec.padding, oaepHash: spec.oaepHash!, data: value });
    } catch {
      throw decryptionFailed(what);
    }
  }

  #aesKey(alg: string, bits: number): KeyObject {
    const m = this.#m;
    if (m.kty !== 'oct') throw badAlgorithm(`${alg} needs an oct key, this is an ${m.kty} key`);
    if (m.bits !== bits) throw badAlgorithm(`${alg} needs a ${bits}-bit key, this key has ${m.bits} bits`);
    return m.secret;
  }
}

/** `count` random bytes from OpenSSL's CSPRNG, for GetRandomBytes. */
export function randomBytesFor(count: number): Buffer {
  if (!Number.isInteger(count) || count < 1 || count > 128) throw badParameter('count must be an integer from 1 to 128');
  return randomBytes(count);
}

/** Own keys only: 'toString' in {} is true. */
function has(table: Record<string, unknown>, alg: string): boolean {
  return typeof alg === 'string' && Object.hasOwn(table, alg);
}

function nodeKey(make: () => KeyObject, kty: Kty): KeyObject {
  try {
    return make();
  } catch {
    throw badParameter(`node:crypto refuses the ${kty} key`);
  }
}

function decipher(run: () => Buffer, what: 'decryption' | 'unwrap'): Buffer {
  try {
    return run();
  } catch {
    // Whatever OpenSSL said (bad tag, bad padding, bad OAEP) stays here.
    throw decryptionFailed(what);
  }
}

function requireBytes(value: unknown, name: string): Buffer {
  if (!(value instanceof Uint8Array)) throw badParameter(`${name} must be bytes`);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function optionalBytes(value: unknown, name: string): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  const b = requireBytes(value, name);
  return b.length === 0 ? undefined : b;
}

function noExtras(alg: string, extras: Record<string, Buffer | undefined>): void {
  for (const [name, v] of Object.entries(extras)) {
    if (v !== undefined) throw badParameter(`${alg} takes no ${name}`);
  }
}

function unknownAlgorithm(alg: string, operation: string, known: readonly string[]): CryptoError {
  const shown = typeof alg === 'string' ? JSON.stringify(alg.slice(0, 32)) : `(${typeof alg})`;
  return badAlgorithm(`${shown} is not an algorithm for ${operation}: expected one of ${known.join(', ')}`);
}
