// When the active data key should be replaced: after it has sealed N values
// or has been active for T ms, whichever comes first. Counting happens in
// apply (Store.countSealedWrite), from the commands alone, so every node of
// both regions holds the same figures; only the primary's leader acts on them.

import type { Store } from './store.js';

export interface DataKeyPolicy {
  /** Values sealed under one data key before the next write gets a new one. */
  readonly rotateAfterWrites: number;
  /** How long one data key stays active, by the leaders' stamped clocks. */
  readonly rotateAfterMs: number;
}

/**
 * A million values and 30 days: far below AES-GCM's 2^32 random-IV bound
 * (NIST SP 800-38D) and often enough that a leaked data key exposes a month.
 */
export const DEFAULT_DATA_KEY_POLICY: DataKeyPolicy = { rotateAfterWrites: 1_000_000, rotateAfterMs: 30 * 86_400_000 };

export interface DataKeyUsage {
  keyId: string;
  installedMs: number;
  writes: number;
}

/** The active data key's figures, or undefined before the first key. */
export function activeDataKeyUsage(store: Store): DataKeyUsage | undefined {
  const keyId = store.activeDataKeyId();
  if (keyId === undefined) return undefined;
  const { installedMs, writes } = store.dataKeys.get(keyId)!;
  return { keyId, installedMs, writes };
}

/**
 * Whether a write at nowMs should first install a new data key. A key from
 * before install times were kept (installedMs 0) is due by writes only: its
 * age is not known.
 */
export function rotationDue(usage: DataKeyUsage | undefined, policy: DataKeyPolicy, nowMs: number): boolean {
  if (usage === undefined) return false;
  if (usage.writes >= policy.rotateAfterWrites) return true;
  return usage.installedMs > 0 && nowMs - usage.installedMs >= policy.rotateAfterMs;
}
