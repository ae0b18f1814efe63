// The callers waiting on the entries this node proposed, by log index: each
// hears its result once its entry is applied here, or why it never will be
// (its deadline passed, another leader's entry took its index, the node
// stepped down, installed a snapshot over it, or stopped).

import type { Entry } from '../raft/index.js';
import type { Clock, TimerHandle } from './env.js';
import { ReplicaError } from './errors.js';

interface Waiter {
  /** The term the entry was proposed in: an entry applied at its index in another term is not it. */
  readonly term: number;
  readonly resolve: (result: never) => void;
  readonly reject: (e: Error) => void;
  readonly timer: TimerHandle;
}

export class ProposalWaiters {
  private readonly waiting = new Map<number, Waiter>();

  constructor(
    private readonly clock: Clock,
    /** `applied`, or the ReplicaError reason a proposal failed with. */
    private readonly outcome: (outcome: string) => void,
  ) {}

  /** Waits for the entry proposed at `index` in `term`; fails with deadlineError() after timeoutMs. */
  wait<T>(index: number, term: number, timeoutMs: number, deadlineError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => this.fail(index, deadlineError()), timeoutMs);
      this.waiting.set(index, { term, resolve, reject, timer });
    });
  }

  /** `entry` was applied with `result`: its proposer hears it, or hears that another entry took its place. */
  applied(entry: Entry, result: unknown): void {
    const w = this.waiting.get(entry.index);
    if (w === undefined) return;
    if (w.term !== entry.term) {
      this.fail(entry.index, new ReplicaError('PROPOSAL_LOST', 'leadership changed before the write was committed; it was not applied'));
      return;
    }
    this.waiting.delete(entry.index);
    this.clock.clearTimeout(w.timer);
    this.outcome('applied');
    w.resolve(result as never);
  }

  failUpTo(index: number, e: Error): void {
    for (const i of this.waiting.keys()) if (i <= index) this.fail(i, e);
  }

  failAll(e: Error): void {
    for (const i of this.waiting.keys()) this.fail(i, e);
  }

  private fail(index: number, e: Error): void {
    const w = this.waiting.get(index);
    if (w === undefined) return;
    this.waiting.delete(index);
    this.clock.clearTimeout(w.timer);
    this.outcome(e instanceof ReplicaError ? e.reason : 'error');
    w.reject(e);
  }
}
