// keyraft cluster data-keys and keyraft cluster reseal: which data key seals
// what, and the background re-seal that moves every value to the active key.

import { InvalidArgumentError, type Command } from 'commander';
import { toProtoJson, type ListDataKeysResponse } from '../client/index.js';
import { listTable } from './format.js';
import { formatMs } from './principal.js';
import type { CliContext, CommandOutput } from './context.js';

/** A stop for a re-seal that makes no progress (every batch raced): the operator runs it again. */
const MAX_IDLE_BATCHES = 20;

function dataKeysOutput(r: ListDataKeysResponse): CommandOutput {
  return {
    json: toProtoJson('keyraft.v1.ListDataKeysResponse', r),
    table: () =>
      `${listTable(
        ['Key id', 'Active', 'Installed', 'Writes', 'Values'],
        r.dataKeys.map((k) => [k.keyId, k.active ? 'yes' : '', formatMs(k.installedMs), k.writes, k.values]),
      )}\nvalues to re-seal: ${r.valuesToReseal}`,
  };
}

function parseBatch(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('expected a whole number from 1 to 256.');
  return n;
}

export function registerDataKeys(cluster: Command, ctx: CliContext): void {
  cluster
    .command('data-keys')
    .description('the data keys: which is active, and how many stored values each seals')
    .action(async (_o: unknown, cmd: Command) => {
      ctx.print(cmd, dataKeysOutput(await ctx.api(cmd).listDataKeys()));
    });

  cluster
    .command('reseal')
    .description('seal every stored value under the active data key, in batches, while the cluster serves; safe to stop and run again')
    .option('--batch <n>', 'values per batch (1-256, default 256)', parseBatch)
    .action(async (o: { batch?: number }, cmd: Command) => {
      const api = ctx.api(cmd);
      let total = 0;
      let idle = 0;
      for (;;) {
        const r = await api.resealValues({ maxValues: o.batch });
        total += r.resealed;
        ctx.deps.stderr(`re-sealed ${total}, remaining ${r.remaining}\n`);
        if (r.remaining === 0) break;
        idle = r.resealed === 0 ? idle + 1 : 0;
        if (idle === MAX_IDLE_BATCHES) throw new Error(`no progress in ${MAX_IDLE_BATCHES} batches (values kept changing); ${r.remaining} remain: run it again`);
      }
      ctx.print(cmd, dataKeysOutput(await api.listDataKeys()));
    });
}
