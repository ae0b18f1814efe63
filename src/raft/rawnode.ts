// The host's handle on the core: inputs go in through the methods below, and
// everything the host must do comes back as one Ready batch at a time.

import type { ConfChange } from './confchange.js';
import { ProgressState } from './progress.js';
import { Raft, type PersistedState, type RaftConfig } from './raft.js';
import type { ConfState, Entry, HardState, Message, NodeId, Ready, Snapshot, SoftState } from './types.js';
import { MessageType, NONE, StateRole, invariant, message } from './types.js';

/**
 * The part of Status that costs no copies (etcd's BasicStatus): cheap enough
 * to read for every message, as the host does to check a peer's claims.
 */
export interface BasicStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly lead: NodeId;
  readonly role: StateRole;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
}

export interface Status extends BasicStatus {
  readonly firstIndex: number;
  readonly conf: ConfState;
  /** Leader only: each member's matched index. */
  readonly progress: ReadonlyMap<NodeId, { match: number; next: number; state: string; isLearner: boolean }>;
  readonly leadTransferee: NodeId;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** A leader's voting followers, as a host weighs them before sending (see followerReplication). */
export interface FollowerReplication {
  /** How many of them must hold an entry, besides the leader, for it to commit. */
  readonly needed: number;
  readonly followers: readonly { readonly id: NodeId; readonly match: number; readonly next: number; readonly replicating: boolean }[];
}

export class RawNode {
  /** The core itself: hosts read it through the accessors below, never its fields. */
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  /** What the Ready handed out last, so that advance() can acknowledge it. */
  private outstanding: Ready | undefined;

  constructor(config: RaftConfig, persisted: PersistedState) {
    this.raft = new Raft(config, persisted);
    this.prevSoft = this.softState();
    this.prevHard = this.raft.hardState;
    this.raft.assertInvariants();
  }

  // ---- Inputs ----

  tick(): void {
    this.raft.tick();
    this.raft.assertInvariants();
  }

