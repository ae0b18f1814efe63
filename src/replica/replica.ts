// The host loop around the consensus core (etcd's "raftNode"): it ticks the
// core, persists each Ready with one synced LevelDB batch — log, hard state,
// applied state and applied index together (group commit) — then sends the
// messages and resolves the reads that wait on the batch. A proposal is
// resolved as soon as its entry is applied (see handleReady).

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ConfChange, ConfState, Entry, Message, RaftConfig, Ready, SnapshotMeta } from '../raft/index.js';
import {
  DEFAULT_CONFIG,
  EntryType,
  MessageType,
  NONE,
  ProposalDropped,
  RaftInvariantError,
  RawNode,
  StateRole,
  UncommittedLimitExceeded,
  bootstrapState,
  decodeConfChange,
  emptyState,
} from '../raft/index.js';
import type { BatchOp, RaftStore, StateWrite } from '../storage/raft-store.js';
import { ReplicaError } from './errors.js';
import { atEndOfTurn } from './end-of-turn.js';
import { type Clock, type HostEnv, type TimerHandle, realEnv } from './env.js';
import { type PeerChannel, peerMessageProblem } from './peer-input.js';
import { ProposalWaiters } from './proposal-waiters.js';
import { ReadLease, leaseDurationMs } from './read-lease.js';
import { ReadRounds } from './read-rounds.js';
import { LogRetention, type RetentionLimits } from './retention.js';
import { MemberBook, type MemberInfo, RemovedNodeError, isMemberRecord } from './members.js';
import { mark } from '../trace.js';
import { ReadyWrites } from './ready-writes.js';
import { SnapshotStaging } from './snapshot-staging.js';
import { HeldAnnouncements, isAnnouncement } from './held-announcements.js';
import { HeldAppends, followersThatMayWait } from './held-appends.js';

export type { StateWrite };

/** The replicated state machine, as the replica sees it; R is what applying a command answers its proposer. */
export interface Application<R = unknown> {
  /** Applies one committed command. Deterministic; never throws for bad content. */
  applyCommand(data: Uint8Array, index: number): { result: R; writes: readonly StateWrite[] };
  /** Replaces the whole state with the given records (after a snapshot install). */
  reload(records: AsyncIterable<[string, Uint8Array]>): Promise<void>;
}

export interface RaftTransport {
  send(messages: readonly Message[]): void;
  /** Streams this node's applied state to m.to; the outcome comes back through reportSnapshot. */
  sendSnapshot(m: Message): void;
}

export interface ReplicaOptions<R = unknown> {
  readonly id: string;
  /**
   * The founding voters of this node's group, used only on first start; none
   * for a node that joins a running group (it waits for the leader's snapshot).
   */
  readonly founders: readonly string[];
  /** The addresses of the group's members: replicated with each conf change. */
  readonly members?: MemberBook;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /**
   * Whether the leader answers reads under a lease (src/replica/read-lease.ts)
   * instead of a ReadIndex round each; also makes a starting node quiet for
   * an election timeout, which the leases of the others count on.
   */
  readonly leaseReads: boolean;
  /** When to compact, and what to keep for a log reader (the secondary region): see retention.ts. */
  readonly retention: RetentionLimits;
  /** Bytes of entry data in one append to a follower, and in one Ready's apply batch. */
  readonly maxBytesPerMessage?: number;
  /** Bytes of data the leader lets wait for commitment before refusing proposals (THROTTLED). */
  readonly maxUncommittedBytes?: number;
  readonly store: RaftStore;
  readonly app: Application<R>;
  /** Time, timers and randomness: the real ones unless a simulator drives the node. */
  readonly env?: HostEnv;
  readonly logger: Logger;
  /** Told how long each Ready and each store write took, and how each proposal ended: for the metrics. */
  readonly observer?: ReplicaObserver;
  /**
   * Told once that the node must stop (a failed store write, a broken Raft
   * invariant), after the replica has stopped itself. By default the process
   * shuts down with exit code 70.
   */
  readonly onFatal?: (e: Error) => void;
}

function shutDownProcess(): void {
  process.exitCode = 70;
  setImmediate(() => process.kill(process.pid, 'SIGTERM'));
}

