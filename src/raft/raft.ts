// The Raft state machine: elections (§5.2, with PreVote and CheckQuorum from
// the thesis §9.6) and log replication (§5.3, §5.4). It reacts to ticks,
// messages and proposals, and leaves what it wants done in `msgs` and its
// log's cursors; RawNode turns that into Ready batches.
//
// Three concerns live in modules of their own, each owned by this class and
// given a narrow host view of it: ReadIndex (§6.4) in readonly.ts,
// leadership transfer (§3.10) in transfer.ts and membership changes (§4, §6)
// in membership.ts. This class routes messages and ticks to them, and keeps
// what changes its own role or log: proposing and applying a conf change.
//
// The class reads in sections, each under a "// ---- Name ----" line:
// Queries, Transitions (become*), Ticks, Elections, Messages (step and the
// per-role handlers), Replication, Proposals (and configuration changes),
// Output (send), Invariants.

import type { Config } from './confchange.js';
import { LEAVE_JOINT, assertConfig, configFromState, configToState, encodeConfChange, type ConfChange } from './confchange.js';
import { RaftLog } from './log.js';
import { Membership } from './membership.js';
import { type Progress, ProgressState } from './progress.js';
import { VoteResult, jointCommitted, jointVote, type JointVoters } from './quorum.js';
import { ReadIndex } from './readonly.js';
import { LeaderTransfer, TRANSFER_CONTEXT, isTransferCampaign } from './transfer.js';
import type { ConfState, Entry, HardState, Message, NodeId, ReadState, Snapshot } from './types.js';
import { EntryType, MessageType, NONE, ProposalDropped, StateRole, UncommittedLimitExceeded, invariant, message } from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks without hearing from a leader before campaigning; randomized in [n, 2n). */
  readonly electionTick: number;
  readonly heartbeatTick: number;
  /** Seeded source in [0, 1): the core has no randomness of its own. */
  readonly random: () => number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /**
   * A node that just started ignores campaigns, as one that heard from a
   * leader does, for its first election timeout: it may have acknowledged a
   * leader's heartbeat before it stopped, and forgotten that. The host's
   * read lease (src/replica/read-lease.ts) counts on every member that
   * acknowledged a heartbeat refusing to vote for an election timeout after.
   */
  readonly quietAfterStart: boolean;
  /** Append messages in flight to one follower before waiting for acks. */
  readonly maxInflight: number;
  /**
   * Bytes of entry data in flight to one follower before waiting for acks
   * (etcd's MaxInflightBytes): bounds what the leader sends, and what the
   * follower must take in, in one go when it is far behind.
   */
  readonly maxInflightBytes: number;
  /** Entries in one append message. */
  readonly maxEntriesPerMsg: number;
  /**
   * Bytes of entry data in one append message (etcd's MaxSizePerMsg). A
   * message carries at least one entry, however large.
   */
  readonly maxBytesPerMessage: number;
  /**
   * Bytes of committed entry data handed to the host in one Ready (etcd's
   * MaxCommittedSizePerReady), so that no Ready carries an unbounded apply
   * batch. At least one entry, however large.
   */
  readonly maxCommittedBytesPerReady: number;
  /**
   * Bytes of data a leader holds in entries of its term that are not yet
   * committed (etcd's MaxUncommittedEntriesSize); past it, proposals are
   * refused with UncommittedLimitExceeded. An empty tail takes any proposal.
   */
  readonly maxUncommittedBytes: number;
}

export const DEFAULT_CONFIG: Omit<RaftConfig, 'id' | 'random'> = {
  electionTick: 10,
  heartbeatTick: 1,
  preVote: true,
  checkQuorum: true,
  quietAfterStart: false,
  maxInflight: 256,
  maxInflightBytes: 8 * 1024 * 1024,
  maxEntriesPerMsg: 256,
  maxBytesPerMessage: 1024 * 1024,
  maxCommittedBytesPerReady: 1024 * 1024,
  maxUncommittedBytes: 32 * 1024 * 1024,
};

/** What the host persisted, to start or restart a node from. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot;
  readonly entries: readonly Entry[];
  /** The host's applied index (at least the snapshot's). */
  readonly applied: number;
  /** The membership as of `applied`. */
  readonly conf: ConfState;
}

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}

