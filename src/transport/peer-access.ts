// Who may call what on the peer port: one table, checked by one interceptor
// before any handler runs. The port speaks mutual TLS (tls.ts), so every
// caller holds a certificate of the cluster CA; this decides what that
// certificate allows, and that a message claiming to come from a node
// (a Raft message's `from`, a geo follower's name) comes from the node the
// certificate names. A refusal is PERMISSION_DENIED with reason FORBIDDEN
// (on a connection for Raft frames: a frame saying FORBIDDEN, and the close).

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Message } from '../raft/index.js';
import { RAFT_ALPN } from './raft-frames.js';
import { type PeerIdentity, describeIdentity, identityOf } from './tls.js';

/**
 * region: a node of this node's region (Raft traffic).
 * secondary: a node of a secondary region (it follows the primary's log).
 * member: any node of the topology; with operator, the operator too.
 * operator: the operator's certificate only (tests and drills).
 */
type Allowed = 'region' | 'secondary' | 'member or operator' | 'operator';

const ACCESS: Readonly<Record<string, Allowed>> = {
  // Raft's messages: frames on connections of their own (raft-frames.ts), checked under their ALPN name.
  [RAFT_ALPN]: 'region',
  '/keyraft.peer.v1.Raft/InstallSnapshot': 'region',
  '/keyraft.peer.v1.Geo/Follow': 'secondary',
  '/keyraft.peer.v1.Geo/Snapshot': 'secondary',
  '/keyraft.peer.v1.Admin/GeoProbe': 'secondary',
  '/keyraft.peer.v1.Admin/NodeStatus': 'member or operator',
  // Cluster.Failover on any node's client port reaches the secondary's
  // leader through this, once that node has authorized the caller.
  '/keyraft.peer.v1.Admin/ProposeTransition': 'member or operator',
  '/keyraft.peer.v1.Admin/SetFaults': 'operator',
  '/keyraft.peer.v1.Admin/TransferLeadership': 'operator',
  '/keyraft.peer.v1.Admin/IssueToken': 'operator',
  // Cluster.AddMember and the rest reach the region's leader through this.
  '/keyraft.peer.v1.Admin/ChangeMembership': 'member or operator',
};

export interface PeerAccessOptions {
  /** Node id → region name, for every node the cluster map knows. */
  readonly regionOf: (id: string) => string | undefined;
  readonly selfRegion: string;
  readonly secondaryRegions: ReadonlySet<string>;
  readonly logger: Logger;
}

/** Why `who` may not call `path`, or undefined when it may. */
export function accessProblem(path: string, who: PeerIdentity | undefined, opts: PeerAccessOptions): string | undefined {
  const allowed = ACCESS[path];
  if (allowed === undefined) return `${path} is not a peer method`;
  if (who === undefined) return 'the certificate names no node and no operator';
  if (who.kind === 'operator') return allowed === 'member or operator' || allowed === 'operator' ? undefined : `${path} is for cluster nodes, not the operator`;
  // A node added online is not in the topology yet: its certificate, signed
  // by the cluster CA, names its region.
  const region = opts.regionOf(who.id) ?? who.region;
  if (region === undefined) return `node ${who.id} is not a member of any region`;
  switch (allowed) {
    case 'region':
      return region === opts.selfRegion ? undefined : `node ${who.id} is not in region ${opts.selfRegion}`;
    case 'secondary':
      return opts.secondaryRegions.has(region) ? undefined : `node ${who.id} is not in a secondary region`;
    case 'member or operator':
      return undefined;
    case 'operator':
      return `${path} needs the operator's certificate`;
  }
}

/** The node ids a request message claims to come from. */
function claimedSenders(path: string, message: unknown): string[] {
  switch (path) {
    case RAFT_ALPN:
      return (message as Message[]).map((m) => m.from);
    case '/keyraft.peer.v1.Raft/InstallSnapshot': {
      const first = (message as { message?: Message }).message;
      return first === undefined ? [] : [first.from];
    }
    case '/keyraft.peer.v1.Geo/Follow':
    case '/keyraft.peer.v1.Geo/Snapshot':
    case '/keyraft.peer.v1.Admin/GeoProbe':
      return [String((message as { follower?: unknown }).follower ?? '')];
    default:
      return [];
  }
}

/** Why a message may not come from `who`: it claims another sender. */
export function claimProblem(path: string, message: unknown, who: PeerIdentity | undefined): string | undefined {
  for (const sender of claimedSenders(path, message)) {
    if (who?.kind !== 'node' || sender !== who.id) return `a message claiming to come from ${JSON.stringify(sender)} was sent by ${describeIdentity(who)}`;
  }
  return undefined;
}

export function peerAccessInterceptor(opts: PeerAccessOptions): grpc.ServerInterceptor {
  return (method, call) => {
    const who = identityOf(call);
    const path = method.path;
    let refused = false;
    const refuse = (problem: string): void => {
      refused = true;
      opts.logger.warn({ method: path, caller: describeIdentity(who), peer: call.getPeer(), problem }, 'refused a peer call');
      call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: `FORBIDDEN: ${problem}`, metadata: new grpc.Metadata() });
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const problem = accessProblem(path, who, opts);
            if (problem === undefined) nextMetadata(metadata);
            else refuse(problem);
          },
          onReceiveMessage: (message, nextMessage) => {
            if (refused) return;
            const problem = claimProblem(path, message, who);
            if (problem === undefined) nextMessage(message);
            else refuse(problem);
          },
        }),
    });
  };
}
