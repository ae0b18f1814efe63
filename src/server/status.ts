// The cluster as the peer Admin service shows it (src/app/cluster-view.ts):
// each node reports itself, and the node asked gathers every node's report,
// so any node can show the whole cluster.

import * as grpc from '@grpc/grpc-js';
import type { GeoMeta } from '../geo/geo-state.js';
import { type MemberStatus, memberStatus } from '../replica/membership-ops.js';
import type { Replica } from '../replica/replica.js';
import type { ClusterMap, MapNode } from '../transport/cluster-map.js';
import { AdminClient } from '../transport/peer-service.js';
import { PEER_CHANNEL_OPTIONS } from '../transport/transport.js';
import type { ClusterStatus, ClusterView, Member, NodeStatus, RegionStatus } from '../app/cluster-view.js';
import { ApiError } from '../app/errors.js';
import type { NodeContext } from '../app/node-context.js';
import type { ServerContext } from './handler.js';

const PEER_STATUS_TIMEOUT_MS = 400;
const TRANSITION_TIMEOUT_MS = 4000;
const MEMBERSHIP_TIMEOUT_MS = 15_000;

type Stub = (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res?: unknown) => void) => void;

export function ownStatus(ctx: NodeContext, replica: Replica, map: ClusterMap, geo?: GeoMeta): NodeStatus {
  const s = replica.status();
  const self = map.find(ctx.nodeId);
  const isVoter = s.conf.voters.includes(ctx.nodeId) || s.conf.votersOutgoing.includes(ctx.nodeId);
  return {
    id: ctx.nodeId,
    region: ctx.region,
    role: isVoter ? s.role : 'learner',
    term: s.term,
    commitIndex: s.commit,
    appliedIndex: s.applied,
    leader: s.lead,
    mode: ctx.mode(),
    reachable: true,
    clientAddress: self?.node.client ?? '',
    peerAddress: self?.node.peer ?? '',
    primaryIndex: geo?.cursor ?? 0,
    geoLagEntries: 0,
    geoLagMs: 0,
    epoch: geo?.epoch ?? 0,
    lastTransitionMs: geo?.lastTransitionMs ?? 0,
    lastTransitionReason: geo?.lastTransitionReason ?? '',
    appliedAtMs: geo?.appliedAtMs ?? 0,
    manual: geo?.manual ?? false,
    members: memberMessages(memberStatus(replica), ctx.region),
    ...(ctx.masterKeys?.() ?? NO_MASTER_KEYS),
  };
}

const NO_MASTER_KEYS = { masterKeyFingerprint: '', previousMasterKeyFingerprint: '', previousMasterKeyNeeded: false };

/** Members as keyraft.v1.Member messages. */
export function memberMessages(members: readonly MemberStatus[], region: string): Member[] {
  return members.map((m) => ({
    id: m.id,
    region,
    role: m.role,
    clientAddress: m.client,
    peerAddress: m.peer,
    metricsAddress: m.metrics ?? '',
    matchIndex: m.matchIndex,
  }));
}

