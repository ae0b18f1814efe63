// The cluster as the application layer sees it: every node's report
// (Cluster.GetStatus), the regions' mode changes (Failover, Failback) and
// their membership. Gathering it means asking the other nodes over the peer
// port, a transport matter: src/server/status.ts does it.

import type { Answer, ClusterStatus__Output, Member__Output, NodeStatus__Output, RegionStatus__Output } from '../api/index.js';

// The shapes are keyraft.v1's (proto/keyraft/v1/cluster.proto), as generated
// into src/api: one definition for the server that fills them in and the SDK
// that reads them.

/** One node's report (keyraft.v1.NodeStatus). */
export type NodeStatus = Answer<NodeStatus__Output>;

/** A member of a region (keyraft.v1.Member). */
export type Member = Answer<Member__Output>;

/** A region's mode (keyraft.v1.RegionStatus). */
export type RegionStatus = Answer<RegionStatus__Output>;

/** Every node's report (keyraft.v1.ClusterStatus); answeredBy is the node that gathered them. */
export type ClusterStatus = Answer<ClusterStatus__Output>;

export interface ClusterView {
  /** Every node's report; `timeoutMs` bounds each peer's answer. */
  cluster(timeoutMs?: number): Promise<ClusterStatus>;
  /** Has the secondary region commit the mode change (a manual failover or failback). */
  transition(mode: 'FAILED_OVER' | 'STANDBY', reason: string): Promise<RegionStatus>;
  /** Each region's members, by region name. */
  members(): Promise<Map<string, Member[]>>;
  /** Has the region's leader make the change; answers the region's members after it. */
  changeMembership(action: 'add' | 'promote' | 'remove', regionName: string, member: Partial<Member>): Promise<Member[]>;
}
