// Backup of the whole cluster (Cluster.SaveSnapshot): the applied state of
// this primary node at one point, as a snapshot file's bytes.
//
// Consistent: a linearizable read first (ReadIndex, which a follower runs
// itself through the leader), so that the state includes every write
// acknowledged before the call; then one LevelDB snapshot, from which the
// applied index and every record are read, counted and streamed. A follower
// serves it itself rather than forwarding: the leader's work is one
// ReadIndex round, and the read of the whole state, the encryption and the
// stream fall on the node that was asked.

import type { KeyObject } from 'node:crypto';
import type { NodeStore } from '../storage/store.js';
import { encodeSnapshot } from './snapshot-file.js';

export interface SnapshotPiece {
  readonly data: Uint8Array;
  readonly index: number;
  readonly term: number;
  readonly recordCount: number;
}

export interface ClusterSnapshotsOptions {
  readonly replica: { linearizableRead(timeoutMs: number): Promise<void> };
  readonly store: NodeStore;
  /** The cluster master key: the file is encrypted under a key derived from it. */
  readonly masterKey: Uint8Array | KeyObject;
  /** The topology's name, written in the file's header. */
  readonly cluster: string;
}

export class ClusterSnapshots {
  constructor(private readonly opts: ClusterSnapshotsOptions) {}

  /** The snapshot file's bytes, in order; `readTimeoutMs` bounds the linearizable read. */
  async *save(readTimeoutMs: number): AsyncGenerator<SnapshotPiece> {
    const { replica, store, masterKey, cluster } = this.opts;
    await replica.linearizableRead(readTimeoutMs);
    const view = await store.openStateView();
    try {
      const { index, term } = view.meta;
      const recordCount = await view.count();
      const meta = { cluster, index, term, records: recordCount, createdMs: Date.now() };
      for await (const data of encodeSnapshot(masterKey, meta, view.records())) yield { data, index, term, recordCount };
    } finally {
      await view.close();
    }
  }
}
