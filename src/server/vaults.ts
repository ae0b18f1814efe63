// keyraft.v1.Vaults: writes go through the leader's log; reads are
// linearizable (ReadIndex) and served from this node's applied state.

import type * as grpc from '@grpc/grpc-js';
import {
  type CreateVaultRequest,
  type ListRequest,
  validateCreateVaultRequest,
  validateListRequest,
  validateRequestId,
  validateVaultName,
} from '../vault/index.js';
import { apiService } from './api.js';
import { type CommandRunner, FAILOVER_READ, type ServiceDeps, expectResult } from './services.js';

export function vaultHandlers(deps: ServiceDeps, runner: CommandRunner): grpc.UntypedServiceImplementation {
  const { ctx, router } = deps;
  const methods = apiService('Vaults');
  const state = () => deps.app.state;
  const read = async (timeoutMs: number) => ctx.replica.linearizableRead(timeoutMs);

  return {
    createVault: router.write(methods.CreateVault!, async (req: CreateVaultRequest, timeoutMs, receipt) => {
      const v = validateCreateVaultRequest(req);
      const result = await runner.run(
        v.requestId,
        { op: 'createVault', createVault: { name: v.name, softDeleteRetentionDays: v.softDeleteRetentionDays, purgeProtection: v.purgeProtection } },
        timeoutMs,
        receipt,
      );
      return expectResult(result, 'vault').vault;
    }),
    getVault: router.read(methods.GetVault!, async (req: { name: string }, timeoutMs) => {
      const name = validateVaultName(req.name);
      await read(timeoutMs);
      return state().getVault(name);
    }, FAILOVER_READ),
    listVaults: router.read(methods.ListVaults!, async (req: ListRequest, timeoutMs) => {
      const l = validateListRequest(req);
      await read(timeoutMs);
      return state().listVaults(l.pageSize, l.pageToken);
    }, FAILOVER_READ),
    deleteVault: router.write(methods.DeleteVault!, async (req: { name: string; requestId?: string }, timeoutMs, receipt) => {
      const name = validateVaultName(req.name);
      const result = await runner.run(validateRequestId(req.requestId), { op: 'deleteVault', deleteVault: { name } }, timeoutMs, receipt);
      return { vault: expectResult(result, 'vault').vault };
    }),
  };
}
