// Which endpoint an attempt goes to: what the SDK learned of the cluster
// (Cluster.GetStatus, and the metadata of every answer), and what failed
// recently.
//
// - The primary region's nodes come first, the one that answered last ahead
//   of the others, then the secondary's: a STANDBY secondary would only
//   forward to the primary, a hop that costs latency, and a FAILED_OVER one
//   refuses writes.
// - A node that fails to answer, or says its region has no quorum or that
//   it cannot reach the leader (NO_QUORUM, LEADER_UNREACHABLE), cools down
//   alone, and is tried again (by a call) once its cool-down ends. Such an
//   answer speaks only for the node: alone on its side of a partition, it
//   knows no leader, or one it cannot reach, while the rest of its region
//   serves. Taking it for the region's kept a client off a healthy majority
//   for as long as the partition lasted.
// - A region cools down as a whole when its last node fails. When that
//   cool-down ends, calls stay away until a probe (GetStatus, beside the
//   calls) finds a node of it that answers and has quorum: a dead region
//   then costs calls nothing, and a region whose nodes come back one at a
//   time is found as soon as one serves. That probe is how calls return to
//   the primary after a failback, without the client being told.
// - PRIMARY_UNREACHABLE (a STANDBY secondary that cannot forward) and
//   READ_ONLY_FAILOVER say nothing bad of the node that answered: it will
//   serve once it fails over, or serves exactly what it should. Nor does the
//   former cool the primary: the client is on the secondary only because its
//   own attempts found the primary down, and such an answer, in flight when
//   a probe finds the primary back, would send calls away from it again.

import * as grpc from '@grpc/grpc-js';
import { isAddress } from './endpoints.js';
import type { KeyraftError, ServedBy } from './errors.js';
import type { ClusterStatus } from './types.js';

export const READ_ONLY_FAILOVER = 'READ_ONLY_FAILOVER';
const PRIMARY_UNREACHABLE = 'PRIMARY_UNREACHABLE';
/** Failures that say the endpoint (or its region) could not serve the call. */
const UNSERVED = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
/** A node's mode tells its region's role even before GetStatus has answered. */
const ROLE_OF_MODE: Record<string, string> = { SERVING: 'primary', NO_QUORUM: 'primary', STANDBY: 'secondary', FAILED_OVER: 'secondary' };
/** Failures in a row (no success between) after which the topology is learned again. */
export const REDISCOVER_AFTER_FAILURES = 3;
/** How a region whose cool-down ended sorts while it awaits its probe's verdict: after everything else. */
const AWAITING_PROBE = Number.MAX_SAFE_INTEGER;
/** The shortest gap between two discoveries, so that an outage cannot turn them into a storm. */
const MIN_DISCOVERY_GAP_MS = 1000;
/** After a failed discovery, the next is due this soon (or at the interval, if shorter). */
const FAILED_DISCOVERY_RETRY_MS = 5000;

export interface TopologyNode {
  id: string;
  region: string;
  address: string;
}

export interface TopologyRegion {
  name: string;
  /** primary | secondary */
  role: string;
  /** As the answering node saw it: SERVING | NO_QUORUM | STANDBY | FAILED_OVER | UNREACHABLE */
  mode: string;
  leader: string;
}

/** What the client knows of the cluster (client.topology()). */
export interface Topology {
  /** `discovered`: from Cluster.GetStatus; `given`: GetStatus never answered, the given endpoints are all there is. */
  source: 'discovered' | 'given';
  /** When GetStatus last answered (unix ms), 0 if never. */
  learnedAtMs: number;
  /** The node that answered it. */
  answeredBy: string;
  /** '' while unknown. */
  primaryRegion: string;
  regions: TopologyRegion[];
  nodes: TopologyNode[];
  /** The endpoints the client was given, kept as the fallback. */
  given: string[];
  /** The order the next call would try endpoints in. */
  order: string[];
  /** Endpoints tried last for now, because they (or their region) failed. */
  coolingDown: string[];
}

interface Learned {
  at: number;
  answeredBy: string;
  regions: TopologyRegion[];
  nodes: TopologyNode[];
}

/** The usable part of a GetStatus answer; undefined when it names no primary or no dialable node. */
export function learnedFromStatus(status: ClusterStatus, at: number): Learned | undefined {
  const regions = (status.regions ?? [])
    .filter((r) => typeof r.name === 'string' && r.name !== '')
    .map((r) => ({ name: r.name, role: r.role, mode: r.mode, leader: r.leader }));
  const nodes: TopologyNode[] = [];
  for (const n of status.nodes ?? []) {
    if (typeof n.clientAddress !== 'string' || !isAddress(n.clientAddress)) continue;
    if (nodes.some((m) => m.address === n.clientAddress)) continue;
    nodes.push({ id: n.id, region: n.region, address: n.clientAddress });
  }
  if (nodes.length === 0 || regions.filter((r) => r.role === 'primary').length !== 1) return undefined;
  return { at, answeredBy: status.answeredBy ?? '', regions, nodes };
}

