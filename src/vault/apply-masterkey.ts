// RotateMasterKey: every data key of the state takes its wrapping under the
// new master key. The leader built the command from the data keys it had
// applied; if a data key was installed in between, the command no longer
// covers the state and is refused (on every node alike), so that no data key
// is left wrapped under a master key the cluster is about to drop.

import type { Handler } from './apply-common.js';
import type { RotateMasterKey } from './commands.js';
import { ErrorKind, VaultError, invalid, quote } from './errors.js';

const FINGERPRINT = /^[0-9a-f]{16}$/;
const MAX_WRAPPED_KEY_BYTES = 4096;

const changed = (message: string) => new VaultError(ErrorKind.FailedPrecondition, 'DATA_KEYS_CHANGED', message);

export const rotateMasterKey: Handler = (store, body) => {
  const b = body as Partial<RotateMasterKey>;
  if (typeof b.masterKeyFingerprint !== 'string' || !FINGERPRINT.test(b.masterKeyFingerprint)) {
    throw invalid('BAD_PARAMETER', 'a master key fingerprint is 16 lowercase hex characters');
  }
  if (!Array.isArray(b.keys)) throw invalid('BAD_PARAMETER', 'the rewrapped data keys are missing');
  const rewrapped = new Map<string, Uint8Array>();
  for (const k of b.keys as unknown[]) {
    const { keyId, wrappedKey } = (k ?? {}) as { keyId?: unknown; wrappedKey?: unknown };
    if (typeof keyId !== 'string' || !store.dataKeys.has(keyId) || rewrapped.has(keyId)) {
      throw changed(`the rotation names data key ${quote(keyId)}, which the state does not hold (or names it twice); retry`);
    }
    if (!(wrappedKey instanceof Uint8Array) || wrappedKey.byteLength === 0 || wrappedKey.byteLength > MAX_WRAPPED_KEY_BYTES) {
      throw invalid('BAD_PARAMETER', `a wrapped data key is 1-${MAX_WRAPPED_KEY_BYTES} bytes`);
    }
    rewrapped.set(keyId, wrappedKey);
  }
  if (rewrapped.size !== store.dataKeys.size) {
    throw changed('a data key was installed after the rotation was prepared; retry');
  }
  for (const [keyId, wrapped] of rewrapped) store.rewrapDataKey(keyId, wrapped);
  return { kind: 'none' };
};
