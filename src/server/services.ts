// Wires the public services (package keyraft.v1) to their handlers: every
// unary RPC is the application layer's operation of the same path
// (src/app/operations), the one SaveSnapshot stream is gRPC's own.

import type * as grpc from '@grpc/grpc-js';
import type { Dispatcher } from '../app/dispatch.js';
import type { ClusterSnapshots } from '../ops/cluster-snapshot.js';
import { apiService } from './api.js';
import type { GrpcForwarder } from './forwarder.js';
import { type ServerContext, streamHandler, unaryHandler } from './handler.js';

export interface ServiceDeps {
  readonly ctx: ServerContext;
  readonly dispatcher: Dispatcher;
  /** Relays a stream from the primary, for a STANDBY secondary. */
  readonly forwarder: GrpcForwarder;
  /** Backups of the whole state (Cluster.SaveSnapshot). */
  readonly snapshots: ClusterSnapshots;
}

export function registerPublicServices(server: grpc.Server, deps: ServiceDeps): void {
  const { ctx, dispatcher, forwarder } = deps;
  const streams: Readonly<Record<string, (request: unknown, timeoutMs: number) => AsyncIterable<unknown>>> = {
    '/keyraft.v1.Cluster/SaveSnapshot': (_req, timeoutMs) => deps.snapshots.save(timeoutMs),
  };
  for (const name of ['Vaults', 'Secrets', 'Keys', 'Cluster'] as const) {
    const service = apiService(name);
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [rpc, method] of Object.entries(service)) {
      const stream = streams[method.path];
      // A method without its implementation is our bug: the node does not start.
      if (method.responseStream ? stream === undefined : !dispatcher.serves(method.path)) throw new Error(`nothing serves ${method.path}`);
      handlers[rpc] = stream === undefined ? unaryHandler(dispatcher, ctx, method.path) : streamHandler(ctx, forwarder, method, stream);
    }
    server.addService(service, handlers);
  }
}
