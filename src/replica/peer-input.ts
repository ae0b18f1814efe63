// What a peer's message may claim, checked against this node's Raft state
// before the core sees it. The core asserts its invariants after every input,
// and a broken one must stop the node (STYLE: crash on a broken invariant), so
// an impossible claim from the network has to be refused here, at the edge: a
// forged append reply that acknowledges entries the leader does not have
// would otherwise surface as "progress matches beyond the leader's log" and
// stop a healthy leader.
//
// The transport's wireMessageProblem (src/transport/peer-service.ts) has
// checked the framing already: a wire type, addressed to us, from a known
// peer, counts that are safe integers, entries numbered in order, a snapshot
// on a snapshot message. What needs the core's rules or this node's state is
// here: a term that fits the type, entry terms that never go down, snapshot
// metadata and a membership the core could install, and claims about our own
// log or about who leads our term.
//
// Every rule refuses only what no correct peer sends: a refusal is a peer's
// bug or a forgery, logged, and never a message lost in normal operation.

import type { BasicStatus, Entry, Message } from '../raft/index.js';
import { ConfChangeTransition, ConfChangeType, EntryType, MessageType, NONE, StateRole, configFromState, configProblem } from '../raft/index.js';

/** How a message arrived: on the Raft stream, or heading a snapshot stream (Replica.receiveSnapshot). */
export type PeerChannel = 'stream' | 'snapshot';

/** The node state a message is checked against; RawNode.basicStatus() has it. */
export type PeerCheckState = Pick<BasicStatus, 'term' | 'lead' | 'role' | 'lastIndex'>;

/** A follower forwards these to its leader as they are, without a term. */
const FORWARDED = new Set<MessageType>([MessageType.ReadIndex, MessageType.TransferLeader]);

/** Only the leader of a term sends these, at that term. */
const FROM_LEADER = new Set<MessageType>([
  MessageType.App,
  MessageType.Heartbeat,
  MessageType.Snap,
  MessageType.ReadIndexResp,
  MessageType.TimeoutNow,
]);

const CHANGE_TYPES = new Set<unknown>(Object.values(ConfChangeType));
const TRANSITIONS = new Set<unknown>(Object.values(ConfChangeTransition));

/** Why the core must not see `m`, or undefined when it may. */
export function peerMessageProblem(m: Message, node: PeerCheckState, via: PeerChannel): string | undefined {
  return (
    channelProblem(m, via) ??
    termProblem(m) ??
    readProblem(m) ??
    entriesProblem(m.entries, m.logTerm) ??
    snapshotProblem(m) ??
    leaderProblem(m, node) ??
    logProblem(m, node)
  );
}

function channelProblem(m: Message, via: PeerChannel): string | undefined {
  // The replica installs only a snapshot whose records it staged first; one
  // on the Raft stream would reach its Ready loop with nothing to install.
  if (via === 'stream' && m.type === MessageType.Snap) return 'a snapshot outside the snapshot stream';
  if (via === 'snapshot' && m.type !== MessageType.Snap) return `${m.type} on the snapshot stream`;
  return undefined;
}

function termProblem(m: Message): string | undefined {
  if (FORWARDED.has(m.type)) {
    // With a term, a forwarded request would move the leader to that term.
    return m.term === 0 ? undefined : `forwarded ${m.type} carries term ${m.term}`;
  }
  // The core takes a term of 0 for "ours": a vote answered at term 0 breaks
  // an invariant, and anything else would pass for our term's traffic.
  return m.term === 0 ? `${m.type} without a term` : undefined;
}

function readProblem(m: Message): string | undefined {
  const read = m.type === MessageType.ReadIndex || m.type === MessageType.ReadIndexResp;
  // The context is the read's identity: without one it can never be answered.
  if (read && (m.context === undefined || m.context.length === 0)) return `${m.type} without a read context`;
  return undefined;
}

/**
 * A log's terms never go down; the core asserts it on every append, and a
 * leader's log always keeps it. The first entry follows the one at
 * (m.index, m.logTerm).
 */
function entriesProblem(entries: readonly Entry[], prevTerm: number): string | undefined {
  let previous = prevTerm;
  for (const e of entries) {
    if (e.term === 0) return `entry ${e.index} without a term`;
    if (e.term < previous) return `entry ${e.index} of term ${e.term} follows term ${previous}`;
    if (e.type !== EntryType.Normal && e.type !== EntryType.ConfChange) return `entry ${e.index} of unknown type ${String(e.type)}`;
    if (e.type === EntryType.ConfChange) {
      // Applying it later would throw in the Ready loop and stop the node.
      const problem = confChangeProblem(e.data);
      if (problem !== undefined) return `conf change at ${e.index}: ${problem}`;
    }
    previous = e.term;
  }
  return undefined;
}

