// What the log keeps after compaction, decided in bytes as well as entries
// (an entry can carry tens of KiB, so a count is no bound on memory: the core
// holds every entry after its compaction point). Compaction cuts at the
// applied index, or, while a log reader (the secondary region) is behind but
// within its retention, just before the first entry the reader still needs.
// A reader past its retention gets nothing kept: it takes a snapshot.
//
// What the log holds is then at most about readerBytes + compactEveryBytes
// (the part a reader needs, and less than half a compaction's worth before
// it), plus what one Ready applies.

export interface RetentionLimits {
  /** Compact once this many entries were applied since the last compaction... */
  readonly compactEvery: number;
  /** ...or this many bytes of entry data. */
  readonly compactEveryBytes: number;
  /** A reader further behind than this many entries, or */
  readonly readerEntries: number;
  /** this many bytes of entry data, is left to a snapshot. */
  readonly readerBytes: number;
}

export class LogRetention {
  /** totals[k]: bytes of the applied entries (base, base + 1 + k]. */
  private totals: number[] = [];
  /** The compaction point. */
  private base: number;
  /** The last membership change applied: the compaction point's membership is known only at or after it. */
  private lastConfChange = 0;
  /** The lowest index a log reader still needs. */
  private readerFrom = Infinity;

  constructor(
    private readonly limits: RetentionLimits,
    compactedIndex: number,
  ) {
    this.base = compactedIndex;
  }

  get applied(): number {
    return this.base + this.totals.length;
  }

  /** Bytes of entry data held between the compaction point and the applied index. */
  get heldBytes(): number {
    return this.totals[this.totals.length - 1] ?? 0;
  }

  /** The next entry was applied. */
  add(index: number, bytes: number, confChange: boolean): void {
    if (index !== this.applied + 1) throw new Error(`retention: entry ${index} applied after ${this.applied}`);
    this.totals.push(this.heldBytes + bytes);
    if (confChange) this.lastConfChange = index;
  }

  /** A reader asks for entries from `index` on. */
  readerNeeds(index: number): void {
    this.readerFrom = index;
  }

  /** Bytes of the applied entries from `index` on. */
  bytesFrom(index: number): number {
    const k = index - this.base - 2;
    return this.heldBytes - (k >= 0 ? this.totals[k]! : 0);
  }

  /** Where to compact now, or undefined to keep everything for the time being. */
  compactionPoint(): number | undefined {
    const { compactEvery, compactEveryBytes, readerEntries, readerBytes } = this.limits;
    const applied = this.applied;
    if (applied - this.base < compactEvery && this.heldBytes < compactEveryBytes) return undefined;
    const from = this.readerFrom;
    const readerWithin = from > this.base && from <= applied && applied - from < readerEntries && this.bytesFrom(from) <= readerBytes;
    if (!readerWithin) return applied;
    const to = from - 1;
    // Freeing little costs a synced write each time: wait until it is half a compaction's worth.
    if (to - this.base < compactEvery / 2 && this.heldBytes - this.bytesFrom(from) < compactEveryBytes / 2) return undefined;
    if (this.lastConfChange > to) return undefined;
    return to;
  }

  /** The log was compacted through `index` (at most the applied index). */
  compacted(index: number): void {
    const cut = index - this.base;
    if (cut <= 0) return;
    const dropped = this.totals[cut - 1]!;
    this.totals = this.totals.slice(cut).map((t) => t - dropped);
    this.base = index;
  }

  /** A snapshot replaced the log: nothing is held after `index`. */
  reset(index: number): void {
    this.totals = [];
    this.base = index;
    this.lastConfChange = 0;
  }
}
