// The primary-health detector of the secondary region's leader, as pure
// bookkeeping: it is told what was seen of the primary (a leader or none, a
// commit index) and when, and asked, given the region's replicated GeoMeta and
// the time, whether the region should change mode. No I/O and no timers: the
// GeoFollower feeds it from its streams and probes, and a test or the
// simulator can feed it any history at any times.

import type { GeoMeta, SecondaryMode } from './geo-state.js';

/** A primary leader unseen for this long breaks the "stable leader" run that failback waits for. */
export const STABLE_GAP_MS = 1000;
/** Entries the secondary may still lack and count as caught up (the primary keeps writing). */
export const CAUGHT_UP_SLACK = 64;

export interface DetectorOptions {
  /** No primary leader seen for longer than this: fail over. */
  readonly failoverAfterMs: number;
  /** A primary leader seen without a gap for this long (and caught up): fail back. */
  readonly failbackAfterMs: number;
}

/** A mode change to propose into the secondary's group. */
export interface Decision {
  readonly mode: SecondaryMode;
  readonly epoch: number;
  readonly reason: string;
}

export class FailoverDetector {
  /** When a primary leader was last seen, and since when without a gap. */
  private leaderSeenAt = 0;
  private leaderSeenSince = 0;
  private primaryCommit = 0;

  constructor(private readonly opts: DetectorOptions) {}

  /** This node begins to lead its region: a new leader gives the primary a full failover period before judging it. */
  startWatching(now: number): void {
    this.leaderSeenAt = now;
  }

  /** What a primary node said at `now` (a follow stream's beat or a probe's answer). */
  observe(hasLeader: boolean, commitIndex: number, now: number): void {
    this.primaryCommit = Math.max(this.primaryCommit, commitIndex);
    if (!hasLeader) return;
    if (now - this.leaderSeenAt > STABLE_GAP_MS) this.leaderSeenSince = now;
    this.leaderSeenAt = now;
  }

  /** The highest commit index seen on a primary node: how far the secondary could be. */
  get primaryCommitSeen(): number {
    return this.primaryCommit;
  }

  /**
   * The mode change due at `now` for a region in state `geo`, if any:
   * FAILED_OVER when no primary leader was seen for failoverAfterMs; STANDBY
   * when a primary leader has been seen without a gap for failbackAfterMs and
   * the region has caught up within CAUGHT_UP_SLACK — never after a manual
   * failover, which only an operator ends.
   */
  decide(geo: GeoMeta, now: number): Decision | undefined {
    if (geo.mode === 'STANDBY' && now - this.leaderSeenAt > this.opts.failoverAfterMs) {
      return { mode: 'FAILED_OVER', epoch: geo.epoch + 1, reason: `no primary leader seen for ${now - this.leaderSeenAt} ms` };
    }
    if (
      geo.mode === 'FAILED_OVER' &&
      !geo.manual &&
      now - this.leaderSeenAt < STABLE_GAP_MS &&
      now - this.leaderSeenSince >= this.opts.failbackAfterMs &&
      this.primaryCommit - geo.cursor <= CAUGHT_UP_SLACK
    ) {
      return { mode: 'STANDBY', epoch: geo.epoch, reason: `primary leader stable for ${now - this.leaderSeenSince} ms and caught up at ${geo.cursor}` };
    }
    return undefined;
  }
}