export interface RoutingOptions {
  given: readonly string[];
  cooldownMs: number;
  regionAware: boolean;
  discoveryIntervalMs: number;
}

export class Routing {
  private learned: Learned | undefined;
  private readonly downUntil = new Map<string, number>();
  /** By region. An entry whose time has passed stays until a probe or a call finds the region serving again. */
  private readonly regionDownUntil = new Map<string, number>();
  /** What answers' metadata said: address → region, region → role. */
  private readonly seenRegion = new Map<string, string>();
  private readonly seenRole = new Map<string, string>();
  /** By region: the endpoint that answered last, tried first. */
  private readonly lastAnswered = new Map<string, string>();
  private failureStreak = 0;
  private nextDiscoveryAt = 0;
  private lastDiscoveryAt = -Infinity;
  /** Whether a discovery has ended (learned or failed): until then a call waits for it, briefly. */
  discoveredOnce = false;

  constructor(private readonly o: RoutingOptions) {}

  regionOf(address: string): string | undefined {
    return this.learned?.nodes.find((n) => n.address === address)?.region ?? this.seenRegion.get(address);
  }

  roleOf(region: string | undefined): string | undefined {
    if (region === undefined || region === '') return undefined;
    return this.learned?.regions.find((r) => r.name === region)?.role ?? this.seenRole.get(region);
  }

  primaryRegion(): string | undefined {
    const fromStatus = this.learned?.regions.find((r) => r.role === 'primary')?.name;
    if (fromStatus !== undefined) return fromStatus;
    for (const [region, role] of this.seenRole) if (role === 'primary') return region;
    return undefined;
  }

  /** Every endpoint worth trying: the learned nodes, then any given one they do not name. */
  candidates(): string[] {
    if (!this.o.regionAware || this.learned === undefined) return [...this.o.given];
    const out = this.learned.nodes.map((n) => n.address);
    for (const a of this.o.given) if (!out.includes(a)) out.push(a);
    return out;
  }

  coolingUntil(address: string, now = Date.now()): number {
    const region = this.o.regionAware ? this.regionOf(address) : undefined;
    const regionUntil = region === undefined ? undefined : this.regionDownUntil.get(region);
    const own = this.downUntil.get(address) ?? 0;
    if (regionUntil === undefined) return own;
    return regionUntil > now ? Math.max(own, regionUntil) : AWAITING_PROBE;
  }

  /** Regions whose cool-down has ended: each wants a probe before calls go back. */
  regionsToProbe(now = Date.now()): string[] {
    return [...this.regionDownUntil].filter(([, until]) => until <= now).map(([region]) => region);
  }

  /** The region's nodes, the one that answered last first. */
  membersOf(region: string): string[] {
    const members = this.candidates().filter((a) => this.regionOf(a) === region);
    const last = this.lastAnswered.get(region);
    return last !== undefined && members.includes(last) ? [last, ...members.filter((a) => a !== last)] : members;
  }

  /** A probe found the region serving at `via`: calls go back to it, that node first (another may have said it has no quorum). */
  regionBack(region: string, via?: string): void {
    this.regionDownUntil.delete(region);
    if (via !== undefined) this.lastAnswered.set(region, via);
  }

  /** A probe found no node of the region serving: another cool-down. */
  regionStillDown(region: string, now = Date.now()): void {
    this.regionDownUntil.set(region, now + this.o.cooldownMs);
  }

  /** Candidates by preference, those cooling down last (the soonest back first). */
  order(now = Date.now()): string[] {
    const all = this.candidates();
    if (this.o.regionAware) {
      const inLearned = new Set(this.learned?.nodes.map((n) => n.address) ?? []);
      const key = (a: string, i: number): [number, number, number] => {
        const region = this.regionOf(a);
        const role = this.roleOf(region);
        // An endpoint of unknown region keeps its given place between the two regions.
        let rank = role === 'primary' ? 0 : role === 'secondary' ? 2 : 1;
        if (this.learned !== undefined && !inLearned.has(a)) rank += 3;
        const last = region !== undefined && this.lastAnswered.get(region) === a ? 0 : 1;
        return [rank, last, i];
      };
      const keyed = all.map((a, i) => ({ a, k: key(a, i) }));
      keyed.sort((x, y) => x.k[0] - y.k[0] || x.k[1] - y.k[1] || x.k[2] - y.k[2]);
      all.splice(0, all.length, ...keyed.map((x) => x.a));
    }
    const ready = all.filter((a) => this.coolingUntil(a, now) <= now);
    const cooling = all.filter((a) => this.coolingUntil(a, now) > now).sort((x, y) => this.coolingUntil(x, now) - this.coolingUntil(y, now));
    return [...ready, ...cooling];
  }

