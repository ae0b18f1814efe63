// A leader's appends that carry no entries, mostly a new commit index, wait a
// little before they leave. grpc-js ends a unary reply over two or three
// turns of the event loop (the message, then, once its write completes, the
// trailers that end the call): an announcement sent right after the turn that
// answered woke both followers while the caller still waited for its
// trailers, on fewer cores than processes. Held, it is mostly never sent: the
// next append with entries to the same follower carries a commit index at
// least as new, and replaces it. Raft lets any message be late or lost; a
// follower that needs the commit index for a read gets it with the read's
// heartbeat round.

import type { Message, NodeId } from '../raft/index.js';
import { MessageType } from '../raft/index.js';
import type { Clock, TimerHandle } from './env.js';

export const HOLD_MS = 2;

export const isAnnouncement = (m: Message): boolean => m.type === MessageType.App && m.entries.length === 0;

export class HeldAnnouncements {
  /** The newest held announcement to each follower: a newer one says all an older one did. */
  private readonly held = new Map<NodeId, Message>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly send: (messages: Message[]) => void,
  ) {}

  hold(announcements: readonly Message[]): void {
    for (const m of announcements) this.held.set(m.to, m);
    if (this.timer === undefined && this.held.size > 0) this.timer = this.clock.setTimeout(() => this.release(), HOLD_MS);
  }

  /** Messages about to leave: an append with entries replaces what is held for its follower. */
  leaving(messages: readonly Message[]): void {
    if (this.held.size === 0) return;
    for (const m of messages) if (m.type === MessageType.App && m.entries.length > 0) this.held.delete(m.to);
  }

  /** Drops what is held: the node stops, or stopped leading (a new leader tells its own commit index). */
  drop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.held.clear();
  }

  private release(): void {
    this.timer = undefined;
    const due = [...this.held.values()];
    this.held.clear();
    if (due.length > 0) this.send(due);
  }
}