export class Raft {
  readonly id: NodeId;
  term: number;
  vote: NodeId;
  lead: NodeId = NONE;
  role: StateRole = StateRole.Follower;
  readonly log: RaftLog;
  readonly progress = new Map<NodeId, Progress>();
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  private readonly membership: Membership;
  private readonly reads: ReadIndex;
  private readonly transfer: LeaderTransfer;
  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Ticks since this node started, counted up to an election timeout (quietAfterStart). */
  private ticksSinceStart = 0;
  /** Leader: a transfer was asked for in this term. Its TimeoutNow may still be on its way, and lets the transferee past every lease. */
  private transferAskedInTerm = false;
  private randomizedElectionTimeout = 0;
  /** Set by proposals; the appends go out in one batch per Ready. */
  private broadcastPending = false;
  /**
   * Leader: bytes of data in the entries it appended itself (from
   * uncommittedFrom on) that are not committed yet. The tail it inherited
   * from earlier terms is not counted, as in etcd: it commits with the
   * leader's first entry.
   */
  private uncommittedBytes = 0;
  private uncommittedFrom = 0;

  constructor(
    readonly cfg: RaftConfig,
    persisted: PersistedState,
  ) {
    invariant(cfg.id !== NONE, 'a node needs an id');
    invariant(cfg.heartbeatTick > 0 && cfg.electionTick > cfg.heartbeatTick, 'election tick must exceed heartbeat tick');
    invariant(
      [cfg.maxBytesPerMessage, cfg.maxCommittedBytesPerReady, cfg.maxUncommittedBytes, cfg.maxInflightBytes].every((n) => n >= 0),
      'byte limits must not be negative',
    );
    this.id = cfg.id;
    const hs = persisted.hardState;
    this.term = hs.term;
    this.vote = hs.vote;
    this.log = new RaftLog(persisted.snapshot, persisted.entries, hs.commit, persisted.applied);
    this.membership = new Membership(
      { id: this.id, log: this.log, progress: this.progress, maxInflight: cfg.maxInflight, maxInflightBytes: cfg.maxInflightBytes },
      persisted.conf,
    );
    this.reads = new ReadIndex({
      id: this.id,
      log: this.log,
      term: () => this.term,
      voters: () => this.voters,
      addReadState: (rs) => this.readStates.push(rs),
      send: (m) => this.send(m),
      bcastHeartbeat: (context) => this.bcastHeartbeat(context),
    });
    this.transfer = new LeaderTransfer({
      id: this.id,
      log: this.log,
      progress: this.progress,
      send: (m) => this.send(m),
      sendAppend: (to) => this.sendAppend(to),
      resetElectionElapsed: () => {
        this.electionElapsed = 0;
      },
    });
    this.becomeFollower(this.term, NONE);
  }

  // ---- Queries ----

  get hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private get config(): Config {
    return this.membership.config;
  }

  get confState(): ConfState {
    return configToState(this.config);
  }

  get voters(): JointVoters {
    return { incoming: this.config.incoming, outgoing: this.config.outgoing };
  }

  /** Only voters campaign; a learner or a removed node never does. */
  get promotable(): boolean {
    return this.config.incoming.has(this.id) || this.config.outgoing.has(this.id);
  }

  /** The node leadership is moving to, or NONE. */
  get leadTransferee(): NodeId {
    return this.transfer.transferee;
  }

  /** Leader: whether a transfer was asked for in this term (a read lease no longer holds). */
  get transferAsked(): boolean {
    return this.transferAskedInTerm;
  }

