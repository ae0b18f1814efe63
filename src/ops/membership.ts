// Online membership as a node runs it: the Admin.ChangeMembership request
// (what the region's leader does is in src/replica/membership-ops.ts), and
// keeping the cluster map current, so that a member added or removed in
// either region is dialled, or dropped, by every node without a restart.

import type { Logger } from 'pino';
import { type MemberStatus, MembershipError, addMember, promoteMember, removeMember } from '../replica/membership-ops.js';
import type { Replica } from '../replica/replica.js';
import type { ClusterMap, MapNode } from '../transport/cluster-map.js';

/** A member as keyraft.v1.Member carries it. */
export interface MemberMessage {
  readonly id?: string;
  readonly role?: string;
  readonly clientAddress?: string;
  readonly peerAddress?: string;
  readonly metricsAddress?: string;
}

/** Runs an Admin.ChangeMembership request on this node (its region's leader, or it refuses NOT_LEADER). */
export function changeMembership(replica: Replica, action: string, member: MemberMessage): Promise<MemberStatus[]> {
  const id = member.id ?? '';
  switch (action) {
    case 'add':
      return addMember(replica, id, {
        client: member.clientAddress ?? '',
        peer: member.peerAddress ?? '',
        ...(member.metricsAddress ? { metrics: member.metricsAddress } : {}),
      });
    case 'promote':
      return promoteMember(replica, id);
    case 'remove':
      return removeMember(replica, id);
    default:
      return Promise.reject(new MembershipError('INVALID_ARGUMENT', 'INVALID_ACTION', `unknown membership action ${JSON.stringify(action)}: add, promote or remove`));
  }
}

// Membership changes are rare: a few seconds to notice one in the other region costs nothing.
const DISCOVER_EVERY_MS = 5000;

export interface WatchOptions {
  readonly replica: Replica;
  readonly map: ClusterMap;
  readonly region: string;
  /** Each region's members as its nodes report them (Admin.NodeStatus). */
  readonly reports: () => Promise<Map<string, readonly MemberMessage[]>>;
  readonly logger: Logger;
}

/**
 * Keeps `map` current: this region from the membership this node applied
 * (at once, on every change), other regions from their nodes' reports, and
 * this region too from reports while this node has applied none yet (a
 * joining node, before its first snapshot, must find its leader).
 */
export function watchMembership(opts: WatchOptions): NodeJS.Timeout {
  const { replica, map, region } = opts;
  const fromReplica = (): void => {
    const members = replica.members();
    if (members.length === 0) return;
    map.setMembers(region, members.map((m): MapNode => ({ id: m.id, client: m.client, peer: m.peer, ...(m.metrics ? { metrics: m.metrics } : {}), learner: m.role === 'learner' })));
  };
  replica.events.on('members', fromReplica);
  fromReplica();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    opts
      .reports()
      .then((reports) => {
        for (const [name, members] of reports) {
          if (name === region && replica.members().length > 0) continue;
          map.setMembers(name, members.map(toMapNode));
        }
      })
      .catch((err: unknown) => opts.logger.debug({ err }, 'membership discovery failed'))
      .finally(() => {
        busy = false;
      });
  }, DISCOVER_EVERY_MS);
  timer.unref();
  return timer;
}

function toMapNode(m: MemberMessage): MapNode {
  return {
    id: m.id ?? '',
    client: m.clientAddress ?? '',
    peer: m.peerAddress ?? '',
    ...(m.metricsAddress ? { metrics: m.metricsAddress } : {}),
    learner: m.role === 'learner',
  };
}
