// Static checks of the cryptographic operations' requests (Encrypt, Decrypt,
// WrapKey, UnwrapKey, Sign, Verify, GetRandomBytes) with Azure Key Vault's
// algorithm names. What needs the key itself (its type, size, curve and
// operations) is checked once the server has it: checkAlgorithmForKey here,
// VaultState.keyForOperation for the rest.

import { invalid, quote } from './errors.js';
import { validateVaultName, validateVersionRef } from './validate.js';
import { type KeyType, validateKeyName } from './validate-keys.js';

export const MAX_KEY_OPERATION_BYTES = 64 * 1024;
/** A GCM or CBC IV is 12 or 16 bytes and a GCM tag at most 16: these only bound garbage. */
const MAX_IV_BYTES = 64;
const MAX_TAG_BYTES = 16;
/** An RSA-4096 signature is 512 bytes, an ES512 one 132. */
const MAX_SIGNATURE_BYTES = 1024;
export const MIN_RANDOM_BYTES = 1;
export const MAX_RANDOM_BYTES = 128;

/** What each algorithm needs of a key, and what it is for. */
export interface AlgorithmInfo {
  kty: KeyType;
  use: 'encrypt' | 'wrap' | 'sign';
  /** oct: the key size it needs. */
  keySize?: number;
  /** EC: the curve it needs. */
  curve?: string;
  /** Signatures: the digest length it signs, in bytes. */
  digestBytes?: number;
}

const aes = (use: 'encrypt' | 'wrap', keySize: number): AlgorithmInfo => ({ kty: 'oct', use, keySize });
const rsaSig = (digestBytes: number): AlgorithmInfo => ({ kty: 'RSA', use: 'sign', digestBytes });
const ecSig = (curve: string, digestBytes: number): AlgorithmInfo => ({ kty: 'EC', use: 'sign', curve, digestBytes });

export const ALGORITHMS: Readonly<Record<string, AlgorithmInfo>> = Object.freeze({
  'RSA-OAEP': { kty: 'RSA', use: 'encrypt' },
  'RSA-OAEP-256': { kty: 'RSA', use: 'encrypt' },
  RSA1_5: { kty: 'RSA', use: 'encrypt' },
  A128GCM: aes('encrypt', 128),
  A192GCM: aes('encrypt', 192),
  A256GCM: aes('encrypt', 256),
  A128CBCPAD: aes('encrypt', 128),
  A192CBCPAD: aes('encrypt', 192),
  A256CBCPAD: aes('encrypt', 256),
  A128KW: aes('wrap', 128),
  A192KW: aes('wrap', 192),
  A256KW: aes('wrap', 256),
  RS256: rsaSig(32),
  RS384: rsaSig(48),
  RS512: rsaSig(64),
  PS256: rsaSig(32),
  PS384: rsaSig(48),
  PS512: rsaSig(64),
  ES256: ecSig('P-256', 32),
  ES384: ecSig('P-384', 48),
  ES512: ecSig('P-521', 64),
  ES256K: ecSig('P-256K', 32),
});

/** RSA keys encrypt and wrap with the same algorithms. */
const RSA_ENCRYPTION = new Set(['RSA-OAEP', 'RSA-OAEP-256', 'RSA1_5']);
const AES_GCM = new Set(['A128GCM', 'A192GCM', 'A256GCM']);

export function validateAlgorithm(algorithm: unknown): string {
  if (algorithm === '' || algorithm === undefined || algorithm === null) throw invalid('BAD_PARAMETER', 'the algorithm is missing');
  if (typeof algorithm !== 'string' || !Object.hasOwn(ALGORITHMS, algorithm)) {
    throw invalid('BAD_ALGORITHM', `algorithm ${quote(algorithm)} is not one of ${Object.keys(ALGORITHMS).join(', ')}`);
  }
  return algorithm;
}

/** For the crypto layer, once it has the key: the algorithm must fit the key's type, size or curve. */
export function checkAlgorithmForKey(algorithm: string, key: { kty: string; keySize: number; curve: string }): AlgorithmInfo {
  const info = ALGORITHMS[validateAlgorithm(algorithm)]!;
  if (info.kty !== key.kty) throw invalid('BAD_ALGORITHM', `algorithm ${algorithm} needs an ${info.kty} key, not ${quote(key.kty)}`);
  if (info.keySize !== undefined && info.keySize !== key.keySize) {
    throw invalid('BAD_ALGORITHM', `algorithm ${algorithm} needs a ${info.keySize}-bit key, not ${key.keySize} bits`);
  }
  if (info.curve !== undefined && info.curve !== key.curve) {
    throw invalid('BAD_ALGORITHM', `algorithm ${algorithm} needs a key on curve ${info.curve}, not ${quote(key.curve)}`);
  }
  return info;
}

