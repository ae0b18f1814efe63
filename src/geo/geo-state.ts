// The secondary region's replicated view of the primary: how far into the
// primary's log it has applied (the cursor), and its mode — STANDBY while the
// primary serves, FAILED_OVER after the secondary's group committed a
// failover. Every secondary node applies the same GeoEntries, so all agree.

export type SecondaryMode = 'STANDBY' | 'FAILED_OVER';

export interface GeoMeta {
  /** The highest primary log index applied here. */
  cursor: number;
  /** The primary's clock when that entry was applied there (for the lag in ms). */
  appliedAtMs: number;
  mode: SecondaryMode;
  /** Bumped at each failover. */
  epoch: number;
  lastTransitionMs: number;
  lastTransitionReason: string;
  /** Failed over by an operator: automatic failback waits for a manual one. */
  manual: boolean;
  /** The primary snapshot being received part by part ('' when none). */
  staging: string;
}

export const GEO_META_KEY = 'geo/meta';

/**
 * Every group starts from a bootstrap snapshot at index 1 holding the empty
 * state (src/raft bootstrapState), so an empty secondary reflects primary index 1.
 */
export const BOOTSTRAP_INDEX = 1;

export function initialGeoMeta(): GeoMeta {
  return { cursor: BOOTSTRAP_INDEX, appliedAtMs: 0, mode: 'STANDBY', epoch: 0, lastTransitionMs: 0, lastTransitionReason: '', manual: false, staging: '' };
}

export function encodeGeoMeta(m: GeoMeta): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m));
}

export function decodeGeoMeta(bytes: Uint8Array): GeoMeta {
  return { ...initialGeoMeta(), ...(JSON.parse(new TextDecoder().decode(bytes)) as Partial<GeoMeta>) };
}

/** Geo bookkeeping, and a primary snapshot being staged: not vault records. */
export function isGeoRecord(key: string): boolean {
  return key.startsWith('geo/');
}

export const GEO_STAGE_PREFIX = 'geo/stage/';
