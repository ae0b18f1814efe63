// The replicated log as the core sees it: a snapshot (the compaction point)
// followed by the entries after it, with cursors for what is handed out for
// persisting, persisted, committed, handed out for applying, and applied.

import type { Entry, Snapshot } from './types.js';
import { invariant } from './types.js';

export class RaftLog {
  /** The latest snapshot; its index and term stand for the compacted prefix. */
  snapshot: Snapshot;
  /** A snapshot received from the leader and not yet handed to the host. */
  pendingSnapshot: Snapshot | undefined;
  /** entries[k].index === snapshot.meta.index + 1 + k */
  private entries: Entry[];
  /** Entries up to here were handed to the host to persist (a leader's may still be on their way to disk). */
  persisting: number;
  /** Entries up to here are persisted by the host. */
  stable: number;
  committed: number;
  /** Committed entries up to here were handed to the host for applying. */
  applying: number;
  applied: number;

  constructor(snapshot: Snapshot, entries: readonly Entry[], committed: number, applied: number) {
    this.snapshot = snapshot;
    this.entries = [...entries];
    this.persisting = this.lastIndex;
    this.stable = this.lastIndex;
    this.committed = committed;
    this.applied = Math.max(applied, snapshot.meta.index);
    this.applying = this.applied;
    this.assertEntriesContiguous(this.entries, this.firstIndex);
    invariant(committed <= this.lastIndex, `commit ${committed} beyond last index ${this.lastIndex}`);
    invariant(this.applied <= committed, `applied ${this.applied} beyond commit ${committed}`);
  }

  get firstIndex(): number {
    return this.snapshot.meta.index + 1;
  }

  get lastIndex(): number {
    return this.snapshot.meta.index + this.entries.length;
  }

  get lastTerm(): number {
    return this.term(this.lastIndex)!;
  }

  /** The term of the entry at `index`, or undefined if compacted away or not there. */
  term(index: number): number | undefined {
    const snap = this.snapshot.meta;
    if (index === snap.index) return snap.term;
    if (index < snap.index || index > this.lastIndex) return undefined;
    return this.entries[index - snap.index - 1]!.term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /**
   * Entries [lo, hi), all present; with `maxBytes`, only the longest prefix
   * whose data fits in it, but never less than one entry (etcd's limitSize):
   * an entry larger than the limit must still travel.
   */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    invariant(lo >= this.firstIndex && hi <= this.lastIndex + 1 && lo <= hi, `slice [${lo}, ${hi}) out of range`);
    const base = this.snapshot.meta.index + 1;
    if (maxBytes !== Infinity && lo < hi) {
      let bytes = this.entries[lo - base]!.data.length;
      for (let i = lo + 1; i < hi; i++) {
        bytes += this.entries[i - base]!.data.length;
        if (bytes > maxBytes) {
          hi = i;
          break;
        }
      }
    }
    return this.entries.slice(lo - base, hi - base);
  }

  /** Bytes of entry data in (after, upTo]: what the uncommitted limit counts. */
  dataBytes(after: number, upTo: number): number {
    const base = this.snapshot.meta.index + 1;
    invariant(after + 1 >= base && upTo <= this.lastIndex, `data bytes of (${after}, ${upTo}] out of range`);
    let bytes = 0;
    for (let i = after + 1; i <= upTo; i++) bytes += this.entries[i - base]!.data.length;
    return bytes;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }

