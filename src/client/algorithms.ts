// Azure Key Vault's key types, operations, curves and signature algorithms,
// and the digest a Sign or Verify call expects: like Azure, keyraft signs a
// digest the client computed, so the client must pick the matching hash.

import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { clientError } from './errors.js';

export const KEY_TYPES = ['RSA', 'EC', 'oct'] as const;
export const KEY_OPERATIONS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'] as const;
export const KEY_CURVES = ['P-256', 'P-384', 'P-521', 'P-256K'] as const;

export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

const HASHES: Record<string, SignatureHash> = {
  RS256: 'sha256', PS256: 'sha256', ES256: 'sha256', ES256K: 'sha256',
  RS384: 'sha384', PS384: 'sha384', ES384: 'sha384',
  RS512: 'sha512', PS512: 'sha512', ES512: 'sha512',
};

export const SIGNATURE_ALGORITHMS: readonly string[] = Object.keys(HASHES);

/** The hash a signature algorithm (e.g. PS384) signs; undefined for a name that is not one. */
export function signatureHash(algorithm: string): SignatureHash | undefined {
  return Object.hasOwn(HASHES, algorithm) ? HASHES[algorithm] : undefined;
}

/** The digest of `data` that Sign and Verify take for `algorithm`. */
export function digestFor(algorithm: string, data: Uint8Array): Uint8Array {
  const hash = signatureHash(algorithm);
  if (hash === undefined) {
    throw clientError(grpc.status.INVALID_ARGUMENT, 'BAD_ALGORITHM', `${JSON.stringify(algorithm)} is not a signature algorithm (${SIGNATURE_ALGORITHMS.join(', ')})`);
  }
  return createHash(hash).update(data).digest();
}
