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
  /** When this node began to lead: the primary gets a full failover period from then. */
  private watchingSince = 0;
  /** When a primary leader was last seen since then, and since when without a gap (undefined: not yet). */
  private leaderSeenAt: number | undefined;
  private leaderSeenSince: number | undefined;
  private primaryCommit = 0;
  /** Whether a primary node told its commit index since this node began to lead. */
  private commitSeen = false;
  /** When this node's loop last ran, and how long it was stalled since the last sign of a primary leader. */
  private lastTickAt: number | undefined;
  private blindMs = 0;

  constructor(private readonly opts: DetectorOptions) {}

  /**
   * This node begins to lead its region. A new leader gives the primary a
   * full failover period before judging it, and judges a failback only on
   * what it sees itself: a stable run of a primary leader and the primary's
   * commit index (what an earlier term of its leadership saw is stale).
   */
  startWatching(now: number): void {
    this.watchingSince = now;
    this.leaderSeenAt = undefined;
    this.leaderSeenSince = undefined;
    this.commitSeen = false;
    this.blindMs = 0;
  }

  /**
   * This node's loop, due every `everyMs`, ran at `now`. Returns how late it
   * ran if that was more than a period (else 0): time in which this node (its
   * whole process, or the machine) was stalled, so that it could neither send probes
   * nor read their answers. That time does not count as the primary's
   * silence: a stall of the whole machine longer than failoverAfterMs (seen
   * once in 54 nemesis runs: 6.6 s, every process of both regions) otherwise
   * fails over from a healthy primary, because this loop runs before the
   * answers that waited in the sockets are read.
   */
  tick(now: number, everyMs: number): number {
    const late = this.lastTickAt === undefined ? 0 : now - this.lastTickAt - everyMs;
    this.lastTickAt = now;
    if (late <= everyMs) return 0;
    this.blindMs += late;
    return late;
  }

  /**
   * What a primary node said at `now` (a follow stream's beat or a probe's
   * answer). Returns, when it ends one, how long no primary leader was seen
   * (the margin failoverAfterMs keeps over the primary's elections).
   */
  observe(hasLeader: boolean, commitIndex: number, now: number): number | undefined {
    this.primaryCommit = Math.max(this.primaryCommit, commitIndex);
    this.commitSeen = true;
    if (!hasLeader) return undefined;
    const gap = this.leaderSeenAt === undefined ? undefined : now - this.leaderSeenAt;
    if (gap === undefined || gap > STABLE_GAP_MS) this.leaderSeenSince = now;
    this.leaderSeenAt = now;
    this.blindMs = 0;
    return gap;
  }

  /** The highest commit index seen on a primary node: how far the secondary could be. */
  get primaryCommitSeen(): number {
    return this.primaryCommit;
  }

  /**
   * The mode change due at `now` for a region in state `geo`, if any:
   * FAILED_OVER when no primary leader was seen for failoverAfterMs while
   * this node could see (its own stalls do not count); STANDBY
   * when a primary leader has been seen without a gap for failbackAfterMs and
   * the region has caught up within CAUGHT_UP_SLACK — never after a manual
   * failover, which only an operator ends.
   */
  decide(geo: GeoMeta, now: number): Decision | undefined {
    const lastSign = Math.max(this.watchingSince, this.leaderSeenAt ?? 0);
    const unseenMs = now - lastSign - this.blindMs;
    if (geo.mode === 'STANDBY' && unseenMs > this.opts.failoverAfterMs) {
      const stalled = this.blindMs > 0 ? ` (and ${this.blindMs} ms stalled)` : '';
      return { mode: 'FAILED_OVER', epoch: geo.epoch + 1, reason: `no primary leader seen for ${unseenMs} ms${stalled}` };
    }
    const seenAt = this.leaderSeenAt;
    const since = this.leaderSeenSince;
    if (
      geo.mode === 'FAILED_OVER' &&
      !geo.manual &&
      seenAt !== undefined &&
      since !== undefined &&
      now - seenAt < STABLE_GAP_MS &&
      now - since >= this.opts.failbackAfterMs &&
      this.commitSeen &&
      this.primaryCommit - geo.cursor <= CAUGHT_UP_SLACK
    ) {
      return { mode: 'STANDBY', epoch: geo.epoch, reason: `primary leader stable for ${now - since} ms and caught up at ${geo.cursor}` };
    }
    return undefined;
  }
}
