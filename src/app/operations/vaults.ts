// keyraft.v1.Vaults: writes go through the leader's log; reads are
// linearizable (ReadIndex) and served from this node's applied state.

import {
  type CreateVaultRequest,
  type ListRequest,
  validateCreateVaultRequest,
  validateListRequest,
  validateRequestId,
  validateVaultName,
} from '../../vault/index.js';
import { type CommandRunner, expectResult } from '../command-runner.js';
import type { AppDeps } from '../deps.js';
import { FAILOVER_READ, type OperationTable, read, write } from '../operation.js';

export function vaultOperations(deps: AppDeps, runner: CommandRunner): OperationTable {
  const { ctx } = deps;
  const state = () => deps.app.state;
  const linearize = async (timeoutMs: number) => ctx.replica.linearizableRead(timeoutMs);

  return {
    CreateVault: write(async (req: CreateVaultRequest, timeoutMs, receipt) => {
      const v = validateCreateVaultRequest(req);
      const result = await runner.run(
        v.requestId,
        { op: 'createVault', createVault: { name: v.name, softDeleteRetentionDays: v.softDeleteRetentionDays, purgeProtection: v.purgeProtection } },
        timeoutMs,
        receipt,
      );
      return expectResult(result, 'vault').vault;
    }),
    GetVault: read(async (req: { name: string }, timeoutMs) => {
      const name = validateVaultName(req.name);
      await linearize(timeoutMs);
      return state().getVault(name);
    }, FAILOVER_READ),
    ListVaults: read(async (req: ListRequest, timeoutMs) => {
      const l = validateListRequest(req);
      await linearize(timeoutMs);
      return state().listVaults(l.pageSize, l.pageToken);
    }, FAILOVER_READ),
    DeleteVault: write(async (req: { name: string; requestId?: string }, timeoutMs, receipt) => {
      const name = validateVaultName(req.name);
      const result = await runner.run(validateRequestId(req.requestId), { op: 'deleteVault', deleteVault: { name } }, timeoutMs, receipt);
      return { vault: expectResult(result, 'vault').vault };
    }),
  };
}