  /** A message from a peer. Local message types are refused: use the methods. */
  step(m: Message): void {
    const local =
      m.type === MessageType.Hup ||
      m.type === MessageType.Beat ||
      m.type === MessageType.SnapStatus ||
      m.type === MessageType.Unreachable;
    invariant(!local, `${m.type} is local: it does not come from the network`);
    // A response from a node we do not know is noise (it may have been removed).
    this.raft.step(m);
    this.raft.assertInvariants();
  }

  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup, from: this.raft.id }));
    this.raft.assertInvariants();
  }

  /**
   * Throws ProposalDropped when this node cannot take proposals now, and its
   * kind UncommittedLimitExceeded when too much is waiting to commit.
   */
  propose(...data: Uint8Array[]): void {
    this.raft.propose(data);
    this.raft.assertInvariants();
  }

  proposeConfChange(cc: ConfChange): void {
    this.raft.proposeConfChange(cc);
    this.raft.assertInvariants();
  }

  /** Applies a committed conf change entry's change; call it while applying that entry. */
  applyConfChange(cc: ConfChange): ConfState {
    const conf = this.raft.applyConfChange(cc);
    this.raft.assertInvariants();
    return conf;
  }

  /**
   * Asks for a linearizable read point; it comes back as a ReadState with the
   * same context (unique per request: it is the request's identity).
   */
  readIndex(context: Uint8Array): void {
    invariant(context.length > 0, 'a read needs a non-empty context');
    this.raft.step(message({ type: MessageType.ReadIndex, from: NONE, context }));
    this.raft.assertInvariants();
  }

  transferLeadership(to: NodeId): void {
    this.raft.step(message({ type: MessageType.TransferLeader, from: to }));
    this.raft.assertInvariants();
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: MessageType.Unreachable, from: id }));
    this.raft.assertInvariants();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(message({ type: MessageType.SnapStatus, from: id, reject: !ok }));
    this.raft.assertInvariants();
  }

  /**
   * The host made `snapshot` of its applied state (and persisted it): the log
   * up to its index can go.
   */
  compact(snapshot: Snapshot): void {
    this.raft.log.compact(snapshot);
    this.raft.assertInvariants();
  }

  // ---- Output ----

  hasReady(): boolean {
    const r = this.raft;
    return (
      r.hasBroadcastPending ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.pendingSnapshot !== undefined ||
      r.log.hasEntriesToPersist ||
      r.log.hasNextCommittedEntries() ||
      !sameHardState(r.hardState, this.prevHard) ||
      this.softChanged()
    );
  }

  ready(): Ready {
    invariant(this.outstanding === undefined, 'ready() called again before advance()');
    const r = this.raft;
    r.flushBroadcast();
    const soft = this.softState();
    const entries = r.log.entriesToPersist();
    const lastEntry = entries[entries.length - 1];
    if (lastEntry !== undefined) r.log.persistingTo(lastEntry.index);
    // Every entry is handed out to persist with or before any commit index
    // that covers it, and a host writes in order, so a disk's commit is
    // never beyond its log, even while a leader's writes are in flight.
    const hard = r.hardState;
    const snapshot = r.log.pendingSnapshot;
    const committedEntries = r.log.nextCommittedEntries(r.cfg.maxCommittedBytesPerReady);
    const rd: Ready = {
      softState: this.softChanged() ? soft : undefined,
      hardState: sameHardState(hard, this.prevHard) ? undefined : hard,
      snapshot,
      entries,
      committedEntries,
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || snapshot !== undefined || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
    };
    r.msgs = [];
    r.readStates = [];
    r.log.pendingSnapshot = undefined;
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      // So the applied state a host writes is never ahead of the log it writes before it.
      invariant(lastCommitted.index <= r.log.persisting, `entry ${lastCommitted.index} handed out for applying before it was handed out to persist`);
      r.log.applyingTo(lastCommitted.index);
    }
    this.prevSoft = soft;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    this.outstanding = rd;
    return rd;
  }

  /**
   * Takes the heartbeats made since the last Ready, for the host to send
   * while it is still busy with that Ready (applying a large batch). They
   * need nothing persisted first: a leader's term is on disk since its
   * election, and the commit index it tells a follower is a quorum's fact.
   * Held back, they would wait for the whole Ready.
   */
  takeHeartbeats(): Message[] {
    const r = this.raft;
    const beats = r.msgs.filter((m) => m.type === MessageType.Heartbeat);
    if (beats.length > 0) r.msgs = r.msgs.filter((m) => m.type !== MessageType.Heartbeat);
    return beats;
  }

  /**
   * The host sent and applied everything in the last Ready, and persisted
   * it, unless `persistLater`: a leader may go on to the next Ready while its
   * write is on its way to disk (etcd's asynchronous storage writes), and
   * calls persisted() when it is there. Its own copy counts towards
   * commitment only then. Never for a snapshot, and never for a node that
   * is not leading: a follower's messages promise what it persisted.
   */
  advance(persistLater = false): void {
    const rd = this.outstanding;
    invariant(rd !== undefined, 'advance() without a ready()');
    invariant(!persistLater || rd.snapshot === undefined, 'a snapshot is persisted before advance()');
    this.outstanding = undefined;
    const r = this.raft;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined && !persistLater) {
      r.log.stableTo(last.index, last.term);
      r.ownEntriesPersisted();
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (rd.snapshot !== undefined) r.appliedTo(Math.max(rd.snapshot.meta.index, r.log.applied));
    if (lastCommitted !== undefined) r.appliedTo(lastCommitted.index);
    r.assertInvariants();
  }

  /** A write that advance(true) left to the host is on disk: entries through (index, term), and the hard state of its Ready. */
  persisted(index: number, term: number): void {
    this.raft.log.stableTo(index, term);
    this.raft.ownEntriesPersisted();
    this.raft.assertInvariants();
  }

  // ---- What a host reads (no copies) ----

  get term(): number {
    return this.raft.term;
  }

  get role(): StateRole {
    return this.raft.role;
  }

  get lead(): NodeId {
    return this.raft.lead;
  }

  get lastIndex(): number {
    return this.raft.log.lastIndex;
  }

  get committed(): number {
    return this.raft.log.committed;
  }

  /** Leader: whether a leadership transfer was asked for in this term. */
  get transferAsked(): boolean {
    return this.raft.transferAsked;
  }

  /** The last index of the log this node has on disk. */
  get persistedIndex(): number {
    return this.raft.log.stable;
  }

  /**
   * Leader, in a configuration that is not joint, with no leadership transfer
   * under way: each voting follower's acknowledged index, the next index to
   * send it, and whether it is in the optimistic (replicate) state. undefined
   * otherwise.
   */
  followerReplication(): FollowerReplication | undefined {
    const r = this.raft;
    const { incoming, outgoing } = r.voters;
    if (r.role !== StateRole.Leader || outgoing.size > 0 || r.leadTransferee !== NONE || !incoming.has(r.id)) return undefined;
    const followers = [];
    for (const id of incoming) {
      const pr = r.progress.get(id);
      if (id === r.id || pr === undefined) continue;
      followers.push({ id, match: pr.match, next: pr.next, replicating: pr.state === ProgressState.Replicate });
    }
    return { needed: Math.floor(incoming.size / 2), followers };
  }

  /** The first index still in the log (after the compaction point). */
  get firstIndex(): number {
    return this.raft.log.firstIndex;
  }

  /** The term of the entry at index, or undefined when compacted or not yet appended. */
  termAt(index: number): number | undefined {
    return this.raft.log.term(index);
  }

  /** Entries [lo, hi) of the log; lo must not be compacted. */
  entries(lo: number, hi: number): Entry[] {
    return this.raft.log.slice(lo, hi);
  }

  basicStatus(): BasicStatus {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      lead: r.lead,
      role: r.role,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex,
    };
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, { match: number; next: number; state: string; isLearner: boolean }>();
    if (r.role === StateRole.Leader) {
      for (const [id, pr] of r.progress) progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner });
    }
    return {
      ...this.basicStatus(),
      firstIndex: r.log.firstIndex,
      conf: r.confState,
      progress,
      leadTransferee: r.leadTransferee,
    };
  }

  private softState(): SoftState {
    return { lead: this.raft.lead, role: this.raft.role };
  }

  private softChanged(): boolean {
    const s = this.softState();
    return s.lead !== this.prevSoft.lead || s.role !== this.prevSoft.role;
  }
}
