// One simulated host around the core: a "disk" that keeps only what a Ready
// said to persist (a crash loses the rest), a state machine reduced to a
// running digest of the applied entries, and the clients' pending requests.

import type { Core } from './core.js';
import type { Entry, HardState, Message, RawNode, RaftConfig, Ready, Snapshot } from '../../src/raft/index.js';
import type { Random } from './random.js';
import { entryKey } from './checker.js';

export interface Durable {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

/** What a host reports to the simulation as it works. */
export interface HostEvents {
  hardStatePersisted(node: SimNode, hs: HardState): void;
  entriesPersisted(node: SimNode, entries: readonly Entry[]): void;
  send(node: SimNode, m: Message): void;
  /**
   * Whether to write this leader's Ready later, after its messages went out
   * and its committed entries were applied (as the real host does); if so,
   * `write` runs after a disk delay unless the node crashed meanwhile. Always
   * so when `behindOthers`: an earlier write is still pending, and writes
   * land in order.
   */
  writeLater(node: SimNode, write: () => void, behindOthers: boolean): boolean;
  snapshotRestored(node: SimNode, snapshot: Snapshot, digest: number): void;
  applied(node: SimNode, e: Entry): void;
  writeAcknowledged(node: SimNode, writeId: string, index: number): void;
  readServed(node: SimNode, readIndex: number, maxAckedAtStart: number): void;
}

interface PendingRead {
  readonly maxAckedAtStart: number;
  index?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function mixDigest(digest: number, key: string): number {
  let h = digest ^ 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function encodeDigest(digest: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, digest);
  return out;
}

function decodeDigest(data: Uint8Array): number {
  return data.length === 0 ? 0 : new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
}

export class SimNode {
  /** Undefined while the node is down. */
  raw: RawNode | undefined;
  /** Bumped at each crash, so that events scheduled before it are void. */
  incarnation = 0;
  readonly durable: Durable;
  digest = 0;
  appliedIndex = 0;
  removed = false;
  readyScheduled = false;
  /** A leader's Readies whose messages went out and whose writes are pending, oldest first. */
  private readonly unwritten: Ready[] = [];
  private readonly pendingWrites = new Set<string>();
  private readonly pendingReads = new Map<string, PendingRead>();

  constructor(
    readonly id: string,
    private readonly core: Core,
    private readonly makeConfig: (id: string, incarnation: number) => RaftConfig,
    private readonly events: HostEvents,
    founders: readonly string[] | undefined,
  ) {
    const initial = founders === undefined ? core.emptyState() : core.bootstrapState(founders);
    this.durable = { hardState: initial.hardState, snapshot: initial.snapshot, entries: [] };
    this.start();
  }

  get writesInFlight(): number {
    return this.unwritten.length;
  }

  get up(): boolean {
    return this.raw !== undefined;
  }

  /** Starts (or restarts) from what is on the disk. */
  start(): void {
    const d = this.durable;
    const persisted = {
      hardState: d.hardState,
      snapshot: d.snapshot,
      entries: d.entries,
      applied: d.snapshot.meta.index,
      conf: d.snapshot.meta.conf,
    };
    this.raw = new this.core.RawNode(this.makeConfig(this.id, this.incarnation), persisted);
    this.digest = decodeDigest(d.snapshot.data);
    this.appliedIndex = d.snapshot.meta.index;
  }

  /** kill -9: memory is gone, the disk stays; clients waiting get no answer. */
  crash(): void {
    this.raw = undefined;
    this.incarnation++;
    this.readyScheduled = false;
    this.unwritten.length = 0;
    this.pendingWrites.clear();
    this.pendingReads.clear();
  }

  get raft(): RawNode {
    if (this.raw === undefined) throw new Error(`${this.id} is down`);
    return this.raw;
  }

  proposeWrite(writeId: string): void {
    this.raft.propose(encoder.encode(writeId));
    this.pendingWrites.add(writeId);
  }

  startRead(context: string, maxAckedAtStart: number): void {
    this.pendingReads.set(context, { maxAckedAtStart });
    this.raft.readIndex(encoder.encode(context));
  }

