// Output of `secret backup` and `key backup`: the blob as base64url, or
// written to a new file with a line saying where.

import type { Command } from 'commander';
import { toProtoJson } from '../client/index.js';
import type { CliContext } from './context.js';

export async function printBackup(
  ctx: CliContext,
  cmd: Command,
  responseType: 'keyraft.v1.BackupSecretResponse' | 'keyraft.v1.BackupKeyResponse',
  what: string,
  response: { value: Uint8Array },
  file: string | undefined,
): Promise<void> {
  if (file === undefined) {
    const json = toProtoJson(responseType, response);
    ctx.print(cmd, { json, table: () => String(json['value']) });
    return;
  }
  await ctx.deps.writeFile(file, response.value);
  ctx.print(cmd, {
    json: { file, bytes: response.value.length },
    table: () => `Backup of ${what} written to ${file} (${response.value.length} bytes)`,
  });
}
