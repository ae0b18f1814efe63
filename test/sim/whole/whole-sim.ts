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
import { type Message, MessageType, StateRole } from '../../../src/raft/index.js';
import { type Application, Replica, type StateWrite } from '../../../src/replica/replica.js';
import { encodeCommand } from '../../../src/vault/index.js';
import { Random } from '../random.js';
import { Scheduler } from '../scheduler.js';
import { MemoryStore, SimDisk } from './memory-store.js';
import { plantInReplica } from './plant.js';
import { SimClock, simEnv } from './sim-clock.js';

export class Violation extends Error {
  override name = 'Violation';
}

export interface WholeOptions {
  /** Virtual milliseconds of faults and load; then the network heals and the cluster must converge. */
  readonly durationMs: number;
  readonly nodes: number;
  /** A planted bug, by name (plant.ts), for the tests that prove the checks can fail. */
  readonly plant?: string;
}

export const DEFAULT_WHOLE: WholeOptions = { durationMs: 4000, nodes: 3 };

export interface WholeStats {
  acknowledgedWrites: number;
  readsChecked: number;
  faults: number;
  crashes: number;
  diskFailures: number;
  lostUnsyncedBatches: number;
  snapshotsInstalled: number;
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
}

const TICK_MS = 10;
const ELECTION_TICKS = 10;
const VAULT = 'sim';
const KEYS = ['a', 'b', 'c'];
const MASTER_KEY = new Uint8Array(32).fill(7);
const TRACE_KEEP = 80;

/** An acknowledged write: the version must be in every later read of its secret. */
interface Ack {
  readonly key: string;
  readonly version: string;
  readonly at: number;
  /** The log index that applied it. */
  readonly index: number;
}

class SimNode {
  replica: Replica<VaultAppResult> | undefined;
  app: VaultApp | undefined;
  clock: SimClock | undefined;
  store: MemoryStore | undefined;
  up = false;
  incarnation = 0;
  /** Why this incarnation stopped itself (onFatal), if it did. */
  fatal: Error | undefined;

