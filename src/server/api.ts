// The public API (package keyraft.v1) as grpc-js service definitions, loaded
// from the .proto files; the same package definition feeds server reflection.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { API_FILES, GRPC_LOADER_OPTIONS } from '../protos.js';

export const apiPackageDefinition = protoLoader.loadSync(API_FILES, GRPC_LOADER_OPTIONS);

type ServiceName = 'Vaults' | 'Secrets' | 'Keys' | 'Cluster';

const loaded = grpc.loadPackageDefinition(apiPackageDefinition) as unknown as {
  keyraft: { v1: Record<ServiceName, grpc.ServiceClientConstructor> };
};

/** Stands for a request whose bytes did not decode; handlers answer INVALID_ARGUMENT. */
export const UNDECODABLE_REQUEST = Object.freeze({ undecodable: true });

/**
 * The service as the server registers it: a request that does not decode
 * becomes UNDECODABLE_REQUEST instead of an exception, which grpc-js would
 * report as INTERNAL — and garbage from a client is the client's mistake.
 */
export function apiService(name: ServiceName): grpc.ServiceDefinition {
  const service = loaded.keyraft.v1[name].service;
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(service)) {
    guarded[method] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return def.requestDeserialize(bytes);
        } catch {
          return UNDECODABLE_REQUEST;
        }
      },
    };
  }
  return guarded;
}

export function apiClient(name: ServiceName): grpc.ServiceClientConstructor {
  return loaded.keyraft.v1[name];
}
