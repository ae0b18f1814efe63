// Quorum arithmetic for simple majorities and joint configurations (Raft §6).

import type { NodeId } from './types.js';

export enum VoteResult {
  Pending = 'pending',
  Lost = 'lost',
  Won = 'won',
}

/**
 * The highest index acknowledged by a majority of `voters`. An empty voter set
 * imposes no constraint (Infinity), so that a joint config with an empty
 * outgoing half reduces to its incoming half.
 */
export function majorityCommitted(voters: ReadonlySet<NodeId>, acked: (id: NodeId) => number): number {
  if (voters.size === 0) return Infinity;
  const indexes = [...voters].map(acked).sort((a, b) => b - a);
  // With n voters, the (n/2+1)-th highest index is held by a majority.
  return indexes[Math.floor(voters.size / 2)]!;
}

export function majorityVote(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const quorum = Math.floor(voters.size / 2) + 1;
  if (granted >= quorum) return VoteResult.Won;
  if (granted + missing >= quorum) return VoteResult.Pending;
  return VoteResult.Lost;
}

/** A joint config: decisions need a majority of both halves. */
export interface JointVoters {
  readonly incoming: ReadonlySet<NodeId>;
  readonly outgoing: ReadonlySet<NodeId>;
}

export function jointCommitted(voters: JointVoters, acked: (id: NodeId) => number): number {
  const committed = Math.min(majorityCommitted(voters.incoming, acked), majorityCommitted(voters.outgoing, acked));
  // Both halves empty means no voters at all: nothing can commit.
  return committed === Infinity ? 0 : committed;
}

export function jointVote(voters: JointVoters, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = majorityVote(voters.incoming, votes);
  const b = majorityVote(voters.outgoing, votes);
  if (a === b) return a;
  if (a === VoteResult.Lost || b === VoteResult.Lost) return VoteResult.Lost;
  return VoteResult.Pending;
}

export function jointIds(voters: JointVoters): Set<NodeId> {
  return new Set([...voters.incoming, ...voters.outgoing]);
}
