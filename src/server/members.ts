// keyraft.v1.Cluster's membership RPCs (like `etcdctl member`). Any node
// answers: it asks the region's nodes (Admin.ChangeMembership) until the
// region's leader makes the change (src/replica/membership-ops.ts). They
// work in a failed-over secondary too: its own membership is its group's,
// not the primary's. Who may call them is decided before (permissions.ts).

import * as grpc from '@grpc/grpc-js';
import { ApiError } from '../app/errors.js';
import type { ServiceDeps } from './services.js';
import type { Member } from '../app/cluster-view.js';

interface AddMemberRequest {
  region?: string;
  id?: string;
  clientAddress?: string;
  peerAddress?: string;
  metricsAddress?: string;
}

export function memberHandlers(deps: ServiceDeps): grpc.UntypedServiceImplementation {
  const { router, status } = deps;
  /** The region a member is in, from the reports of every region's nodes. */
  const regionOf = async (id: string): Promise<string> => {
    for (const [region, members] of await status.members()) if (members.some((m) => m.id === id)) return region;
    throw new ApiError(grpc.status.NOT_FOUND, 'MEMBER_NOT_FOUND', `no region has a member ${JSON.stringify(id)}`);
  };
  const list = (members: Member[]) => ({ members });
  return {
    listMembers: router.local(async (req: { region?: string }) => {
      const reports = await status.members();
      const region = req.region ?? '';
      if (region !== '' && !reports.has(region)) throw new ApiError(grpc.status.NOT_FOUND, 'REGION_NOT_FOUND', `no node of region ${JSON.stringify(region)} answered, or there is no such region`);
      return list([...reports].filter(([name]) => region === '' || name === region).flatMap(([, members]) => members));
    }),
    addMember: router.local(async (req: AddMemberRequest) => {
      const member = { id: req.id ?? '', clientAddress: req.clientAddress ?? '', peerAddress: req.peerAddress ?? '', metricsAddress: req.metricsAddress ?? '' };
      return list(await status.changeMembership('add', req.region ?? '', member));
    }),
    promoteMember: router.local(async (req: { id?: string }) => list(await status.changeMembership('promote', await regionOf(req.id ?? ''), { id: req.id ?? '' }))),
    removeMember: router.local(async (req: { id?: string }) => list(await status.changeMembership('remove', await regionOf(req.id ?? ''), { id: req.id ?? '' }))),
  };
}
