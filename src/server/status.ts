// Cluster.GetStatus and the peer Admin service: each node reports itself, and
// the node asked gathers every node's report, so any node can show the whole
// cluster.

import * as grpc from '@grpc/grpc-js';
import type { GeoMeta } from '../geo/geo-state.js';
import type { Replica } from '../replica/replica.js';
import type { Topology } from '../topology.js';
import { allNodes } from '../topology.js';
import { AdminClient } from '../transport/peer-service.js';
import { ApiError } from './errors.js';
import type { ServerContext } from './handler.js';

export interface NodeStatus {
  id: string;
  region: string;
  role: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  leader: string;
  mode: string;
  reachable: boolean;
  clientAddress: string;
  peerAddress: string;
  primaryIndex: number;
  geoLagEntries: number;
  geoLagMs: number;
  epoch: number;
  lastTransitionMs: number;
  lastTransitionReason: string;
  appliedAtMs: number;
  manual: boolean;
  masterKeyFingerprint: string;
  previousMasterKeyFingerprint: string;
  previousMasterKeyNeeded: boolean;
}

export interface RegionStatus {
  name: string;
  role: string;
  mode: string;
  leader: string;
  epoch: number;
  lastTransitionMs: number;
  lastTransitionReason: string;
  manual: boolean;
}

const PEER_STATUS_TIMEOUT_MS = 400;
const TRANSITION_TIMEOUT_MS = 4000;

export function ownStatus(ctx: ServerContext, replica: Replica, topology: Topology, geo?: GeoMeta): NodeStatus {
  const s = replica.status();
  const self = allNodes(topology).find((n) => n.node.id === ctx.nodeId)!;
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
    clientAddress: self.node.client,
    peerAddress: self.node.peer,
    primaryIndex: geo?.cursor ?? 0,
    geoLagEntries: 0,
    geoLagMs: 0,
    epoch: geo?.epoch ?? 0,
    lastTransitionMs: geo?.lastTransitionMs ?? 0,
    lastTransitionReason: geo?.lastTransitionReason ?? '',
    appliedAtMs: geo?.appliedAtMs ?? 0,
    manual: geo?.manual ?? false,
    ...(ctx.masterKeys?.() ?? NO_MASTER_KEYS),
  };
}

const NO_MASTER_KEYS = { masterKeyFingerprint: '', previousMasterKeyFingerprint: '', previousMasterKeyNeeded: false };

export class StatusCollector {
  private readonly admins = new Map<string, InstanceType<typeof AdminClient>>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly topology: Topology,
    private readonly geo: () => GeoMeta | undefined,
  ) {
    for (const { node } of allNodes(topology)) this.admins.set(node.id, new AdminClient(node.peer, ctx.channelCredentials(node.id)));
  }

  /**
   * Cluster.Failover / Failback: asks each secondary node in turn to commit
   * the mode change; only the secondary's leader accepts.
   */
  async transition(mode: 'FAILED_OVER' | 'STANDBY', reason: string): Promise<RegionStatus> {
    const secondary = this.topology.regions.find((r) => r.role === 'secondary');
    if (secondary === undefined) throw new ApiError(grpc.status.FAILED_PRECONDITION, 'NO_SECONDARY', 'this cluster has no secondary region');
    let last = 'no secondary node answered';
    for (const node of secondary.nodes) {
      const admin = this.admins.get(node.id) as unknown as {
        proposeTransition: (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void;
      };
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        admin.proposeTransition({ mode, reason }, { deadline: Date.now() + TRANSITION_TIMEOUT_MS }, resolve),
      );
      if (err === null) return (await this.cluster()).regions.find((r) => r.name === secondary.name)!;
      last = `${node.id}: ${err.details}`;
    }
    throw new ApiError(grpc.status.UNAVAILABLE, 'NO_QUORUM', `the secondary region could not commit ${mode} (${last})`);
  }

  async cluster(): Promise<{ nodes: NodeStatus[]; regions: RegionStatus[]; answeredBy: string }> {
    const nodes = await Promise.all(
      allNodes(this.topology).map(async ({ node, region }): Promise<NodeStatus> => {
        if (node.id === this.ctx.nodeId) return ownStatus(this.ctx, this.ctx.replica, this.topology, this.geo());
        if (!this.admins.has(node.id)) throw new Error('no admin client');
        try {
          return await this.peerStatus(node.id);
        } catch {
          return { ...unreachable(), id: node.id, region: region.name, clientAddress: node.client, peerAddress: node.peer };
        }
      }),
    );
    // The geo lag: how far each secondary node is behind the primary's commit index.
    const primaryRegion = this.topology.regions.find((r) => r.role === 'primary')!;
    const primaryCommit = Math.max(0, ...nodes.filter((n) => n.region === primaryRegion.name && n.reachable).map((n) => n.commitIndex));
    const now = Date.now();
    for (const n of nodes) {
      if (n.region === primaryRegion.name || !n.reachable) continue;
      n.geoLagEntries = Math.max(0, primaryCommit - n.primaryIndex);
      n.geoLagMs = n.geoLagEntries === 0 || n.appliedAtMs === 0 ? 0 : Math.max(0, now - n.appliedAtMs);
    }
    const regions = this.topology.regions.map((r): RegionStatus => {
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

  private peerStatus(id: string): Promise<NodeStatus> {
    const client = this.admins.get(id)! as unknown as {
      nodeStatus: (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, s?: NodeStatus) => void) => void;
    };
    return new Promise((resolve, reject) => {
      client.nodeStatus({}, { deadline: Date.now() + PEER_STATUS_TIMEOUT_MS }, (err, status) =>
        err !== null || status === undefined ? reject(err) : resolve(status),
      );
    });
  }

  close(): void {
    for (const c of this.admins.values()) (c as unknown as grpc.Client).close();
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
    ...NO_MASTER_KEYS,
  };
}
