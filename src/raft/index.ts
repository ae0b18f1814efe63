// The consensus core's public face. It imports nothing from the rest of keyraft.

export * from './types.js';
export * from './confchange.js';
export { RawNode, type BasicStatus, type FollowerReplication, type Status } from './rawnode.js';
export { DEFAULT_CONFIG, type PersistedState, type RaftConfig } from './raft.js';

import type { PersistedState } from './raft.js';
import type { NodeId } from './types.js';
import { NONE } from './types.js';

/**
 * The state every founding member starts from: a snapshot at index 1, term 1,
 * holding the initial membership. A node that joins later starts empty and so
 * always receives a snapshot, which carries the membership it must know.
 */
export function bootstrapState(voters: readonly NodeId[]): PersistedState {
  const conf = { voters: [...voters].sort(), votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
  return {
    hardState: { term: 1, vote: NONE, commit: 1 },
    snapshot: { meta: { index: 1, term: 1, conf }, data: new Uint8Array() },
    entries: [],
    applied: 1,
    conf,
  };
}

/** The state of a node that will join an existing group: it knows nothing yet. */
export function emptyState(): PersistedState {
  const conf = { voters: [], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
  return {
    hardState: { term: 0, vote: NONE, commit: 0 },
    snapshot: { meta: { index: 0, term: 0, conf }, data: new Uint8Array() },
    entries: [],
    applied: 0,
    conf,
  };
}
