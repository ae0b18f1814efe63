// keyraft vault create|show|list|delete

import type { Command } from 'commander';
import { toProtoJson, type Vault } from '../client/index.js';
import { vaultListTable, vaultTable } from './format.js';
import { parseIntIn } from './parse.js';
import type { CliContext } from './context.js';

export function registerVault(program: Command, ctx: CliContext): void {
  const vault = program.command('vault').description('manage vaults');

  vault
    .command('create')
    .description('create a vault')
    .requiredOption('-n, --name <name>', 'vault name: 3-24 characters, letters, digits and -')
    .option('--retention-days <days>', 'soft-delete retention, 7-90 (default 90)', parseIntIn(7, 90))
    .option('--purge-protection', 'refuse purges until the retention period has passed')
    .action(async (o: { name: string; retentionDays?: number; purgeProtection?: boolean }, cmd: Command) => {
      const v = await ctx.api(cmd).createVault({
        name: o.name,
        softDeleteRetentionDays: o.retentionDays ?? 0,
        purgeProtection: o.purgeProtection === true,
      });
      ctx.print(cmd, showVault(v));
    });

  vault
    .command('show')
    .description("show a vault's properties")
    .requiredOption('-n, --name <name>', 'vault name')
    .action(async (o: { name: string }, cmd: Command) => {
      ctx.print(cmd, showVault(await ctx.api(cmd).getVault({ name: o.name })));
    });

  vault
    .command('list')
    .description('list vaults')
    .action(async (_o: unknown, cmd: Command) => {
      const vaults: Vault[] = [];
      for await (const v of ctx.api(cmd).listAllVaults()) vaults.push(v);
      ctx.print(cmd, {
        json: toProtoJson('keyraft.v1.ListVaultsResponse', { vaults, nextPageToken: '' }),
        table: () => vaultListTable(vaults),
      });
    });

  vault
    .command('delete')
    .description('delete an empty vault')
    .requiredOption('-n, --name <name>', 'vault name')
    .action(async (o: { name: string }, cmd: Command) => {
      const r = await ctx.api(cmd).deleteVault({ name: o.name });
      ctx.print(cmd, { json: toProtoJson('keyraft.v1.DeleteVaultResponse', r), table: () => vaultTable(r.vault) });
    });
}

function showVault(v: Vault): { json: unknown; table: () => string } {
  return { json: toProtoJson('keyraft.v1.Vault', v), table: () => vaultTable(v) };
}