  /**
   * The endpoint for a call's next attempt: the most preferred ready one that
   * this call tried least (so that a call walks the ready endpoints, even with
   * no cool-down), else the one that is back soonest.
   */
  pick(tries: ReadonlyMap<string, number>, now = Date.now()): string {
    const order = this.order(now);
    const ready = order.filter((a) => this.coolingUntil(a, now) <= now);
    if (ready.length === 0) return order[0]!;
    let best = ready[0]!;
    for (const a of ready) if ((tries.get(a) ?? 0) < (tries.get(best) ?? 0)) best = a;
    return best;
  }

  /** Records which region an answer came from (any answer, failures included). */
  heard(address: string, servedBy: ServedBy | undefined): void {
    if (servedBy === undefined || servedBy.region === '') return;
    this.seenRegion.set(address, servedBy.region);
    const role = ROLE_OF_MODE[servedBy.mode];
    if (role !== undefined) this.seenRole.set(servedBy.region, role);
  }

  succeeded(address: string, servedBy: ServedBy | undefined): void {
    this.heard(address, servedBy);
    this.failureStreak = 0;
    this.downUntil.delete(address);
    const region = this.regionOf(address);
    if (region === undefined) return;
    this.lastAnswered.set(region, address);
    // Cluster.GetStatus succeeds on a node without quorum: that clears nothing of its region.
    if (servedBy?.mode !== 'NO_QUORUM') this.regionDownUntil.delete(region);
  }

  /** Marks what a failed attempt says is down; `now` is when it failed. */
  failed(address: string, err: KeyraftError, now = Date.now()): void {
    this.heard(address, err.servedBy);
    if (!UNSERVED.has(err.code)) return;
    this.failureStreak++;
    const until = now + this.o.cooldownMs;
    if (!this.o.regionAware) {
      this.downUntil.set(address, until);
      return;
    }
    const region = this.regionOf(address);
    if (err.reason === PRIMARY_UNREACHABLE) return;
    this.downUntil.set(address, until);
    if (region !== undefined) {
      const members = this.candidates().filter((a) => this.regionOf(a) === region);
      if (members.every((a) => (this.downUntil.get(a) ?? 0) > now)) this.regionDownUntil.set(region, until);
    }
  }

  /** A node answered GetStatus: it is reachable, whatever its region can serve. */
  reachable(address: string, servedBy: ServedBy | undefined): void {
    this.heard(address, servedBy);
    this.downUntil.delete(address);
  }

  discoveryDue(now = Date.now()): boolean {
    if (!this.o.regionAware) return false;
    if (now >= this.nextDiscoveryAt) return true;
    return this.failureStreak >= REDISCOVER_AFTER_FAILURES && now - this.lastDiscoveryAt >= Math.min(this.o.discoveryIntervalMs, MIN_DISCOVERY_GAP_MS);
  }

  discoveryStarted(now = Date.now()): void {
    this.lastDiscoveryAt = now;
    // Set now, so that calls made while it runs do not start another.
    this.nextDiscoveryAt = now + this.o.discoveryIntervalMs;
  }

  /** Takes in a GetStatus answer; false when it was not usable. */
  learn(status: ClusterStatus, now = Date.now()): boolean {
    const learned = learnedFromStatus(status, now);
    this.discoveredOnce = true;
    if (learned === undefined) {
      this.discoveryFailed(now);
      return false;
    }
    this.learned = learned;
    this.nextDiscoveryAt = now + this.o.discoveryIntervalMs;
    return true;
  }

  discoveryFailed(now = Date.now()): void {
    this.discoveredOnce = true;
    this.nextDiscoveryAt = now + Math.min(this.o.discoveryIntervalMs, FAILED_DISCOVERY_RETRY_MS);
  }

  snapshot(now = Date.now()): Topology {
    const l = this.learned;
    return {
      source: l === undefined ? 'given' : 'discovered',
      learnedAtMs: l?.at ?? 0,
      answeredBy: l?.answeredBy ?? '',
      primaryRegion: this.primaryRegion() ?? '',
      regions: l?.regions.map((r) => ({ ...r })) ?? [],
      nodes: l?.nodes.map((n) => ({ ...n })) ?? [],
      given: [...this.o.given],
      order: this.order(now),
      coolingDown: this.candidates().filter((a) => this.coolingUntil(a, now) > now),
    };
  }
}