  // ---- Transitions ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTick + Math.floor(this.cfg.random() * this.cfg.electionTick);
    this.transfer.abortLeaderTransfer();
    this.votes = new Map();
    this.membership.resetProgress();
    this.membership.pendingConfIndex = 0;
    this.reads.clear();
    this.broadcastPending = false;
    this.uncommittedBytes = 0;
    this.uncommittedFrom = this.log.lastIndex + 1;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = StateRole.Follower;
  }

  private becomePreCandidate(): void {
    invariant(this.role !== StateRole.Leader, 'a leader cannot become a pre-candidate');
    // PreVote does not touch term or vote: a failed pre-election leaves no trace.
    this.votes = new Map();
    this.lead = NONE;
    this.role = StateRole.PreCandidate;
  }

  private becomeCandidate(): void {
    invariant(this.role !== StateRole.Leader, 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = StateRole.Candidate;
  }

  private becomeLeader(): void {
    invariant(this.role === StateRole.Candidate, 'only a candidate becomes leader');
    this.reset(this.term);
    this.lead = this.id;
    this.role = StateRole.Leader;
    this.transferAskedInTerm = false;
    this.progress.get(this.id)?.becomeReplicate();
    // A conf change may sit uncommitted in the log; no other may be proposed
    // until everything up to here is applied.
    this.membership.pendingConfIndex = this.log.lastIndex;
    // §8: an entry of its own term lets the leader learn what is committed.
    this.appendEntries([{ type: EntryType.Normal, data: new Uint8Array() }]);
  }

  // ---- Ticks ----

  tick(): void {
    if (this.ticksSinceStart < this.cfg.electionTick) this.ticksSinceStart++;
    if (this.role === StateRole.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.checkQuorum();
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === StateRole.Leader && this.leadTransferee !== NONE) this.transfer.abortLeaderTransfer();
    }
    if (this.role !== StateRole.Leader) return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.reads.lastContext);
    }
  }

  /** Thesis §6.2: a leader that cannot reach a quorum steps down. */
  private checkQuorum(): void {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      active.set(id, id === this.id || pr.recentActive);
      if (id !== this.id) pr.recentActive = false;
    }
    if (jointVote(this.voters, active) !== VoteResult.Won) this.becomeFollower(this.term, NONE);
  }

  // ---- Elections ----

  /** Starts an election, unless this node may not or need not. */
  hup(transfer: boolean): void {
    if (this.role === StateRole.Leader || !this.promotable) return;
    // A committed but unapplied conf change may remove us: wait for it.
    const unapplied = this.log.committed > this.log.applied ? this.log.slice(this.log.applied + 1, this.log.committed + 1) : [];
    if (unapplied.some((e) => e.type === EntryType.ConfChange)) return;
    if (this.cfg.preVote && !transfer) this.campaign(MessageType.PreVote, undefined);
    else this.campaign(MessageType.Vote, transfer ? TRANSFER_CONTEXT : undefined);
  }

  private campaign(type: MessageType.PreVote | MessageType.Vote, context: Uint8Array | undefined): void {
    let term: number;
    if (type === MessageType.PreVote) {
      this.becomePreCandidate();
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // A single voter wins at once.
      if (type === MessageType.PreVote) this.campaign(MessageType.Vote, undefined);
      else this.becomeLeader();
      return;
    }
    for (const id of new Set([...this.config.incoming, ...this.config.outgoing])) {
      if (id === this.id) continue;
      this.send(message({ type, to: id, term, index: this.log.lastIndex, logTerm: this.log.lastTerm, context }));
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return jointVote(this.voters, this.votes);
  }

  // ---- Messages ----

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        // With CheckQuorum, a node that heard from a live leader within the
        // election timeout ignores campaigns: this keeps a rejoining node from
        // disrupting a healthy leader.
        const heardLeader = this.lead !== NONE && this.electionElapsed < this.cfg.electionTick;
        const justStarted = this.cfg.quietAfterStart && this.ticksSinceStart < this.cfg.electionTick;
        const inLease = this.cfg.checkQuorum && (heardLeader || justStarted);
        if (inLease && !isTransferCampaign(m.context)) return;
      }
      if (m.type === MessageType.PreVote || (m.type === MessageType.PreVoteResp && !m.reject)) {
        // A pre-vote in a future term changes nothing here; a granted pre-vote
        // answer carries the term the candidate will campaign in.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term && m.term !== 0) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (perhaps partitioned away) learns of the newer term
        // and steps down; otherwise it could keep us from ever electing.
        this.send(message({ type: MessageType.AppResp, to: m.from, term: this.term }));
      } else if (m.type === MessageType.PreVote) {
        this.send(message({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(false);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
    }
    switch (this.role) {
      case StateRole.Leader:
        this.stepLeader(m);
        break;
      case StateRole.Candidate:
      case StateRole.PreCandidate:
        this.stepCandidate(m);
        break;
      case StateRole.Follower:
        this.stepFollower(m);
        break;
    }
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.PreVote && m.term > this.term);
    // §5.4.1: only a candidate whose log is at least as up to date as ours.
    const logOk = this.log.isUpToDate(m.index, m.logTerm);
    if (canVote && logOk) {
      this.send(message({ type: voteRespType(m.type), to: m.from, term: m.term }));
      if (m.type === MessageType.Vote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(message({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat(this.reads.lastContext);
        return;
      case MessageType.ReadIndex:
        this.reads.handleReadIndex(m);
        return;
      case MessageType.TransferLeader:
        this.transfer.handleTransferLeader(m.from);
        if (this.leadTransferee !== NONE) this.transferAskedInTerm = true;
        return;
    }
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case MessageType.AppResp:
        pr.recentActive = true;
        if (m.reject) this.handleAppendRejected(m, pr);
        else this.handleAppendAccepted(m, pr);
        break;
      case MessageType.HeartbeatResp:
        pr.recentActive = true;
        pr.probeSent = false;
        // Appends may have been lost with the window full: the follower is
        // alive, so let one more through; it will reveal any gap.
        if (pr.state === ProgressState.Replicate && pr.inflights.full) pr.inflights.freeFirstOne();
        if (pr.match < this.log.lastIndex) this.sendAppend(m.from);
        if (m.context !== undefined && m.context.length > 0) this.reads.recvHeartbeatAck(m.from, m.context);
        break;
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        // On failure, wait for the next heartbeat answer before probing again.
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        pr.probeSent = true;
        break;
      case MessageType.Unreachable:
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        break;
    }
  }

  private handleAppendRejected(m: Message, pr: Progress): void {
    // Fast back-off: the follower named (rejectHint, logTerm); skip every
    // entry of ours above the last one with a term at most logTerm.
    let next = m.rejectHint;
    if (m.logTerm > 0) next = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, next)) {
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      this.sendAppend(m.from);
    }
  }

  private handleAppendAccepted(m: Message, pr: Progress): void {
    const wasPaused = pr.isPaused;
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === ProgressState.Probe) {
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Replicate) {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.broadcastPending = true;
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    // Pipelining: keep the follower's window full.
    while (this.sendAppend(m.from, false)) {
      // each call sends one more message
    }
    this.transfer.appendAccepted(m.from, pr);
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.role === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        break;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        break;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        break;
      case MessageType.PreVoteResp:
      case MessageType.VoteResp: {
        if (m.type !== myVoteResp) return;
        const result = this.poll(m.from, !m.reject);
        if (result === VoteResult.Won) {
          if (this.role === StateRole.PreCandidate) this.campaign(MessageType.Vote, undefined);
          else {
            this.becomeLeader();
            this.broadcastPending = true;
          }
        } else if (result === VoteResult.Lost) {
          this.becomeFollower(this.term, NONE);
        }
        break;
      }
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        break;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        break;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        break;
      case MessageType.TransferLeader:
      case MessageType.ReadIndex:
        if (this.lead === NONE) return;
        this.send({ ...m, to: this.lead, term: 0 });
        break;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array() });
        break;
      case MessageType.TimeoutNow:
        // The leader handed over: campaign now, past any lease or pre-vote.
        this.hup(true);
        break;
    }
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: lastNew }));
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex), m.logTerm);
    this.send(
      message({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }),
    );
  }

  private handleHeartbeat(m: Message): void {
    // The leader sends at most what it knows we hold, so this never passes our log.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex));
    this.send(message({ type: MessageType.HeartbeatResp, to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    invariant(snap !== undefined, 'snapshot message without a snapshot');
    if (this.restore(snap)) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.log.lastIndex }));
    } else {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.log.committed }));
    }
  }

  /** Installs a leader's snapshot unless our log already covers it. */
  private restore(snap: Snapshot): boolean {
    const { index, term, conf } = snap.meta;
    if (index <= this.log.committed) return false;
    // The snapshot may predate our own addition (the leader sends the one it
    // has): the conf change that adds us follows it in the log.
    const config = configFromState(conf);
    if (this.log.matchTerm(index, term)) {
      // We hold the snapshot's last entry: by log matching, all before it too.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snap);
    this.membership.restore(config);
    return true;
  }

  // ---- Replication ----

  /**
   * Sends the follower what it lacks: entries, or the snapshot when they were
   * compacted. Returns whether a message was sent.
   */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || to === this.id || pr.isPaused) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      // Compacted: only a snapshot will do. Not to a node we have not heard
      // from, which may be down.
      if (!pr.recentActive) return false;
      const snapshot = this.log.snapshot;
      pr.becomeSnapshot(snapshot.meta.index);
      this.send(message({ type: MessageType.Snap, to, snapshot }));
      return true;
    }
    const hi = Math.min(this.log.lastIndex + 1, pr.next + this.cfg.maxEntriesPerMsg);
    const entries = this.log.slice(pr.next, hi, this.cfg.maxBytesPerMessage);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send(message({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed }));
    const lastIndex = prevIndex + entries.length;
    pr.sentEntries(lastIndex, entries.length, this.log.dataBytes(prevIndex, lastIndex));
    return true;
  }

  /** Sends pending appends, once per batch of proposals. */
  flushBroadcast(): void {
    if (!this.broadcastPending) return;
    this.broadcastPending = false;
    if (this.role !== StateRole.Leader) return;
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  get hasBroadcastPending(): boolean {
    return this.broadcastPending && this.role === StateRole.Leader;
  }

  private bcastHeartbeat(context: Uint8Array | undefined): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit past what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send(message({ type: MessageType.Heartbeat, to: id, commit, context }));
    }
  }

  /** §5.4.2: commit by counting replicas only for entries of the current term. */
  private maybeCommit(): boolean {
    const index = jointCommitted(this.voters, (id) => this.progress.get(id)?.match ?? 0);
    const committedBefore = this.log.committed;
    if (!this.log.maybeCommit(index, this.term)) return false;
    if (this.log.term(committedBefore) !== this.term) this.reads.releasePendingReadIndex();
    const counted = Math.max(committedBefore, this.uncommittedFrom - 1);
    if (index > counted) this.uncommittedBytes -= this.log.dataBytes(counted, index);
    invariant(this.uncommittedBytes >= 0, `uncommitted bytes ${this.uncommittedBytes} below zero`);
    return true;
  }

  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): void {
    const first = this.log.lastIndex + 1;
    const entries = items.map((it, k) => ({ term: this.term, index: first + k, type: it.type, data: it.data }));
    this.log.append(entries);
    for (const e of entries) this.uncommittedBytes += e.data.length;
    // The leader's own copy counts only once persisted (ownEntriesPersisted),
    // so that the host may send these entries while it writes them.
    this.broadcastPending = true;
  }

  /**
   * The host persisted the log through log.stable. A leader's own copy counts
   * towards commitment from now on: the leader writes its log in parallel with
   * its followers (thesis §10.2.1), so it must never count an entry it could
   * still lose in a crash.
   */
  ownEntriesPersisted(): void {
    if (this.role !== StateRole.Leader) return;
    if (this.progress.get(this.id)?.maybeUpdate(this.log.stable) && this.maybeCommit()) this.broadcastPending = true;
  }

  // ---- Proposals ----

  /**
   * Appends client data to the leader's log. Throws ProposalDropped if it
   * cannot, UncommittedLimitExceeded (a ProposalDropped) if it should not
   * now. Configuration changes are never refused for size: they are small and
   * rare, and leaving a joint config must not fail.
   */
  propose(data: readonly Uint8Array[]): void {
    this.assertCanPropose();
    let bytes = 0;
    for (const d of data) bytes += d.length;
    const limit = this.cfg.maxUncommittedBytes;
    if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > limit) {
      throw new UncommittedLimitExceeded(`${this.uncommittedBytes} bytes are waiting to commit; ${bytes} more would pass the limit of ${limit}`);
    }
    this.appendEntries(data.map((d) => ({ type: EntryType.Normal, data: d })));
  }

  proposeConfChange(cc: ConfChange): void {
    this.assertCanPropose();
    this.membership.checkProposal(cc);
    this.appendEntries([{ type: EntryType.ConfChange, data: encodeConfChange(cc) }]);
    this.membership.pendingConfIndex = this.log.lastIndex;
  }

  private assertCanPropose(): void {
    if (this.role !== StateRole.Leader) throw new ProposalDropped(`not the leader (leader: ${this.lead || 'unknown'})`);
    if (this.leadTransferee !== NONE) throw new ProposalDropped(`leadership is moving to ${this.leadTransferee}`);
    if (!this.progress.has(this.id)) throw new ProposalDropped('this node was removed from the configuration');
  }

  /** Applies a committed conf change; returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    this.membership.apply(cc);
    if (this.leadTransferee !== NONE && !this.progress.has(this.leadTransferee)) this.transfer.abortLeaderTransfer();
    if (this.role === StateRole.Leader) {
      if (!this.promotable) {
        // Removed or demoted: step down; the remaining voters elect a leader.
        this.becomeFollower(this.term, NONE);
      } else if (this.maybeCommit()) {
        // The quorum changed; what it now commits must reach the followers.
        this.broadcastPending = true;
      }
    }
    return this.confState;
  }

  /** Called once the host applied up to `index`. */
  appliedTo(index: number): void {
    this.log.appliedTo(index);
    // Joint consensus with auto-leave: once the joint config is applied, leave it.
    if (this.role === StateRole.Leader && this.membership.shouldAutoLeave && this.leadTransferee === NONE) {
      this.proposeConfChange(LEAVE_JOINT);
    }
  }

  // ---- Output ----

  private send(m: Message): void {
    // Local messages and vote traffic carry their own term; the rest ours.
    const carriesOwnTerm =
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResp;
    const forwarded = m.type === MessageType.TransferLeader || m.type === MessageType.ReadIndex;
    const term = carriesOwnTerm ? m.term : forwarded ? 0 : this.term;
    if (carriesOwnTerm) invariant(m.term !== 0, `${m.type} without a term`);
    this.msgs.push({ ...m, from: forwarded && m.from !== NONE ? m.from : this.id, term });
  }

  // ---- Invariants ----

  /** Throws at once if the node's own state is inconsistent. */
  assertInvariants(): void {
    const log = this.log;
    invariant(log.applied <= log.committed, `applied ${log.applied} > committed ${log.committed}`);
    invariant(log.committed <= log.lastIndex, `committed ${log.committed} > last ${log.lastIndex}`);
    invariant(log.stable <= log.persisting && log.persisting <= log.lastIndex, `persisted ${log.stable}, handed out ${log.persisting}, last ${log.lastIndex}: out of order`);
    invariant(log.snapshot.meta.index <= log.applied, 'snapshot beyond applied');
    invariant(this.role !== StateRole.Leader || this.lead === this.id, 'a leader must know itself as leader');
    invariant(this.role !== StateRole.Leader || this.vote === this.id, 'a leader voted for itself');
    invariant(this.role !== StateRole.Leader || log.lastTerm === this.term, 'a leader has an entry of its term last');
    invariant(this.uncommittedBytes >= 0, `uncommitted bytes ${this.uncommittedBytes} below zero`);
    invariant(this.role === StateRole.Leader || this.uncommittedBytes === 0, 'only a leader counts uncommitted bytes');
    if (this.role === StateRole.Leader) {
      const counted = Math.max(log.committed, this.uncommittedFrom - 1);
      // Recounting is linear in the tail: done only while the tail is short.
      if (log.lastIndex - counted <= 64) {
        const bytes = log.dataBytes(counted, log.lastIndex);
        invariant(this.uncommittedBytes === bytes, `uncommitted bytes ${this.uncommittedBytes}, the log holds ${bytes}`);
      }
      invariant((this.progress.get(this.id)?.match ?? 0) <= log.stable, "the leader counts its own entries only once persisted");
      for (const [id, pr] of this.progress) {
        invariant(pr.match <= log.lastIndex, `progress of ${id} matches beyond the leader's log`);
        invariant(pr.match < pr.next, `progress of ${id}: match ${pr.match} not below next ${pr.next}`);
      }
    }
    assertConfig(this.config);
  }
}
