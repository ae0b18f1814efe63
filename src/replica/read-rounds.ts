// Linearizable reads in rounds, as etcd's linearizableReadLoop does: one
// ReadIndex round (a heartbeat to a quorum) is in flight at a time, and every
// read that arrives meanwhile joins the next round. A burst of reads then costs
// one round, not one round (and one message per follower) per read.
//
// A round starts on setImmediate, after the I/O callbacks of the current turn
// of the event loop: the requests that arrived together share it. Started at
// once, a single node's round completes within the first request's callback,
// so each read paid for a round of its own (a Ready of the core, about 30 µs).

import { atEndOfTurn } from './end-of-turn.js';
import type { Clock, TimerHandle } from './env.js';

interface PendingRead {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: TimerHandle;
}

interface Round {
  readonly ctx: string;
  readonly reads: Set<PendingRead>;
  readonly sentAt: number;
}

export class ReadRounds {
  private seq = 0;
  /** Reads waiting for the next round. */
  private next = new Set<PendingRead>();
  private current: Round | undefined;
  private readonly startSoon: () => void;
  /** Rounds the leader confirmed, waiting until their index is applied here. */
  private confirmed: { readonly index: number; readonly reads: Set<PendingRead> }[] = [];
  /** A round is wanted even with no read waiting: it renews the read lease. */
  private renewing = false;

  constructor(
    private readonly clock: Clock,
    /** Unique per process life, so that a late answer to an old round is never mistaken for a new one. */
    private readonly prefix: string,
    /** Asks the core for a read index under this context. */
    private readonly startRound: (ctx: Uint8Array) => void,
  ) {
    this.startSoon = atEndOfTurn(clock, () => this.start());
  }

  /** Resolves once a round that started after this call is confirmed and applied. */
  wait(timeoutMs: number, timeoutError: () => Error): Promise<void> {
    return this.pending(timeoutMs, timeoutError, (read) => {
      this.next.add(read);
      this.maybeStart();
    });
  }

  /** Resolves once `index` is applied here: a read the lease serves (src/replica/read-lease.ts). */
  waitApplied(index: number, timeoutMs: number, timeoutError: () => Error): Promise<void> {
    return this.pending(timeoutMs, timeoutError, (read) => this.confirmed.push({ index, reads: new Set([read]) }));
  }

  /** A read that fails with timeoutError() once timeoutMs have passed, put where it waits by `place`. */
  private pending(timeoutMs: number, timeoutError: () => Error, place: (read: PendingRead) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const read: PendingRead = { resolve, reject, timer: this.clock.setTimeout(() => this.fail(read, timeoutError()), timeoutMs) };
      place(read);
    });
  }

  /** Starts a round, if none is on its way, whether or not a read waits. */
  renew(): void {
    if (this.current !== undefined || this.renewing) return;
    this.renewing = true;
    this.startSoon();
  }

  /** A ReadState from the core: the current round may be served at `index`. Says whether it was the current round. */
  confirm(ctx: Uint8Array, index: number): boolean {
    if (this.current === undefined || new TextDecoder().decode(ctx) !== this.current.ctx) return false;
    this.confirmed.push({ index, reads: this.current.reads });
    this.current = undefined;
    this.maybeStart();
    return true;
  }

  /** Serves every confirmed round whose index is applied. */
  applied(appliedIndex: number): void {
    if (this.confirmed.length === 0) return;
    const waiting: typeof this.confirmed = [];
    for (const round of this.confirmed) {
      if (round.index > appliedIndex) {
        waiting.push(round);
        continue;
      }
      for (const r of round.reads) {
        this.clock.clearTimeout(r.timer);
        r.resolve();
      }
    }
    this.confirmed = waiting;
  }

  /**
   * A round unanswered for `staleAfterMs` (the leader changed, or a message
   * was lost) will never be answered: its reads join a fresh round.
   */
  retryStale(now: number, staleAfterMs: number): void {
    if (this.current === undefined || now - this.current.sentAt < staleAfterMs) return;
    for (const r of this.current.reads) this.next.add(r);
    this.current = undefined;
    this.maybeStart();
  }

  failAll(e: Error): void {
    const all = [...this.next, ...(this.current?.reads ?? []), ...this.confirmed.flatMap((c) => [...c.reads])];
    for (const r of all) this.fail(r, e);
  }

  private fail(read: PendingRead, e: Error): void {
    this.next.delete(read);
    this.current?.reads.delete(read);
    for (const c of this.confirmed) c.reads.delete(read);
    this.clock.clearTimeout(read.timer);
    read.reject(e);
  }

  private maybeStart(): void {
    if (this.current === undefined && this.next.size > 0) this.startSoon();
  }

  private start(): void {
    if (this.current !== undefined || (this.next.size === 0 && !this.renewing)) return;
    this.renewing = false;
    const ctx = `${this.prefix}:${++this.seq}`;
    this.current = { ctx, reads: this.next, sentAt: this.clock.now() };
    this.next = new Set();
    this.startRound(new TextEncoder().encode(ctx));
  }
}