export interface ReplicaObserver {
  ready(ms: number): void;
  write(ms: number, synced: boolean): void;
  /** `applied`, or the ReplicaError reason it failed with (NO_QUORUM, PROPOSAL_LOST, ...). */
  proposal(outcome: string): void;
  /** A linearizable read asked for: answered under the read lease, or waiting for a round. */
  read(underLease: boolean): void;
}

/**
 * Entry data applied in one turn of the event loop. Applying a 1 KiB
 * SetSecret costs 0.2-0.3 ms here (a follower that applied 8,000 at once
 * held its loop 1.6-2.4 s), so a slice of some fifty holds it about 10 ms.
 */
const APPLY_SLICE_BYTES = 64 * 1024;

/**
 * Full appends in flight to one follower: what the leader sends at once to a
 * follower far behind, and what that follower persists in one Ready.
 */
const INFLIGHT_MESSAGES = 8;

/** What a proposal refused for the uncommitted limit suggests waiting before retrying, in ticks. */
const THROTTLED_RETRY_TICKS = 4;

export class Replica<R = unknown> {
  readonly id: string;
  private raw!: RawNode;
  private transport: RaftTransport | undefined;
  private ticker: TimerHandle | undefined;
  private draining: Promise<void> | undefined;
  private drainAgain = false;
  private readonly env: HostEnv;
  private readonly kickAtEndOfTurn: () => void;
  /** Given the application's result (R), or the membership for a conf change. */
  private readonly proposals: ProposalWaiters;
  private readonly reads: ReadRounds;
  private readonly lease: ReadLease;
  private appliedMeta!: SnapshotMeta;
  /** Every write of the Ready loop, in order (a leader's may still be in flight while the loop goes on), and what waits for the next synced one. */
  private readonly disk: ReadyWrites;
  /** The compaction point and the bytes applied after it. */
  private retention!: LogRetention;
  /** A snapshot received from the leader, until the core installs or refuses it. */
  private readonly snapshots: SnapshotStaging;
  /** A leader's commit announcements, until the next append replaces them or they are due. */
  private readonly announcements: HeldAnnouncements;
  /** A leader's appends to the followers a commit does not wait on, until they are due. */
  private readonly appends: HeldAppends;
  private reloading = false;
  private stopped = false;
  private fatal: Error | undefined;
  /** Emits 'applied' (the applied index) after each batch is applied. */
  readonly events = new EventEmitter();
  private readonly memberBook: MemberBook;

  constructor(private readonly opts: ReplicaOptions<R>) {
    this.id = opts.id;
    this.memberBook = opts.members ?? new MemberBook();
    this.env = opts.env ?? realEnv;
    this.kickAtEndOfTurn = atEndOfTurn(this.env.clock, () => this.kick());
    this.disk = new ReadyWrites(opts.store, () => this.appliedMeta.index, (ms, synced) => this.opts.observer?.write(ms, synced));
    this.snapshots = new SnapshotStaging(opts.store, opts.logger);
    // A stop drops what is held, timer and all (stop, failStop).
    this.announcements = new HeldAnnouncements(this.env.clock, (due) => this.sendMessages(due));
    this.appends = new HeldAppends(this.env.clock, (due) => this.transmit(due));
    this.proposals = new ProposalWaiters(this.env.clock, (outcome) => this.opts.observer?.proposal(outcome));
    const prefix = Buffer.from(this.env.random.bytes(4)).toString('hex');
    this.lease = new ReadLease(opts.leaseReads ? leaseDurationMs(opts.tickMs, opts.electionTicks) : 0);
    this.reads = new ReadRounds(this.env.clock, prefix, (ctx) => {
      mark('read.round');
      // Noted before the heartbeat leaves: the lease runs from no later than its sending.
      this.lease.roundStarted(this.raw.term, this.isLeader, this.env.clock.monotonic());
      if (this.input((raw) => raw.readIndex(ctx))) this.kick();
    });
  }

  private raftConfig(): RaftConfig {
    const perMessage = this.opts.maxBytesPerMessage ?? DEFAULT_CONFIG.maxBytesPerMessage;
    return {
      ...DEFAULT_CONFIG,
      id: this.id,
      electionTick: this.opts.electionTicks,
      heartbeatTick: this.opts.heartbeatTicks,
      quietAfterStart: this.opts.leaseReads,
      maxBytesPerMessage: perMessage,
      maxCommittedBytesPerReady: perMessage,
      maxInflightBytes: INFLIGHT_MESSAGES * perMessage,
      maxUncommittedBytes: this.opts.maxUncommittedBytes ?? DEFAULT_CONFIG.maxUncommittedBytes,
      random: () => this.env.random.random(),
    };
  }

