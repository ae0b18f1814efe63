// keyraft.v1 objects as the REST tests' fake backends answer with them.

import type { KeyProperties } from '../../src/client/types.js';

export const ALL_KEY_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];

/** A key version's properties as keyraft gives them: enabled, no nbf or exp, recoverable for 90 days, created and updated at `created`. */
export function keyProperties(vault: string, name: string, version: string, kty: string, created: number, over: Partial<KeyProperties> = {}): KeyProperties {
  return {
    vault,
    name,
    version,
    kid: `keyraft://${vault}/keys/${name}/${version}`,
    kty,
    keySize: kty === 'RSA' ? 2048 : kty === 'oct' ? 256 : 0,
    curve: kty === 'EC' ? 'P-256' : '',
    keyOps: kty === 'EC' ? ['sign', 'verify'] : ALL_KEY_OPS,
    enabled: true,
    notBefore: 0,
    expires: 0,
    created,
    updated: created,
    tags: {},
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
    exportable: false,
    ...over,
  };
}
