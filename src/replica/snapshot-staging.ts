// A snapshot on its way in: its records streamed from the leader are written
// under the store's next state generation while the current one keeps
// serving; the core then decides whether to install it, and an install
// switches generations in the same batch that records the snapshot. What the
// install replaced is cleared afterwards, in the background.

import type { Logger } from 'pino';
import type { SnapshotMeta } from '../raft/index.js';
import type { BatchOp, RaftStore } from '../storage/raft-store.js';

/** Records per unsynced batch while a snapshot streams in. */
const STAGE_BATCH_RECORDS = 1000;

export class SnapshotStaging {
  /** The snapshot written under the next generation, waiting for the core. */
  private staged: { gen: number; meta: SnapshotMeta } | undefined;
  /** The clearing of what the last install replaced (or a refused snapshot left), while it runs. */
  private dropping: Promise<void> | undefined;

  constructor(
    private readonly store: RaftStore,
    private readonly logger: Logger,
  ) {}

  /** Whether a snapshot is being received or waits for the core: one at a time. */
  get busy(): boolean {
    return this.staged !== undefined;
  }

  /**
   * Writes `records` under the next generation, then lets `offer` hand the
   * snapshot to the core. Resolves whether an install took it (`installOps`);
   * a snapshot not taken has its records cleared before this resolves.
   */
  async stage(meta: SnapshotMeta, records: AsyncIterable<[string, Uint8Array]>, offer: () => Promise<boolean>): Promise<boolean> {
    const store = this.store;
    const gen = store.nextGeneration;
    this.staged = { gen, meta };
    // The state the last install replaced is still being cleared: that
    // clearing takes every generation but the one in use, this one's too.
    await this.dropping;
    try {
      let batch: BatchOp[] = [];
      for await (const [key, value] of records) {
        batch.push(store.stagedStateOp(gen, key, value));
        if (batch.length >= STAGE_BATCH_RECORDS) {
          await store.write(batch, false);
          batch = [];
        }
      }
      await store.write(batch, false);
      if (!(await offer())) return false;
      return this.staged === undefined; // consumed by an install
    } finally {
      if (this.staged?.gen === gen) {
        this.staged = undefined;
        // The next snapshot may arrive while this clearing runs; it stages
        // under this same generation, so it waits for the clearing first.
        this.dropping = store.dropOtherGenerations();
        await this.dropping;
      }
    }
  }

  /**
   * Adds to `ops` what makes the staged snapshot at `meta` the state in use
   * once they are on disk; returns its generation, for `installed`. The core
   * installs only what it was offered, so anything else is our own bug.
   */
  installOps(meta: SnapshotMeta, ops: BatchOp[]): number {
    const staged = this.staged;
    if (staged === undefined || staged.meta.index !== meta.index) throw new Error(`snapshot at ${meta.index} was not staged`);
    ops.push(this.store.generationOp(staged.gen), this.store.snapshotOp(meta), this.store.appliedOp(meta));
    return staged.gen;
  }

  /** The install's batch is on disk: its generation is the state in use. */
  installed(gen: number): void {
    this.store.useGeneration(gen);
    this.staged = undefined;
  }

  /** Clears, in the background, the state an install replaced: once the new one is loaded, so as not to compete with it. */
  clearReplaced(): void {
    this.dropping = this.store.dropOtherGenerations().catch((err: unknown) => this.logger.warn({ err }, 'dropping the replaced state failed; the next start clears it'));
  }
}
