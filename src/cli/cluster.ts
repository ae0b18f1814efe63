// keyraft cluster status|failover|failback, and the data-key commands (datakeys.ts)

import type { Command } from 'commander';
import { toProtoJson } from '../client/index.js';
import { registerDataKeys } from './datakeys.js';
import { clusterTables } from './format.js';
import type { CliContext } from './program.js';

export function registerCluster(program: Command, ctx: CliContext): void {
  const cluster = program.command('cluster').description('inspect the cluster');

  cluster
    .command('status')
    .description('every node and region as the answering node sees them')
    .action(async (_o: unknown, cmd: Command) => {
      const s = await ctx.api(cmd).getStatus();
      ctx.print(cmd, { json: toProtoJson('keyraft.v1.ClusterStatus', s), table: () => clusterTables(s) });
    });

  for (const [name, description] of [
    ['failover', 'a drill: the secondary region takes over in read-only mode now, and stays so until `cluster failback`'],
    ['failback', 'the secondary region returns to standby; writes go to the primary region again'],
  ] as const) {
    cluster
      .command(name)
      .description(description)
      .option('--reason <text>', 'why, for the status and the logs')
      .action(async (o: { reason?: string }, cmd: Command) => {
        const api = ctx.api(cmd);
        const region = name === 'failover' ? await api.failover({ reason: o.reason }) : await api.failback({ reason: o.reason });
        ctx.print(cmd, { json: toProtoJson('keyraft.v1.RegionStatus', region), table: () => `${region.name}: ${region.mode}${region.manual ? ' (manual)' : ''}, epoch ${region.epoch}` });
      });
  }
  registerDataKeys(cluster, ctx);
}
