// keyraft cluster status|failover|failback|snapshot save|rotate-master-key, cluster member (member.ts)
// and the data-key commands (datakeys.ts)

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { toProtoJson } from '../client/index.js';
import { clusterTables, fieldTable } from './format.js';
import { registerMember } from './member.js';
import { UsageError } from './parse.js';
import { registerDataKeys } from './datakeys.js';
import type { CliContext } from './context.js';

export function registerCluster(program: Command, ctx: CliContext): void {
  const cluster = program.command('cluster').description('inspect the cluster');
  registerMember(cluster, ctx);

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
    .command('snapshot')
    .description('backups of the whole cluster')
    .command('save')
    .description('write a consistent, encrypted snapshot of the whole state to FILE (restore with scripts/restore-cluster.sh FILE)')
    .argument('<file>', 'where to write it; must not exist')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      // A backup is never overwritten by the next one by mistake.
      if (existsSync(file)) throw new UsageError(`${file} exists; refusing to overwrite it`);
      let shownAt = 0;
      const summary = await ctx.api(cmd).saveSnapshot(file, {
        onProgress: (bytes, chunk) => {
          if (Date.now() - shownAt < PROGRESS_EVERY_MS) return;
          shownAt = Date.now();
          ctx.deps.stderr(`snapshot at index ${chunk.index}: ${chunk.recordCount} records, ${bytes} bytes written so far`);
        },
      });
      ctx.deps.stderr(`snapshot saved to ${file}`);
      ctx.print(cmd, {
        json: summary,
        table: () => fieldTable([['File', summary.file], ['Index', summary.index], ['Term', summary.term], ['Records', summary.recordCount], ['Bytes', summary.bytes]]),
      });
    });

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
  registerDataKeys(cluster, ctx);
}

const PROGRESS_EVERY_MS = 1000;
