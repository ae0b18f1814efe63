// Bugs planted in the host loop of one simulated node's process, to prove that
// the whole-node checks catch them. Each wraps a method of the real Replica
// (or the geo follower) the way a plausible mistake would change it.

import type { VaultAppResult } from '../../../src/app/vault-app.js';
import { decodeGeoEntry, encodeGeoEntry } from '../../../src/geo/codec.js';
import type { GeoFollower } from '../../../src/geo/follower.js';
import type { GeoMeta } from '../../../src/geo/geo-state.js';
import { ReadLease } from '../../../src/replica/read-lease.js';
import type { Replica } from '../../../src/replica/replica.js';
import type { BatchOp } from '../../../src/storage/raft-store.js';

export const REPLICA_PLANTS = ['ack-before-commit', 'apply-before-persist', 'lease-outlives-election'] as const;
export type ReplicaPlant = (typeof REPLICA_PLANTS)[number];

export function plantInReplica(replica: Replica<VaultAppResult>, plant: string): void {
  if (plant === 'ack-before-commit') {
    // The writer hears "done" once the leader has the entry in its log, before a quorum does.
    const propose = replica.propose.bind(replica);
    replica.propose = (data, timeoutMs) => {
      const applied = propose(data, timeoutMs);
      applied.catch(() => undefined);
      const index = replica.status().lastIndex;
      return Promise.resolve({ result: { kind: 'none' }, index } as unknown as VaultAppResult);
    };
  } else if (plant === 'apply-before-persist') {
    // The Ready loop goes on (applies, answers, acknowledges to the leader) without waiting for its write.
    const disk = (replica as unknown as { disk: { toStore(ops: BatchOp[], sync: boolean): Promise<void> } }).disk;
    const write = disk.toStore.bind(disk);
    disk.toStore = (ops, sync) => {
      void write(ops, sync).catch(() => undefined);
      return Promise.resolve();
    };
  } else if (plant === 'lease-outlives-election') {
    // The read lease is counted in the wrong unit: it lasts 20 times longer than the members refuse to vote.
    const internals = replica as unknown as { lease: ReadLease };
    internals.lease = new ReadLease(internals.lease.durationMs * 20);
  }
}

export const GEO_PLANTS = ['skip-shipped-entry', 'failover-with-healthy-primary', 'failback-before-caught-up'] as const;

interface DetectorInternals {
  opts: { failoverAfterMs: number; failbackAfterMs: number };
  primaryCommit: number;
  decide(geo: GeoMeta, now: number): unknown;
}

interface FollowerInternals {
  detector: DetectorInternals;
  opts: { replica: { readonly isLeader: boolean; propose(data: Uint8Array, timeoutMs: number): Promise<unknown> } };
}

export function plantInFollower(follower: GeoFollower, plant: string): void {
  const f = follower as unknown as FollowerInternals;
  if (plant === 'skip-shipped-entry') {
    // Every fifth batch of shipped entries loses its second entry on the way into the log.
    const replica = f.opts.replica;
    const propose = replica.propose.bind(replica);
    let batches = 0;
    f.opts = {
      ...f.opts,
      replica: {
        get isLeader() {
          return replica.isLeader;
        },
        propose: (data: Uint8Array, timeoutMs: number) => {
          const entry = decodeGeoEntry(data);
          if (entry.kind === 'shipped' && entry.shipped.entries.length > 1 && batches++ % 5 === 4) {
            entry.shipped.entries.splice(1, 1);
            return propose(encodeGeoEntry(entry), timeoutMs);
          }
          return propose(data, timeoutMs);
        },
      },
    };
  } else if (plant === 'failover-with-healthy-primary') {
    // The failover period read in the wrong unit: a tenth of it.
    f.detector.opts = { ...f.detector.opts, failoverAfterMs: f.detector.opts.failoverAfterMs / 10 };
  } else if (plant === 'failback-before-caught-up') {
    // The caught-up test compares against a commit index that was never set.
    const decide = f.detector.decide.bind(f.detector);
    f.detector.decide = (geo, now) => {
      f.detector.primaryCommit = 0;
      return decide(geo, now);
    };
  }
}
