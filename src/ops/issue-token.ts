// Gets a client-port token from Admin.IssueToken with the operator's
// certificate: how `make cluster` and the tests get the first
// administrator's token. The node that answers must have the cluster's
// token key, which the primary's leader makes once the cluster is up, so
// the nodes are asked in turn until one answers or the wait is over.

import * as grpc from '@grpc/grpc-js';
import { adminCall } from '../transport/peer-service.js';

export interface IssueTokenAsOperatorOptions {
  /** Peer addresses (host:port) to ask, in order. */
  readonly peers: () => readonly string[];
  /** Channel credentials with the operator's certificate. */
  readonly operator: grpc.ChannelCredentials;
  readonly principal: string;
  readonly ttlMs: number;
  readonly waitMs: number;
  /** Told why no node answered yet, once per distinct reason. */
  readonly onWait?: (why: string) => void;
}

export async function issueTokenAsOperator(o: IssueTokenAsOperatorOptions): Promise<{ token: string; expiresAtMs: number }> {
  const until = Date.now() + o.waitMs;
  let last = '';
  for (;;) {
    for (const address of o.peers()) {
      try {
        return await adminCall<{ token: string; expiresAtMs: number }>(address, o.operator, 'issueToken', { principal: o.principal, ttlMs: o.ttlMs }, 2000);
      } catch (e) {
        const why = `${address}: ${(e as grpc.ServiceError).details || (e as Error).message}`;
        if (why !== last) o.onWait?.(why);
        last = why;
        // A refusal for what was asked (no such principal, a bad lifetime) is the same on every node.
        const code = (e as grpc.ServiceError).code;
        if (code === grpc.status.NOT_FOUND || code === grpc.status.INVALID_ARGUMENT || code === grpc.status.PERMISSION_DENIED) throw new Error(why);
      }
    }
    if (Date.now() >= until) throw new Error(`no node issued a token for ${o.principal} within ${o.waitMs} ms (last: ${last || 'no node to ask'})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
