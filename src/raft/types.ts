// The vocabulary of the consensus core. Plain data only: everything here can be
// copied, persisted or sent by the host without the core's help.

export type NodeId = string;

/** No node: no leader known, no vote cast. */
export const NONE: NodeId = '';

export enum EntryType {
  Normal = 0,
  /** data is an encoded ConfChange (see confchange.ts). */
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log: Raft §5.1 "persistent state". */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/**
 * A membership. In joint consensus (Raft §6) `votersOutgoing` is the old
 * voter set and decisions need a majority of both; otherwise it is empty.
 * `learnersNext` are voters of the old config that become learners when the
 * joint config is left.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  /** Leave the joint config by itself once it is applied. */
  readonly autoLeave: boolean;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/**
 * A state machine image at meta.index. `data` is opaque to the core; a host
 * that streams snapshots out of band may leave it empty.
 */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export enum MessageType {
  // Local messages: the host hands them to step(); they never cross the wire.
  Hup = 'Hup',
  Beat = 'Beat',
  SnapStatus = 'SnapStatus',
  Unreachable = 'Unreachable',
  // Wire messages.
  App = 'App',
  AppResp = 'AppResp',
  Vote = 'Vote',
  VoteResp = 'VoteResp',
  PreVote = 'PreVote',
  PreVoteResp = 'PreVoteResp',
  Snap = 'Snap',
  Heartbeat = 'Heartbeat',
  HeartbeatResp = 'HeartbeatResp',
  TimeoutNow = 'TimeoutNow',
  TransferLeader = 'TransferLeader',
  ReadIndex = 'ReadIndex',
  ReadIndexResp = 'ReadIndexResp',
}

export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** App: term of the entry before `entries`; AppResp reject: term at rejectHint. */
  readonly logTerm: number;
  /** App: index of the entry before `entries`; AppResp: last index matched or rejected. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** AppResp reject: the follower's guess of the highest index that may match. */
  readonly rejectHint: number;
  readonly snapshot?: Snapshot;
  /** Vote: set when campaigning because of a leadership transfer. ReadIndex: the request's id. */
  readonly context?: Uint8Array;
}

/** Makes a message with every field the type does not use set to its zero. */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

export enum StateRole {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

/** Volatile state the host may want to show; never persisted. */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: StateRole;
}

/**
 * A linearizable read point: once the host has applied up to `index`, its state
 * machine reflects every write acknowledged before the read was requested.
 */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * A batch of work for the host, in this order: persist `hardState`, `snapshot`
 * and `entries` with one synced write; then send `messages`; then apply
 * `snapshot` and `committedEntries`; serve `readStates` once applied reaches
 * their index; finally call advance().
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
  /**
   * Entries to persist. The first may overwrite an entry the host holds:
   * the host drops every persisted entry at or after `entries[0].index`.
   */
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** False when nothing in the batch needs an fsync before messages go out. */
  readonly mustSync: boolean;
}

/** Thrown when a core invariant does not hold: a bug, never a user error. */
export class RaftInvariantError extends Error {
  override name = 'RaftInvariantError';
}

export function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new RaftInvariantError(what);
}

/** A proposal the core refuses; the host reports it to the client. */
export class ProposalDropped extends Error {
  override name = 'ProposalDropped';
}

/**
 * A proposal refused because the leader's uncommitted tail is full
 * (maxUncommittedBytes): the group is behind, and the client should retry
 * later rather than elsewhere.
 */
export class UncommittedLimitExceeded extends ProposalDropped {
  override name = 'UncommittedLimitExceeded';
}
