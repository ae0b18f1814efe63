// A leader's read lease (thesis §6.4.1): once a quorum acknowledged a
// heartbeat, no other leader can be elected for a while, so the leader may
// answer linearizable reads from its own state without a round of its own.
//
// Why it holds. Every member that acknowledged the heartbeat refuses to vote
// (CheckQuorum's lease in the core) until an election timeout of its ticks
// has passed since it heard it, and a member that restarts refuses for an
// election timeout too (RaftConfig.quietAfterStart). Ticks come from a
// timer that never fires early, so that is at least (electionTicks - 1)
// tick periods of real time. The lease runs from before the heartbeat was
// sent, for LEASE_SHARE of that: the margin is for clocks that run at
// different rates on different machines (on one machine they are the same
// clock). Only a forced campaign passes a member's refusal: a leadership
// transfer, after which this term's lease never holds again.
//
// What it assumes: no node's monotonic clock stops or slows by more than
// the margin while the others' run. A node whose clock cannot be trusted so
// far sets `leaseReads: false` in the topology: every read then costs a
// ReadIndex round.

/** The share of the members' shortest refusal a lease lasts. */
export const LEASE_SHARE = 0.9;

/** How long a lease lasts, for the core's timing: the shortest refusal in real time, less the margin. */
export function leaseDurationMs(tickMs: number, electionTicks: number): number {
  // A timer may fire up to 1 ms early on the loop's millisecond clock.
  return Math.max(0, (electionTicks - 1) * (tickMs - 1) * LEASE_SHARE);
}

interface Round {
  readonly term: number;
  readonly generation: number;
  readonly sentAt: number;
}

export class ReadLease {
  private term = -1;
  private until = -Infinity;
  /** Moved by revoke(): a round that started before it grants nothing. */
  private generation = 0;
  private round: Round | undefined;

  constructor(readonly durationMs: number) {}

  /** A read round starts now; `leading` says whether this node leads `term`. */
  roundStarted(term: number, leading: boolean, now: number): void {
    this.round = leading ? { term, generation: this.generation, sentAt: now } : undefined;
  }

  /** The round that started last was confirmed by a quorum. */
  roundConfirmed(): void {
    const r = this.round;
    this.round = undefined;
    if (r === undefined || r.generation !== this.generation) return;
    this.term = r.term;
    this.until = r.sentAt + this.durationMs;
  }

  /** The membership changed: the quorum that granted the lease may be one no longer. */
  revoke(): void {
    this.generation++;
    this.round = undefined;
    this.until = -Infinity;
  }

  /** Whether a leader of `term` holds the lease at `now`. */
  holds(term: number, now: number): boolean {
    return term === this.term && now < this.until;
  }

  /** Whether a round should start to extend the lease before it runs out. */
  renewDue(now: number): boolean {
    return this.until - now < this.durationMs / 2;
  }
}
