// One seed, one run: a cluster of simulated hosts under a seeded storm of
// faults (lost, duplicated and reordered messages, partitions, crashes,
// snapshots, leadership transfers, membership changes) while clients write and
// read; then calm, in which the cluster must recover within a bound.

import type { ConfChange, Entry, HardState, Message, RaftConfig, Snapshot } from '../../src/raft/index.js';
import { handOverTarget, promotionProblem } from '../../src/replica/membership-plan.js';
import { Checker, Violation } from './checker.js';
import type { Core } from './core.js';
import { CALM, Network, type NetworkFaults } from './network.js';
import { Random } from './random.js';
import { Scheduler } from './scheduler.js';
import { SimNode, type HostEvents } from './simnode.js';

const TICK_MS = 10;
const ELECTION_TICK = 10;
const HEARTBEAT_TICK = 2;
/** How long the calm phase may take to elect a leader and commit everything. */
const LIVENESS_BOUND_MS = 6000;
const MAX_MEMBERS = 7;

export interface SimOptions {
  /** Print every event as it happens. */
  readonly verbose?: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: string;
  /** The last events before the end, for the report. */
  readonly trace: readonly string[];
  readonly stats: {
    readonly nodes: number;
    readonly virtualMs: number;
    readonly acknowledgedWrites: number;
    readonly readsServed: number;
    readonly faults: number;
    readonly checks: number;
    readonly recoveryMs: number;
  };
}

export function replayCommand(seed: number): string {
  return `node dist/test/sim/run.js --seed ${seed} --verbose`;
}

/** The report of a failed run: the violation, the events before it, the replay command. */
export function formatFailure(r: SimResult): string {
  return [`FAIL seed ${r.seed}: ${r.violation}`, 'last events:', ...r.trace.map((l) => `  ${l}`), `replay: ${replayCommand(r.seed)}`].join('\n');
}

export function runSeed(seed: number, core: Core, options: SimOptions = {}): SimResult {
  return new Simulation(seed, core, options).run();
}

class Simulation implements HostEvents {
  private readonly random: Random;
  private readonly scheduler = new Scheduler();
  private readonly network: Network;
  private readonly checker = new Checker();
  private readonly nodes = new Map<string, SimNode>();
  private readonly trace: string[] = [];
  private nextNodeNumber = 1;
  private writeSeq = 0;
  private readSeq = 0;
  private readsServed = 0;
  private faults = 0;
  private calm = false;
  private probeAcked = false;
  private probeId = '';
  private readonly snapshotEvery: number;
  private readonly maxEntriesPerMsg: number;
  private readonly maxInflight: number;
  private readonly crashYoungLeaders: number;
  private readonly byteLimits: Partial<RaftConfig>;
  /** Its own stream, so that seeds without early sends replay as they always did. */
  private readonly disk: Random;
  /** How often a leader sends a Ready's messages before writing it. */
  private readonly leaderWritesLater: number;
  /**
   * Its own stream too: on some seeds a leader's disk is slow, so that it
   * answers clients from its followers' copies while its own is still on its
   * way, and dies in that window after an answer.
   */
  private readonly leaderWrites: Random;
  private readonly slowLeaderDisk: boolean;
  private readonly crashLeadersWriting: number;
  private newestLeaderTerm = 0;

  constructor(
    readonly seed: number,
    private readonly core: Core,
    private readonly options: SimOptions,
  ) {
    this.random = Random.derive(seed, 'simulation');
    this.network = new Network(Random.derive(seed, 'network'));
    this.snapshotEvery = this.random.int(5, 60);
    // Small messages and windows make old entries travel apart from new ones,
    // which is where commit rules matter.
    this.maxEntriesPerMsg = this.random.pick([1, 2, 8, 64]);
    this.maxInflight = this.random.pick([1, 2, 8, 64]);
    this.crashYoungLeaders = this.random.pick([0, 0.2, 0.5]);
    this.disk = Random.derive(seed, 'disk');
    this.leaderWritesLater = this.disk.pick([0, 0.5, 1]);
    this.leaderWrites = Random.derive(seed, 'leader writes in flight');
    this.slowLeaderDisk = this.leaderWrites.chance(0.3);
    this.crashLeadersWriting = this.leaderWrites.pick([0, 0, 0.05, 0.2]);
    // Byte limits a few writes wide on some seeds (a write id is 2-6 bytes):
    // appends and apply batches then split wherever the bytes fall, and
    // leaders refuse writes while a few wait to commit. Their own stream, so
    // that the other seeds replay as they always did.
    const limits = Random.derive(seed, 'byte limits');
    this.byteLimits = limits.chance(0.3)
      ? {
          maxBytesPerMessage: limits.pick([0, 8, 24]),
          maxInflightBytes: limits.pick([1, 16, 64]),
          maxCommittedBytesPerReady: limits.pick([0, 8, 24]),
          maxUncommittedBytes: limits.pick([8, 24, 64]),
        }
      : {};
  }

