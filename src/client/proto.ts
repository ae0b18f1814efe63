// The public API's method definitions, loaded from the .proto files with the
// same proto-loader options as the server, so both sides see identical shapes
// (camelCase, int64 as number, enums as strings, defaults filled in).

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { API_FILES, GRPC_LOADER_OPTIONS } from '../protos.js';

export type ServiceName = 'Vaults' | 'Secrets' | 'Keys' | 'Cluster';

// Typed loosely on purpose: each SDK method names its request and response types.
export type AnyMethod = grpc.MethodDefinition<object, object>;

let services: Record<ServiceName, grpc.ServiceDefinition> | undefined;

function load(): Record<ServiceName, grpc.ServiceDefinition> {
  if (services === undefined) {
    const def = protoLoader.loadSync(API_FILES, GRPC_LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      keyraft: { v1: Record<ServiceName, grpc.ServiceClientConstructor> };
    };
    const v1 = pkg.keyraft.v1;
    services = { Vaults: v1.Vaults.service, Secrets: v1.Secrets.service, Keys: v1.Keys.service, Cluster: v1.Cluster.service };
  }
  return services;
}

/** The definition of `service.method` (method as in the .proto, e.g. SetSecret). */
export function methodDefinition(service: ServiceName, method: string): AnyMethod {
  const m = load()[service][method];
  if (m === undefined) throw new Error(`keyraft.v1.${service} has no method ${method}`);
  return m as AnyMethod;
}