  /** Loads persisted state (or bootstraps a founder) and the application's state. */
  async open(): Promise<void> {
    const store = this.opts.store;
    const persisted = await store.loadRaft();
    if (persisted === undefined && this.opts.founders.length === 0) {
      // Joining: nothing is written until the leader's first message.
      this.raw = new RawNode(this.raftConfig(), emptyState());
      this.appliedMeta = emptyState().snapshot.meta;
      this.retention = new LogRetention(this.opts.retention, 0);
      this.disk.opened(0, 0);
    } else if (persisted === undefined) {
      const boot = bootstrapState(this.opts.founders);
      if (!this.opts.founders.includes(this.id)) throw new Error(`${this.id} is not among the founders ${this.opts.founders.join(',')}`);
      await store.write([store.hardStateOp(boot.hardState), store.snapshotOp(boot.snapshot.meta), store.appliedOp(boot.snapshot.meta)], true);
      this.raw = new RawNode(this.raftConfig(), boot);
      this.appliedMeta = boot.snapshot.meta;
      this.retention = new LogRetention(this.opts.retention, boot.snapshot.meta.index);
      this.disk.opened(boot.snapshot.meta.index, 0);
    } else {
      const snapshot = { meta: persisted.snapshot, data: new Uint8Array() };
      this.raw = new RawNode(this.raftConfig(), {
        hardState: persisted.hardState,
        snapshot,
        entries: persisted.entries,
        applied: persisted.applied.index,
        conf: persisted.applied.conf,
      });
      this.appliedMeta = persisted.applied;
      this.retention = new LogRetention(this.opts.retention, persisted.snapshot.index);
      for (const e of persisted.entries) {
        if (e.index <= persisted.applied.index) this.retention.add(e.index, e.data.length, e.type === EntryType.ConfChange);
      }
      this.disk.opened(persisted.snapshot.index, persisted.entries.length);
      const conf = persisted.applied.conf;
      if (membersOf(conf).length > 0 && !membersOf(conf).includes(this.id)) {
        throw new RemovedNodeError(this.id, `applied at index ${persisted.applied.index}`);
      }
    }
    await this.reload();
  }

  /**
   * Whether this node holds a state to serve from: a node that joins its
   * region has none until its first snapshot is installed, and none while
   * one is being loaded.
   */
  get hasState(): boolean {
    return !this.reloading && this.members().length > 0;
  }

  /** Hands the state records to the application, and the membership records to the member book. */
  private async reload(): Promise<void> {
    this.reloading = true;
    try {
      await this.loadRecords();
    } finally {
      this.reloading = false;
    }
  }

  private async loadRecords(): Promise<void> {
    const members = this.memberBook;
    async function* vaultRecords(records: AsyncIterable<[string, Uint8Array]>): AsyncGenerator<[string, Uint8Array]> {
      for await (const r of records) {
        if (isMemberRecord(r[0])) members.load(r[0], r[1]);
        else yield r;
      }
    }
    await this.opts.app.reload(vaultRecords(this.opts.store.stateRecords()));
  }

  start(transport: RaftTransport): void {
    this.transport = transport;
    this.ticker = this.env.clock.setInterval(() => {
      if (!this.input((raw) => raw.tick())) return;
      this.reads.retryStale(this.env.clock.now(), this.opts.electionTicks * this.opts.tickMs);
      this.disk.tick();
      this.kick();
    }, this.opts.tickMs);
    this.kick();
  }

  /** Stops ticking and fails everything still waiting. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.env.clock.clearInterval(this.ticker);
    this.dropHeld();
    await this.draining;
    // Not needed for safety (a restart applies the log again), but a clean
    // stop leaves a disk that needs no replay. It also waits for a leader's
    // write still in flight.
    if (this.fatal === undefined) {
      await this.disk.flush().catch((err: unknown) => this.opts.logger.warn({ err }, 'writing the applied state at stop failed; the next start applies the log again'));
    }
    const closing = new ReplicaError('SHUTTING_DOWN', 'the node is shutting down');
    this.proposals.failAll(closing);
    this.reads.failAll(closing);
  }

  /** The replica's time: real, or the simulator's. What waits on the replica (membership-ops.ts) waits on it too. */
  get clock(): Clock {
    return this.env.clock;
  }

