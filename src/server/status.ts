// Cluster.GetStatus and the peer Admin service: each node reports itself, and
// the node asked gathers every node's report, so any node can show the whole
// cluster.

import * as grpc from '@grpc/grpc-js';
import type { Replica } from '../replica/replica.js';
import type { Topology } from '../topology.js';
import { allNodes } from '../topology.js';
import { AdminClient } from '../transport/peer-service.js';
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
}

export interface RegionStatus {
  name: string;
  role: string;
  mode: string;
  leader: string;
}

const PEER_STATUS_TIMEOUT_MS = 400;

export function ownStatus(ctx: ServerContext, replica: Replica, topology: Topology): NodeStatus {
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
  };
}

export class StatusCollector {
  private readonly admins = new Map<string, InstanceType<typeof AdminClient>>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly topology: Topology,
  ) {
    for (const { node } of allNodes(topology)) {
      if (node.id !== ctx.nodeId) this.admins.set(node.id, new AdminClient(node.peer, grpc.credentials.createInsecure()));
    }
  }

  async cluster(): Promise<{ nodes: NodeStatus[]; regions: RegionStatus[]; answeredBy: string }> {
    const nodes = await Promise.all(
      allNodes(this.topology).map(async ({ node, region }): Promise<NodeStatus> => {
        if (node.id === this.ctx.nodeId) return ownStatus(this.ctx, this.ctx.replica, this.topology);
        try {
          return await this.peerStatus(node.id);
        } catch {
          return {
            id: node.id,
            region: region.name,
            role: 'unreachable',
            term: 0,
            commitIndex: 0,
            appliedIndex: 0,
            leader: '',
            mode: '',
            reachable: false,
            clientAddress: node.client,
            peerAddress: node.peer,
          };
        }
      }),
    );
    const regions = this.topology.regions.map((r): RegionStatus => {
      const members = nodes.filter((n) => n.region === r.name && n.reachable);
      const leaders = members.filter((n) => n.role === 'leader').sort((a, b) => b.term - a.term);
      const leader = leaders[0]?.id ?? '';
      const mode = leaders[0]?.mode ?? members[0]?.mode ?? 'NO_QUORUM';
      return { name: r.name, role: r.role, mode: leader === '' && r.role === 'primary' ? 'NO_QUORUM' : mode, leader };
    });
    return { nodes, regions, answeredBy: this.ctx.nodeId };
  }

  private peerStatus(id: string): Promise<NodeStatus> {
    const client = this.admins.get(id)!;
    return new Promise((resolve, reject) => {
      (client as unknown as { nodeStatus: grpc.requestCallback<NodeStatus> & ((...a: unknown[]) => void) }).nodeStatus(
        {},
        { deadline: Date.now() + PEER_STATUS_TIMEOUT_MS },
        (err: grpc.ServiceError | null, status?: NodeStatus) => (err !== null || status === undefined ? reject(err) : resolve(status)),
      );
    });
  }

  close(): void {
    for (const c of this.admins.values()) c.close();
  }
}
