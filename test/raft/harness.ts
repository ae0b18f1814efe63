// A small deterministic test network for the consensus core, in the manner of
// etcd's newNetwork: N RawNodes, each with an in-memory "disk" and a state
// machine (the list of applied payloads), and a FIFO of messages in flight
// that the test delivers, drops or holds back. No timers: time is tick().

import {
  DEFAULT_CONFIG,
  EntryType,
  MessageType,
  RawNode,
  StateRole,
  bootstrapState,
  decodeConfChange,
  emptyState,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type PersistedState,
  type RaftConfig,
  type ReadState,
  type Ready,
  type Snapshot,
} from '../../src/raft/index.js';
import { mulberry32 } from '../sim/random.js';

export type Options = Partial<Omit<RaftConfig, 'id' | 'random'>>;

/** mulberry32: a tiny seeded PRNG in [0, 1), the simulator's. */
export const seeded = mulberry32;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);

/** What survives a crash. */
export interface Disk {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

export class Peer {
  node: RawNode;
  up = true;
  /** The state machine: payloads of applied normal entries, in order. */
  applied: string[] = [];
  appliedIndex: number;
  /** The membership as of appliedIndex, and every one it went through. */
  conf: ConfState;
  readonly confHistory: ConfState[] = [];
  readonly readStates: ReadState[] = [];

  constructor(
    readonly id: NodeId,
    readonly disk: Disk,
    readonly cfg: RaftConfig,
  ) {
    this.appliedIndex = disk.snapshot.meta.index;
    this.conf = disk.snapshot.meta.conf;
    this.applied = decodeMachine(disk.snapshot.data);
    this.node = new RawNode(cfg, this.persisted());
  }

  /** The state a restarting node is built from: disk only. */
  persisted(): PersistedState {
    const { hardState, snapshot, entries } = this.disk;
    return { hardState, snapshot, entries: [...entries], applied: snapshot.meta.index, conf: snapshot.meta.conf };
  }
}

function decodeMachine(data: Uint8Array): string[] {
  return data.length === 0 ? [] : (JSON.parse(text(data)) as string[]);
}

const link = (from: NodeId, to: NodeId) => `${from}>${to}`;

export class Network {
  readonly peers = new Map<NodeId, Peer>();
  /** Messages in flight, oldest first. */
  queue: Message[] = [];
  /** Every message any node sent, in order (dropped ones too). */
  readonly sent: Message[] = [];
  /** Every message handed to its recipient, in order. */
  readonly delivered: Message[] = [];
  /** term -> nodes that were leader in it. */
  readonly leaders = new Map<number, Set<NodeId>>();
  private readonly cut = new Set<string>();
  private readonly drops: ((m: Message) => boolean)[] = [];
  private readonly randoms = new Map<NodeId, () => number>();

  constructor(
    ids: readonly NodeId[],
    readonly opts: Options & { seed?: number } = {},
  ) {
    for (const id of ids) this.addPeer(id, bootstrapState(ids));
  }

  private addPeer(id: NodeId, st: PersistedState): Peer {
    const { seed = 1, ...options } = this.opts;
    const random = seeded(seed * 7919 + hash(id));
    this.randoms.set(id, random);
    const cfg: RaftConfig = { ...DEFAULT_CONFIG, ...options, id, random };
    const disk: Disk = { hardState: st.hardState, snapshot: st.snapshot, entries: [...st.entries] };
    const peer = new Peer(id, disk, cfg);
    this.peers.set(id, peer);
    return peer;
  }

  /** A node that joins later: it starts empty and will get a snapshot. */
  addNode(id: NodeId): Peer {
    return this.addPeer(id, emptyState());
  }

  peer(id: NodeId): Peer {
    const p = this.peers.get(id);
    if (p === undefined) throw new Error(`no node ${id}`);
    return p;
  }

  node(id: NodeId): RawNode {
    return this.peer(id).node;
  }

  get ids(): NodeId[] {
    return [...this.peers.keys()];
  }