  // ---- Inputs ----

  /**
   * A message from a peer. What it may claim is checked first (peer-input.ts):
   * the core asserts rather than refuses, and a failed assertion stops the
   * node, since by then the core's state may already be wrong.
   */
  step(m: Message): void {
    if (this.stopped || this.refuses(m, 'stream')) return;
    if (this.input((raw) => raw.step(m))) this.kick();
  }

  /** Logs and drops a peer message the core must not see. */
  private refuses(m: Message, via: PeerChannel): boolean {
    const problem = peerMessageProblem(m, this.raw.basicStatus(), via);
    if (problem === undefined) return false;
    this.opts.logger.warn({ from: m.from, type: m.type, term: m.term, problem }, 'refused a peer message');
    return true;
  }

  reportUnreachable(id: string): void {
    if (this.input((raw) => raw.reportUnreachable(id))) this.kick();
  }

  reportSnapshot(id: string, ok: boolean): void {
    if (this.input((raw) => raw.reportSnapshot(id, ok))) this.kick();
  }

  transferLeadership(to: string): void {
    if (this.input((raw) => raw.transferLeadership(to))) this.kick();
  }

  /**
   * Proposes a command and resolves with the application's result once it is
   * applied here. Throws ReplicaError NOT_LEADER at once on a follower, and
   * THROTTLED when too much already waits to commit.
   */
  propose(data: Uint8Array, timeoutMs: number): Promise<R> {
    mark('propose');
    this.assertUsable();
    try {
      if (!this.input((raw) => raw.propose(data))) this.assertUsable();
    } catch (e) {
      if (e instanceof UncommittedLimitExceeded) {
        this.opts.observer?.proposal('THROTTLED');
        // The tail drains in about one replication round: a few ticks.
        throw new ReplicaError('THROTTLED', `the region is behind with its writes: ${e.message}`, THROTTLED_RETRY_TICKS * this.opts.tickMs);
      }
      if (e instanceof ProposalDropped) {
        this.opts.observer?.proposal('NOT_LEADER');
        throw new ReplicaError('NOT_LEADER', e.message);
      }
      throw e;
    }
    const done = this.proposals.wait<R>(this.raw.lastIndex, this.raw.term, timeoutMs, () => this.deadlineError('write'));
    // The Ready loop runs at the end of this turn of the event loop, so that
    // the proposals of every request that arrived in it share one Ready: one
    // synced batch here and one append per follower, not one for the first
    // request and another for the rest.
    this.kickAtEndOfTurn();
    return done;
  }

  /**
   * Proposes a membership change; resolves with the membership once it is
   * applied here. Throws ReplicaError NOT_LEADER at once when it cannot be
   * proposed (a follower, a transfer under way, another change pending).
   */
  proposeConfChange(cc: ConfChange, timeoutMs: number): Promise<ConfState> {
    this.assertUsable();
    try {
      if (!this.input((raw) => raw.proposeConfChange(cc))) this.assertUsable();
    } catch (e) {
      if (e instanceof ProposalDropped) throw new ReplicaError('NOT_LEADER', e.message);
      throw e;
    }
    const done = this.proposals.wait<ConfState>(this.raw.lastIndex, this.raw.term, timeoutMs, () => this.deadlineError('write'));
    this.kick();
    return done;
  }

  /** Whether `id` was removed from the group and not added again, as this node has applied. */
  isRemoved(id: string): boolean {
    return this.memberBook.isRemoved(id);
  }

  /** The group's members as this node has applied them, with their addresses. */
  members(): MemberInfo[] {
    return this.memberBook.members(this.appliedMeta.conf);
  }

