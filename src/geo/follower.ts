// The secondary side of geo-replication, run by the secondary region's
// leader: it follows the primary's committed log from any primary node and
// proposes what it receives into its own group; it watches the primary (the
// follow stream's beats and a probe of every primary node) and commits
// FAILED_OVER when no primary leader has been seen for failoverAfterMs, then
// STANDBY again once the primary has held a leader for failbackAfterMs and
// the secondary has caught up.

import type { Logger } from 'pino';
import { type Clock, type TimerHandle, realClock } from '../replica/env.js';
import { ReplicaError } from '../replica/errors.js';
import { type FollowEvent, type PrimaryEntry, encodeGeoEntry, upToBytes } from './codec.js';
import { FailoverDetector } from './detector.js';
import type { GeoMeta, SecondaryMode } from './geo-state.js';
import { type FollowStream, GeoLinkError, type PrimaryLink, type PrimaryLinkFactory, type PrimaryPeer, isSnapshotNeeded } from './link.js';
import type { FollowerReplica } from './replica-port.js';

export type { PrimaryPeer } from './link.js';

export const LOOP_MS = 100;
export const PROBE_MS = 300;
/** A gap without a primary leader this long is logged: a primary's beats and probes come every 200-300 ms. */
const LONG_GAP_MS = 500;
const PROPOSE_TIMEOUT_MS = 3000;
const MAX_SHIP = 512;
/** One proposal of shipped entries carries at most this much entry data (but at least one entry). */
const SHIP_BYTES = 1024 * 1024;
/** Received and not yet shipped: past this the stream is paused, so a long catch-up holds a bounded amount. */
export const PENDING_BYTES = 16 * 1024 * 1024;
/** After a failed snapshot transfer, wait this long before the next try. */
const SNAPSHOT_RETRY_MS = 500;

export interface GeoFollowerOptions {
  readonly nodeId: string;
  readonly replica: FollowerReplica;
  readonly geo: () => GeoMeta;
  readonly primaries: readonly PrimaryPeer[];
  readonly failoverAfterMs: number;
  readonly failbackAfterMs: number;
  /** Simulated one-way latency between the regions (topology latencyMs). */
  readonly latencyMs: number;
  /** Fault injection: traffic with this primary node is dropped. */
  readonly isDropped: (nodeId: string) => boolean;
  /** How to reach a primary node (grpc-link.ts between processes; memory in the simulator). */
  readonly links: PrimaryLinkFactory;
  readonly logger: Logger;
  /** Time and timers; realClock unless simulated. */
  readonly clock?: Clock;
}

export class GeoFollower {
  private readonly clock: Clock;
  private readonly detector: FailoverDetector;
  private primaries: readonly PrimaryPeer[] = [];
  private links: PrimaryLink[] = [];
  private timer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  private stream: FollowStream | undefined;
  private source = 0;
  private leading = false;
  private pending: PrimaryEntry[] = [];
  private pendingBytes = 0;
  private appliedAtMs = 0;
  private shipping = false;
  private transitioning = false;
  /** The primary compacted what we need: take its state instead of entries. */
  private needSnapshot = false;
  private transferring = false;
  /**
   * What each primary node last said to a probe, or how the probe failed,
   * and when; and when the follow stream last had an event. Logged with an
   * automatic failover, so that one can be told from a blind secondary.
   */
  private readonly lastAnswers = new Map<string, { atMs: number; answer: string }>();
  private lastStreamEvent: { atMs: number; from: string } | undefined;

  constructor(private readonly opts: GeoFollowerOptions) {
    this.clock = opts.clock ?? realClock;
    this.detector = new FailoverDetector({ failoverAfterMs: opts.failoverAfterMs, failbackAfterMs: opts.failbackAfterMs });
    this.setPrimaries(opts.primaries);
  }

  /** The primary region's members now (it may add or remove nodes online). */
  setPrimaries(primaries: readonly PrimaryPeer[]): void {
    const same = primaries.length === this.primaries.length && primaries.every((p, i) => p.id === this.primaries[i]!.id && p.peer === this.primaries[i]!.peer);
    if (same) return;
    this.closeStream();
    for (const l of this.links) l.close();
    this.primaries = [...primaries];
    this.links = primaries.map((p) => this.opts.links(p));
    this.source = 0;
  }

  start(): void {
    this.timer = this.clock.setInterval(() => this.loop(), LOOP_MS);
    this.probeTimer = this.clock.setInterval(() => this.probe(), PROBE_MS);
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
    this.clock.clearInterval(this.probeTimer);
    this.closeStream();
    for (const l of this.links) l.close();
  }

