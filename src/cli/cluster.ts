// keyraft cluster status | failover | failback | rotate-master-key

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

  cluster
    .command('rotate-master-key')
    .description('rewraps every data key under the new master key, once every node runs with it and the previous key (scripts/rotate-master-key.sh does both)')
    .action(async (_o: unknown, cmd: Command) => {
      ctx.deps.stderr('checking that every node holds the new master key, then rewrapping the data keys...');
      const r = await ctx.api(cmd).rotateMasterKey();
      const unreached = r.unreachableNodes.length > 0 ? `; not reached (they apply it when back): ${r.unreachableNodes.join(', ')}` : '';
      ctx.print(cmd, {
        json: toProtoJson('keyraft.v1.RotateMasterKeyResponse', r),
        table: () => `${r.dataKeys} data keys rewrapped under master key ${r.masterKeyFingerprint}; checked ${r.checkedNodes.join(', ')}${unreached}`,
      });
    });
}