  /**
   * Handles every Ready in turn: persist, send, apply, serve reads, advance.
   * A leader may send first and write later (thesis §10.2.1), and go on to
   * its next Readies meanwhile (asynchronous storage writes): a crash in
   * between loses the write, and the core must not have counted on it.
   */
  processReady(): void {
    const raw = this.raft;
    for (let rounds = 0; raw.hasReady() && rounds < 100; rounds++) {
      const leader = raw.role === this.core.StateRole.Leader;
      // A follower's messages promise what is on its disk: it waits for the writes it left in flight as leader.
      if (!leader && this.unwritten.length > 0) return;
      const rd = raw.ready();
      const behind = this.unwritten.length > 0;
      if (leader && rd.snapshot === undefined && this.events.writeLater(this, () => this.landOldestWrite(), behind)) {
        this.unwritten.push(rd);
        for (const m of rd.messages) this.events.send(this, m);
        this.applyReady(rd);
        raw.advance(true);
        continue;
      }
      if (behind) throw new Error(`${this.id}: a Ready would be written before earlier ones`);
      this.persist(rd.hardState, rd.snapshot, rd.entries);
      for (const m of rd.messages) this.events.send(this, m);
      this.applyReady(rd);
      raw.advance();
    }
  }

  private landOldestWrite(): void {
    const rd = this.unwritten.shift();
    if (rd === undefined) throw new Error(`${this.id}: a write landed that was never made`);
    this.persist(rd.hardState, undefined, rd.entries);
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.raft.persisted(last.index, last.term);
  }

  private applyReady(rd: Ready): void {
    if (rd.snapshot !== undefined) {
      this.digest = decodeDigest(rd.snapshot.data);
      this.appliedIndex = rd.snapshot.meta.index;
      this.events.snapshotRestored(this, rd.snapshot, this.digest);
    }
    for (const e of rd.committedEntries) this.apply(e);
    for (const rs of rd.readStates) {
      const read = this.pendingReads.get(decoder.decode(rs.context));
      if (read !== undefined) read.index = rs.index;
    }
    this.serveReads();
  }

  private persist(hs: HardState | undefined, snapshot: Snapshot | undefined, entries: readonly Entry[]): void {
    const d = this.durable;
    if (hs !== undefined) {
      this.events.hardStatePersisted(this, hs);
      d.hardState = hs;
    }
    if (snapshot !== undefined) {
      d.snapshot = snapshot;
      d.entries = [];
    }
    if (entries.length > 0) {
      const first = entries[0]!.index;
      d.entries = d.entries.filter((e) => e.index < first);
      d.entries.push(...entries);
      this.events.entriesPersisted(this, entries);
    }
  }

  private apply(e: Entry): void {
    this.digest = mixDigest(this.digest, entryKey(e));
    this.appliedIndex = e.index;
    this.events.applied(this, e);
    if (e.type === this.core.EntryType.ConfChange) {
      this.raft.applyConfChange(this.core.decodeConfChange(e.data));
      return;
    }
    const writeId = decoder.decode(e.data);
    if (this.pendingWrites.delete(writeId)) this.events.writeAcknowledged(this, writeId, e.index);
  }

  private serveReads(): void {
    for (const [context, read] of this.pendingReads) {
      if (read.index === undefined || read.index > this.appliedIndex) continue;
      this.pendingReads.delete(context);
      this.events.readServed(this, read.index, read.maxAckedAtStart);
    }
  }

  /** Snapshots the applied state and lets the core drop the log before it. */
  compact(): void {
    const raw = this.raft;
    const index = this.appliedIndex;
    const term = raw.termAt(index);
    // A leader may have applied entries whose write (with the commit that
    // lets a restart apply them) is still on its way to its disk.
    if (term === undefined || index <= this.durable.snapshot.meta.index || this.unwritten.length > 0) return;
    const snapshot: Snapshot = { meta: { index, term, conf: raw.status().conf }, data: encodeDigest(this.digest) };
    this.durable.snapshot = snapshot;
    this.durable.entries = this.durable.entries.filter((e) => e.index > index);
    raw.compact(snapshot);
  }

  /** The term of the persisted entry at `index` (the snapshot's at its index). */
  durableTerm(index: number): number | undefined {
    const snap = this.durable.snapshot.meta;
    if (index === snap.index) return snap.term;
    const first = this.durable.entries[0]?.index;
    if (first === undefined || index < first) return undefined;
    return this.durable.entries[index - first]?.term;
  }

  durableKey(index: number): string | undefined {
    const first = this.durable.entries[0]?.index;
    if (first === undefined || index < first) return index <= this.durable.snapshot.meta.index ? undefined : 'missing';
    const e = this.durable.entries[index - first];
    return e === undefined ? 'missing' : entryKey(e);
  }

  /** For the random chooser: a Random is passed in to keep all draws in one stream. */
  static pickUp(nodes: Iterable<SimNode>, random: Random): SimNode | undefined {
    const up = [...nodes].filter((n) => n.up && !n.removed);
    return up.length === 0 ? undefined : random.pick(up);
  }
}
