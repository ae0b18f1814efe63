// The whole-node simulation: the production host loop (Replica), the vault's
// state machine (VaultApp) and an in-memory disk that loses unsynced writes
// on a crash, on a virtual network and clock driven by one seed. Unlike the
// core simulation (simulation.ts), nothing here is a stand-in for the code
// that runs in a node: only the disk, the wires and time are simulated.
//
// One event runs at a time; after each, the driver lets every promise the
// event set off settle (one real setImmediate: nothing else in the process is
// scheduled), then checks the invariants. A run is a pure function of its
// seed, so a failure replays: node dist/test/sim/whole/run.js --seed N.

import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { VaultApp, type VaultAppResult } from '../../../src/app/vault-app.js';
import { Envelope } from '../../../src/crypto/envelope.js';
import { decodeGeoEntry, isGeoEntryData } from '../../../src/geo/codec.js';
import { CAUGHT_UP_SLACK, STABLE_GAP_MS } from '../../../src/geo/detector.js';
import { PROBE_MS } from '../../../src/geo/follower.js';
import { GeoFollower } from '../../../src/geo/follower.js';
import { GeoSource } from '../../../src/geo/source.js';
import { simPrimaryLink, type LinkEnds } from './geo-link.js';
import type { Message } from '../../../src/raft/index.js';
import { RemovedNodeError } from '../../../src/replica/members.js';
import { MembershipError, addMember, promoteMember, removeMember } from '../../../src/replica/membership-ops.js';
import { type Application, Replica, type StateWrite } from '../../../src/replica/replica.js';
import { decodeCommand, encodeCommand } from '../../../src/vault/index.js';
import { Random } from '../random.js';
import { Scheduler } from '../scheduler.js';
import { MemoryStore, SimDisk } from './memory-store.js';
import { plantInFollower, plantInReplica } from './plant.js';
import { SimClock, simEnv } from './sim-clock.js';

export class Violation extends Error {
  override name = 'Violation';
}

export interface WholeOptions {
  /** Virtual milliseconds of faults and load; then the network heals and the cluster must converge. */
  readonly durationMs: number;
  /** Nodes per region. */
  readonly nodes: number;
  /** A secondary region that follows the primary and fails over when it is lost. */
  readonly twoRegions: boolean;
  /** A planted bug, by name (plant.ts), for the tests that prove the checks can fail. */
  readonly plant?: string;
  /** The leaders' read leases (src/replica/read-lease.ts): on unless false. */
  readonly leaseReads?: boolean;
}

export const DEFAULT_WHOLE: WholeOptions = { durationMs: 5000, nodes: 3, twoRegions: true };

export interface WholeStats {
  acknowledgedWrites: number;
  readsChecked: number;
  /** Reads a leader answered under its read lease, with no round of their own. */
  leaseReads: number;
  faults: number;
  crashes: number;
  diskFailures: number;
  lostUnsyncedBatches: number;
  snapshotsInstalled: number;
  failovers: number;
  failbacks: number;
  failedOverReads: number;
  membershipChanges: number;
  /** Restarts a node refused because it had applied its own removal, while the operator's call to remove it still waited. */
  removedStayedDown: number;
  events: number;
  checks: number;
}

export interface WholeResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: string;
  readonly stats: WholeStats;
  /** The last notes before the end: faults, leaders, violations. */
  readonly trace: readonly string[];
  /** The bug planted in this run, if any. */
  readonly plant?: string;
  /** False when the run had the read leases off. */
  readonly leaseReads?: false;
}

const TICK_MS = 10;
const ELECTION_TICKS = 10;
const VAULT = 'sim';
const KEYS = ['a', 'b', 'c'];
const MASTER_KEY = new Uint8Array(32).fill(7);
const TRACE_KEEP = 80;
const FAILOVER_AFTER_MS = 1000;
/** How far a restarted primary node's persisted commit index may trail its region's: the entries of one last round. */
const RESTART_COMMIT_LAG = 8;

/** An acknowledged write: the version must be in every later read of its secret. */
interface Ack {
  readonly key: string;
  readonly version: string;
  readonly at: number;
  /** The log index that applied it. */
  readonly index: number;
}

type Region = 'primary' | 'secondary';

class SimNode {
  replica: Replica<VaultAppResult> | undefined;
  source: GeoSource | undefined;
  follower: GeoFollower | undefined;
  /** Follow streams this node serves as a primary: they break when it dies. */
  readonly served = new Set<LinkEnds>();
  /** Snapshots streaming in: their senders hear of a failure when this node dies, as a broken stream tells them. */
  readonly receiving = new Set<() => void>();
  app: VaultApp | undefined;
  clock: SimClock | undefined;
  store: MemoryStore | undefined;
  up = false;
  incarnation = 0;
  /** Why this incarnation stopped itself (onFatal), if it did. */
  fatal: Error | undefined;
  /** Taken out of its region by a membership change: never started again. */
  removed = false;
  /**
   * Its removal was proposed: it may apply it (and then refuse to start)
   * before the operator's call returns, if the call does at all.
   */
  removing = false;

  constructor(
    readonly id: string,
    readonly region: Region,
    readonly disk: SimDisk,
    /** One of the region's first members; a node added later joins from a snapshot. */
    readonly founder: boolean,
  ) {}
}

