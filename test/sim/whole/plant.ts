// Bugs planted in the host loop of one simulated node's process, to prove that
// the whole-node checks catch them. Each wraps a method of the real Replica
// (or the geo follower) the way a plausible mistake would change it.

import type { VaultAppResult } from '../../../src/app/vault-app.js';
import type { Replica } from '../../../src/replica/replica.js';
import type { BatchOp } from '../../../src/storage/raft-store.js';

export const REPLICA_PLANTS = ['ack-before-commit', 'apply-before-persist'] as const;
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
    const host = replica as unknown as { write(ops: BatchOp[], sync: boolean): Promise<void> };
    const write = host.write.bind(replica);
    host.write = (ops, sync) => {
      void write(ops, sync).catch(() => undefined);
      return Promise.resolve();
    };
  }
}