  /**
   * Appends a leader's entries that follow (prevIndex, prevTerm), replacing a
   * conflicting suffix. Returns the index of the last new entry, or undefined
   * when our log does not contain (prevIndex, prevTerm).
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      invariant(conflict > this.committed, `entry ${conflict} conflicts with committed ${this.committed}`);
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /**
   * The first index where `entries` differ from ours (term mismatch or past our
   * end), or 0 when we already hold them all. Entries we compacted are taken as
   * matching: they were committed, so by log matching they are the same.
   */
  private findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index < this.firstIndex) continue;
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * For a rejected append at `index` with the leader's `term`: the largest index
   * at or below `index` whose term is at most `term`, and that term. Entries
   * above it cannot match, so the leader can skip them all at once.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = Math.min(index, this.lastIndex); i >= this.snapshot.meta.index; i--) {
      const t = this.term(i)!;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.snapshot.meta.index, term: this.snapshot.meta.term };
  }

  /** Appends entries, dropping any of ours at or after the first of them. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    invariant(first > this.committed, `append at ${first} would overwrite committed ${this.committed}`);
    invariant(first <= this.lastIndex + 1, `append at ${first} leaves a gap after ${this.lastIndex}`);
    this.assertEntriesContiguous(entries, first);
    this.entries.length = first - this.firstIndex;
    for (const e of entries) this.entries.push(e);
    // Overwritten entries must be persisted again.
    this.persisting = Math.min(this.persisting, first - 1);
    this.stable = Math.min(this.stable, first - 1);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    invariant(index <= this.lastIndex, `commit ${index} beyond last index ${this.lastIndex}`);
    this.committed = index;
  }

  /** Advances commit to `index` if its entry is of `term` (Raft §5.4.2). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  /** Replaces the whole log with a leader's snapshot (InstallSnapshot). */
  restore(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    invariant(index > this.committed, `snapshot ${index} not past commit ${this.committed}`);
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.entries = [];
    this.committed = index;
    this.persisting = index;
    this.stable = index;
    this.applying = index;
    this.applied = index;
  }

  /**
   * The host made a snapshot of its applied state: entries up to it are no
   * longer needed. Keeps the entries after it.
   */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (index <= this.snapshot.meta.index) return;
    invariant(index <= this.applied, `compacting to ${index} beyond applied ${this.applied}`);
    invariant(index <= this.stable, `compacting to ${index} beyond what is persisted (${this.stable})`);
    invariant(this.term(index) === snapshot.meta.term, `snapshot term ${snapshot.meta.term} differs from the log at ${index}`);
    this.entries = this.entries.slice(index - this.snapshot.meta.index);
    this.snapshot = snapshot;
  }

  get hasEntriesToPersist(): boolean {
    return this.persisting < this.lastIndex;
  }

  /** Entries not yet handed to the host to persist. */
  entriesToPersist(): Entry[] {
    return this.persisting >= this.lastIndex ? [] : this.slice(this.persisting + 1, this.lastIndex + 1);
  }

  persistingTo(index: number): void {
    invariant(index <= this.lastIndex, `persisting ${index} beyond last index ${this.lastIndex}`);
    this.persisting = Math.max(this.persisting, index);
  }

  /**
   * Persisted through (index, term), unless those entries were replaced
   * meanwhile: a leader's write may end after it stepped down and a new
   * leader's entries overwrote the ones it held.
   */
  stableTo(index: number, term: number): void {
    if (index > this.stable && index <= this.persisting && this.term(index) === term) this.stable = index;
  }

  /** Committed entries not yet handed out for applying, at most `maxBytes` of data (but at least one). */
  nextCommittedEntries(maxBytes = Infinity): Entry[] {
    const hi = Math.min(this.committed, this.lastIndex);
    return this.applying >= hi ? [] : this.slice(this.applying + 1, hi + 1, maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return this.applying < this.committed;
  }

  applyingTo(index: number): void {
    invariant(index <= this.committed, `applying ${index} beyond commit ${this.committed}`);
    this.applying = Math.max(this.applying, index);
  }

  appliedTo(index: number): void {
    if (index <= this.applied) return;
    invariant(index <= this.committed, `applied ${index} beyond commit ${this.committed}`);
    this.applied = index;
    this.applying = Math.max(this.applying, index);
  }

  private assertEntriesContiguous(entries: readonly Entry[], first: number): void {
    let prevTerm = entries === this.entries ? this.snapshot.meta.term : (this.term(first - 1) ?? 0);
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      invariant(e.index === first + k, `entry index ${e.index} where ${first + k} was expected`);
      invariant(e.term >= prevTerm, `entry term ${e.term} at ${e.index} below previous ${prevTerm}`);
      prevTerm = e.term;
    }
  }
}
