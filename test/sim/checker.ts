// The safety properties of Raft (paper Figure 3) and of linearizable reads,
// checked as the simulation runs. The first violation is kept; the simulation
// stops there and reports it with its seed.

import type { Entry, HardState, NodeId } from '../../src/raft/index.js';

export class Violation extends Error {
  override name = 'Violation';
}

interface CommittedEntry {
  readonly term: number;
  readonly key: string;
  /** The lowest term of a node that knew this entry committed. */
  observedTerm: number;
}

/** What the checker needs to look into a leader's log. */
export interface LogView {
  readonly snapshotIndex: number;
  readonly lastIndex: number;
  term(index: number): number | undefined;
}

export function entryKey(e: Entry): string {
  return `${e.type}:${Buffer.from(e.data).toString('latin1')}`;
}

export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** "index:term" → what that entry holds and the term before it (log matching). */
  private readonly entries = new Map<string, { key: string; prevTerm: number }>();
  private readonly committed = new Map<number, CommittedEntry>();
  private readonly appliedKey = new Map<number, string>();
  private readonly appliedDigest = new Map<number, number>();
  private readonly hardStates = new Map<NodeId, HardState>();
  private readonly ackedIndex = new Map<string, number>();
  /** Highest log index of any write acknowledged so far. */
  maxAckedIndex = 0;
  checks = 0;

  private fail(what: string): never {
    throw new Violation(what);
  }

  /** Election safety: at most one leader per term. */
  leaderSeen(node: NodeId, term: number, log: LogView): void {
    this.checks++;
    const known = this.leaderOfTerm.get(term);
    if (known !== undefined && known !== node) this.fail(`election safety: ${known} and ${node} both lead term ${term}`);
    if (known !== undefined) return;
    this.leaderOfTerm.set(term, node);
    // Leader completeness: a leader holds every entry committed in an earlier term.
    for (const [index, c] of this.committed) {
      if (c.observedTerm >= term || index <= log.snapshotIndex) continue;
      const t = log.term(index);
      if (t !== c.term) {
        this.fail(`leader completeness: ${node} leads term ${term} but has term ${t} at ${index}, committed with term ${c.term}`);
      }
    }
  }

  /** Log matching: an (index, term) pair fixes the entry and the term before it. */
  entriesPersisted(node: NodeId, entries: readonly Entry[], termBefore: (index: number) => number | undefined): void {
    for (const e of entries) {
      this.checks++;
      const prevTerm = termBefore(e.index);
      if (prevTerm === undefined) this.fail(`${node} persisted entry ${e.index} after a gap`);
      const id = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const known = this.entries.get(id);
      if (known === undefined) {
        this.entries.set(id, { key, prevTerm });
      } else if (known.key !== key || known.prevTerm !== prevTerm) {
        this.fail(`log matching: ${node} holds a different entry at index ${e.index} term ${e.term}`);
      }
    }
  }

  /** Persisted term never goes back, and one vote per term survives crashes. */
  hardStatePersisted(node: NodeId, hs: HardState): void {
    this.checks++;
    const prev = this.hardStates.get(node);
    if (prev !== undefined) {
      if (hs.term < prev.term) this.fail(`${node} persisted term ${hs.term} after ${prev.term}`);
      if (hs.term === prev.term && prev.vote !== '' && hs.vote !== prev.vote) {
        this.fail(`${node} voted for ${prev.vote} and then ${hs.vote} in term ${hs.term}`);
      }
      if (hs.commit < prev.commit) this.fail(`${node} persisted commit ${hs.commit} after ${prev.commit}`);
    }
    this.hardStates.set(node, hs);
  }

  /** State machine safety: every node applies the same entry at each index. */
  applied(node: NodeId, e: Entry, digest: number, nodeTerm: number): void {
    this.checks++;
    const key = entryKey(e);
    const known = this.appliedKey.get(e.index);
    if (known !== undefined && known !== key) this.fail(`state machine safety: ${node} applied a different entry at ${e.index}`);
    const knownDigest = this.appliedDigest.get(e.index);
    if (knownDigest !== undefined && knownDigest !== digest) {
      this.fail(`state machine safety: ${node}'s state after ${e.index} differs from another node's`);
    }
    this.appliedKey.set(e.index, key);
    this.appliedDigest.set(e.index, digest);
    const c = this.committed.get(e.index);
    if (c === undefined) this.committed.set(e.index, { term: e.term, key, observedTerm: nodeTerm });
    else c.observedTerm = Math.min(c.observedTerm, nodeTerm);
  }

  restoredSnapshot(node: NodeId, index: number, digest: number): void {
    this.checks++;
    const known = this.appliedDigest.get(index);
    if (known !== undefined && known !== digest) this.fail(`${node} installed a snapshot at ${index} that differs from the applied state`);
    this.appliedDigest.set(index, digest);
  }

  /** A write's proposer applied it: the client is told it succeeded. */
  acknowledged(writeId: string, index: number): void {
    this.checks++;
    this.ackedIndex.set(writeId, index);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, index);
  }

  /**
   * A linearizable read must reflect every write acknowledged before it began:
   * its read index must cover the highest of them.
   */
  readServed(node: NodeId, readIndex: number, appliedIndex: number, maxAckedAtStart: number): void {
    this.checks++;
    if (readIndex < maxAckedAtStart) {
      this.fail(`stale read: ${node} served read index ${readIndex} but a write at ${maxAckedAtStart} was acknowledged before the read began`);
    }
    if (appliedIndex < readIndex) this.fail(`${node} served a read at ${readIndex} with only ${appliedIndex} applied`);
  }

  /**
   * No acknowledged write disappears: `logKeyAt` reads a node's persisted log
   * (undefined where compacted into its snapshot, which the digests check).
   */
  assertAcknowledgedKept(node: NodeId, logKeyAt: (index: number) => string | undefined): void {
    for (const [id, index] of this.ackedIndex) {
      this.checks++;
      const key = logKeyAt(index);
      if (key !== undefined && key !== `0:${id}`) this.fail(`acknowledged write ${id} at ${index} is missing from ${node}'s log (found ${key})`);
    }
  }

  appliedKeyAt(index: number): string | undefined {
    return this.appliedKey.get(index);
  }

  get acknowledgedCount(): number {
    return this.ackedIndex.size;
  }
}
