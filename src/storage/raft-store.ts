// What the host loop needs from a node's storage: its Raft log, hard state
// and compaction point, and the applied state, changed together in atomic
// batches. The keys and the generations of the state live behind it: the
// LevelDB store (store.ts) in production, an in-memory one that loses what a
// crash would in the whole-node simulator.

import type { Entry, HardState, SnapshotMeta } from '../raft/index.js';

/** One change in an atomic batch; built only by the store's own methods. */
export type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** A change to the applied state, to persist with the entry that caused it (see RaftStore.stateOp). */
export type StateWrite = { op: 'put'; key: string; value: Uint8Array } | { op: 'del'; key: string };

export interface PersistedRaft {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta;
  readonly entries: Entry[];
  readonly applied: SnapshotMeta;
}

export interface RaftStore {
  /** What was persisted, or undefined for a node that never wrote its Raft state. */
  loadRaft(): Promise<PersistedRaft | undefined>;
  /** The applied state's records of the generation in use, as [record key, value]. */
  stateRecords(): AsyncIterable<[string, Uint8Array]>;
  /** Writes the batch atomically; synced, it and every batch before it survive a crash. */
  write(ops: readonly BatchOp[], sync: boolean): Promise<void>;
  /** Deletes log entries up to and including index (after the compaction point moved past them). */
  compactLog(index: number): Promise<void>;
  /** Removes state records of every generation but the one in use. */
  dropOtherGenerations(): Promise<void>;

  hardStateOp(hs: HardState): BatchOp;
  /** The core's compaction point. */
  snapshotOp(meta: SnapshotMeta): BatchOp;
  appliedOp(meta: SnapshotMeta): BatchOp;
  entryOp(e: Entry): BatchOp;
  deleteEntryOp(index: number): BatchOp;
  /** A change to the applied state, in the generation in use. */
  stateOp(w: StateWrite): BatchOp;

  /** The generation a received snapshot is staged under, before it is installed. */
  readonly nextGeneration: number;
  stagedStateOp(gen: number, key: string, value: Uint8Array): BatchOp;
  /** Makes gen the generation in use, in the batch that installs its snapshot... */
  generationOp(gen: number): BatchOp;
  /** ...and, once that batch is written, in memory. */
  useGeneration(gen: number): void;
}
