// keyraft cluster status

import type { Command } from 'commander';
import { toProtoJson } from '../client/index.js';
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
}