/** Hashes what applying each index wrote, per node: the state of every node must be equal at each applied index. */
class AppliedStates {
  private readonly byIndex = new Map<number, { node: string; digest: string }>();

  record(node: string, index: number, digest: string): void {
    const seen = this.byIndex.get(index);
    if (seen === undefined) this.byIndex.set(index, { node, digest });
    else if (seen.digest !== digest) throw new Violation(`index ${index} applied differently on ${seen.node} and ${node}`);
  }
}

function digestOf(data: Uint8Array, out: { result: unknown; writes: readonly StateWrite[] }): string {
  const h = createHash('sha256').update(data);
  for (const w of out.writes) {
    h.update(w.op).update(w.key);
    if (w.op === 'put') h.update(w.value);
  }
  return h.digest('hex').slice(0, 16);
}

/** What the primary committed, as its nodes applied it: for the secondary's prefix checks. */
class PrimaryLog {
  /** Index → digest of the entry's data. */
  readonly entries = new Map<number, string>();
  /** Secret version → the primary index that wrote it. */
  readonly versionIndex = new Map<string, number>();
  /** The highest commit index of the primary over time: [time, commit]. */
  private readonly commits: [number, number][] = [[0, 0]];

  commitRose(now: number, commit: number): void {
    const last = this.commits[this.commits.length - 1]!;
    if (commit <= last[1]) return;
    if (last[0] === now) last[1] = commit;
    else this.commits.push([now, commit]);
  }

  commitAt(time: number): number {
    let c = 0;
    for (const [t, v] of this.commits) {
      if (t > time) break;
      c = v;
    }
    return c;
  }
}

export class WholeSimulation {
  readonly scheduler = new Scheduler();
  private readonly random: Random;
  private readonly nodes: SimNode[] = [];
  private readonly states = new Map<Region, AppliedStates>([
    ['primary', new AppliedStates()],
    ['secondary', new AppliedStates()],
  ]);
  private readonly primaryLog = new PrimaryLog();
  private readonly acks: Ack[] = [];
  private readonly leaderOfTerm = new Map<string, string>();
  private readonly cut = new Set<string>();
  /** Nodes cut from their own region only: still reachable across the regions. */
  private readonly cutInside = new Set<string>();
  /** A membership change is under way; the regions whose member was replaced in this run. */
  private replacing = false;
  private readonly replaced = new Set<Region>();
  /** The link between the regions is down. */
  private regionsCut = false;
  /** Since when the primary has had a leader the secondary can reach (undefined: it has none now). */
  private primaryHealthySince: number | undefined = 0;
  private readonly trace: string[] = [];
  private violation: string | undefined;
  private seq = 0;
  private calm = false;
  readonly stats: WholeStats = {
    acknowledgedWrites: 0,
    readsChecked: 0,
    leaseReads: 0,
    faults: 0,
    crashes: 0,
    diskFailures: 0,
    lostUnsyncedBatches: 0,
    snapshotsInstalled: 0,
    failovers: 0,
    failbacks: 0,
    failedOverReads: 0,
    membershipChanges: 0,
    removedStayedDown: 0,
    events: 0,
    checks: 0,
  };
  private readonly logger: pino.Logger;
  /** Per seed: how long a failback waits for a stable primary, and the one-way delay of the link between the regions. */
  private readonly failbackAfterMs: number;
  private readonly geoLatencyMs: number;
  private readonly regionsApart: boolean;

