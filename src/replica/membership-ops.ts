// Membership changes as an operator makes them, on the leader of a region's
// group (etcd's `member add|promote|remove`): a new node joins as a learner,
// which receives a snapshot and the log but does not vote; it is promoted
// once it has caught up, so that a voter is never added that the quorum
// must wait for; a member is removed one at a time, and a leader asked to
// remove itself hands leadership over first, so the region never waits out
// an election timeout for it.

import { ConfChangeTransition, ConfChangeType, type ConfChange } from '../raft/index.js';
import { ReplicaError } from './errors.js';
import { type MemberAddress, type MemberInfo, addressProblem, encodeMemberContext } from './members.js';
import { handOverTarget, promotionProblem } from './membership-plan.js';
import type { Replica } from './replica.js';

const CHANGE_TIMEOUT_MS = 10_000;
const HANDOVER_MS = 3_000;

export type MembershipErrorKind = 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'NOT_FOUND' | 'ALREADY_EXISTS';

/** A change refused before anything was proposed: the operator's mistake, with a reason. */
export class MembershipError extends Error {
  override readonly name = 'MembershipError';
  constructor(
    readonly kind: MembershipErrorKind,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface MemberStatus extends MemberInfo {
  /** The leader's view of the member's log; 0 where this node does not lead. */
  readonly matchIndex: number;
}

const ID = /^[a-z0-9-]{1,63}$/;

/** The region's members as this node applied them, with the leader's view of their logs. */
export function memberStatus(replica: Replica): MemberStatus[] {
  const progress = replica.isLeader ? replica.status().progress : undefined;
  return replica.members().map((m) => ({ ...m, matchIndex: progress?.get(m.id)?.match ?? 0 }));
}

export async function addMember(replica: Replica, id: string, address: MemberAddress): Promise<MemberStatus[]> {
  if (!ID.test(id)) throw new MembershipError('INVALID_ARGUMENT', 'INVALID_MEMBER', `member id ${JSON.stringify(id)} must be 1-63 of [a-z0-9-]`);
  const problem = addressProblem(address);
  if (problem !== undefined) throw new MembershipError('INVALID_ARGUMENT', 'INVALID_MEMBER', problem);
  requireLeader(replica);
  const members = replica.members();
  if (members.some((m) => m.id === id)) throw new MembershipError('ALREADY_EXISTS', 'MEMBER_EXISTS', `${id} is already a member of this region`);
  const taken = members.find((m) => [m.client, m.peer, m.metrics].some((a) => a !== undefined && a !== '' && [address.client, address.peer, address.metrics].includes(a)));
  if (taken !== undefined) throw new MembershipError('ALREADY_EXISTS', 'ADDRESS_IN_USE', `an address of ${id} is already used by ${taken.id}`);
  await change(replica, { changes: [{ type: ConfChangeType.AddLearner, node: id }], transition: ConfChangeTransition.Auto, context: encodeMemberContext(address) });
  return memberStatus(replica);
}

export async function promoteMember(replica: Replica, id: string): Promise<MemberStatus[]> {
  requireLeader(replica);
  const member = find(replica, id);
  if (member.role === 'voter') throw new MembershipError('FAILED_PRECONDITION', 'ALREADY_VOTER', `${id} is a voter already`);
  const notReady = promotionProblem(replica.status(), id);
  if (notReady !== undefined) throw new MembershipError('FAILED_PRECONDITION', 'LEARNER_NOT_READY', `${notReady}; try again`);
  await change(replica, { changes: [{ type: ConfChangeType.AddVoter, node: id }], transition: ConfChangeTransition.Auto });
  return memberStatus(replica);
}

export async function removeMember(replica: Replica, id: string): Promise<MemberStatus[]> {
  requireLeader(replica);
  const member = find(replica, id);
  const voters = replica.members().filter((m) => m.role === 'voter');
  if (member.role === 'voter' && voters.length === 1) {
    throw new MembershipError('FAILED_PRECONDITION', 'LAST_VOTER', `${id} is the region's only voter`);
  }
  if (id === replica.id) {
    await handOver(replica);
    throw new ReplicaError('NOT_LEADER', `${id} handed leadership over before its removal; the new leader removes it`);
  }
  await change(replica, { changes: [{ type: ConfChangeType.Remove, node: id }], transition: ConfChangeTransition.Auto });
  return memberStatus(replica);
}

/** Moves leadership to the most caught-up voter; resolves once this node no longer leads (or after a bound). */
export async function handOver(replica: Replica, boundMs = HANDOVER_MS): Promise<void> {
  const to = handOverTarget(replica.status());
  if (to === undefined) throw new MembershipError('FAILED_PRECONDITION', 'NO_HANDOVER_TARGET', 'no other voter has caught up: leadership cannot move');
  replica.transferLeadership(to);
  // On the replica's clock: in the whole-node simulator, real time would make a run depend on the machine.
  const clock = replica.clock;
  const until = clock.now() + boundMs;
  while (replica.isLeader && clock.now() < until) await new Promise<void>((r) => clock.setTimeout(r, 20));
}

async function change(replica: Replica, cc: ConfChange): Promise<void> {
  try {
    await replica.proposeConfChange(cc, CHANGE_TIMEOUT_MS);
  } catch (e) {
    // The leader refused to propose (one change at a time, or leadership moving): the operator may try again.
    if (e instanceof ReplicaError && e.reason === 'NOT_LEADER' && replica.isLeader) throw new MembershipError('FAILED_PRECONDITION', 'CHANGE_PENDING', e.message);
    throw e;
  }
}

function requireLeader(replica: Replica): void {
  if (!replica.isLeader) throw new ReplicaError('NOT_LEADER', `${replica.id} does not lead its region (leader: ${replica.leader || 'unknown'})`);
}

function find(replica: Replica, id: string): MemberInfo {
  const member = replica.members().find((m) => m.id === id);
  if (member === undefined) throw new MembershipError('NOT_FOUND', 'MEMBER_NOT_FOUND', `${id} is not a member of this region`);
  return member;
}
