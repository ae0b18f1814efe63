// A leader of three commits an entry once one follower holds it, yet every
// write woke both followers: two appends, two fsyncs, two acknowledgements
// and two applies per write, on a machine whose cores the leader and its
// callers share. So while enough followers to commit are caught up (they
// acknowledged all they were sent before this write), the appends to the
// others wait HOLD_APPENDS_MS and then leave together: each of those
// followers writes, acknowledges and applies a run of writes at once. At one
// call at a time this took 14 % of a three-node cluster's CPU per SetSecret.
//
// Raft lets any message be late, so this is never a question of safety, only
// of speed: a follower a commit waits on is never held. Once the caught-up
// followers are too few (one is down, slow, or just has appends in flight,
// as under load), nothing waits, and what was held leaves first. Followers
// that are catching up (not replicating) and learners are never held.

import type { FollowerReplication, Message, NodeId } from '../raft/index.js';
import { MessageType } from '../raft/index.js';
import type { Clock, TimerHandle } from './env.js';

export const HOLD_APPENDS_MS = 10;

const NONE_WAIT: ReadonlySet<NodeId> = new Set();

/**
 * The voting followers whose appends may wait: all but the first `needed`
 * caught-up ones (by id, so that the choice is stable), or none when fewer
 * are caught up. `fresh` is how many entries the messages about to leave
 * added to the log: an append of those alone to a follower still counts it
 * caught up.
 */
export function followersThatMayWait(view: FollowerReplication | undefined, fresh: number): ReadonlySet<NodeId> {
  if (view === undefined || view.needed === 0) return NONE_WAIT;
  const caughtUp = view.followers
    .filter((f) => f.replicating && f.next - 1 - f.match <= fresh)
    .map((f) => f.id)
    .sort();
  if (caughtUp.length < view.needed) return NONE_WAIT;
  const prompt = new Set(caughtUp.slice(0, view.needed));
  return new Set(view.followers.filter((f) => f.replicating && !prompt.has(f.id)).map((f) => f.id));
}

export class HeldAppends {
  /** Appends waiting, in the order they were made (per follower, the order Raft sent them). */
  private held: Message[] = [];
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly send: (messages: Message[]) => void,
  ) {}

  /**
   * Of `messages`, returns those that leave now, and holds the appends to
   * followers in `mayWait`. What was held for a follower that may no longer
   * wait comes first, so that it gets its appends in order.
   */
  route(messages: readonly Message[], mayWait: ReadonlySet<NodeId>): readonly Message[] {
    if (this.held.length === 0 && mayWait.size === 0) return messages;
    const now: Message[] = [];
    if (this.held.length > 0) {
      const stay: Message[] = [];
      for (const m of this.held) (mayWait.has(m.to) ? stay : now).push(m);
      this.held = stay;
    }
    for (const m of messages) (m.type === MessageType.App && mayWait.has(m.to) ? this.held : now).push(m);
    if (this.held.length === 0) this.stopTimer();
    else this.timer ??= this.clock.setTimeout(() => this.release(), HOLD_APPENDS_MS);
    return now;
  }

  /** Drops what is held: the node stops, or stopped leading (its appends no longer matter). */
  drop(): void {
    this.stopTimer();
    this.held = [];
  }

  private stopTimer(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private release(): void {
    this.timer = undefined;
    const due = this.held;
    this.held = [];
    if (due.length > 0) this.send(due);
  }
}