  /** Resolves once this node's applied state reflects every write committed before the call. */
  linearizableRead(timeoutMs: number): Promise<void> {
    mark('read');
    this.assertUsable();
    const now = this.env.clock.monotonic();
    const underLease = this.leaseHolds(now);
    this.opts.observer?.read(underLease);
    if (!underLease) return this.reads.wait(timeoutMs, () => this.deadlineError('read'));
    mark('read.lease');
    if (this.lease.renewDue(now)) this.reads.renew();
    // What any leader committed before now, this one has: no other could be elected meanwhile.
    const index = this.raw.committed;
    if (index <= this.appliedMeta.index) return Promise.resolve();
    return this.reads.waitApplied(index, timeoutMs, () => this.deadlineError('read'));
  }

  private leaseHolds(now: number): boolean {
    return this.isLeader && !this.raw.transferAsked && this.lease.holds(this.raw.term, now);
  }

  /**
   * A snapshot streamed from the leader: its records are written under the
   * next generation first; the core then decides whether to install it.
   */
  async receiveSnapshot(m: Message, records: AsyncIterable<[string, Uint8Array]>): Promise<boolean> {
    this.assertUsable();
    // Refused before its records are written: a forged snapshot costs no disk.
    if (this.snapshots.busy || m.snapshot === undefined || this.refuses(m, 'snapshot')) return false;
    return this.snapshots.stage(m.snapshot.meta, records, async () => {
      // Checked again: our term or leader may have moved while the records came in.
      if (this.refuses(m, 'snapshot') || !this.input((raw) => raw.step(m))) return false;
      this.kick();
      await this.idle();
      return true;
    });
  }

  /**
   * Committed entries from `from` on (at most `max`), or undefined when
   * `from` was compacted away.
   */
  committedEntries(from: number, max: number): Entry[] | undefined {
    const raw = this.raw;
    if (from < raw.firstIndex) return undefined;
    const hi = Math.min(raw.committed, from + max - 1);
    return from > hi ? [] : raw.entries(from, hi + 1);
  }

  /** Keeps the log from `index` on, for a reader that still needs it (see maybeCompact). */
  retainLogFrom(index: number): void {
    this.retention.readerNeeds(index);
  }

  get commitIndex(): number {
    return this.raw.committed;
  }

  // ---- Status ----

  get term(): number {
    return this.raw.term;
  }

  get lastIndex(): number {
    return this.raw.lastIndex;
  }

  get appliedIndex(): number {
    return this.appliedMeta.index;
  }

  get role(): StateRole {
    return this.raw.role;
  }

  get leader(): string {
    return this.raw.lead;
  }

  get isLeader(): boolean {
    return this.raw.role === StateRole.Leader;
  }

  status() {
    return { ...this.raw.status(), applied: this.appliedMeta.index };
  }

  // ---- The Ready loop ----

  /** Runs the Ready loop soon; one loop at a time. */
  private kick(): void {
    if (this.stopped && this.draining === undefined) return;
    if (this.draining !== undefined) {
      this.drainAgain = true;
      return;
    }
    // drain() starts on the next microtask, so that a kick from inside it (a
    // transport reporting a peer unreachable while we send) sees it running.
    this.draining = Promise.resolve()
      .then(() => this.drain())
      .finally(() => {
        this.draining = undefined;
        if (this.drainAgain && !this.stopped) {
          this.drainAgain = false;
          this.kick();
        }
      });
  }