  constructor(
    readonly id: string,
    readonly disk: SimDisk,
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

export class WholeSimulation {
  readonly scheduler = new Scheduler();
  private readonly random: Random;
  private readonly nodes: SimNode[] = [];
  private readonly states = new AppliedStates();
  private readonly acks: Ack[] = [];
  private readonly leaderOfTerm = new Map<number, string>();
  private readonly cut = new Set<string>();
  private readonly trace: string[] = [];
  private violation: string | undefined;
  private seq = 0;
  private calm = false;
  readonly stats: WholeStats = { acknowledgedWrites: 0, readsChecked: 0, faults: 0, crashes: 0, diskFailures: 0, lostUnsyncedBatches: 0, snapshotsInstalled: 0, events: 0, checks: 0 };
  private readonly logger: pino.Logger;

  constructor(
    readonly seed: number,
    private readonly opts: WholeOptions = DEFAULT_WHOLE,
  ) {
    this.random = Random.derive(seed, 'whole');
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const line = JSON.parse(chunk.toString()) as { msg: string; level: number };
        if (line.msg === 'installed snapshot') this.stats.snapshotsInstalled++;
        if (line.level >= 50) this.note(`log ${line.level}: ${line.msg}`);
        done();
      },
    });
    this.logger = pino({ level: 'info' }, sink);
    for (let i = 1; i <= opts.nodes; i++) {
      const id = `n${i}`;
      this.nodes.push(new SimNode(id, new SimDisk(this.scheduler, Random.derive(seed, `disk-${id}`))));
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

  // ---- Nodes ----

  private async boot(node: SimNode): Promise<void> {
    node.incarnation++;
    node.up = true;
    node.fatal = undefined;
    const clock = new SimClock(this.scheduler);
    const store = new MemoryStore(node.disk);
    const vault = new VaultApp(new Envelope(MASTER_KEY), this.logger);
    const incarnation = node.incarnation;
    // The real state machine, watched: what each index writes is compared across nodes.
    const app: Application<VaultAppResult> = {
      applyCommand: (data, index) => {
        const out = vault.applyCommand(data, index);
        if (node.incarnation === incarnation) this.guard(() => this.states.record(node.id, index, digestOf(data, out)));
        return out;
      },
      reload: (records) => vault.reload(records),
    };
    const replica = new Replica<VaultAppResult>({
      id: node.id,
      founders: this.nodes.map((n) => n.id),
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      retention: { compactEvery: 40, compactEveryBytes: 1024 * 1024, readerEntries: 10_000, readerBytes: 64 * 1024 * 1024 },
      maxBytesPerMessage: 16 * 1024,
      store,
      app,
      logger: this.logger.child({ node: node.id }),
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
  }

  private crash(node: SimNode): void {
    if (!node.up) return;
    node.up = false;
    node.clock?.kill();
    node.disk.crash();
    node.replica = undefined;
    node.app = undefined;
    this.stats.crashes++;
    this.stats.lostUnsyncedBatches = this.nodes.reduce((n, x) => n + x.disk.lostOnCrash, 0);
  }

  private async restart(node: SimNode): Promise<void> {
    if (node.up) return;
    this.note(`${node.id} restarts`);
    try {
      await this.boot(node);
    } catch (e) {
      // What a crash left on its disk must always open again.
      this.fail(`${node.id} cannot restart: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---- Network ----

  private linkUp(a: string, b: string): boolean {
    return !this.cut.has(a) && !this.cut.has(b);
  }

  private deliver(from: SimNode, m: Message): void {
    if (this.random.chance(0.01) && !this.calm) return; // a lost packet
    this.scheduler.after(this.random.int(1, 4), () => {
      const to = this.node(m.to);
      if (!from.up || !to.up || !this.linkUp(from.id, to.id)) return;
      to.replica?.step(m);
    });
  }

  /** Streams the sender's applied state as it is now, as the transport does. */
  private sendSnapshot(from: SimNode, m: Message): void {
    const incarnation = from.incarnation;
    this.scheduler.after(this.random.int(2, 10), () => {
      const to = this.node(m.to);
      const report = (ok: boolean) =>
        this.scheduler.after(this.random.int(1, 4), () => {
          if (from.up && from.incarnation === incarnation) from.replica?.reportSnapshot(to.id, ok);
        });
      if (!from.up || from.incarnation !== incarnation || from.store === undefined || !to.up || to.replica === undefined || !this.linkUp(from.id, to.id)) {
        report(false);
        return;
      }
      const view = from.store.stateSnapshot();
      const message: Message = { ...m, snapshot: { meta: view.meta, data: new Uint8Array() } };
      async function* records() {
        yield* view.records;
      }
      to.replica.receiveSnapshot(message, records()).then(
        (ok) => report(ok),
        () => report(false),
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
      this.scheduler.after(this.random.int(100, 600), next);
    };
    this.scheduler.after(this.random.int(200, 500), next);
  }

  private injectFault(): void {
    const up = this.nodes.filter((n) => n.up);
    const n = this.random.pick(this.nodes);
    const kind = this.random.int(0, 9);
    this.stats.faults++;
    if (kind <= 2 && n.up && up.length > 1) {
      this.note(`crash ${n.id} (${this.describe(n)})`);
      this.crash(n);
      this.scheduler.after(this.random.int(50, 800), () => void this.restart(n));
    } else if (kind <= 5) {
      this.note(`isolate ${n.id}`);
      this.cut.add(n.id);
      this.scheduler.after(this.random.int(100, 1200), () => {
        this.cut.delete(n.id);
        this.note(`heal ${n.id}`);
      });
    } else if (kind <= 6 && n.up) {
      this.note(`disk of ${n.id} fails its next write`);
      this.stats.diskFailures++;
      n.disk.failNextWrite = true;
    } else {
      const leader = this.leader();
      if (leader !== undefined) {
        this.note(`crash leader ${leader.id} (${this.describe(leader)})`);
        this.crash(leader);
        this.scheduler.after(this.random.int(50, 800), () => void this.restart(leader));
      }
    }
  }

  private describe(n: SimNode): string {
    const st = n.replica?.status();
    return st === undefined ? 'not running' : `term ${st.term} last ${st.lastIndex} commit ${st.commit} applied ${st.applied}`;
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      const r = n.replica;
      if (!n.up || r === undefined || r.role !== StateRole.Leader) continue;
      if (best === undefined || r.term > best.replica!.term) best = n;
    }
    return best;
  }

  // ---- Clients ----

  /** Routes to the leader as the server does: a follower forwards to the leader it knows. */
  private route(): SimNode | undefined {
    const entry = this.random.pick(this.nodes);
    if (!entry.up || entry.replica === undefined) return undefined;
    if (entry.replica.isLeader) return entry;
    const lead = this.nodes.find((n) => n.id === entry.replica!.leader);
    return lead?.up && lead.replica !== undefined && this.linkUp(entry.id, lead.id) ? lead : undefined;
  }

  private client(id: number): void {
    const loop = () => {
      if (this.calm) return;
      const op = this.random.chance(0.6) ? this.write(id) : this.read();
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
    const node = this.route();
    if (node === undefined) return false;
    const cmd = { requestId: 'create-vault', timeMs: 0, op: 'createVault', createVault: { name: VAULT, softDeleteRetentionDays: 7, purgeProtection: false } };
    const out = await this.withTimeout(node.replica!.propose(encodeCommand(cmd as never), 500), 600);
    return out !== 'timeout' && !('error' in out && out.error.message.includes('NOT_FOUND'));
  }

  private async write(client: number): Promise<void> {
    const node = this.route();
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

  private async read(): Promise<void> {
    const node = this.random.pick(this.nodes);
    if (!node.up || node.replica === undefined) return;
    const key = this.random.pick(KEYS);
    const started = this.scheduler.now;
    const replica = node.replica;
    let reading: Promise<void>;
    try {
      reading = replica.linearizableRead(500);
    } catch {
      return;
    }
    const out = await this.withTimeout(reading, 600);
    if (out === 'timeout' || node.replica !== replica || node.app === undefined) return;
    this.checkRead(node, key, started);
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

  private checkEvent(): void {
    this.stats.checks++;
    for (const n of this.nodes) {
      const r = n.replica;
      if (!n.up || r === undefined || !r.isLeader) continue;
      const term = r.term;
      const seen = this.leaderOfTerm.get(term);
      if (seen === undefined) {
        this.leaderOfTerm.set(term, n.id);
        this.note(`${n.id} leads term ${term}`);
      } else if (seen !== n.id) this.fail(`two leaders in term ${term}: ${seen} and ${n.id}`);
    }
    for (const n of this.nodes) {
      if (n.fatal !== undefined && !n.fatal.message.startsWith('injected disk failure')) this.fail(`${n.id} stopped: ${n.fatal.message}`);
    }
  }

  /** After healing: every node converges on one applied state that holds every acknowledged write. */
  private checkConverged(): void {
    const applied = this.nodes.map((n) => n.replica?.status().applied ?? -1);
    if (new Set(applied).size !== 1) {
      this.fail(`nodes did not converge after healing: applied ${this.nodes.map((n, i) => `${n.id}=${applied[i]}`).join(' ')}`);
      return;
    }
    for (const n of this.nodes) {
      for (const key of KEYS) {
        const versions = this.versionsOf(n, key);
        for (const ack of this.acks) {
          if (ack.key !== key || versions.has(ack.version)) continue;
          const holders = this.nodes.filter((o) => this.versionsOf(o, key).has(ack.version)).map((o) => o.id);
          this.fail(`${n.id} (applied ${n.replica!.status().applied}) lost the write acknowledged at ${ack.at}, applied at index ${ack.index}: ${key} version ${ack.version.slice(0, 12)}; held by [${holders.join(',')}]`);
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
    this.scheduleFaults();
    for (let c = 0; c < 3; c++) this.client(c);
    await this.drive(() => false, start + this.opts.durationMs);
    // Heal everything and let the cluster settle.
    this.calm = true;
    this.cut.clear();
    for (const n of this.nodes) {
      n.disk.failNextWrite = false;
      if (!n.up) void this.restart(n);
    }
    this.note('healed');
    const settleUntil = this.scheduler.now + 3000;
    await this.drive(() => this.settled(), settleUntil);
    if (this.violation === undefined) this.checkConverged();
    return { seed: this.seed, ok: this.violation === undefined, ...(this.violation !== undefined ? { violation: this.violation } : {}), stats: this.stats, trace: this.trace.slice(-TRACE_KEEP) };
  }

  private settled(): boolean {
    const leader = this.leader();
    if (leader === undefined) return false;
    // A new leader's commit index lags until its first entry commits: settled is everything it has, committed and applied everywhere.
    const { commit, lastIndex } = leader.replica!.status();
    if (commit !== lastIndex) return false;
    return this.nodes.every((n) => n.replica !== undefined && n.replica.status().applied === commit);
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
  return new WholeSimulation(seed, opts).run();
}

export function formatWholeFailure(r: WholeResult): string {
  return [`seed ${r.seed}: ${r.violation}`, ...r.trace.map((l) => `  ${l}`), `replay: node dist/test/sim/whole/run.js --seed ${r.seed}`].join('\n');
}

export { MessageType };
