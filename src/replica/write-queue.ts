// The Ready loop's writes to the store, one at a time and in the order they
// were queued. A leader goes on to its next Ready while its write is on its
// way to disk (Replica.persistAndApply); what the Readies after it write
// waits, merged into one batch, for that write to end, so that LevelDB never
// sees two of them at once (it could apply them in either order) and a burst
// of Readies costs one fsync, not one each.

import type { BatchOp } from '../storage/raft-store.js';

interface Batch {
  readonly ops: BatchOp[];
  sync: boolean;
  readonly waiters: { resolve: () => void; reject: (e: Error) => void }[];
}

export class WriteQueue {
  private writing = false;
  private queued: Batch | undefined;
  /** Set by the first failed write: after it, memory is ahead of the disk, and nothing more may be written. */
  private failed: Error | undefined;

  constructor(private readonly store: (ops: BatchOp[], sync: boolean) => Promise<void>) {}

  /**
   * Writes `ops` after everything queued before them, synced if any batch
   * merged with them asks for it. With nothing to write and nothing before
   * it, resolves at once; otherwise it also tells when all before it is on disk.
   */
  write(ops: readonly BatchOp[], sync: boolean): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (ops.length === 0 && !this.writing && this.queued === undefined) return Promise.resolve();
    const batch = (this.queued ??= { ops: [], sync: false, waiters: [] });
    for (const op of ops) batch.ops.push(op);
    batch.sync ||= sync;
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (!this.writing) void this.writeQueued();
    return done;
  }

  private async writeQueued(): Promise<void> {
    this.writing = true;
    for (let batch = this.queued; batch !== undefined; batch = this.queued) {
      this.queued = undefined;
      try {
        await this.store(batch.ops, batch.sync);
      } catch (e) {
        this.failed = e instanceof Error ? e : new Error(String(e));
        // Queued while this one was in flight: they must not land without it.
        const later = (this.queued as Batch | undefined)?.waiters ?? [];
        this.queued = undefined;
        for (const w of [...batch.waiters, ...later]) w.reject(this.failed);
        break;
      }
      for (const w of batch.waiters) w.resolve();
    }
    this.writing = false;
  }
}
