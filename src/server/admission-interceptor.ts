// Admission control on the client port (DESIGN §6, issue 19): the first
// interceptor every call meets, before authentication, so that a call the
// node has no room for is refused before any token is verified or any
// message read: RESOURCE_EXHAUSTED, reason THROTTLED, and a retry-after-ms
// trailer, in one trailers-only response. An admitted call holds its slot
// until grpc-js reports it ended (onCancel follows every status it sends,
// and a cancellation or an expired deadline too).
//
// The RPCs an operator needs to see a flooded node (cluster status, health)
// have a lane of their own, so that client calls can never take its slots.

import * as grpc from '@grpc/grpc-js';
import { Admission, type AdmissionLimits, type Ticket } from './admission.js';
import { throttledStatus } from './errors.js';

export interface AdmissionSettings extends AdmissionLimits {
  /** The operator lane's calls in progress, and waiting, on the node (no per-connection split). */
  readonly operatorCalls: number;
  readonly operatorQueue: number;
}

/** Served in the operator lane. */
export const OPERATOR_PATHS: ReadonlySet<string> = new Set([
  '/keyraft.v1.Cluster/GetStatus',
  '/grpc.health.v1.Health/Check',
  '/grpc.health.v1.Health/Watch',
  '/grpc.health.v1.Health/List',
]);

export interface AdmissionInterceptorOptions {
  readonly settings: AdmissionSettings;
  readonly nodeId: string;
  /** The metadata every response carries (keyraft-node, -region, -mode). */
  readonly responseMetadata: () => grpc.Metadata;
  /** Told of each refusal (the caller's address, as grpc-js gives it): the audit log and metrics. */
  readonly onRefused?: (path: string, peer: string) => void;
}

export function admissionInterceptor(opts: AdmissionInterceptorOptions): grpc.ServerInterceptor {
  const s = opts.settings;
  const clients = new Admission(s);
  const operators = new Admission({ nodeCalls: s.operatorCalls, nodeQueue: s.operatorQueue, connectionCalls: s.operatorCalls, connectionQueue: s.operatorQueue, retryAfterMs: s.retryAfterMs });
  return (method, call) => {
    const lane = OPERATOR_PATHS.has(method.path) ? operators : clients;
    let ticket: Ticket | undefined;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const admitted = lane.admit(call.getPeer(), () => nextMetadata(metadata));
            if (!('limit' in admitted)) {
              ticket = admitted;
              return;
            }
            opts.onRefused?.(method.path, call.getPeer());
            const l = lane.limits;
            const limit = admitted.limit === 'node' ? `${l.nodeCalls} calls in progress and ${l.nodeQueue} waiting` : `${l.connectionCalls} calls in progress and ${l.connectionQueue} waiting from one connection`;
            const wait = Math.ceil(admitted.retryAfterMs);
            call.sendStatus(throttledStatus(wait, `node ${opts.nodeId} is at its limit of ${limit}; retry after ${wait} ms`, opts.responseMetadata()));
          },
          onCancel: () => ticket?.release(),
        }),
    });
  };
}
