// keyraft.v1.Cluster's status, manual failover and failback, and membership
// (like `etcdctl member`). Local operations: any node answers, in any mode,
// from what it gathers of the cluster (ClusterView). A membership change asks
// the region's nodes until the region's leader makes it
// (src/replica/membership-ops.ts); it works in a failed-over secondary too:
// its own membership is its group's, not the primary's. Who may call these
// is decided before (src/auth/permissions.ts).

import { seesClusterDetails } from '../../auth/permissions.js';
import type { Member } from '../cluster-view.js';
import { Code } from '../codes.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { type OperationTable, local } from '../operation.js';

interface AddMemberRequest {
  region?: string;
  id?: string;
  clientAddress?: string;
  peerAddress?: string;
  metricsAddress?: string;
}

export function clusterOperations(deps: AppDeps): OperationTable {
  const { status } = deps;
  /** The region a member is in, from the reports of every region's nodes. */
  const regionOf = async (id: string): Promise<string> => {
    for (const [region, members] of await status.members()) if (members.some((m) => m.id === id)) return region;
    throw new ApiError(Code.NOT_FOUND, 'MEMBER_NOT_FOUND', `no region has a member ${JSON.stringify(id)}`);
  };
  const list = (members: Member[]) => ({ members });
  return {
    GetStatus: local(async (_req: unknown, _timeoutMs, principal) => {
      const cluster = await status.cluster();
      const assignments = principal === undefined ? [] : deps.app.directory.roleAssignments(principal);
      // The peer port is the cluster's inside: its addresses are for Cluster Administrators.
      return seesClusterDetails(assignments) ? cluster : { ...cluster, nodes: cluster.nodes.map((n) => ({ ...n, peerAddress: '' })) };
    }),
    Failover: local((req: { reason?: string }) => status.transition('FAILED_OVER', req.reason ?? '')),
    Failback: local((req: { reason?: string }) => status.transition('STANDBY', req.reason ?? '')),
    ListMembers: local(async (req: { region?: string }) => {
      const reports = await status.members();
      const region = req.region ?? '';
      if (region !== '' && !reports.has(region)) throw new ApiError(Code.NOT_FOUND, 'REGION_NOT_FOUND', `no node of region ${JSON.stringify(region)} answered, or there is no such region`);
      return list([...reports].filter(([name]) => region === '' || name === region).flatMap(([, members]) => members));
    }),
    AddMember: local(async (req: AddMemberRequest) => {
      const member = { id: req.id ?? '', clientAddress: req.clientAddress ?? '', peerAddress: req.peerAddress ?? '', metricsAddress: req.metricsAddress ?? '' };
      return list(await status.changeMembership('add', req.region ?? '', member));
    }),
    PromoteMember: local(async (req: { id?: string }) => list(await status.changeMembership('promote', await regionOf(req.id ?? ''), { id: req.id ?? '' }))),
    RemoveMember: local(async (req: { id?: string }) => list(await status.changeMembership('remove', await regionOf(req.id ?? ''), { id: req.id ?? '' }))),
  };
}
