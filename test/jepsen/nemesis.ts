// The nemesis of issue 6: a seeded schedule of faults against a TestCluster of
// real processes. One fault at a time (sometimes a second one on top of it,
// e.g. a pause during a partition), each held for a while and then healed,
// so that the run alternates between trouble and recovery (the moments where
// consensus bugs show); heal() undoes whatever is still in effect, whatever
// happened, so a run always ends on a whole, connected cluster.
//
// The kinds are chosen from the seed; the targets partly at run time (the
// current leader is a favourite victim), so the log of what was actually done
// — not the seed alone — is what a failure report shows.

import type { ChildProcess } from 'node:child_process';
import type { NodeInfo, TestCluster } from '../integration/cluster.js';
import { prng } from './fixtures.js';

export type FaultKind = 'kill' | 'pause' | 'partition-minority' | 'partition-leader' | 'partition-one-way' | 'bridge' | 'transfer' | 'kill-region';

export interface NemesisEvent {
  /** Ms since the run started. */
  readonly atMs: number;
  readonly what: string;
}

export interface NemesisOptions {
  readonly seed: number;
  /** The region whose nodes are faulted (the primary). */
  readonly region: string;
  /** Also kill the whole region now and then (only meaningful with a secondary region). */
  readonly killRegion?: boolean;
  /** Chance (0..1) of injecting a second fault while the first is held. */
  readonly overlap?: number;
  /**
   * After each heal, wait until every node of the region is back with its
   * leader before the next fault: a restarted node takes seconds to rejoin,
   * and a fault meanwhile would take a second node from a quorum of 3.
   */
  readonly awaitRejoin?: boolean;
  /** The first fault to inject, whatever the seed says (a short test that must see one kind). */
  readonly firstFault?: FaultKind;
  readonly now: () => number;
  readonly log?: (line: string) => void;
  /**
   * The reads a failed-over secondary has served the workload so far: a
   * killed region stays down until the workload has found the secondary
   * serving (one read more), then for its hold. A loaded machine takes
   * seconds more for that than an idle one.
   */
  readonly failedOverReads?: () => number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** failoverAfterMs (2 s in runs) plus detection, with room for a loaded machine. */
const FAILOVER_WAIT_MS = 20_000;

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  faults = 0;
  private readonly rand: () => number;
  /** TestCluster keeps its ChildProcess private; start() hands it out, and SIGSTOP needs it. */
  private readonly procs = new Map<string, ChildProcess>();
  private readonly paused = new Set<string>();
  private readonly killed = new Set<string>();
  private partitioned = false;
  private stopping = false;

  constructor(
    private readonly cluster: TestCluster,
    private readonly opts: NemesisOptions,
  ) {
    this.rand = prng(opts.seed ^ 0x5eed);
  }

  start(id: string): void {
    this.procs.set(id, this.cluster.start(id));
  }

  startAll(): void {
    for (const n of this.cluster.nodes) this.start(n.id);
  }

  private note(what: string): void {
    this.events.push({ atMs: Math.round(this.opts.now()), what });
    this.opts.log?.(`  nemesis ${Math.round(this.opts.now())}ms: ${what}`);
  }

