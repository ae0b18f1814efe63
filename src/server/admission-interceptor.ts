// Admission control on the client port (DESIGN §6, issue 19), in two
// places sharing one count: a gate that sees each HTTP/2 stream before
// grpc-js does and refuses what admission would refuse, and the first
// interceptor every call meets, before authentication, which admits, queues
// or (in a race with the gate) refuses. Either way a call the node has no
// room for is refused before any token is verified or any message read:
// RESOURCE_EXHAUSTED, reason THROTTLED, and a retry-after-ms trailer, in one
// trailers-only response. An admitted call holds its slot until grpc-js
// reports it ended (onCancel follows every status it sends, and a
// cancellation or an expired deadline too).
//
// A connection whose certificate names a node of the cluster relays its
// clients' calls (admission.ts): the gate reads the certificate once per
// connection, the interceptor from grpc-js's auth context, which only
// nodes' connections have.
//
// The RPCs an operator needs to see a flooded node (cluster status, health)
// have a lane of their own, so that client calls can never take its slots.

import type * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { TLSSocket } from 'node:tls';
import { identityOf, identityOfCertificate } from '../transport/tls.js';
import { Admission, type AdmissionLimits, type Refusal, type Ticket } from './admission.js';
import { throttledStatus } from './errors.js';
import { mark } from '../trace.js';

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

/** Admission control for the client port: the gate in front of grpc-js, and the interceptor behind it. */
export interface AdmissionControl {
  /**
   * Sees each HTTP/2 stream before grpc-js does, and answers THROTTLED at
   * once, with the same trailers as the interceptor, for a call that
   * admission would refuse: a refusal then costs the node no grpc-js call
   * (its deadline timer, interceptors, and the parsing of a message nobody
   * reads): the flooded leader of scripts/overload.ts spent 232-270 µs a
   * call instead of 342-412. True when it answered.
   */
  refuseEarly(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
  /** Admits, queues or refuses every call that got past the gate. */
  readonly interceptor: grpc.ServerInterceptor;
  /**
   * Admission for another front-end (the REST gateway), in the same lanes
   * and counts: resolves when the call may start, with its ticket; or to
   * the refusal, at once or when its deadline comes before a slot does.
   */
  enter(connectionKey: string, path: string, deadlineMs: number): Promise<Ticket | { retryAfterMs: number; message: string }>;
}

export function admissionControl(opts: AdmissionInterceptorOptions): AdmissionControl {
  const s = opts.settings;
  const clients = new Admission(s);
  const operators = new Admission({ nodeCalls: s.operatorCalls, nodeQueue: s.operatorQueue, connectionCalls: s.operatorCalls, connectionQueue: s.operatorQueue, retryAfterMs: s.retryAfterMs });
  const laneOf = (path: string) => (OPERATOR_PATHS.has(path) ? operators : clients);
  const relaySockets = new WeakMap<object, boolean>();
  const isRelaySocket = (socket: TLSSocket): boolean => {
    let relay = relaySockets.get(socket);
    if (relay === undefined) {
      relay = socket.authorized === true && identityOfCertificate(socket.getPeerCertificate())?.kind === 'node';
      relaySockets.set(socket, relay);
    }
    return relay;
  };
  const refusedStatus = (lane: Admission, refusal: Refusal): grpc.StatusObject => {
    const l = lane.limits;
    const limit = refusal.limit === 'node' ? `${l.nodeCalls} calls in progress and ${l.nodeQueue} waiting` : `${l.connectionCalls} calls in progress and ${l.connectionQueue} waiting from one connection`;
    const wait = Math.ceil(refusal.retryAfterMs);
    return throttledStatus(wait, `node ${opts.nodeId} is at its limit of ${limit}; retry after ${wait} ms`, opts.responseMetadata());
  };
  return {
    refuseEarly: (stream, headers) => {
      mark('stream');
      const path = headers[':path'] ?? '';
      const lane = laneOf(path);
      // The key grpc-js's getPeer gives the same connection, which the interceptor admits by.
      const socket = stream.session?.socket as TLSSocket | undefined;
      const peer = `${socket?.remoteAddress}:${socket?.remotePort}`;
      const refusal = lane.refusal(peer, socket !== undefined && isRelaySocket(socket));
      if (refusal === undefined) return false;
      opts.onRefused?.(path, peer);
      const status = refusedStatus(lane, refusal);
      // A trailers-only response, as grpc-js sends one; the request's DATA is read and dropped, so that
      // it does not hold the connection's flow-control window.
      stream.on('error', () => undefined);
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc+proto',
          'grpc-status': String(status.code),
          'grpc-message': encodeURI(status.details),
          ...status.metadata.toHttp2Headers(),
        },
        { endStream: true },
      );
      stream.resume();
      return true;
    },
    enter: async (key, path, deadlineMs) => {
      const lane = laneOf(path);
      let start!: () => void;
      const started = new Promise<'started'>((resolve) => (start = () => resolve('started')));
      const admitted = lane.admit(key, () => start());
      const refused = (refusal: Refusal) => {
        opts.onRefused?.(path, key);
        const status = refusedStatus(lane, refusal);
        return { retryAfterMs: Math.ceil(refusal.retryAfterMs), message: status.details };
      };
      if ('limit' in admitted) return refused(admitted);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), deadlineMs - Date.now())));
      const how = await Promise.race([started, expired]);
      clearTimeout(timer);
      if (how === 'started') return admitted;
      // Still waiting at its deadline: it leaves the queue, told when to come back like any refusal.
      admitted.release();
      return refused({ limit: 'node', retryAfterMs: s.retryAfterMs });
    },
    interceptor: (method, call) => {
      mark('admission');
      const lane = laneOf(method.path);
      let ticket: Ticket | undefined;
      return new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, nextMetadata) => {
              const admitted = lane.admit(call.getPeer(), () => nextMetadata(metadata), identityOf(call)?.kind === 'node');
              if (!('limit' in admitted)) {
                ticket = admitted;
                return;
              }
              opts.onRefused?.(method.path, call.getPeer());
              call.sendStatus(refusedStatus(lane, admitted));
            },
            onCancel: () => ticket?.release(),
          }),
      });
    },
  };
}
