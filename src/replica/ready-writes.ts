// What the Ready loop has on disk and what waits to go there: the range of
// log entries written, and the applied state that rides with the next synced
// batch instead of costing an fsync of its own (see Replica.persistAndApply).
// Every write goes through one WriteQueue, in the order it was asked for.

import type { Entry } from '../raft/index.js';
import type { BatchOp, RaftStore } from '../storage/raft-store.js';
import { mark } from '../trace.js';
import { WriteQueue } from './write-queue.js';

export class ReadyWrites {
  /** Entries on disk: [first, last]. */
  private first = 1;
  private last = 0;
  /**
   * What applying wrote (state records, the applied index) and a commit
   * index alone: not on disk yet. They go in the next synced batch, so that
   * a write costs each node one fsync, not two.
   */
  private unwritten: BatchOp[] = [];
  private queuedApplied = 0;
  /** Set by a tick: the next flushIfDue writes what waits even if nothing else needs a synced write. */
  private flushDue = false;
  private readonly queue = new WriteQueue((ops, sync) => this.toStore(ops, sync));

  constructor(
    private readonly store: RaftStore,
    /** The replica's applied index now. */
    private readonly appliedIndex: () => number,
    /** Told how long each store write took. */
    private readonly observe?: (ms: number, synced: boolean) => void,
  ) {}

  /** What a start found on disk: the entries after the snapshot at `snapshotIndex`, and the applied state. */
  opened(snapshotIndex: number, entries: number): void {
    this.first = snapshotIndex + 1;
    this.last = snapshotIndex + entries;
    this.queuedApplied = this.appliedIndex();
  }

  /** Where applying (and a commit index alone) puts what it writes: it waits for the next synced batch. */
  get waiting(): BatchOp[] {
    return this.unwritten;
  }

  /** The applied index whose state is on disk or queued for it: a restart applies from there, so the log may be compacted up to here. */
  get appliedQueued(): number {
    return this.queuedApplied;
  }

  /** Adds to `ops` the deletion of every entry on disk: a snapshot at `index` replaces the log. */
  replaceLog(index: number, ops: BatchOp[]): void {
    for (let i = this.first; i <= this.last; i++) ops.push(this.store.deleteEntryOp(i));
    this.first = index + 1;
    this.last = index;
  }

  /** Adds `entries` to `ops`, and the deletion of our entries past their end: a shorter replacement log. */
  appendEntries(entries: readonly Entry[], ops: BatchOp[]): void {
    if (entries.length === 0) return;
    for (const e of entries) ops.push(this.store.entryOp(e));
    const last = entries[entries.length - 1]!.index;
    for (let i = last + 1; i <= this.last; i++) ops.push(this.store.deleteEntryOp(i));
    this.last = last;
  }

  /** The log was compacted up to `index`. */
  compacted(index: number): void {
    this.first = Math.max(this.first, index + 1);
  }

  /** Writes `ops` after everything asked before; a synced write takes what waits with it. */
  write(ops: readonly BatchOp[], sync: boolean): Promise<void> {
    return this.queue.write(sync ? [...this.takeWaiting(), ...ops] : ops, sync);
  }

  /** Writes what waits, synced (a clean stop; applying after a snapshot install). */
  flush(): Promise<void> {
    return this.write([], true);
  }

  /** A tick: what waits now is written by the next flushIfDue, should no synced write take it first. */
  tick(): void {
    if (this.unwritten.length > 0) this.flushDue = true;
  }

  async flushIfDue(): Promise<void> {
    if (this.flushDue) await this.flush();
  }

  private takeWaiting(): BatchOp[] {
    const ops = this.unwritten;
    this.unwritten = [];
    this.queuedApplied = this.appliedIndex();
    this.flushDue = false;
    return ops;
  }

  private async toStore(ops: BatchOp[], sync: boolean): Promise<void> {
    const started = performance.now();
    mark(sync ? 'write synced' : 'write unsynced');
    await this.store.write(ops, sync);
    mark('written');
    this.observe?.(performance.now() - started, sync);
  }
}