  constructor(
    readonly seed: number,
    private readonly opts: WholeOptions = DEFAULT_WHOLE,
  ) {
    this.random = Random.derive(seed, 'whole');
    // A short failback period on a slow link makes the caught-up rule, not the wait, what holds a failback back.
    this.failbackAfterMs = this.random.pick([100, 800]);
    // On some seeds the regions are apart for most of the run: the secondary
    // fails over while the primary writes on, and compacts, without it. When
    // they meet again it is far behind, often past the primary's log, and
    // must catch up before it fails back, which on these seeds it may do
    // soon after it sees the primary (its own stream: other seeds replay as before).
    this.regionsApart = opts.twoRegions && Random.derive(seed, 'regions apart').chance(0.2);
    if (this.regionsApart) this.failbackAfterMs = 100;
    this.geoLatencyMs = this.random.int(0, 300);
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const line = JSON.parse(chunk.toString()) as { msg: string; level: number; node?: string; err?: unknown };
        if (line.msg === 'installed snapshot') this.stats.snapshotsInstalled++;
        if (line.level >= 50 || /snapshot|mode change/.test(line.msg)) this.note(`log ${line.level} ${line.node ?? ''}: ${line.msg}${line.err !== undefined ? ` (${JSON.stringify(line.err).slice(0, 300)})` : ''}`);
        // Our own code found something it cannot explain: a bug, whichever node logged it.
        if (line.level === 50) this.fail(`${line.node ?? 'a node'} logged an error: ${line.msg}`);
        done();
      },
    });
    this.logger = pino({ level: 'info' }, sink);
    const regions: Region[] = opts.twoRegions ? ['primary', 'secondary'] : ['primary'];
    for (const region of regions) {
      for (let i = 1; i <= opts.nodes; i++) {
        const id = `${region[0]}${i}`;
        this.nodes.push(new SimNode(id, region, new SimDisk(this.scheduler, Random.derive(seed, `disk-${id}`)), true));
      }
    }
  }

  private note(s: string): void {
    this.trace.push(`${String(this.scheduler.now).padStart(6)} ${s}`);
    if (this.trace.length > TRACE_KEEP * 2) this.trace.splice(0, this.trace.length - TRACE_KEEP);
  }

  private fail(why: string): void {
    if (this.violation !== undefined) return;
    this.violation = why;
    this.note(`VIOLATION: ${why}`);
  }

  private members(): SimNode[] {
    return this.nodes.filter((n) => !n.removed);
  }

  private inRegion(region: Region): SimNode[] {
    return this.nodes.filter((n) => n.region === region && !n.removed);
  }

  // ---- Nodes ----

  private async boot(node: SimNode): Promise<void> {
    node.incarnation++;
    node.up = true;
    node.fatal = undefined;
    const clock = new SimClock(this.scheduler);
    const store = new MemoryStore(node.disk);
    const vault = new VaultApp(new Envelope(MASTER_KEY), this.logger.child({ node: node.id }));
    const incarnation = node.incarnation;
    const states = this.states.get(node.region)!;
    // The real state machine, watched: what each index writes is compared across the region's nodes.
    const app: Application<VaultAppResult> = {
      applyCommand: (data, index) => {
        const live = node.incarnation === incarnation;
        if (live) this.guard(() => this.beforeApply(node, vault, data, index));
        const out = vault.applyCommand(data, index);
        if (live) this.guard(() => states.record(node.id, index, digestOf(data, out)));
        if (live) this.guard(() => this.afterApply(node, vault, data, index));
        return out;
      },
      reload: (records) => vault.reload(records),
    };
    const logger = this.logger.child({ node: node.id });
    const replica = new Replica<VaultAppResult>({
      id: node.id,
      founders: node.founder ? this.nodes.filter((n) => n.region === node.region && n.founder).map((n) => n.id) : [],
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      leaseReads: this.opts.leaseReads ?? true,
      observer: {
        ready: () => undefined,
        write: () => undefined,
        proposal: () => undefined,
        read: (underLease) => {
          if (underLease) this.stats.leaseReads++;
        },
      },
      retention: { compactEvery: 40, compactEveryBytes: 1024 * 1024, readerEntries: 400, readerBytes: 64 * 1024 * 1024 },
      maxBytesPerMessage: 16 * 1024,
      store,
      app,
      logger,
      env: simEnv(clock, Random.derive(this.seed, `env-${node.id}-${incarnation}`)),
      onFatal: (e) => {
        node.fatal = e;
        this.note(`${node.id} stopped itself: ${e.message}`);
        // A process that stops is restarted by its supervisor, on what its disk kept.
        this.crash(node);
        this.scheduler.after(this.random.int(50, 300), () => void this.restart(node));
      },
    });
    if (this.opts.plant !== undefined) plantInReplica(replica, this.opts.plant);
    node.clock = clock;
    node.store = store;
    node.app = vault;
    await replica.open();
    if (node.incarnation !== incarnation) return;
    const st = replica.status();
    this.note(`${node.id} opened: term ${st.term} last ${st.lastIndex} commit ${st.commit} applied ${st.applied}`);
    node.replica = replica;
    replica.start({
      send: (messages) => {
        for (const m of messages) this.deliver(node, m);
      },
      sendSnapshot: (m) => this.sendSnapshot(node, m),
    });
    if (node.region === 'primary') {
      node.source = new GeoSource({ nodeId: node.id, replica, store, logger, isDropped: (id) => this.geoDropped(node.id, id), clock });
    } else {
      const follower = new GeoFollower({
        nodeId: node.id,
        replica,
        geo: () => vault.geo,
        primaries: this.primaryPeers(),
        failoverAfterMs: FAILOVER_AFTER_MS,
        failbackAfterMs: this.failbackAfterMs,
        latencyMs: this.geoLatencyMs,
        isDropped: (id) => this.geoDropped(node.id, id),
        links: (p) => simPrimaryLink(() => this.primaryEnd(p.id), clock),
        logger,
        clock,
      });
      if (this.opts.plant !== undefined) plantInFollower(follower, this.opts.plant);
      node.follower = follower;
      follower.start();
    }
  }

  private primaryEnd(id: string): { source: GeoSource; served: Set<LinkEnds> } | undefined {
    const p = this.node(id);
    return p.up && p.source !== undefined ? { source: p.source, served: p.served } : undefined;
  }

  /** Traffic between a secondary and a primary node: lost while the regions are cut or either node is isolated. */
  private geoDropped(a: string, b: string): boolean {
    return this.regionsCut || this.cut.has(a) || this.cut.has(b);
  }

  private crash(node: SimNode): void {
    if (!node.up) return;
    node.up = false;
    node.clock?.kill();
    node.disk.crash();
    node.replica = undefined;
    node.app = undefined;
    node.source = undefined;
    node.follower = undefined;
    for (const s of [...node.served]) s.fail(new Error(`UNAVAILABLE: ${node.id} died`));
    node.served.clear();
    for (const fail of [...node.receiving]) fail();
    node.receiving.clear();
    this.stats.crashes++;
    this.stats.lostUnsyncedBatches = this.nodes.reduce((n, x) => n + x.disk.lostOnCrash, 0);
  }

  private async restart(node: SimNode): Promise<void> {
    if (node.up || node.removed) return;
    this.note(`${node.id} restarts`);
    try {
      await this.boot(node);
    } catch (e) {
      if (e instanceof RemovedNodeError && node.removing) {
        this.note(`${node.id} stays down: it applied its own removal (${e.message})`);
        this.stats.removedStayedDown++;
        this.crash(node);
        node.removed = true;
        return;
      }
      // What a crash left on its disk must always open again.
      this.fail(`${node.id} cannot restart: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---- Network (Raft traffic stays within a region) ----

  private linkUp(a: string, b: string): boolean {
    return !this.cut.has(a) && !this.cut.has(b) && !this.cutInside.has(a) && !this.cutInside.has(b);
  }

  private deliver(from: SimNode, m: Message): void {
    if (this.random.chance(0.01) && !this.calm) return; // a lost packet
    this.scheduler.after(this.random.int(1, 4), () => {
      // A node being added is addressed as soon as its addition commits, before its process starts.
      const to = this.nodes.find((n) => n.id === m.to);
      if (to === undefined || !from.up || !to.up || !this.linkUp(from.id, to.id)) return;
      to.replica?.step(m);
    });
  }

  /** Streams the sender's applied state as it is now, as the transport does. */
  private sendSnapshot(from: SimNode, m: Message): void {
    const incarnation = from.incarnation;
    this.scheduler.after(this.random.int(2, 10), () => {
      const to = this.nodes.find((n) => n.id === m.to);
      const report = (ok: boolean) =>
        this.scheduler.after(this.random.int(1, 4), () => {
          if (from.up && from.incarnation === incarnation) from.replica?.reportSnapshot(m.to, ok);
        });
      if (to === undefined || !from.up || from.incarnation !== incarnation || from.store === undefined || !to.up || to.replica === undefined || !this.linkUp(from.id, to.id)) {
        report(false);
        return;
      }
      const view = from.store.stateSnapshot();
      const message: Message = { ...m, snapshot: { meta: view.meta, data: new Uint8Array() } };
      async function* records() {
        yield* view.records;
      }
      // Reported once: by the receiver's answer, or by its death, after which it never answers.
      let reported = false;
      const settle = (ok: boolean) => {
        if (reported) return;
        reported = true;
        to.receiving.delete(died);
        report(ok);
      };
      const died = () => settle(false);
      to.receiving.add(died);
      to.replica.receiveSnapshot(message, records()).then(
        (ok) => settle(ok),
        () => settle(false),
      );
    });
  }

  private node(id: string): SimNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  // ---- Faults ----

  private scheduleFaults(): void {
    const next = () => {
      if (this.calm) return;
      this.injectFault();
      this.scheduler.after(this.random.int(150, 700), next);
    };
    this.scheduler.after(this.random.int(200, 500), next);
  }

  private cutRegionsFor(ms: number, what: string): void {
    this.note(what);
    this.regionsCut = true;
    this.scheduler.after(ms, () => {
      this.regionsCut = false;
      this.note('the regions are connected again');
    });
  }

  private crashFor(n: SimNode, what: string, minMs: number, maxMs: number): void {
    this.note(`${what} ${n.id} (${this.describe(n)})`);
    this.crash(n);
    this.scheduler.after(this.random.int(minMs, maxMs), () => void this.restart(n));
  }

  private injectFault(): void {
    const n = this.random.pick(this.members());
    const kind = this.random.int(0, 12);
    this.stats.faults++;
    if (kind <= 2 && n.up) {
      this.crashFor(n, 'crash', 50, 800);
    } else if (kind <= 4) {
      // Cut from everything, or from its own region only (a primary node then still serves the secondary, from behind).
      const inside = this.random.chance(0.5);
      this.note(`isolate ${n.id}${inside ? ' from its region' : ''}`);
      (inside ? this.cutInside : this.cut).add(n.id);
      this.scheduler.after(this.random.int(100, 2000), () => {
        (inside ? this.cutInside : this.cut).delete(n.id);
        this.note(`heal ${n.id}`);
      });
    } else if (kind <= 5 && n.up) {
      this.note(`disk of ${n.id} fails its next write`);
      this.stats.diskFailures++;
      n.disk.failNextWrite = true;
    } else if (kind <= 7) {
      const leader = this.leader(n.region);
      if (leader !== undefined) this.crashFor(leader, 'crash leader', 50, 800);
    } else if (kind <= 8 && this.opts.twoRegions && !this.regionsCut) {
      this.cutRegionsFor(this.random.int(300, 4000), 'cut the link between the regions');
    } else if (kind === 12) {
      void this.replaceMember(n.region);
    } else if (kind <= 9 && this.opts.twoRegions) {
      // The whole primary region is lost, and comes back: failover and failback.
      this.note('lose the primary region');
      const back = this.random.int(1500, 3500);
      for (const p of this.inRegion('primary')) {
        if (!p.up) continue;
        this.crash(p);
        this.scheduler.after(back + this.random.int(0, 300), () => void this.restart(p));
      }
    }
  }

  /**
   * The membership change an operator makes to replace a node, on the
   * region's leader with the same functions the Cluster service calls:
   * remove a voter, add a new node as a learner (it joins from a snapshot),
   * promote it once it has caught up. Once per region and run, one at a time.
   */
  private async replaceMember(region: Region): Promise<void> {
    if (this.replacing || this.replaced.has(region)) return;
    const leader = this.leader(region);
    const victim = this.inRegion(region).find((n) => n !== leader && n.founder);
    if (leader === undefined || victim === undefined) return;
    this.replacing = true;
    this.replaced.add(region);
    const id = `${region[0]}${this.nodes.filter((n) => n.region === region).length + 1}`;
    try {
      this.note(`membership: removing ${victim.id}`);
      victim.removing = true;
      await this.onLeader(region, (r) => removeMember(r, victim.id), 'MEMBER_NOT_FOUND');
      victim.removed = true;
      this.crash(victim);
      this.note(`membership: adding ${id} as a learner`);
      await this.onLeader(region, (r) => addMember(r, id, { client: `${id}.sim:7000`, peer: `${id}.sim:7001` }), 'MEMBER_EXISTS');
      const joiner = new SimNode(id, region, new SimDisk(this.scheduler, Random.derive(this.seed, `disk-${id}`)), false);
      this.nodes.push(joiner);
      await this.boot(joiner);
      await this.onLeader(region, (r) => promoteMember(r, id), 'ALREADY_VOTER');
      this.note(`membership: ${id} promoted to voter`);
      this.stats.membershipChanges++;
    } catch (e) {
      this.note(`membership change stopped: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.replacing = false;
      if (region === 'primary') for (const s of this.inRegion('secondary')) s.follower?.setPrimaries(this.primaryPeers());
    }
  }

  /**
   * Runs a membership operation on the region's leader, as an operator's
   * tool does: again after a pause while it is refused (no leader, a change
   * still pending, a learner not caught up yet), up to a bound.
   */
  private async onLeader(region: Region, op: (r: Replica<VaultAppResult>) => Promise<unknown>, alreadyDone: string): Promise<void> {
    let last = 'no leader';
    for (let attempt = 0; attempt < 60; attempt++) {
      const leader = this.leader(region);
      if (leader !== undefined) {
        const outcome = (e: unknown) => (e instanceof MembershipError && e.reason === alreadyDone ? ('done' as const) : e instanceof Error ? e.message : String(e));
        // An attempt that timed out may have committed: the next one then finds it done (alreadyDone).
        const out = await this.withTimeout(op(leader.replica!).then(() => 'done' as const, outcome), 11_000);
        if (out === 'done') return;
        last = out;
      }
      await this.sleep(100);
    }
    throw new Error(`gave up: ${last}`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.scheduler.after(ms, resolve));
  }

  private primaryPeers(): { id: string; peer: string }[] {
    return this.inRegion('primary').map((p) => ({ id: p.id, peer: p.id }));
  }

  private describe(n: SimNode): string {
    const st = n.replica?.status();
    if (st === undefined) return 'not running';
    const f = n.follower as unknown as { leading: boolean; stream: unknown; pending: unknown[]; shipping: boolean; needSnapshot: boolean; transferring: boolean; source: number } | undefined;
    const geo = f?.leading ? ` (following: stream ${f.stream !== undefined}, ${f.pending.length} pending, shipping ${f.shipping}, snapshot ${f.needSnapshot}/${f.transferring}, source ${f.source})` : '';
    return `term ${st.term} last ${st.lastIndex} commit ${st.commit} applied ${st.applied}${geo}`;
  }

  private leader(region: Region): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      const r = n.replica;
      if (n.region !== region || !n.up || r === undefined || !r.isLeader) continue;
      if (best === undefined || r.term > best.replica!.term) best = n;
    }
    return best;
  }

  // ---- Clients, routed as the server routes them ----

  /** A primary node, or the leader a primary follower forwards to. */
  private routeToPrimaryLeader(): SimNode | undefined {
    const entry = this.random.pick(this.inRegion('primary'));
    if (!entry.up || entry.replica === undefined) return undefined;
    if (entry.replica.isLeader) return entry;
    const lead = this.nodes.find((n) => n.id === entry.replica!.leader);
    return lead?.up && lead.replica !== undefined && this.linkUp(entry.id, lead.id) ? lead : undefined;
  }

  private client(id: number): void {
    const loop = () => {
      if (this.calm) return;
      const op = this.random.chance(0.5) ? this.write(id) : this.read();
      void op.finally(() => this.scheduler.after(this.random.int(5, 40), loop));
    };
    this.scheduler.after(this.random.int(0, 50), loop);
  }

  /** Resolves when the operation ended or timed out (its outcome then unknown). */
  private withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
    return new Promise((resolve) => {
      this.scheduler.after(ms, () => resolve('timeout'));
      p.then(resolve, () => resolve('timeout'));
    });
  }

  private async createVault(): Promise<boolean> {
    const node = this.routeToPrimaryLeader();
    if (node === undefined) return false;
    const cmd = { requestId: 'create-vault', timeMs: 0, op: 'createVault', createVault: { name: VAULT, softDeleteRetentionDays: 7, purgeProtection: false } };
    const out = await this.withTimeout(node.replica!.propose(encodeCommand(cmd as never), 500), 600);
    return out !== 'timeout' && !('error' in out && out.error.message.includes('NOT_FOUND'));
  }

  private async write(client: number): Promise<void> {
    const node = this.routeToPrimaryLeader();
    if (node === undefined) return;
    const key = this.random.pick(KEYS);
    // Version ids are 32 hex digits: the client's number, then a sequence.
    const version = `${client.toString(16)}${(this.seq++).toString(16).padStart(31, '0')}`;
    const setSecret = {
      vault: VAULT,
      name: key,
      version,
      sealedValue: new TextEncoder().encode(version),
      attributes: { contentType: '', tags: {}, enabled: true, notBefore: 0, expires: 0 },
    };
    const cmd = { requestId: version, timeMs: this.scheduler.now, op: 'setSecret', setSecret };
    let answer: Promise<VaultAppResult>;
    try {
      answer = node.replica!.propose(encodeCommand(cmd as never), 500);
    } catch {
      return; // refused at once: NOT_LEADER, THROTTLED, SHUTTING_DOWN
    }
    const out = await this.withTimeout(answer, 600);
    if (out === 'timeout' || 'geo' in out) return;
    if ('error' in out) {
      this.fail(`a write was refused by the state machine: ${out.error.message}`);
      return;
    }
    this.acks.push({ key, version, at: this.scheduler.now, index: out.index ?? -1 });
    this.stats.acknowledgedWrites++;
  }

  /**
   * A read at any node: a primary node serves it through its leader; a
   * STANDBY secondary forwards it to the primary; a FAILED_OVER one serves
   * it from its own group (a ReadIndex there), as of its cursor.
   */
  private async read(): Promise<void> {
    let node = this.random.pick(this.members());
    if (!node.up || node.replica === undefined || node.app === undefined) return;
    const failedOver = node.region === 'secondary' && node.app.geo.mode === 'FAILED_OVER';
    if (node.region === 'secondary' && !failedOver) {
      if (this.geoDropped(node.id, '')) return;
      const primary = this.random.pick(this.inRegion('primary'));
      if (!primary.up || primary.replica === undefined || this.cut.has(primary.id)) return;
      node = primary;
    }
    const key = this.random.pick(KEYS);
    const started = this.scheduler.now;
    const replica = node.replica!;
    let reading: Promise<void>;
    try {
      reading = replica.linearizableRead(500);
    } catch {
      return;
    }
    const out = await this.withTimeout(reading, 600);
    if (out === 'timeout' || node.replica !== replica || node.app === undefined) return;
    if (failedOver) this.checkFailedOverRead(node, key);
    else this.checkRead(node, key, started);
  }

  /** Every write acknowledged before the read began is in what it returns. */
  private checkRead(node: SimNode, key: string, started: number): void {
    const versions = this.versionsOf(node, key);
    for (const ack of this.acks) {
      if (ack.key === key && ack.at < started && !versions.has(ack.version)) {
        this.fail(`a linearizable read of ${key} on ${node.id} misses version ${ack.version.slice(0, 12)} acknowledged at ${ack.at}`);
      }
    }
    this.stats.readsChecked++;
  }

  /** A failed-over secondary serves the primary's committed log up to its cursor: all of it, and nothing past it. */
  private checkFailedOverRead(node: SimNode, key: string): void {
    const cursor = node.app!.geo.cursor;
    const versions = this.versionsOf(node, key);
    for (const v of versions) {
      const index = this.primaryLog.versionIndex.get(v);
      if (index === undefined || index > cursor) this.fail(`failed-over ${node.id} (cursor ${cursor}) serves version ${v.slice(0, 12)} of ${key}, written at primary index ${index ?? 'never'}`);
    }
    for (const ack of this.acks) {
      if (ack.key === key && ack.index <= cursor && !versions.has(ack.version)) this.fail(`failed-over ${node.id} (cursor ${cursor}) misses version ${ack.version.slice(0, 12)} of ${key}, primary index ${ack.index}`);
    }
    this.stats.failedOverReads++;
  }

  private versionsOf(node: SimNode, key: string): Set<string> {
    const state = node.app!.state;
    const versions = new Set<string>();
    let token = '';
    try {
      do {
        const page = state.listSecretVersions(VAULT, key, 25, token);
        for (const v of page.secrets) versions.add(v.version);
        token = page.nextPageToken;
      } while (token !== '');
    } catch {
      // No such secret (yet): no versions.
    }
    return versions;
  }

  // ---- Checks ----

  private guard(check: () => void): void {
    try {
      check();
    } catch (e) {
      if (e instanceof Violation) this.fail(e.message);
      else throw e;
    }
  }

  /** Before a node applies an entry: what the secondary applies comes from the primary's log, in order. */
  private beforeApply(node: SimNode, vault: VaultApp, data: Uint8Array, index: number): void {
    if (node.region === 'primary') {
      const digest = createHash('sha256').update(data).digest('hex').slice(0, 16);
      const seen = this.primaryLog.entries.get(index);
      if (seen === undefined) this.primaryLog.entries.set(index, digest);
      else if (seen !== digest) throw new Violation(`primary index ${index} differs between nodes or from what was shipped`);
      if (data.length > 0 && !isGeoEntryData(data)) {
        const cmd = decodeCommand(data);
        if (cmd.op === 'setSecret') this.primaryLog.versionIndex.set(cmd.setSecret.version, index);
      }
      return;
    }
    if (data.length === 0) return;
    // The secondary never takes a write of its own: only what it is shipped.
    if (!isGeoEntryData(data)) throw new Violation(`${node.id} applied a write of its own at index ${index}: two regions accepting writes`);
    const entry = decodeGeoEntry(data);
    const geo = vault.geo;
    if (entry.kind === 'shipped') {
      let cursor = geo.cursor;
      for (const e of entry.shipped.entries) {
        if (e.index <= cursor) continue;
        if (e.index !== cursor + 1) throw new Violation(`${node.id} was shipped primary entry ${e.index} after ${cursor}: an entry was skipped`);
        const digest = createHash('sha256').update(e.data).digest('hex').slice(0, 16);
        const seen = this.primaryLog.entries.get(e.index);
        if (seen === undefined) this.primaryLog.entries.set(e.index, digest);
        else if (seen !== digest) throw new Violation(`${node.id} was shipped a primary entry ${e.index} that is not the primary's`);
        cursor = e.index;
      }
    } else if (entry.kind === 'transition' && entry.transition.mode !== geo.mode) {
      const t = entry.transition;
      if (t.mode === 'FAILED_OVER' && !t.manual) {
        // The detector waits failoverAfterMs without a primary leader; a primary healthy all that time must not be failed over.
        const healthy = this.primaryHealthySince;
        if (healthy !== undefined && t.atMs - healthy >= FAILOVER_AFTER_MS) {
          throw new Violation(`${node.id} failed over at ${t.atMs} while the primary had a leader it could reach since ${healthy}`);
        }
      } else if (t.mode === 'STANDBY') {
        // Caught up: the detector saw a primary leader within STABLE_GAP_MS, with its commit index then (or a later
        // one, from a probe period before), and fails back only within CAUGHT_UP_SLACK of the highest it saw.
        // A primary node restarted reports the commit index it persisted, which may trail what its leader had
        // committed before the loss by the last round's entries (seed 15516: 78 seen, 79 committed): a few more.
        const commit = this.primaryLog.commitAt(t.atMs - STABLE_GAP_MS - PROBE_MS);
        if (commit - geo.cursor > CAUGHT_UP_SLACK + RESTART_COMMIT_LAG) {
          throw new Violation(`${node.id} failed back at ${t.atMs} at cursor ${geo.cursor}, ${commit - geo.cursor} entries behind the primary's commit ${commit}`);
        }
      }
    }
  }

  private afterApply(node: SimNode, vault: VaultApp, data: Uint8Array, index: number): void {
    if (node.region !== 'secondary' || data.length === 0 || !isGeoEntryData(data)) return;
    const entry = decodeGeoEntry(data);
    if (entry.kind !== 'transition' || !node.replica?.isLeader) return;
    // Counted once, by the leader that applies it.
    if (vault.geo.mode === 'FAILED_OVER' && entry.transition.mode === 'FAILED_OVER') {
      this.stats.failovers++;
      this.note(`the secondary fails over (index ${index}): ${entry.transition.reason}`);
    } else if (entry.transition.mode === 'STANDBY') {
      this.stats.failbacks++;
      this.note(`the secondary fails back (index ${index}): ${entry.transition.reason}`);
    }
  }

  private checkEvent(): void {
    this.stats.checks++;
    for (const n of this.nodes) {
      const r = n.replica;
      if (!n.up || r === undefined || !r.isLeader) continue;
      const key = `${n.region}/${r.term}`;
      const seen = this.leaderOfTerm.get(key);
      if (seen === undefined) {
        this.leaderOfTerm.set(key, n.id);
        this.note(`${n.id} leads term ${r.term}`);
      } else if (seen !== n.id) this.fail(`two leaders in the ${n.region} region's term ${r.term}: ${seen} and ${n.id}`);
    }
    for (const n of this.nodes) {
      if (n.fatal !== undefined && !n.fatal.message.startsWith('injected disk failure')) this.fail(`${n.id} stopped: ${n.fatal.message}`);
    }
    const leader = this.leader('primary');
    if (leader !== undefined) this.primaryLog.commitRose(this.scheduler.now, leader.replica!.commitIndex);
    const healthy = leader !== undefined && !this.regionsCut && !this.cut.has(leader.id);
    if (!healthy) this.primaryHealthySince = undefined;
    else if (this.primaryHealthySince === undefined) this.primaryHealthySince = this.scheduler.now;
  }

  /** After healing: each region converges on one state; the secondary on the primary's, in STANDBY; every acknowledged write is there. */
  private checkConverged(): void {
    for (const region of ['primary', 'secondary'] as const) {
      const nodes = this.inRegion(region);
      if (nodes.length === 0) continue;
      const applied = nodes.map((n) => n.replica?.status().applied ?? -1);
      if (new Set(applied).size !== 1) {
        this.fail(`the ${region} region did not converge after healing: applied ${nodes.map((n, i) => `${n.id}=${applied[i]}`).join(' ')}`);
        return;
      }
    }
    const reference = this.inRegion('primary')[0]!;
    for (const n of this.members()) {
      if (n.region === 'secondary' && n.app!.geo.mode !== 'STANDBY') this.fail(`${n.id} is still ${n.app!.geo.mode} after the primary healed`);
      for (const key of KEYS) {
        const versions = this.versionsOf(n, key);
        for (const ack of this.acks) {
          if (ack.key !== key || versions.has(ack.version)) continue;
          const holders = this.members().filter((o) => this.versionsOf(o, key).has(ack.version)).map((o) => o.id);
          this.fail(`${n.id} (applied ${n.replica!.status().applied}) lost the write acknowledged at ${ack.at}, applied at index ${ack.index}: ${key} version ${ack.version.slice(0, 12)}; held by [${holders.join(',')}]`);
        }
        if (n.region === 'secondary' && [...versions].sort().join() !== [...this.versionsOf(reference, key)].sort().join()) {
          this.fail(`${n.id} (cursor ${n.app!.geo.cursor}) holds other versions of ${key} than the primary`);
        }
      }
    }
  }

  // ---- The run ----

  async run(): Promise<WholeResult> {
    // Booting writes to the disks, which takes (virtual) time: it runs as events too.
    for (const n of this.nodes) void this.boot(n);
    // The vault first, calmly: every later write goes into it.
    const setupUntil = 3000;
    let created = false;
    const create = () => {
      void this.createVault().then((ok) => {
        if (ok) created = true;
        else this.scheduler.after(50, create);
      });
    };
    this.scheduler.after(200, create);
    await this.drive(() => created, setupUntil);
    if (!created) this.fail('the vault was never created');
    const start = this.scheduler.now;
    if (this.regionsApart) this.cutRegionsFor(this.opts.durationMs - 1000, 'cut the link between the regions for most of the run');
    this.scheduleFaults();
    for (let c = 0; c < 3; c++) this.client(c);
    await this.drive(() => false, start + this.opts.durationMs);
    // Heal everything and let the cluster settle: failback included.
    this.calm = true;
    this.cut.clear();
    this.cutInside.clear();
    this.regionsCut = false;
    for (const n of this.members()) {
      n.disk.failNextWrite = false;
      if (!n.up) void this.restart(n);
    }
    this.note('healed');
    const settleUntil = this.scheduler.now + 8000;
    await this.drive(() => this.settled(), settleUntil);
    if (this.violation === undefined && !this.settled()) this.fail(`the cluster did not settle within 8 s of healing: ${this.members().map((n) => `${n.id} ${this.describe(n)}${n.app ? ` ${n.app.geo.mode} cursor ${n.app.geo.cursor}` : ''}`).join('; ')}`);
    if (this.violation === undefined) this.checkConverged();
    return {
      seed: this.seed,
      ok: this.violation === undefined,
      ...(this.violation !== undefined ? { violation: this.violation } : {}),
      stats: this.stats,
      trace: this.trace.slice(-TRACE_KEEP),
      ...(this.opts.plant !== undefined ? { plant: this.opts.plant } : {}),
      ...(this.opts.leaseReads === false ? { leaseReads: false as const } : {}),
    };
  }

  private settled(): boolean {
    const leader = this.leader('primary');
    if (leader === undefined) return false;
    // A new leader's commit index lags until its first entry commits: settled is everything it has, committed and applied everywhere.
    const commit = leader.replica!.commitIndex;
    const lastIndex = leader.replica!.lastIndex;
    if (commit !== lastIndex) return false;
    if (!this.inRegion('primary').every((n) => n.replica !== undefined && n.replica.appliedIndex === commit)) return false;
    if (!this.opts.twoRegions) return true;
    const secondary = this.leader('secondary');
    if (secondary === undefined) return false;
    const s = { commit: secondary.replica!.commitIndex, lastIndex: secondary.replica!.lastIndex };
    if (s.commit !== s.lastIndex) return false;
    return this.inRegion('secondary').every((n) => n.replica !== undefined && n.app !== undefined && n.replica.appliedIndex === s.commit && n.app.geo.cursor === commit && n.app.geo.mode === 'STANDBY');
  }

  /** Runs events one at a time until `done`, virtual time `until`, or a violation. */
  private async drive(done: () => boolean, until: number): Promise<void> {
    while (this.violation === undefined && !done()) {
      if (!this.scheduler.runNext(until)) break;
      this.stats.events++;
      await settle();
      this.guard(() => this.checkEvent());
    }
  }
}

/** Lets every promise set off by the last event run: nothing else in the process is scheduled. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function runWholeSeed(seed: number, opts: WholeOptions = DEFAULT_WHOLE): Promise<WholeResult> {
  const sim = new WholeSimulation(seed, opts);
  try {
    return await sim.run();
  } catch (e) {
    // A fault of the simulator (or an error the node code let escape): a failure of this seed, not of the whole run.
    return { seed, ok: false, violation: `the run threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, stats: sim.stats, trace: [] };
  }
}

export function formatWholeFailure(r: WholeResult): string {
  return [`seed ${r.seed}: ${r.violation}`, ...r.trace.map((l) => `  ${l}`), `replay: node dist/test/sim/whole/run.js --seed ${r.seed}${r.plant !== undefined ? ` --plant ${r.plant}` : ''}${r.leaseReads === false ? ' --no-lease-reads' : ''}`].join('\n');
}

