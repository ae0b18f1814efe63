// Per-vault throttling (issue 19): a token bucket per vault and class on the
// node that serves the call, with Azure Key Vault's classes and weights
// (throttle-classes.ts). Each node counts what it serves itself: the
// primary's leader the writes, every serving node its reads and crypto, a
// FAILED_OVER secondary what it serves; a STANDBY secondary forwards and
// counts nothing.

import { permissionFor } from '../auth/index.js';
import { TokenBucket } from './token-bucket.js';
import { type ThrottleClass, type ThrottleLimits, costOf, keyTypeName, throttleClassOf } from './throttle-classes.js';

/** The type of a key version, from the node's applied state; undefined when there is none. */
export type KeyTypeLookup = (vault: string, name: string, version: string) => { kty: string; keySize: number; curve: string } | undefined;

export interface Throttled {
  readonly retryAfterMs: number;
  readonly message: string;
}

/** Buckets kept before full ones (no different from new ones) are dropped: requests may name any vault. */
const SWEEP_ABOVE = 10_000;

const CLASS_NAMES: Record<ThrottleClass, string> = {
  secrets: 'secrets and vault transactions',
  keyCreate: 'key creations',
  keys: 'key transactions (weighted by key type)',
};

const str = (r: Record<string, unknown>, k: string): string => (typeof r[k] === 'string' ? (r[k] as string) : '');

export class VaultThrottle {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly keyTypeOf: KeyTypeLookup,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /**
   * Takes the call's cost from its vault's bucket of its class; undefined
   * when the call may go (or has no per-vault limit), else how long to wait.
   * A refused call takes nothing.
   */
  take(path: string, request: unknown): Throttled | undefined {
    const cls = throttleClassOf(path);
    const vault = cls === undefined ? undefined : permissionFor(path)?.vaultOf(request);
    if (cls === undefined || vault === undefined) return undefined;
    const r = request as Record<string, unknown>;
    const key = cls === 'keys' ? this.keyTypeOf(vault, str(r, 'name'), str(r, 'version')) : undefined;
    const { budget, cost } = costOf(this.limits, cls, key === undefined ? undefined : keyTypeName(key));
    const now = this.nowMs();
    const id = `${cls}/${vault.toLowerCase()}`;
    let bucket = this.buckets.get(id);
    if (bucket === undefined) {
      if (this.buckets.size >= SWEEP_ABOVE) this.sweep(now);
      bucket = new TokenBucket(budget, this.limits.windowMs, now);
      this.buckets.set(id, bucket);
    }
    const waitMs = bucket.take(cost, now);
    if (waitMs === 0) return undefined;
    const retryAfterMs = Math.ceil(waitMs);
    return {
      retryAfterMs,
      message: `vault ${vault} is over its limit of ${budget} ${CLASS_NAMES[cls]} per ${this.limits.windowMs / 1000} s on this node; retry after ${retryAfterMs} ms`,
    };
  }

  private sweep(now: number): void {
    for (const [id, bucket] of this.buckets) if (bucket.full(now)) this.buckets.delete(id);
  }
}
