// Every unary operation of the public API (package keyraft.v1), by the
// RPC's path (/keyraft.v1.Secrets/SetSecret): the one table that every
// front-end runs.

import type { CommandRunner } from '../command-runner.js';
import type { AppDeps } from '../deps.js';
import type { Operation, OperationTable } from '../operation.js';
import { clusterOperations } from './cluster.js';
import { dataKeyOperations } from './datakeys.js';
import { keyOperations } from './keys.js';
import { masterKeyOperations } from './masterkey.js';
import { principalOperations } from './principals.js';
import { secretOperations } from './secrets.js';
import { vaultOperations } from './vaults.js';

export function apiOperations(deps: AppDeps, runner: CommandRunner): ReadonlyMap<string, Operation> {
  const services: Record<string, OperationTable> = {
    Vaults: vaultOperations(deps, runner),
    Secrets: secretOperations(deps, runner),
    Keys: keyOperations(deps, runner),
    Cluster: {
      ...clusterOperations(deps),
      ...principalOperations(deps, runner),
      ...masterKeyOperations(deps, runner),
      ...dataKeyOperations(deps, runner),
    },
  };
  return new Map(Object.entries(services).flatMap(([service, table]) => Object.entries(table).map(([rpc, op]) => [`/keyraft.v1.${service}/${rpc}`, op])));
}