export class StatusCollector implements ClusterView {
  private readonly admins = new Map<string, { peer: string; client: InstanceType<typeof AdminClient> }>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly map: ClusterMap,
    private readonly geo: () => GeoMeta | undefined,
  ) {}

  /** The Admin client of a node, made on first use and remade when its address changes. */
  private admin(node: MapNode): Record<string, Stub> {
    let a = this.admins.get(node.id);
    if (a === undefined || a.peer !== node.peer) {
      (a?.client as unknown as grpc.Client | undefined)?.close();
      // The peer channels' short reconnect backoff: a node that starts late is seen as soon as it is up, not a minute later.
      a = { peer: node.peer, client: new AdminClient(node.peer, this.ctx.channelCredentials(node.id), PEER_CHANNEL_OPTIONS) };
      this.admins.set(node.id, a);
    }
    return a.client as unknown as Record<string, Stub>;
  }

  private call<T>(node: MapNode, method: string, req: object, timeoutMs: number): Promise<T> {
    const admin = this.admin(node);
    const stub = admin[method]!.bind(admin);
    return new Promise((resolve, reject) =>
      stub(req, { deadline: Date.now() + timeoutMs }, (err, res) => (err !== null || res === undefined ? reject(err ?? new Error('no answer')) : resolve(res as T))),
    );
  }

  /**
   * Cluster.Failover / Failback: asks each secondary node in turn to commit
   * the mode change; only the secondary's leader accepts.
   */
  async transition(mode: 'FAILED_OVER' | 'STANDBY', reason: string): Promise<RegionStatus> {
    const secondary = this.map.regions.find((r) => r.role === 'secondary');
    if (secondary === undefined) throw new ApiError(grpc.status.FAILED_PRECONDITION, 'NO_SECONDARY', 'this cluster has no secondary region');
    let last = 'no secondary node answered';
    for (const node of secondary.nodes) {
      try {
        await this.call(node, 'proposeTransition', { mode, reason }, TRANSITION_TIMEOUT_MS);
        return (await this.cluster()).regions.find((r) => r.name === secondary.name)!;
      } catch (e) {
        last = `${node.id}: ${(e as grpc.ServiceError).details ?? String(e)}`;
      }
    }
    throw new ApiError(grpc.status.UNAVAILABLE, 'NO_QUORUM', `the secondary region could not commit ${mode} (${last})`);
  }

  /** Every node's report; `timeoutMs` bounds each peer's answer (short for a status page, longer for a check that must not miss a busy node). */
  async cluster(timeoutMs = PEER_STATUS_TIMEOUT_MS): Promise<ClusterStatus> {
    const nodes = await Promise.all(
      this.map.regions.flatMap((region) =>
        region.nodes.map(async (node): Promise<NodeStatus> => {
          if (node.id === this.ctx.nodeId) return ownStatus(this.ctx, this.ctx.replica, this.map, this.geo());
          try {
            return await this.call<NodeStatus>(node, 'nodeStatus', {}, timeoutMs);
          } catch {
            return { ...unreachable(), id: node.id, region: region.name, clientAddress: node.client, peerAddress: node.peer };
          }
        }),
      ),
    );
    // The geo lag: how far each secondary node is behind the primary's commit index.
    const primaryRegion = this.map.primary;
    const primaryCommit = Math.max(0, ...nodes.filter((n) => n.region === primaryRegion.name && n.reachable).map((n) => n.commitIndex));
    const now = Date.now();
    for (const n of nodes) {
      if (n.region === primaryRegion.name || !n.reachable) continue;
      n.geoLagEntries = Math.max(0, primaryCommit - n.primaryIndex);
      n.geoLagMs = n.geoLagEntries === 0 || n.appliedAtMs === 0 ? 0 : Math.max(0, now - n.appliedAtMs);
    }
    const regions = this.map.regions.map((r): RegionStatus => {
      const members = nodes.filter((n) => n.region === r.name && n.reachable);
      const leaders = members.filter((n) => n.role === 'leader').sort((a, b) => b.term - a.term);
      const leader = leaders[0];
      const known = leader ?? members[0];
      const newest = members.reduce((a, b) => (b.epoch > a.epoch || (b.epoch === a.epoch && b.lastTransitionMs > a.lastTransitionMs) ? b : a), known ?? unreachable());
      return {
        name: r.name,
        role: r.role,
        mode: leader === undefined && r.role === 'primary' ? 'NO_QUORUM' : (known?.mode ?? 'UNREACHABLE'),
        leader: leader?.id ?? '',
        epoch: newest.epoch,
        lastTransitionMs: newest.lastTransitionMs,
        lastTransitionReason: newest.lastTransitionReason,
        manual: newest.manual,
      };
    });
    return { nodes, regions, answeredBy: this.ctx.nodeId };
  }

  /**
   * Each region's members as its nodes report them (its leader's report
   * first: it knows how far each member's log is). Feeds the cluster map,
   * so that members added or removed elsewhere are dialled, or no longer.
   */
  async members(): Promise<Map<string, Member[]>> {
    const { nodes } = await this.cluster();
    const out = new Map<string, Member[]>();
    for (const region of this.map.regions) {
      const reports = nodes
        .filter((n) => n.region === region.name && n.reachable && n.members.length > 0)
        .sort((a, b) => Number(b.role === 'leader') - Number(a.role === 'leader') || b.appliedIndex - a.appliedIndex);
      const best = reports[0];
      if (best !== undefined) out.set(region.name, best.members);
    }
    return out;
  }

  /**
   * Cluster.AddMember / PromoteMember / RemoveMember: asks the region's nodes
   * in turn until its leader makes the change. A leader asked to remove
   * itself hands over and answers NOT_LEADER, and the next round finds the
   * new one. A leader with a change still to apply (the one before, or, for
   * a new leader, whatever its log holds) answers CHANGE_PENDING: that clears
   * by itself, so it is waited out too, and only told when time runs out.
   */
  async changeMembership(action: 'add' | 'promote' | 'remove', regionName: string, member: Partial<Member>): Promise<Member[]> {
    const region = this.map.region(regionName);
    if (region === undefined) throw new ApiError(grpc.status.NOT_FOUND, 'REGION_NOT_FOUND', `no region named ${JSON.stringify(regionName)}`);
    const until = Date.now() + MEMBERSHIP_TIMEOUT_MS;
    let last = 'no node of the region answered';
    while (Date.now() < until) {
      for (const node of this.map.region(regionName)!.nodes) {
        try {
          const res = await this.call<{ members: Member[] }>(node, 'changeMembership', { action, member }, Math.max(1000, until - Date.now()));
          return res.members;
        } catch (e) {
          const err = e as grpc.ServiceError;
          const details = err.details ?? String(e);
          const reason = /^([A-Z_]+): /.exec(details)?.[1];
          // The leader's refusal is the answer; anyone else's only says to look further.
          const final = reason !== undefined && reason !== 'NOT_LEADER' && err.code !== grpc.status.UNAVAILABLE && err.code !== grpc.status.DEADLINE_EXCEEDED;
          if (final && (reason !== 'CHANGE_PENDING' || Date.now() + 200 >= until)) throw new ApiError(err.code, reason, details.slice(reason.length + 2));
          last = `${node.id}: ${details}`;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new ApiError(grpc.status.UNAVAILABLE, 'NO_QUORUM', `region ${regionName} made no membership change (${last})`);
  }

  close(): void {
    for (const a of this.admins.values()) (a.client as unknown as grpc.Client).close();
  }
}

function unreachable(): NodeStatus {
  return {
    id: '',
    region: '',
    role: 'unreachable',
    term: 0,
    commitIndex: 0,
    appliedIndex: 0,
    leader: '',
    mode: '',
    reachable: false,
    clientAddress: '',
    peerAddress: '',
    primaryIndex: 0,
    geoLagEntries: 0,
    geoLagMs: 0,
    epoch: 0,
    lastTransitionMs: 0,
    lastTransitionReason: '',
    appliedAtMs: 0,
    manual: false,
    members: [],
    ...NO_MASTER_KEYS,
  };
}