  run(): SimResult {
    const founders = this.random.chance(0.5) ? 3 : 5;
    const ids = Array.from({ length: founders }, () => `n${this.nextNodeNumber++}`);
    for (const id of ids) this.addNode(id, ids);
    const chaosMs = this.random.int(2000, 6000);
    let violation: string | undefined;
    let recoveryMs = 0;
    try {
      this.scheduleWorkload(chaosMs);
      this.scheduleFaults(chaosMs);
      this.scheduler.runUntil(chaosMs);
      this.beginCalm();
      const calmStart = this.scheduler.now;
      this.scheduler.runUntil(calmStart + LIVENESS_BOUND_MS, () => this.recovered());
      if (!this.recovered()) throw new Violation(`liveness: no recovery within ${LIVENESS_BOUND_MS} ms of calm (${this.describe()})`);
      recoveryMs = this.scheduler.now - calmStart;
      this.finalChecks();
    } catch (e) {
      violation = e instanceof Violation ? e.message : `the core threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
      this.note(`VIOLATION ${violation}`);
    }
    return {
      seed: this.seed,
      ok: violation === undefined,
      violation,
      trace: this.trace.slice(-80),
      stats: {
        nodes: this.nodes.size,
        virtualMs: this.scheduler.now,
        acknowledgedWrites: this.checker.acknowledgedCount,
        readsServed: this.readsServed,
        faults: this.faults,
        checks: this.checker.checks,
        recoveryMs,
      },
    };
  }

  // ---- Nodes ----

  private raftConfig(id: string, incarnation: number): RaftConfig {
    return {
      ...this.core.DEFAULT_CONFIG,
      id,
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      maxInflight: this.maxInflight,
      maxEntriesPerMsg: this.maxEntriesPerMsg,
      ...this.byteLimits,
      random: (() => {
        const r = Random.derive(this.seed, `${id}/${incarnation}`);
        return () => r.next();
      })(),
    };
  }

  private addNode(id: string, founders: readonly string[] | undefined): SimNode {
    const node = new SimNode(id, this.core, (i, inc) => this.raftConfig(i, inc), this, founders);
    this.nodes.set(id, node);
    this.scheduleTicks(node);
    return node;
  }

  private scheduleTicks(node: SimNode): void {
    const incarnation = node.incarnation;
    const tick = (): void => {
      if (node.incarnation !== incarnation || !node.up) return;
      node.raft.tick();
      this.afterStep(node);
      this.scheduler.after(TICK_MS, tick);
    };
    // Clocks are not in phase: each node's first tick comes at its own offset.
    this.scheduler.after(this.random.int(1, TICK_MS), tick);
  }

  private crash(node: SimNode): void {
    this.note(`crash ${node.id}`);
    node.crash();
  }

  private restart(node: SimNode): void {
    if (node.up || node.removed) return;
    this.note(`restart ${node.id} (term ${node.durable.hardState.term}, ${node.durable.entries.length} entries on disk)`);
    node.start();
    this.scheduleTicks(node);
  }

  /** After anything touched a node: check it, and let its Ready run after a disk delay. */
  private afterStep(node: SimNode): void {
    this.checkRole(node);
    if (node.readyScheduled || !node.raft.hasReady()) return;
    node.readyScheduled = true;
    const incarnation = node.incarnation;
    this.scheduler.after(this.random.int(0, 2), () => {
      if (node.incarnation !== incarnation || !node.up) return;
      node.readyScheduled = false;
      node.processReady();
      this.checkRole(node);
      if (node.appliedIndex - node.durable.snapshot.meta.index >= this.snapshotEvery) node.compact();
    });
  }

  private checkRole(node: SimNode): void {
    const r = node.raft;
    if (r.role !== this.core.StateRole.Leader) return;
    this.checker.leaderSeen(node.id, r.term, {
      snapshotIndex: r.firstIndex - 1,
      lastIndex: r.lastIndex,
      term: (i) => r.termAt(i),
    });
    if (r.term > this.newestLeaderTerm) {
      this.newestLeaderTerm = r.term;
      this.note(`${node.id} leads term ${r.term} (last index ${r.lastIndex}, commit ${r.committed})`);
      // A leader that dies young leaves old-term entries half replicated: the
      // situation of the paper's Figure 8.
      if (!this.calm && this.random.chance(this.crashYoungLeaders)) this.crashThenRestart(node, this.random.int(0, 40));
    }
  }

  /** Crashes `node` after `afterMs` unless it went down meanwhile, and restarts it 20-800 ms later. */
  private crashThenRestart(node: SimNode, afterMs: number): void {
    const incarnation = node.incarnation;
    this.scheduler.after(afterMs, () => {
      if (node.incarnation !== incarnation || !node.up) return;
      this.crash(node);
      this.scheduler.after(this.random.int(20, 800), () => this.restart(node));
    });
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (!n.up || n.removed || n.raft.role !== this.core.StateRole.Leader) continue;
      if (best === undefined || n.raft.term > best.raft.term) best = n;
    }
    return best;
  }

  // ---- HostEvents ----

  hardStatePersisted(node: SimNode, hs: HardState): void {
    this.checker.hardStatePersisted(node.id, hs);
  }

  entriesPersisted(node: SimNode, entries: readonly Entry[]): void {
    this.checker.entriesPersisted(node.id, entries, (i) => node.durableTerm(i - 1));
  }

  send(from: SimNode, m: Message): void {
    const delays = this.network.deliveries(m.from, m.to);
    const isSnap = m.type === this.core.MessageType.Snap;
    if (isSnap) this.note(`${m.from} sends snapshot at ${m.snapshot?.meta.index} to ${m.to}${delays.length === 0 ? ' (lost)' : ''}`);
    if (delays.length === 0 && isSnap) this.reportSnapshot(from, m.to, false);
    for (const delay of delays) {
      this.scheduler.after(delay, () => this.deliver(m, from));
    }
  }

  writeLater(node: SimNode, write: () => void, behindOthers: boolean): boolean {
    if (!behindOthers && !this.disk.chance(this.leaderWritesLater)) return false;
    const incarnation = node.incarnation;
    const delay = this.slowLeaderDisk ? this.leaderWrites.int(5, 40) : this.disk.int(0, 4);
    this.scheduler.after(delay, () => {
      if (node.incarnation !== incarnation || !node.up) return;
      write();
      this.afterStep(node);
    });
    return true;
  }

  private deliver(m: Message, from: SimNode): void {
    const to = this.nodes.get(m.to);
    if (this.options.verbose) this.note(`deliver ${m.type} ${m.from}->${m.to} t${m.term} i${m.index} lt${m.logTerm} c${m.commit} n${m.entries.length}${m.reject ? ' reject' : ''}`);
    if (to === undefined || !to.up) {
      if (m.type === this.core.MessageType.Snap) this.reportSnapshot(from, m.to, false);
      return;
    }
    to.raft.step(m);
    this.afterStep(to);
    if (m.type === this.core.MessageType.Snap) this.reportSnapshot(from, m.to, true);
  }

  private reportSnapshot(from: SimNode, to: string, ok: boolean): void {
    if (!from.up) return;
    from.raft.reportSnapshot(to, ok);
    this.afterStep(from);
  }

  snapshotRestored(node: SimNode, snapshot: Snapshot, digest: number): void {
    this.note(`${node.id} installs snapshot at ${snapshot.meta.index}`);
    this.checker.restoredSnapshot(node.id, snapshot.meta.index, digest);
  }

  applied(node: SimNode, e: Entry): void {
    this.checker.applied(node.id, e, node.digest, node.raft.term);
    if (e.type !== this.core.EntryType.ConfChange) return;
    const cc = this.core.decodeConfChange(e.data);
    if (this.options.verbose) this.note(`${node.id} applies conf change ${JSON.stringify(cc)} at ${e.index}`);
    // An operator shuts down a node once its removal is committed.
    for (const c of cc.changes) {
      const target = this.nodes.get(c.node);
      if (c.type === this.core.ConfChangeType.Remove && target !== undefined && !target.removed) {
        this.note(`${c.node} removed at ${e.index}; shutting it down`);
        target.removed = true;
        if (target.up && target !== node) target.crash();
        else if (target === node) this.scheduler.after(0, () => target.crash());
      }
    }
  }

  writeAcknowledged(node: SimNode, writeId: string, index: number): void {
    this.checker.acknowledged(writeId, index);
    if (writeId === this.probeId) this.probeAcked = true;
    if (this.crashLeadersWriting > 0 && !this.calm && node.writesInFlight > 0 && this.leaderWrites.chance(this.crashLeadersWriting)) {
      this.note(`${node.id} dies with its own write in flight after acknowledging ${writeId} at ${index}`);
      this.crashThenRestart(node, 0);
    }
  }

  readServed(node: SimNode, readIndex: number, maxAckedAtStart: number): void {
    this.readsServed++;
    this.checker.readServed(node.id, readIndex, node.appliedIndex, maxAckedAtStart);
  }

  // ---- Workload ----

  private scheduleWorkload(until: number): void {
    const write = (): void => {
      if (this.scheduler.now > until) return;
      this.tryWrite(`w${++this.writeSeq}`);
      this.scheduler.after(this.random.int(2, 25), write);
    };
    const read = (): void => {
      if (this.scheduler.now > until) return;
      const node = SimNode.pickUp(this.nodes.values(), this.random);
      if (node !== undefined) {
        node.startRead(`${node.id}/r${++this.readSeq}`, this.checker.maxAckedIndex);
        this.afterStep(node);
      }
      this.scheduler.after(this.random.int(5, 40), read);
    };
    this.scheduler.after(1, write);
    this.scheduler.after(1, read);
  }

  /** A client sends the write to some node; a follower points it at the leader it knows. */
  private tryWrite(writeId: string): boolean {
    let node = SimNode.pickUp(this.nodes.values(), this.random);
    if (node === undefined) return false;
    const lead = this.nodes.get(node.raft.lead);
    if (node.raft.role !== this.core.StateRole.Leader && lead?.up) node = lead;
    try {
      node.proposeWrite(writeId);
    } catch (e) {
      if (e instanceof this.core.ProposalDropped) return false;
      throw e;
    }
    this.afterStep(node);
    return true;
  }

  // ---- Faults ----

  private scheduleFaults(until: number): void {
    this.network.faults = this.randomFaults();
    const fault = (): void => {
      if (this.scheduler.now > until) return;
      this.injectFault();
      this.faults++;
      this.scheduler.after(this.random.int(50, 500), fault);
    };
    this.scheduler.after(this.random.int(100, 400), fault);
  }

  private randomFaults(): NetworkFaults {
    const r = this.random;
    return {
      drop: r.pick([0, 0.01, 0.05, 0.15]),
      duplicate: r.pick([0, 0.02, 0.1]),
      minDelay: 1,
      maxDelay: r.pick([3, 10, 30]),
      longDelay: r.pick([0, 0.01, 0.05]),
    };
  }

  private injectFault(): void {
    const r = this.random;
    const members = [...this.nodes.values()].filter((n) => !n.removed);
    const ids = members.map((n) => n.id);
    const choice = r.int(0, 11);
    switch (choice) {
      case 0:
      case 1: {
        const side = r.shuffle(ids).slice(0, r.int(1, Math.floor(ids.length / 2)));
        const other = ids.filter((id) => !side.includes(id));
        this.note(`partition [${side.join(',')}] | [${other.join(',')}]`);
        this.network.partition(side, other);
        this.scheduler.after(r.int(200, 1500), () => this.heal());
        break;
      }
      case 2: {
        const [a, b] = r.shuffle(ids);
        if (a === undefined || b === undefined) break;
        this.note(`cut ${a} -> ${b} (one way)`);
        this.network.cutOneWay(a, b);
        this.scheduler.after(r.int(200, 1500), () => this.heal());
        break;
      }
      case 3:
      case 4: {
        // Crash the leader half of the time: that is where the bugs hide.
        const leader = this.leader();
        const up = members.filter((n) => n.up);
        const victim = leader !== undefined && r.chance(0.5) ? leader : up.length > 0 ? r.pick(up) : undefined;
        if (victim === undefined) break;
        this.crash(victim);
        this.scheduler.after(r.int(50, 1500), () => this.restart(victim));
        break;
      }
      case 5: {
        const leader = this.leader();
        if (leader === undefined) break;
        const voters = leader.raft.status().conf.voters.filter((id) => id !== leader.id);
        if (voters.length === 0) break;
        const target = r.pick(voters);
        this.note(`transfer leadership ${leader.id} -> ${target}`);
        leader.raft.transferLeadership(target);
        this.afterStep(leader);
        break;
      }
      case 6:
      case 7:
        this.changeMembership();
        break;
      case 8:
        this.network.faults = this.randomFaults();
        this.note(`network ${JSON.stringify(this.network.faults)}`);
        break;
      case 9: {
        const leader = this.leader();
        if (leader === undefined) break;
        this.note(`${leader.id} snapshots at ${leader.appliedIndex}`);
        leader.compact();
        break;
      }
      default:
        this.heal();
    }
  }

  private heal(): void {
    if (this.network.cutLinks.length > 0) this.note('heal network');
    this.network.heal();
  }

  private changeMembership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const r = this.random;
    const conf = leader.raft.status().conf;
    const voters = conf.voters;
    const learners = conf.learners;
    const total = new Set([...voters, ...conf.votersOutgoing, ...learners]).size;
    const options: (() => ConfChange | undefined)[] = [];
    const { ConfChangeType: T, ConfChangeTransition: X } = this.core;
    if (conf.votersOutgoing.length > 0 && !conf.autoLeave) options.push(() => this.core.LEAVE_JOINT);
    if (total < MAX_MEMBERS) {
      options.push(() => {
        const id = `n${this.nextNodeNumber++}`;
        this.addNode(id, undefined);
        return { changes: [{ type: T.AddLearner, node: id }], transition: X.Auto };
      });
    }
    if (learners.length > 0) options.push(() => ({ changes: [{ type: T.AddVoter, node: r.pick(learners) }], transition: X.Auto }));
    if (voters.length > 3) options.push(() => ({ changes: [{ type: T.Remove, node: r.pick(voters) }], transition: X.Auto }));
    // As the running system drives them (src/replica/membership-ops.ts): a
    // learner promoted only once caught up, and a leader that hands over
    // before it is removed, or removes itself.
    const view = leader.raft.status();
    if (learners.length > 0) {
      options.push(() => {
        const id = r.pick(learners);
        const notReady = promotionProblem(view, id);
        if (notReady !== undefined) this.note(`operator waits: ${notReady}`);
        return notReady === undefined ? { changes: [{ type: T.AddVoter, node: id }], transition: X.Auto } : undefined;
      });
    }
    if (voters.length > 3) {
      options.push(() => ({ changes: [{ type: T.Remove, node: leader.id }], transition: X.Auto }));
      options.push(() => {
        this.removeAfterHandOver(leader.id, handOverTarget(view));
        return undefined;
      });
    }
    if (learners.length > 0 && voters.length >= 3) {
      // Replace a voter by a learner in one step: joint consensus.
      options.push(() => ({
        changes: [
          { type: T.AddVoter, node: r.pick(learners) },
          { type: T.Remove, node: r.pick(voters) },
        ],
        transition: r.pick([X.Auto, X.JointImplicit, X.JointExplicit]),
      }));
    }
    if (learners.length > 0) options.push(() => ({ changes: [{ type: T.Remove, node: r.pick(learners) }], transition: X.Auto }));
    if (options.length === 0) return;
    const cc = r.pick(options)();
    if (cc === undefined) return;
    try {
      leader.raft.proposeConfChange(cc);
      this.note(`${leader.id} proposes ${JSON.stringify(cc)}`);
    } catch (e) {
      if (!(e instanceof this.core.ProposalDropped)) throw e;
      this.note(`${leader.id} refuses ${JSON.stringify(cc)}: ${e.message}`);
    }
    this.afterStep(leader);
  }

  /** membership-ops' removal of a leader: it hands over first, and its successor removes it. */
  private removeAfterHandOver(old: string, to: string | undefined): void {
    const leader = this.nodes.get(old);
    if (leader === undefined || to === undefined) return;
    this.note(`operator removes ${old}: it hands over to ${to} first`);
    leader.raft.transferLeadership(to);
    this.afterStep(leader);
    this.scheduler.after(this.random.int(50, 400), () => {
      const next = this.leader();
      const voters = next?.raft.status().conf.voters ?? [];
      if (next === undefined || next.id === old || !voters.includes(old) || voters.length <= 3) return;
      try {
        next.raft.proposeConfChange({ changes: [{ type: this.core.ConfChangeType.Remove, node: old }], transition: this.core.ConfChangeTransition.Auto });
        this.note(`${next.id} proposes removing ${old}`);
      } catch (e) {
        if (!(e instanceof this.core.ProposalDropped)) throw e;
        this.note(`${next.id} refuses removing ${old}: ${e.message}`);
      }
      this.afterStep(next);
    });
  }

  // ---- Calm and liveness ----

  private beginCalm(): void {
    this.calm = true;
    this.note('calm: heal everything, restart every node');
    this.network.heal();
    this.network.faults = CALM;
    for (const n of this.nodes.values()) this.restart(n);
    this.probeId = `probe-${this.seed}`;
    const propose = (): void => {
      if (this.probeAcked) return;
      // A client retries until a leader takes its write.
      this.tryWriteAs(this.probeId);
      this.scheduler.after(100, propose);
    };
    this.scheduler.after(0, propose);
    const leaveJoint = (): void => {
      const leader = this.leader();
      const conf = leader?.raft.status().conf;
      if (leader !== undefined && conf !== undefined && conf.votersOutgoing.length > 0 && !conf.autoLeave) {
        try {
          leader.raft.proposeConfChange(this.core.LEAVE_JOINT);
          this.afterStep(leader);
        } catch (e) {
          if (!(e instanceof this.core.ProposalDropped)) throw e;
        }
      }
      this.scheduler.after(200, leaveJoint);
    };
    this.scheduler.after(0, leaveJoint);
  }

  private tryWriteAs(writeId: string): void {
    const leader = this.leader();
    if (leader === undefined) return;
    try {
      leader.proposeWrite(writeId);
      this.afterStep(leader);
    } catch (e) {
      if (!(e instanceof this.core.ProposalDropped)) throw e;
    }
  }

  /** One leader, the probe write acknowledged, and every member applied all it committed. */
  private recovered(): boolean {
    if (!this.calm || !this.probeAcked) return false;
    const leader = this.leader();
    if (leader === undefined) return false;
    const status = leader.raft.status();
    if (status.conf.votersOutgoing.length > 0 || status.commit !== status.lastIndex) return false;
    const members = [...status.conf.voters, ...status.conf.learners];
    return members.every((id) => {
      const n = this.nodes.get(id);
      return n !== undefined && n.up && n.appliedIndex === status.commit && n.raft.term === status.term && n.writesInFlight === 0;
    });
  }

  private finalChecks(): void {
    const leader = this.leader()!;
    const conf = leader.raft.status().conf;
    for (const id of [...conf.voters, ...conf.learners]) {
      const n = this.nodes.get(id)!;
      this.checker.assertAcknowledgedKept(id, (i) => n.durableKey(i));
    }
  }

  private describe(): string {
    return [...this.nodes.values()]
      .filter((n) => !n.removed)
      .map((n) => {
        if (!n.up) return `${n.id}:down`;
        const s = n.raft.status();
        return `${n.id}:${s.role} t${s.term} c${s.commit} a${n.appliedIndex} last${s.lastIndex} voters[${s.conf.voters}]${s.conf.votersOutgoing.length > 0 ? ` out[${s.conf.votersOutgoing}]` : ''}`;
      })
      .join('; ');
  }

  private note(what: string): void {
    const line = `${String(this.scheduler.now).padStart(6)}ms ${what}`;
    if (this.options.verbose) console.log(line);
    this.trace.push(line);
    if (this.trace.length > 400) this.trace.splice(0, 200);
  }
}
