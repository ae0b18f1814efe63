// The cluster as the application layer sees it: every node's report
// (Cluster.GetStatus), the regions' mode changes (Failover, Failback) and
// their membership. Gathering it means asking the other nodes over the peer
// port, a transport matter: src/server/status.ts does it.

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
  members: Member[];
}

/** A member of a region, as keyraft.v1.Member. */
export interface Member {
  id: string;
  region: string;
  role: string;
  clientAddress: string;
  peerAddress: string;
  metricsAddress: string;
  matchIndex: number;
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

export interface ClusterStatus {
  nodes: NodeStatus[];
  regions: RegionStatus[];
  /** The node that gathered the reports. */
  answeredBy: string;
}

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