function bytes(field: string, v: unknown, max: number): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array();
  if (!(v instanceof Uint8Array)) throw invalid('BAD_PARAMETER', `${field} must be bytes`);
  if (v.byteLength > max) throw invalid('BAD_PARAMETER', `${field} is ${v.byteLength} bytes; the limit is ${max}`);
  return v;
}

interface KeyUseRequest {
  vault: string;
  name: string;
  version?: string;
  algorithm: string;
}

function keyUse(req: KeyUseRequest) {
  return {
    vault: validateVaultName(req.vault),
    name: validateKeyName(req.name),
    version: validateVersionRef(req.version ?? ''),
    algorithm: validateAlgorithm(req.algorithm),
  };
}

export interface KeyOperationRequest extends KeyUseRequest {
  value?: Uint8Array;
  iv?: Uint8Array;
  aad?: Uint8Array;
  tag?: Uint8Array;
}

export type CipherOp = 'encrypt' | 'decrypt' | 'wrapKey' | 'unwrapKey';

/**
 * Encrypt, Decrypt, WrapKey, UnwrapKey. Given `op`, the algorithm must also
 * be one for that operation; RSA1_5 only encrypts and wraps, because Node.js
 * disables PKCS#1 v1.5 private decryption (the Marvin attack).
 */
export function validateKeyOperationRequest(req: KeyOperationRequest, op?: CipherOp) {
  const use = keyUse(req);
  const info = ALGORITHMS[use.algorithm]!;
  const iv = bytes('iv', req.iv, MAX_IV_BYTES);
  // GCM with a repeated (key, IV) pair gives away the XOR of the plaintexts
  // and the key to forge tags; a caller cannot be trusted never to repeat
  // one, so, like Azure Key Vault, the vault alone picks a GCM Encrypt's IV.
  if (op === 'encrypt' && AES_GCM.has(use.algorithm) && iv.byteLength > 0) {
    throw invalid('BAD_PARAMETER', `${use.algorithm} Encrypt takes no IV: the vault generates a random one and returns it for Decrypt`);
  }
  if (op !== undefined) {
    const wrap = op === 'wrapKey' || op === 'unwrapKey';
    const fits = info.use === (wrap ? 'wrap' : 'encrypt') || (wrap && RSA_ENCRYPTION.has(use.algorithm));
    if (!fits) throw invalid('BAD_ALGORITHM', `algorithm ${use.algorithm} cannot ${op}`);
    if (use.algorithm === 'RSA1_5' && (op === 'decrypt' || op === 'unwrapKey')) {
      throw invalid(
        'BAD_ALGORITHM',
        `RSA1_5 cannot ${op}: Node.js disables PKCS#1 v1.5 private decryption because of the Marvin attack; use RSA-OAEP or RSA-OAEP-256`,
      );
    }
  }
  return {
    ...use,
    value: bytes('value', req.value, MAX_KEY_OPERATION_BYTES),
    iv,
    aad: bytes('aad', req.aad, MAX_KEY_OPERATION_BYTES),
    tag: bytes('tag', req.tag, MAX_TAG_BYTES),
  };
}

export interface SignRequest extends KeyUseRequest {
  digest?: Uint8Array;
}

/** Like Azure, Sign takes a digest the client computed: its length must match the algorithm's hash. */
export function validateSignRequest(req: SignRequest) {
  const use = keyUse(req);
  const info = ALGORITHMS[use.algorithm]!;
  if (info.use !== 'sign') throw invalid('BAD_ALGORITHM', `algorithm ${use.algorithm} does not sign`);
  const digest = bytes('digest', req.digest, 64);
  if (digest.byteLength !== info.digestBytes) {
    throw invalid('BAD_PARAMETER', `a ${use.algorithm} digest is ${info.digestBytes} bytes, got ${digest.byteLength}`);
  }
  return { ...use, digest };
}

export interface VerifyRequest extends SignRequest {
  signature?: Uint8Array;
}

export function validateVerifyRequest(req: VerifyRequest) {
  const signed = validateSignRequest(req);
  const signature = bytes('signature', req.signature, MAX_SIGNATURE_BYTES);
  if (signature.byteLength === 0) throw invalid('BAD_PARAMETER', 'the signature is empty');
  return { ...signed, signature };
}

export interface GetRandomBytesRequest {
  count?: number;
}

export function validateGetRandomBytesRequest(req: GetRandomBytesRequest) {
  const count = req.count;
  if (!Number.isInteger(count) || (count as number) < MIN_RANDOM_BYTES || (count as number) > MAX_RANDOM_BYTES) {
    throw invalid('BAD_PARAMETER', `count must be ${MIN_RANDOM_BYTES}-${MAX_RANDOM_BYTES}, got ${quote(count)}`);
  }
  return { count: count as number };
}