  private loop(): void {
    const stalledMs = this.detector.tick(this.clock.now(), LOOP_MS);
    if (stalledMs >= LONG_GAP_MS && this.leading) this.opts.logger.warn({ stalledMs }, 'this node was stalled: the time does not count as the primary\'s silence');
    const leader = this.opts.replica.isLeader;
    if (leader && !this.leading) {
      this.leading = true;
      this.detector.startWatching(this.clock.now());
      this.opts.logger.info('leading the secondary region: following the primary');
    } else if (!leader && this.leading) {
      this.leading = false;
      this.closeStream();
      this.dropPending();
    }
    if (!this.leading) return;
    if (this.needSnapshot) void this.transferSnapshot();
    else if (this.stream === undefined) this.openStream();
    void this.ship();
    void this.detect();
  }

  private openStream(): void {
    const from = Math.max(this.opts.geo().cursor, this.lastPendingIndex()) + 1;
    const n = this.links.length;
    let tries = 0;
    while (this.opts.isDropped(this.primaries[this.source % n]!.id) && tries++ < n) this.source++;
    if (tries > n) return;
    const sourceId = this.primaries[this.source % n]!.id;
    const stream = this.links[this.source % n]!.follow(from, this.opts.nodeId);
    this.stream = stream;
    const receive = (event: FollowEvent) => {
      if (this.stream !== stream) return;
      if (this.opts.isDropped(sourceId)) {
        // An injected partition breaks the stream, as a real one does: dropping
        // this event and reading on would leave a gap in what is shipped.
        stream.cancel();
        done(new GeoLinkError('FAULT_INJECTED', `traffic with ${sourceId} is dropped`));
        return;
      }
      this.lastStreamEvent = { atMs: this.clock.now(), from: sourceId };
      if (event.health !== null && event.health !== undefined) this.sawPrimary(event.health.leader !== '', event.health.commitIndex);
      if (event.entries.length > 0) {
        this.pending.push(...event.entries);
        for (const e of event.entries) this.pendingBytes += e.data.length;
        this.appliedAtMs = event.appliedAtMs;
        if (this.pendingBytes > PENDING_BYTES) stream.pause();
      }
    };
    stream.on('data', (event: FollowEvent) => {
      if (this.opts.latencyMs > 0) this.clock.setTimeout(() => receive(event), this.opts.latencyMs);
      else receive(event);
    });
    const done = (err?: Error) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (err !== undefined && isSnapshotNeeded(err)) {
        this.opts.logger.warn({ from }, 'the primary compacted the entries this region needs: taking a snapshot');
        this.needSnapshot = true;
        return;
      }
      this.source++;
      if (err !== undefined) this.opts.logger.debug({ err: err.message }, 'geo stream ended; trying the next primary node');
    };
    stream.on('error', (err) => done(err));
    stream.on('end', () => done());
  }

  /**
   * Streams a primary node's state and proposes it into this region's log in
   * parts; the last part swaps it in on every node. One transfer at a time.
   */
  private async transferSnapshot(): Promise<void> {
    if (this.transferring) return;
    this.transferring = true;
    this.closeStream();
    this.dropPending();
    const n = this.links.length;
    const source = this.primaries[this.source % n]!;
    const link = this.links[this.source % n]!;
    const transfer = `${this.opts.nodeId}-${this.clock.now().toString(36)}`;
    let seq = 0;
    try {
      for await (const chunk of link.snapshot(this.opts.nodeId)) {
        if (!this.opts.replica.isLeader) throw new Error('no longer leading');
        const part = { primaryIndex: chunk.index, primaryTerm: chunk.term, transfer, seq: seq++, records: chunk.records, last: chunk.done };
        await this.opts.replica.propose(encodeGeoEntry({ kind: 'snapshotPart', snapshotPart: part }), PROPOSE_TIMEOUT_MS);
        if (chunk.done) {
          this.opts.logger.info({ from: source.id, primaryIndex: chunk.index, parts: seq }, 'installed a primary snapshot in this region');
          this.needSnapshot = false;
        }
      }
    } catch (e) {
      this.source++;
      this.opts.logger.warn({ err: e instanceof Error ? e.message : String(e), from: source.id }, 'snapshot transfer failed; retrying');
      await new Promise<void>((r) => this.clock.setTimeout(r, SNAPSHOT_RETRY_MS));
    } finally {
      this.transferring = false;
    }
  }

  private closeStream(): void {
    const s = this.stream;
    this.stream = undefined;
    s?.cancel();
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  private lastPendingIndex(): number {
    return this.pending[this.pending.length - 1]?.index ?? 0;
  }

  /** Proposes the received entries into the secondary's group, one batch at a time, until none is left. */
  private async ship(): Promise<void> {
    if (this.shipping || this.pending.length === 0) return;
    this.shipping = true;
    try {
      while (this.pending.length > 0 && this.leading) {
        const batch = upToBytes(this.pending.slice(0, MAX_SHIP), SHIP_BYTES);
        const pending = this.pending;
        await this.opts.replica.propose(encodeGeoEntry({ kind: 'shipped', shipped: { entries: batch, appliedAtMs: this.appliedAtMs } }), PROPOSE_TIMEOUT_MS);
        // Dropped meanwhile (leadership lost, a snapshot begun): what follows starts afresh.
        if (this.pending !== pending) return;
        this.pending.splice(0, batch.length);
        for (const e of batch) this.pendingBytes -= e.data.length;
        if (this.pendingBytes <= PENDING_BYTES) this.stream?.resume();
      }
    } catch (e) {
      // Lost leadership or no quorum here: start over from the applied cursor.
      this.opts.logger.debug({ err: e instanceof Error ? e.message : String(e) }, 'shipping failed');
      this.dropPending();
      this.closeStream();
    } finally {
      this.shipping = false;
    }
  }

  /** The highest commit index seen on a primary node: how far the secondary could be. */
  get primaryCommitSeen(): number {
    return this.detector.primaryCommitSeen;
  }

  private sawPrimary(hasLeader: boolean, commitIndex: number): void {
    const gapMs = this.detector.observe(hasLeader, commitIndex, this.clock.now());
    if (gapMs !== undefined && gapMs >= LONG_GAP_MS) this.opts.logger.info({ gapMs, failoverAfterMs: this.opts.failoverAfterMs }, 'a primary leader seen again after a gap');
  }

  private probe(): void {
    if (!this.leading) return;
    const cursor = this.opts.geo().cursor;
    for (const [i, link] of this.links.entries()) {
      if (this.opts.isDropped(this.primaries[i]!.id)) continue;
      // A follower that names a leader counts, as a follow stream's beat does: it heard from that leader
      // within an election timeout (a pre-candidate names none). Counting only the leader's own answer
      // left the secondary blind while a paused leader's followers elected another: 1.6 s under the
      // nemesis, longer than failoverAfterMs.
      const id = this.primaries[i]!.id;
      link.probe(this.opts.nodeId, cursor, PROBE_MS).then(
        (status) => {
          this.lastAnswers.set(id, { atMs: this.clock.now(), answer: `${status.role}, leader ${status.leader || 'none'}, commit ${status.commitIndex}` });
          this.sawPrimary(status.role === 'leader' || status.leader !== '', status.commitIndex);
        },
        (err: unknown) => this.lastAnswers.set(id, { atMs: this.clock.now(), answer: err instanceof Error ? err.message : String(err) }),
      );
    }
  }

  private async detect(): Promise<void> {
    if (this.transitioning) return;
    const now = this.clock.now();
    const decision = this.detector.decide(this.opts.geo(), now);
    if (decision?.mode === 'FAILED_OVER') this.opts.logger.warn(this.lastHeard(now), 'no primary leader seen: what the primary nodes last said');
    if (decision !== undefined) await this.transition(decision.mode, decision.epoch, decision.reason);
  }

  /** Each primary node's last probe answer (or failure) and the follow stream's last event, with their ages. */
  private lastHeard(now: number): { probes: Record<string, string>; stream: string } {
    const probes: Record<string, string> = {};
    for (const { id } of this.primaries) {
      const last = this.lastAnswers.get(id);
      probes[id] = last === undefined ? 'no answer yet' : `${last.answer} (${now - last.atMs} ms ago)`;
    }
    const event = this.lastStreamEvent;
    return { probes, stream: event === undefined ? 'no event yet' : `last event from ${event.from} ${now - event.atMs} ms ago` };
  }

  /** An operator's failover (held until a manual failback) or failback. Throws ReplicaError if it does not commit. */
  async manualTransition(mode: SecondaryMode, reason: string): Promise<GeoMeta> {
    const geo = this.opts.geo();
    const epoch = mode === 'FAILED_OVER' && geo.mode !== 'FAILED_OVER' ? geo.epoch + 1 : geo.epoch;
    await this.propose(mode, epoch, `manual: ${reason || 'operator request'}`, true);
    return this.opts.geo();
  }

  private async transition(mode: SecondaryMode, epoch: number, reason: string): Promise<void> {
    this.transitioning = true;
    try {
      await this.propose(mode, epoch, reason, false);
    } catch (e) {
      if (!(e instanceof ReplicaError)) throw e;
      this.opts.logger.warn({ err: e.message }, 'the mode change did not commit');
    } finally {
      this.transitioning = false;
    }
  }

  private async propose(mode: SecondaryMode, epoch: number, reason: string, manual: boolean): Promise<void> {
    this.opts.logger.warn({ mode, epoch, reason }, 'proposing a region mode change');
    const transition = { mode, epoch, atMs: this.clock.now(), reason, manual };
    await this.opts.replica.propose(encodeGeoEntry({ kind: 'transition', transition }), PROPOSE_TIMEOUT_MS);
  }
}
