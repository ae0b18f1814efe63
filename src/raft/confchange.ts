// Membership changes: one voter at a time, or several through joint consensus
// (Raft §6), with learners that receive the log but do not vote.

import type { ConfState, NodeId } from './types.js';
import { invariant } from './types.js';

export enum ConfChangeType {
  AddVoter = 'addVoter',
  AddLearner = 'addLearner',
  Remove = 'remove',
}

export enum ConfChangeTransition {
  /** A single change is applied simply; several go through a joint config, left automatically. */
  Auto = 'auto',
  /** Always joint, left automatically once applied. */
  JointImplicit = 'implicit',
  /** Always joint, left only by an explicit empty change. */
  JointExplicit = 'explicit',
}

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly node: NodeId;
}

/** A change of membership; no changes at all means "leave the joint config". */
export interface ConfChange {
  readonly changes: readonly ConfChangeSingle[];
  readonly transition: ConfChangeTransition;
  /** Opaque to the core; the host's (etcd's ConfChange.Context): a new member's addresses. */
  readonly context?: string;
}

export const LEAVE_JOINT: ConfChange = { changes: [], transition: ConfChangeTransition.Auto };

// Conf changes are rare and small, so a readable encoding costs nothing.
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(cc));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const cc = JSON.parse(new TextDecoder().decode(data)) as ConfChange;
  invariant(Array.isArray(cc.changes), 'conf change without changes');
  return cc;
}

export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0;
}

/** A membership as sets, the form the tracker works with. */
export interface Config {
  readonly incoming: ReadonlySet<NodeId>;
  readonly outgoing: ReadonlySet<NodeId>;
  readonly learners: ReadonlySet<NodeId>;
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

export function configFromState(cs: ConfState): Config {
  return {
    incoming: new Set(cs.voters),
    outgoing: new Set(cs.votersOutgoing),
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
}

export function configToState(c: Config): ConfState {
  const sorted = (s: ReadonlySet<NodeId>) => [...s].sort();
  return {
    voters: sorted(c.incoming),
    votersOutgoing: sorted(c.outgoing),
    learners: sorted(c.learners),
    learnersNext: sorted(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export function isJoint(c: Config): boolean {
  return c.outgoing.size > 0;
}

/** Every node the config knows of, voter or learner. */
export function configMembers(c: Config): Set<NodeId> {
  return new Set([...c.incoming, ...c.outgoing, ...c.learners, ...c.learnersNext]);
}

/** Thrown for a change that is not allowed in the current config. */
export class ConfChangeError extends Error {
  override name = 'ConfChangeError';
}

function usesJoint(cc: ConfChange): boolean {
  return cc.transition !== ConfChangeTransition.Auto || cc.changes.length > 1;
}

/** The config after applying `cc` to `c`. Throws ConfChangeError if not allowed. */
export function applyChange(c: Config, cc: ConfChange): Config {
  if (isLeaveJoint(cc)) return leaveJoint(c);
  if (usesJoint(cc)) return enterJoint(c, cc);
  return simple(c, cc);
}

function mutable(c: Config) {
  return {
    incoming: new Set(c.incoming),
    outgoing: new Set(c.outgoing),
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

function applySingles(c: ReturnType<typeof mutable>, changes: readonly ConfChangeSingle[]): void {
  for (const { type, node } of changes) {
    if (node === '') throw new ConfChangeError('conf change names no node');
    switch (type) {
      case ConfChangeType.AddVoter:
        c.learners.delete(node);
        c.learnersNext.delete(node);
        c.incoming.add(node);
        break;
      case ConfChangeType.AddLearner:
        if (c.learners.has(node)) break;
        c.incoming.delete(node);
        // A voter of the outgoing half keeps voting until the joint config is
        // left; only then does it become a learner.
        if (c.outgoing.has(node)) c.learnersNext.add(node);
        else c.learners.add(node);
        break;
      case ConfChangeType.Remove:
        c.incoming.delete(node);
        c.learners.delete(node);
        c.learnersNext.delete(node);
        break;
      default:
        throw new ConfChangeError(`unknown conf change type ${String(type)}`);
    }
  }
  if (c.incoming.size === 0) throw new ConfChangeError('removing every voter is not allowed');
}

function simple(c: Config, cc: ConfChange): Config {
  if (isJoint(c)) throw new ConfChangeError('a simple change is not allowed in a joint config');
  const next = mutable(c);
  applySingles(next, cc.changes);
  let changed = 0;
  for (const id of next.incoming) if (!c.incoming.has(id)) changed++;
  for (const id of c.incoming) if (!next.incoming.has(id)) changed++;
  // One voter at a time keeps any two majorities of old and new overlapping.
  // Unreachable through applyChange (one change at most here): kept as the rule's guard.
  if (changed > 1) throw new ConfChangeError('more than one voter changed without joint consensus');
  return next;
}

function enterJoint(c: Config, cc: ConfChange): Config {
  if (isJoint(c)) throw new ConfChangeError('already in a joint config');
  const next = mutable(c);
  next.outgoing = new Set(c.incoming);
  next.autoLeave = cc.transition !== ConfChangeTransition.JointExplicit;
  applySingles(next, cc.changes);
  return next;
}

function leaveJoint(c: Config): Config {
  if (!isJoint(c)) throw new ConfChangeError('not in a joint config');
  const next = mutable(c);
  for (const id of next.learnersNext) next.learners.add(id);
  next.learnersNext.clear();
  next.outgoing.clear();
  next.autoLeave = false;
  return next;
}

/**
 * Which of the config's own rules `c` breaks (a learner is never a voter...),
 * or undefined. Apart from assertConfig so that a host can refuse a peer's
 * config (a snapshot's) with the same rules before it reaches the core.
 */
export function configProblem(c: Config): string | undefined {
  for (const id of c.learners) {
    if (c.incoming.has(id) || c.outgoing.has(id)) return `learner ${id} is also a voter`;
  }
  for (const id of c.learnersNext) {
    if (!c.outgoing.has(id) || c.incoming.has(id)) return `next learner ${id} must be an outgoing voter only`;
  }
  if (c.incoming.size === 0 && configMembers(c).size > 0) return 'a config with members needs voters';
  if (!isJoint(c) && (c.learnersNext.size > 0 || c.autoLeave)) return 'joint-only fields set outside a joint config';
  return undefined;
}

/** Checks the config's own invariants. */
export function assertConfig(c: Config): void {
  const problem = configProblem(c);
  invariant(problem === undefined, problem ?? '');
}