/** The shape decodeConfChange and applyChange rely on; what applies to which config is the leader's to check. */
function confChangeProblem(data: Uint8Array): string | undefined {
  let cc: unknown;
  try {
    cc = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return 'not JSON';
  }
  if (typeof cc !== 'object' || cc === null) return 'not an object';
  const { changes, transition } = cc as { changes?: unknown; transition?: unknown };
  if (!Array.isArray(changes)) return 'without changes';
  if (!TRANSITIONS.has(transition)) return `unknown transition ${JSON.stringify(transition)}`;
  for (const change of changes as unknown[]) {
    if (typeof change !== 'object' || change === null) return 'a change that is not an object';
    const { type, node } = change as { type?: unknown; node?: unknown };
    if (!CHANGE_TYPES.has(type)) return `unknown change type ${JSON.stringify(type)}`;
    if (typeof node !== 'string' || node === NONE) return 'a change that names no node';
  }
  return undefined;
}

function isPosition(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

/** A snapshot the core would install as our whole log and membership. */
function snapshotProblem(m: Message): string | undefined {
  if (m.type !== MessageType.Snap) return undefined;
  const snap = m.snapshot;
  if (snap === undefined) return 'snapshot message without a snapshot';
  const { index, term, conf } = snap.meta;
  if (!isPosition(index) || !isPosition(term)) return `snapshot at index ${index}, term ${term}: not a log position`;
  // Our last term would pass our current one, and the next entry we append
  // as leader would go down in term.
  if (term > m.term) return `snapshot of term ${term} from a leader of term ${m.term}`;
  const members = [...conf.voters, ...conf.votersOutgoing, ...conf.learners, ...conf.learnersNext];
  if (members.some((id) => typeof id !== 'string' || id === NONE)) return 'snapshot membership names no node';
  // A group has voters from its first entry on; installing none leaves a node that can never vote or lead.
  if (conf.voters.length === 0) return 'snapshot membership without voters';
  const problem = configProblem(configFromState(conf));
  return problem === undefined ? undefined : `snapshot membership: ${problem}`;
}

/** Raft's election safety: one leader per term. */
function leaderProblem(m: Message, node: PeerCheckState): string | undefined {
  if (!FROM_LEADER.has(m.type)) return undefined;
  if (m.term === node.term && node.lead !== NONE && m.from !== node.lead) {
    const leader = node.role === StateRole.Leader ? 'we lead' : `${node.lead} leads`;
    return `${m.type} from ${m.from} as leader of term ${m.term}, which ${leader}`;
  }
  // A leader hands over only to a follower that acknowledged its whole log in
  // its term, so never to a node still in an earlier term. (A read's answer
  // may come from a later term: a former leader forwards the read it gets.)
  if (m.type === MessageType.TimeoutNow && m.term > node.term) return `TimeoutNow of term ${m.term}, a term we never followed (ours is ${node.term})`;
  return undefined;
}

/** Claims about our own log. */
function logProblem(m: Message, node: PeerCheckState): string | undefined {
  // A stale message (an earlier term) goes to the core untouched: it drops it,
  // or answers a stale leader with our term, which is how that leader learns
  // to step down. Its claims may be out of date; they are not impossible.
  if (m.term < node.term) return undefined;
  switch (m.type) {
    case MessageType.AppResp:
      // A reply of a later term steps us down before anything else; one of
      // our term answers an append we sent, and we never send past our log.
      if (node.role !== StateRole.Leader || m.term !== node.term || m.index <= node.lastIndex) return undefined;
      return m.reject
        ? `rejects an append at ${m.index}, past our last index ${node.lastIndex}`
        : `acknowledges index ${m.index}, past our last index ${node.lastIndex}`;
    case MessageType.Heartbeat:
      // A leader tells a follower to commit only what that follower
      // acknowledged in its term (nothing, in a term we have not reached).
      // The core would clamp a higher commit to our log, committing entries
      // of ours that the leader never matched.
      return m.commit > node.lastIndex ? `heartbeat commits ${m.commit}, past our last index ${node.lastIndex}` : undefined;
    default:
      return undefined;
  }
}