  private async idle(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.raw.hasReady()) await this.handleReady(this.raw.ready());
      await this.disk.flushIfDue();
    } catch (e) {
      // A failed disk write leaves memory ahead of the disk: the only safe
      // move is to stop and restart from what is on disk.
      this.failStop(e);
    }
  }

  /**
   * Gives the core one input. A broken invariant (RaftInvariantError, thrown
   * after the core's state changed) means that state can no longer be
   * trusted: the node stops, as etcd panics, and the error goes no further
   * than here, since what called (a peer's stream, a timer) can do nothing
   * with it. False when the node is stopping.
   */
  private input(feed: (raw: RawNode) => void): boolean {
    try {
      feed(this.raw);
      return true;
    } catch (e) {
      if (!(e instanceof RaftInvariantError)) throw e;
      this.failStop(e);
      return false;
    }
  }

  /**
   * Stops the replica for good, fails what waits on it, logs why (fatal),
   * and tells onFatal. A broken invariant is named as one wherever the core
   * threw it: in an input or in the Ready loop (ready, advance). Takes
   * whatever was thrown or rejected (a store may reject with a non-Error).
   */
  private failStop(thrown: unknown): void {
    if (this.fatal !== undefined) return;
    const e = thrown instanceof Error ? thrown : new Error(String(thrown));
    this.fatal = e;
    this.opts.logger.fatal({ err: e }, e instanceof RaftInvariantError ? `a Raft invariant broke: ${e.message}; stopping` : 'the Ready loop failed; stopping');
    this.stopped = true;
    this.env.clock.clearInterval(this.ticker);
    this.dropHeld();
    const stopped = new ReplicaError('SHUTTING_DOWN', `the node stopped: ${e.message}`);
    this.proposals.failAll(stopped);
    this.reads.failAll(stopped);
    (this.opts.onFatal ?? shutDownProcess)(e);
  }

  private async handleReady(rd: Ready): Promise<void> {
    mark('ready');
    const started = performance.now();
    // Elections are the first thing to look for when a region stalls.
    if (rd.softState !== undefined) this.opts.logger.info({ term: rd.hardState?.term ?? this.raw.term, role: rd.softState.role, leader: rd.softState.lead || null }, 'raft role or leader changed');
    await this.persistAndApply(rd);
    if (rd.softState !== undefined && rd.softState.role !== StateRole.Leader) {
      this.dropHeld();
      this.failProposalsOnStepDown();
    }
    this.opts.observer?.ready(performance.now() - started);
  }

  /**
   * This node stopped leading: what it proposed and has not applied waits on
   * nothing it can see through. A leader cut off from its region would hold
   * every such write to its deadline; its caller retries elsewhere now. The
   * entry may still commit under the next leader, so the outcome is unknown,
   * and a retry with the request id applies it once. The reason is the
   * deadline's (deadlineError): NO_QUORUM while no leader is known.
   */
  private failProposalsOnStepDown(): void {
    const outcome = 'it may or may not be applied, and a retry with its request id applies it once';
    const e =
      this.raw.lead === NONE
        ? new ReplicaError('NO_QUORUM', `this node stopped leading before the write was committed and the region has no leader with a quorum; ${outcome}`)
        : new ReplicaError('UNKNOWN_OUTCOME', `this node stopped leading before the write was committed; ${outcome}`);
    this.proposals.failAll(e);
  }

  /** Writes what a Ready must persist, applies what it commits and sends its messages, in the order Raft needs. */
  private async persistAndApply(rd: Ready): Promise<void> {
    const store = this.opts.store;
    // A leader sends before it writes (thesis §10.2.1), so that its followers
    // write in parallel with it, and goes on to its next Ready without
    // waiting for this write (etcd's asynchronous storage writes): the core
    // counts the leader's own copy only once the write is done (persisted),
    // and followers' acknowledgements can commit and apply entries meanwhile.
    // Everyone else must write first: their messages promise what they
    // persisted (votes, acknowledgements). The write queue keeps the order
    // of the writes, so nothing this node writes later lands before them.
    const writeLater = this.raw.role === StateRole.Leader && rd.snapshot === undefined;
    // Its appends that carry no entries are held (HeldAnnouncements).
    if (writeLater) this.sendMessages(rd.messages.filter((m) => !isAnnouncement(m)), rd.entries.length);
    const ops: BatchOp[] = [];
    let installedGen: number | undefined;
    if (rd.snapshot !== undefined) {
      this.disk.replaceLog(rd.snapshot.meta.index, ops);
      installedGen = this.snapshots.installOps(rd.snapshot.meta, ops);
    }
    const sync = rd.mustSync || installedGen !== undefined;
    // A new commit index alone waits with the applied state for the next
    // synced batch (below): Raft keeps the commit index volatile (a leader
    // tells it again), and a write of its own would cost every node a second
    // LevelDB write per call. Waiting there, it lands in the same batch as
    // the state applied up to it, so the disk never holds an applied index
    // beyond its commit index.
    if (rd.hardState !== undefined) (sync ? ops : this.disk.waiting).push(store.hardStateOp(rd.hardState));
    this.disk.appendEntries(rd.entries, ops);
    // A leader answers its callers before its write crosses into LevelDB; a
    // follower's answer waits for its fsync anyway, so it applies meanwhile.
    let applied = writeLater ? await this.applyEntries(rd.committedEntries, this.disk.waiting) : 0;
    // What applying wrote waits for the next synced batch: the entries of the
    // next write, or a tick's flush. Its own fsync would cost every node a
    // second one per write, and at one call at a time the next append waits
    // for it. Until then the state on disk is behind the applied index, which
    // is safe: a restart applies the log again from the applied index on
    // disk, and the log is compacted only up to what is on disk
    // (maybeCompact). It is never written unsynced: after a power loss that
    // lands when LevelDB has just switched to a new log file (it does not
    // sync the old one), a later synced batch with a higher applied index
    // could survive an earlier unsynced one, leaving state behind its index.
    const written = this.disk.write(ops, sync);
    if (!writeLater && installedGen === undefined) {
      // Awaited below; a failure that comes during the apply must not count as unhandled meanwhile.
      written.catch(() => undefined);
      applied = await this.applyEntries(rd.committedEntries, this.disk.waiting);
    }
    if (writeLater) {
      this.announcements.hold(rd.messages.filter(isAnnouncement));
      const last = rd.entries[rd.entries.length - 1];
      written.then(
        () => {
          if (last !== undefined && this.input((raw) => raw.persisted(last.index, last.term))) this.kick();
        },
        // As for any failed write (drain): the disk can no longer be trusted to keep what it is told.
        (err: unknown) => this.failStop(err),
      );
    } else {
      await written;
    }

    if (installedGen !== undefined) {
      this.snapshots.installed(installedGen);
      this.lease.revoke();
      this.appliedMeta = rd.snapshot!.meta;
      this.retention.reset(this.appliedMeta.index);
      await this.reload();
      this.opts.logger.info({ index: this.appliedMeta.index, term: this.appliedMeta.term }, 'installed snapshot');
      this.events.emit('members');
      this.snapshots.clearReplaced();
      this.proposals.failUpTo(this.appliedMeta.index, new ReplicaError('UNKNOWN_OUTCOME', 'the node installed a snapshot; the write may or may not have been applied'));
      // Entries after the snapshot in the same Ready apply on the new state.
      applied += await this.applyEntries(rd.committedEntries, this.disk.waiting);
      await this.disk.flush();
    }
    if (!writeLater) this.sendMessages(rd.messages, rd.entries.length);
    for (const rs of rd.readStates) {
      mark('read.confirmed');
      if (this.reads.confirm(rs.context, rs.index)) this.lease.roundConfirmed();
    }
    this.raw.advance(writeLater);
    this.reads.applied(this.appliedMeta.index);
    if (applied > 0) this.events.emit('applied', this.appliedMeta.index);
    this.maybeCompact();
  }

  /**
   * Applies committed entries and answers their proposals; returns how many
   * it applied. Their writers hear now, not after this batch's fsync: an
   * applied entry is committed, so it is already durable in a quorum's logs,
   * and should this node fail before the batch is on disk, it applies the
   * entry again from the log on restart, to the same result.
   *
   * A Ready carries up to maxCommittedBytesPerReady of entries, and each
   * answer runs the request's reply in this turn: so the work goes in slices
   * of APPLY_SLICE_BYTES, and the event loop turns between them, letting
   * ticks, peer messages and new requests through.
   */
  private async applyEntries(entries: readonly Entry[], ops: BatchOp[]): Promise<number> {
    let applied = 0;
    let sliceBytes = 0;
    const store = this.opts.store;
    let membershipChanged = false;
    let removedAt: number | undefined;
    for (const entry of entries) {
      if (entry.index <= this.appliedMeta.index) continue;
      if (sliceBytes >= APPLY_SLICE_BYTES) {
        sliceBytes = 0;
        await this.env.clock.nextTurn();
        // A tick in that turn must not wait for the rest of the batch to
        // tell the followers this leader is alive.
        this.sendMessages(this.raw.takeHeartbeats());
      }
      sliceBytes += entry.data.length;
      let result: R | ConfState | undefined;
      let conf = this.appliedMeta.conf;
      if (entry.type === EntryType.ConfChange) {
        const cc = decodeConfChange(entry.data);
        const wasMember = membersOf(conf).includes(this.id);
        conf = this.raw.applyConfChange(cc);
        for (const w of this.memberBook.apply(cc)) ops.push(store.stateOp(w));
        result = conf;
        membershipChanged = true;
        if (wasMember && !membersOf(conf).includes(this.id)) removedAt = entry.index;
      } else if (entry.data.length > 0) {
        const out = this.opts.app.applyCommand(entry.data, entry.index);
        result = out.result;
        for (const w of out.writes) ops.push(store.stateOp(w));
      }
      this.appliedMeta = { index: entry.index, term: entry.term, conf };
      this.retention.add(entry.index, entry.data.length, entry.type === EntryType.ConfChange);
      mark('apply');
      this.proposals.applied(entry, result);
      applied++;
    }
    if (applied > 0) ops.push(store.appliedOp(this.appliedMeta));
    if (membershipChanged) {
      this.lease.revoke();
      // Told after this turn: the batch that records the change is written first.
      this.env.clock.afterTurn(() => this.events.emit('members'));
    }
    if (removedAt !== undefined) this.env.clock.afterTurn(() => this.events.emit('removed', removedAt));
    return applied;
  }

  /** What a leader held back goes nowhere once it stops leading or the node stops. */
  private dropHeld(): void {
    this.announcements.drop();
    this.appends.drop();
  }

  /** Sends a Ready's messages (`fresh`: the entries it appended), but for the appends that may wait (HeldAppends). */
  private sendMessages(messages: readonly Message[], fresh = 0): void {
    if (this.transport === undefined || messages.length === 0) return;
    mark(() => `send ${messages.map((m) => m.type).join(',')}`);
    this.announcements.leaving(messages);
    this.transmit(this.appends.route(messages, followersThatMayWait(this.raw.followerReplication(), fresh)));
  }

  private transmit(messages: readonly Message[]): void {
    if (this.transport === undefined || messages.length === 0) return;
    const plain: Message[] = [];
    for (const m of messages) {
      if (m.type === MessageType.Snap) this.transport.sendSnapshot(m);
      else plain.push(m);
    }
    if (plain.length > 0) this.transport.send(plain);
  }

  private maybeCompact(): void {
    const index = this.retention.compactionPoint();
    // A leader may have applied entries whose write is still in flight: its
    // log is compacted only where it is on disk. And only up to state applied
    // on disk: a restart applies from there.
    if (index === undefined || index > this.raw.persistedIndex || index > this.disk.appliedQueued) return;
    // Short of the applied index only with no membership change after it (LogRetention), so the applied membership is its own.
    const meta: SnapshotMeta = { index, term: this.raw.termAt(index)!, conf: this.appliedMeta.conf };
    const store = this.opts.store;
    this.raw.compact({ meta, data: new Uint8Array() });
    this.retention.compacted(index);
    this.disk.compacted(meta.index);
    // The new compaction point must be on disk before the entries go, and
    // not before the applied state up to it: that is queued already, or
    // waits and rides in this synced batch.
    void this.disk
      .write([store.snapshotOp(meta)], true)
      .then(() => store.compactLog(meta.index))
      // As for any failed write (drain): the disk can no longer be trusted to keep what it is told.
      .catch((err: unknown) => this.failStop(err));
  }

  // ---- Errors ----

  /**
   * Why a write or read ran out of time. With a leader known, what ran out
   * is the caller's time, not the region's quorum: a leader that lost its
   * quorum steps down within an election timeout (CheckQuorum), and then
   * none is known. Called NO_QUORUM, a merely slow write made clients take
   * the whole region for down.
   */
  private deadlineError(what: 'write' | 'read'): ReplicaError {
    if (this.raw.lead === NONE) return new ReplicaError('NO_QUORUM', `the ${what} could not complete: this region has no leader with a quorum`);
    const outcome = what === 'write' ? 'it may still be applied, and a retry with its request id applies it once' : 'retry it';
    return new ReplicaError('DEADLINE_EXCEEDED', `the ${what} did not complete before its deadline; ${outcome}`);
  }

  private assertUsable(): void {
    if (this.fatal !== undefined) throw new ReplicaError('SHUTTING_DOWN', `the node stopped: ${this.fatal.message}`);
    if (this.stopped) throw new ReplicaError('SHUTTING_DOWN', 'the node is shutting down');
  }
}

function membersOf(conf: ConfState): string[] {
  return [...conf.voters, ...conf.votersOutgoing, ...conf.learners, ...conf.learnersNext];
}