  private get targets(): NodeInfo[] {
    return this.cluster.regionNodes(this.opts.region);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)]!;
  }

  private between(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo));
  }

  /** The region's leader as some reachable node of it sees it, if any. */
  async leader(): Promise<string | undefined> {
    for (const n of this.targets) {
      if (!this.cluster.isRunning(n.id) || this.paused.has(n.id)) continue;
      try {
        const s = await this.cluster.admin<{ role: string; leader: string; id: string }>(n.id, 'nodeStatus', {}, 1000);
        if (s.role === 'leader') return s.id;
        if (s.leader) return s.leader;
      } catch {
        // Unreachable or mid-election: ask the next one.
      }
    }
    return undefined;
  }

  /** Runs faults until `untilMs()` (on opts.now's clock; it may move) or stop(), then heals. */
  async run(untilMs: () => number): Promise<void> {
    const kinds: FaultKind[] = ['kill', 'pause', 'partition-minority', 'partition-leader', 'partition-one-way', 'bridge', 'transfer'];
    if (this.opts.killRegion) kinds.push('kill-region');
    try {
      await this.wait(this.between(500, 1500), untilMs);
      let first = this.opts.firstFault;
      while (!this.stopping && this.opts.now() < untilMs() - 1000) {
        const kind = first ?? this.pick(kinds);
        first = undefined;
        // A dead primary region is held while the secondary serves as failed over: a fixed hold could
        // end before a loaded machine has failed over, and then no read would reach the secondary.
        const holdMs = kind === 'kill-region' ? this.between(1500, 5000) : this.between(600, 3000);
        await this.inject(kind);
        if (kind === 'kill-region') await this.awaitFailover(untilMs);
        if (this.rand() < (this.opts.overlap ?? 0)) {
          // A second fault on top of the first, part-way through its hold.
          const before = this.between(200, holdMs);
          await this.wait(before, untilMs);
          await this.inject(this.pick(kinds.filter((k) => k !== kind)));
          await this.wait(holdMs - before, untilMs);
        } else {
          await this.wait(holdMs, untilMs);
        }
        await this.heal();
        if (this.opts.awaitRejoin) await this.awaitRejoin(untilMs);
        await this.wait(this.between(200, 1500), untilMs);
      }
    } finally {
      await this.heal();
    }
  }

  stop(): void {
    this.stopping = true;
  }

  private async wait(ms: number, untilMs: () => number): Promise<void> {
    const end = this.opts.now() + ms;
    while (!this.stopping && this.opts.now() < Math.min(end, untilMs())) await sleep(Math.min(100, end - this.opts.now()));
  }

  /**
   * Waits until a node of another region reports FAILED_OVER, and then until
   * the workload has been served by it (failedOverReads), for
   * FAILOVER_WAIT_MS at most in all.
   */
  private async awaitFailover(untilMs: () => number): Promise<void> {
    const others = this.cluster.nodes.filter((n) => n.region !== this.opts.region);
    const end = Math.min(untilMs(), this.opts.now() + FAILOVER_WAIT_MS);
    const reads = this.opts.failedOverReads ?? (() => Infinity);
    const readsBefore = reads();
    let failedOver = false;
    while (!this.stopping && this.opts.now() < end) {
      for (const n of failedOver ? [] : others) {
        const s = await this.cluster.admin<{ mode: string }>(n.id, 'nodeStatus', {}, 1000).catch(() => undefined);
        failedOver = s?.mode === 'FAILED_OVER';
        if (failedOver) {
          this.note(`${n.id} reports FAILED_OVER`);
          break;
        }
      }
      if (failedOver && reads() > readsBefore) return this.note('the workload reads from the failed-over secondary');
      await sleep(200);
    }
    this.note(failedOver ? 'the workload read nothing from the failed-over secondary' : 'no secondary node reported FAILED_OVER');
  }

  /** Until every node of the region answers and names the same leader, for FAILOVER_WAIT_MS at most. */
  private async awaitRejoin(untilMs: () => number): Promise<void> {
    const end = Math.min(untilMs(), this.opts.now() + FAILOVER_WAIT_MS);
    while (!this.stopping && this.opts.now() < end) {
      const leaders = await Promise.all(
        this.targets.map((n) => this.cluster.admin<{ leader: string }>(n.id, 'nodeStatus', {}, 1000).then((s) => s.leader, () => '')),
      );
      if (leaders.every((l) => l !== '' && l === leaders[0])) return;
      await sleep(100);
    }
    this.note('the region did not rejoin in time');
  }

  private async victim(): Promise<string> {
    // Half the time the leader: faults that hit it force elections.
    const leader = this.rand() < 0.5 ? await this.leader() : undefined;
    return leader ?? this.pick(this.targets).id;
  }

  async inject(kind: FaultKind): Promise<void> {
    const ids = this.targets.map((n) => n.id);
    switch (kind) {
      case 'kill': {
        const id = await this.victim();
        this.note(`kill -9 ${id}`);
        this.killed.add(id);
        await this.cluster.kill(id);
        break;
      }
      case 'pause': {
        const id = await this.victim();
        const p = this.procs.get(id);
        if (p === undefined || !this.cluster.isRunning(id)) return;
        this.note(`SIGSTOP ${id}`);
        this.paused.add(id);
        p.kill('SIGSTOP');
        break;
      }
      case 'partition-minority':
      case 'partition-leader': {
        const alone = kind === 'partition-leader' ? await this.victim() : this.pick(ids);
        const rest = ids.filter((id) => id !== alone);
        this.note(`partition [${alone}] | [${rest.join(', ')}]`);
        this.partitioned = true;
        await this.setFaults(alone, { dropPeers: rest });
        await Promise.all(rest.map((id) => this.setFaults(id, { dropPeers: [alone] })));
        break;
      }
      case 'partition-one-way': {
        // Either a mute node (often the leader): it still hears the others
        // but nothing it sends arrives; or a deaf one: it sends, but nothing
        // the others send it arrives.
        const id = await this.victim();
        const rest = ids.filter((x) => x !== id);
        this.partitioned = true;
        if (this.rand() < 0.5) {
          this.note(`one-way: ${id} -/-> [${rest.join(', ')}] (${id} still hears them)`);
          await this.setFaults(id, { dropOutboundTo: rest });
        } else {
          this.note(`one-way: [${rest.join(', ')}] -/-> ${id} (${id} still heard)`);
          await Promise.all(rest.map((x) => this.setFaults(x, { dropOutboundTo: [id] })));
        }
        break;
      }
      case 'bridge': {
        // Two nodes cannot see each other but both see the third: each side
        // may believe it can lead, and only the bridge connects them.
        const bridge = this.pick(ids);
        const [a, b] = ids.filter((id) => id !== bridge);
        if (a === undefined || b === undefined) return;
        this.note(`bridge ${a} <-> ${bridge} <-> ${b} (${a} and ${b} cut)`);
        this.partitioned = true;
        await Promise.all([this.setFaults(a, { dropPeers: [b] }), this.setFaults(b, { dropPeers: [a] })]);
        break;
      }
      case 'transfer': {
        const leader = await this.leader();
        if (leader === undefined) return;
        const to = this.pick(ids.filter((id) => id !== leader));
        this.note(`transfer leadership ${leader} -> ${to}`);
        await this.cluster.admin(leader, 'transferLeadership', { to }).catch(() => undefined);
        break;
      }
      case 'kill-region': {
        this.note(`kill -9 region ${this.opts.region}`);
        for (const id of ids) this.killed.add(id);
        await Promise.all(ids.map((id) => this.cluster.kill(id)));
        break;
      }
    }
    this.faults++;
  }

  /**
   * Adds faults to a node's (merge), so that overlapping faults add up;
   * `clear` replaces them all with none. Fault injection is refused by a node
   * that is down or stopped; such a node has no faults to undo.
   */
  private async setFaults(id: string, faults: { dropPeers?: string[]; dropOutboundTo?: string[] } | 'clear'): Promise<void> {
    const request = faults === 'clear' ? { dropPeers: [], dropOutboundTo: [], merge: false } : { dropPeers: faults.dropPeers ?? [], dropOutboundTo: faults.dropOutboundTo ?? [], merge: true };
    if (!this.cluster.isRunning(id) || this.paused.has(id)) return;
    // A node restarted by the previous heal may not listen yet: give it a few seconds.
    const until = Date.now() + 5000;
    for (;;) {
      try {
        await this.cluster.admin(id, 'setFaults', request);
        return;
      } catch (e) {
        if (Date.now() >= until || !this.cluster.isRunning(id)) {
          this.note(`setFaults on ${id} failed: ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
        await sleep(200);
      }
    }
  }

  /** Undoes everything in effect: resume, restart, reconnect. Safe to call twice. */
  async heal(): Promise<void> {
    for (const id of [...this.paused]) {
      this.note(`SIGCONT ${id}`);
      this.procs.get(id)?.kill('SIGCONT');
      this.paused.delete(id);
    }
    for (const id of [...this.killed]) {
      this.note(`restart ${id}`);
      if (!this.cluster.isRunning(id)) this.start(id);
      this.killed.delete(id);
    }
    if (this.partitioned) {
      this.note('heal partitions');
      // A restarted node starts without faults; the others need clearing.
      await Promise.all(this.cluster.nodes.map((n) => this.setFaults(n.id, 'clear')));
      this.partitioned = false;
    }
  }

  /** The schedule as it happened, for a failure report. */
  formatSchedule(): string {
    return this.events.map((e) => `  ${String(e.atMs).padStart(6)}ms  ${e.what}`).join('\n');
  }
}