  private get upIds(): NodeId[] {
    return this.ids.filter((id) => this.peer(id).up);
  }

  // ---- Ready processing ----

  /** Handles every Ready the node has: persist, send, apply, advance. */
  process(id: NodeId): void {
    const p = this.peer(id);
    while (p.up && p.node.hasReady()) this.handle(id, p.node.ready());
  }

  processAll(): void {
    for (const id of this.upIds) this.process(id);
  }

  /** Persists, sends, applies and advances one Ready the test took from `id` itself. */
  handle(id: NodeId, rd: Ready): void {
    const p = this.peer(id);
    const { node, disk } = p;
    // 1. Persist.
    if (rd.hardState !== undefined) disk.hardState = rd.hardState;
    if (rd.snapshot !== undefined) {
      disk.snapshot = rd.snapshot;
      disk.entries = [];
    }
    const first = rd.entries[0];
    if (first !== undefined) disk.entries = [...disk.entries.filter((e) => e.index < first.index), ...rd.entries];
    checkContiguous(p);
    // 2. Send.
    for (const m of rd.messages) {
      this.sent.push(m);
      this.queue.push(m);
    }
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      p.applied = decodeMachine(rd.snapshot.data);
      p.appliedIndex = rd.snapshot.meta.index;
      p.conf = rd.snapshot.meta.conf;
      p.confHistory.push(p.conf);
    }
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) {
        p.conf = node.applyConfChange(decodeConfChange(e.data));
        p.confHistory.push(p.conf);
      } else if (e.data.length > 0) {
        p.applied.push(text(e.data));
      }
      p.appliedIndex = e.index;
    }
    p.readStates.push(...rd.readStates);
    node.advance();
    const st = node.status();
    if (st.role === StateRole.Leader) {
      const set = this.leaders.get(st.term) ?? new Set<NodeId>();
      set.add(p.id);
      this.leaders.set(st.term, set);
    }
  }

  // ---- Delivery ----

  private droppable(m: Message): boolean {
    const to = this.peers.get(m.to);
    return to === undefined || !to.up || this.cut.has(link(m.from, m.to)) || this.drops.some((d) => d(m));
  }

  /**
   * Delivers queued messages that match `filter`, oldest first, processing
   * every Ready as it goes, until none matches. The rest stay in flight.
   * Returns the messages delivered.
   */
  deliver(filter: (m: Message) => boolean = () => true, limit = Infinity): Message[] {
    const out: Message[] = [];
    for (let steps = 0; ; steps++) {
      if (steps > 100_000) throw new Error('the network does not settle');
      this.processAll();
      if (out.length >= limit) break;
      const k = this.queue.findIndex(filter);
      if (k < 0) break;
      const m = this.queue.splice(k, 1)[0]!;
      const from = this.peers.get(m.from);
      if (this.droppable(m)) {
        // A host learns that a snapshot did not get through.
        if (m.type === MessageType.Snap && from?.up) from.node.reportSnapshot(m.to, false);
        continue;
      }
      this.peer(m.to).node.step(m);
      this.delivered.push(m);
      out.push(m);
      if (m.type === MessageType.Snap && from?.up) from.node.reportSnapshot(m.to, true);
    }
    return out;
  }

  /** Delivers everything until the network is quiet. */
  stabilize(): Message[] {
    return this.deliver();
  }

  /** Ticks the given nodes (all live ones by default) n times, settling after each round. */
  tick(ids: readonly NodeId[] = this.upIds, n = 1): void {
    for (let k = 0; k < n; k++) {
      for (const id of ids) if (this.peer(id).up) this.node(id).tick();
      this.stabilize();
    }
  }

  /** Ticks until `done()` holds; returns the rounds it took. Throws past `max`. */
  tickUntil(done: () => boolean, ids?: readonly NodeId[], max = 200): number {
    for (let k = 1; k <= max; k++) {
      this.tick(ids, 1);
      if (done()) return k;
    }
    throw new Error(`condition not reached within ${max} ticks`);
  }

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  /** Proposes each payload on `id` and settles. */
  propose(id: NodeId, ...payloads: string[]): void {
    for (const s of payloads) this.node(id).propose(bytes(s));
    this.stabilize();
  }

  // ---- Faults ----

  /** Cuts both directions between every node of `as` and every node of `bs`. */
  cutLinks(as: readonly NodeId[], bs: readonly NodeId[]): void {
    for (const a of as) {
      for (const b of bs) {
        if (a === b) continue;
        this.cutOneWay(a, b);
        this.cutOneWay(b, a);
      }
    }
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(link(from, to));
  }

  isolate(id: NodeId): void {
    this.cutLinks([id], this.ids);
  }

  /** Splits the network into the given groups. */
  partition(...groups: NodeId[][]): void {
    for (let i = 0; i < groups.length; i++) for (let j = i + 1; j < groups.length; j++) this.cutLinks(groups[i]!, groups[j]!);
  }

  /** Drops every message for which `pred` holds, until heal(). */
  dropIf(pred: (m: Message) => boolean): void {
    this.drops.push(pred);
  }

  heal(): void {
    this.cut.clear();
    this.drops.length = 0;
  }

  /** A crash: the node stops; what it did not persist is lost. */
  stop(id: NodeId): void {
    this.peer(id).up = false;
  }

  /** Restarts a node from its disk alone (with `changes` to its configuration). */
  restart(id: NodeId, changes: Partial<RaftConfig> = {}): Peer {
    const old = this.peer(id);
    const cfg: RaftConfig = { ...old.cfg, ...changes, random: this.randoms.get(id)! };
    const p = new Peer(id, old.disk, cfg);
    this.peers.set(id, p);
    this.process(id);
    return p;
  }

  /**
   * The host snapshots its state machine at its applied index (with the
   * membership as of that index) and compacts the log up to there.
   */
  compact(id: NodeId): Snapshot {
    const p = this.peer(id);
    const index = p.appliedIndex;
    const term = index === p.disk.snapshot.meta.index ? p.disk.snapshot.meta.term : p.disk.entries.find((e) => e.index === index)!.term;
    const snap: Snapshot = { meta: { index, term, conf: p.conf }, data: bytes(JSON.stringify(p.applied)) };
    p.node.compact(snap);
    p.disk.snapshot = snap;
    p.disk.entries = p.disk.entries.filter((e) => e.index > index);
    return snap;
  }

  // ---- Queries ----

  /** The live leader with the highest term, if any. */
  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const id of this.upIds) {
      const st = this.node(id).status();
      if (st.role === StateRole.Leader && (best === undefined || st.term > best.term)) best = { id, term: st.term };
    }
    return best?.id;
  }

  role(id: NodeId): StateRole {
    return this.node(id).status().role;
  }

  term(id: NodeId): number {
    return this.node(id).status().term;
  }

  /** The persisted log of a node, as (index, term, payload) triples. */
  log(id: NodeId): { index: number; term: number; data: string }[] {
    return this.peer(id).disk.entries.map((e) => ({ index: e.index, term: e.term, data: text(e.data) }));
  }

  /** Messages in flight that match. */
  inFlight(pred: (m: Message) => boolean): Message[] {
    return this.queue.filter(pred);
  }
}

function checkContiguous(p: Peer): void {
  let expect = p.disk.snapshot.meta.index + 1;
  for (const e of p.disk.entries) {
    if (e.index !== expect) throw new Error(`${p.id}: disk log has ${e.index} where ${expect} was expected`);
    expect++;
  }
}

/** A three-node network a, b, c with `a` elected leader (term 2). */
export function electedNetwork(ids: readonly NodeId[] = ['a', 'b', 'c'], opts: Options & { seed?: number } = {}): Network {
  const net = new Network(ids, opts);
  net.campaign(ids[0]!);
  if (net.leader() !== ids[0]) throw new Error(`${ids[0]} did not win the first election`);
  return net;
}
