// The little of a Replica that geo-replication uses, so that the follower and
// the source run against a real replica, a test's fake, or the simulator's.

import type { PrimaryEntry } from './codec.js';

/** What the secondary's follower needs of its own region's replica. */
export interface FollowerReplica {
  readonly isLeader: boolean;
  /** Resolves once `data` is committed and applied; rejects (ReplicaError) when it cannot be. */
  propose(data: Uint8Array, timeoutMs: number): Promise<unknown>;
}

/** What a primary node's source needs of its replica. */
export interface SourceReplica {
  /** The leader this node follows ('' when none). */
  readonly leader: string;
  readonly isLeader: boolean;
  readonly commitIndex: number;
  status(): { readonly term: number };
  /** Committed entries from `from` on (at most `max`), or undefined when `from` was compacted away. */
  committedEntries(from: number, max: number): readonly Readonly<PrimaryEntry>[] | undefined;
  /** Keeps the log from `index` on for a reader that still needs it. */
  retainLogFrom(index: number): void;
  /** 'applied' after each batch of entries is applied. */
  readonly events: {
    on(event: 'applied', fn: () => void): unknown;
    off(event: 'applied', fn: () => void): unknown;
  };
}

/** A consistent view of a node's applied state, as NodeStore.openStateSnapshot gives it. */
export interface StateSnapshots {
  openStateSnapshot(): Promise<{ meta: { index: number; term: number }; records: AsyncIterable<[string, Uint8Array]>; close: () => Promise<void> }>;
}
