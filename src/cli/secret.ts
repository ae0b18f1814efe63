// keyraft secret set|show|list|list-versions|update|delete|recover|purge|
// backup|restore|list-deleted|show-deleted, with az keyvault's flags.
// Only `secret show` ever prints a value.

import { Option, type Command } from 'commander';
import { toProtoJson, type DeletedSecret, type SecretProperties, type Tags, type UpdateSecretPropertiesRequest } from '../client/index.js';
import {
  deletedSecretListTable,
  deletedSecretTable,
  secretListTable,
  secretPropertiesTable,
  secretTable,
} from './format.js';
import { parseBool, parseTag, parseTime, UsageError } from './parse.js';
import { printBackup } from './backup.js';
import type { CliContext, CommandOutput } from './context.js';

interface Ref {
  vaultName: string;
  name: string;
}

interface Attributes {
  contentType?: string;
  tags?: Tags;
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
}

function withRef(cmd: Command, name = true): Command {
  cmd.requiredOption('--vault-name <vault>', 'vault name');
  if (name) cmd.requiredOption('-n, --name <name>', 'secret name');
  return cmd;
}

function withAttributes(cmd: Command): Command {
  return cmd
    .option('--content-type <type>', 'a hint of what the value is, e.g. text/plain')
    .option('--tags <key=value...>', 'space-separated tags ("" for none)', parseTag)
    .option('--enabled <bool>', 'whether the version can be read (true|false)', parseBool)
    .option('--not-before <time>', 'not usable before this time (ISO 8601 or Unix seconds)', parseTime)
    .option('--expires <time>', 'not usable after this time (ISO 8601 or Unix seconds)', parseTime);
}

function utf8(bytes: Buffer, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Decoding leniently would store replacement characters in place of the real secret.
    throw new UsageError(`${path} is not UTF-8 text; a secret value is a string`);
  }
}

function properties(p: SecretProperties): CommandOutput {
  return { json: toProtoJson('keyraft.v1.SecretProperties', p), table: () => secretPropertiesTable(p) };
}

function deleted(d: DeletedSecret): CommandOutput {
  return { json: toProtoJson('keyraft.v1.DeletedSecret', d), table: () => deletedSecretTable(d) };
}

function propertyList(secrets: SecretProperties[]): CommandOutput {
  return {
    json: toProtoJson('keyraft.v1.ListSecretPropertiesResponse', { secrets, nextPageToken: '' }),
    table: () => secretListTable(secrets),
  };
}

export function registerSecret(program: Command, ctx: CliContext): void {
  const secret = program.command('secret').description('manage secrets');

  withAttributes(withRef(secret.command('set').description('create a secret, or a new version of it')))
    .addOption(new Option('--value <value>', 'the value').conflicts('file'))
    .addOption(new Option('-f, --file <path>', 'read the value from a UTF-8 file (- for standard input)').conflicts('value'))
    .action(async (o: Ref & Attributes & { value?: string; file?: string }, cmd: Command) => {
      let value = o.value;
      if (value === undefined) {
        if (o.file === undefined) throw new UsageError('give the value with --value or --file');
        value = utf8(await ctx.deps.readFile(o.file), o.file);
      }
      const s = await ctx.api(cmd).setSecret({
        vault: o.vaultName,
        name: o.name,
        value,
        contentType: o.contentType ?? '',
        tags: o.tags ?? {},
        enabled: o.enabled,
        notBefore: o.notBefore ?? 0,
        expires: o.expires ?? 0,
      });
      // The response repeats the value; only `secret show` prints one.
      const json = toProtoJson('keyraft.v1.Secret', { properties: s.properties });
      delete json['value'];
      ctx.print(cmd, { json, table: () => secretPropertiesTable(s.properties) });
    });

  withRef(secret.command('show').description('show a secret, its value included'))
    .option('--version <id>', 'a version id (default: the latest)')
    .action(async (o: Ref & { version?: string }, cmd: Command) => {
      const s = await ctx.api(cmd).getSecret({ vault: o.vaultName, name: o.name, version: o.version ?? '' });
      ctx.print(cmd, { json: toProtoJson('keyraft.v1.Secret', s), table: () => secretTable(s) });
    });

  withRef(secret.command('list').description('the latest version of every secret (never values)'), false).action(
    async (o: { vaultName: string }, cmd: Command) => {
      const all: SecretProperties[] = [];
      for await (const p of ctx.api(cmd).listAllSecrets(o.vaultName)) all.push(p);
      ctx.print(cmd, propertyList(all));
    },
  );

  withRef(secret.command('list-versions').description('every version of a secret (never values)')).action(
    async (o: Ref, cmd: Command) => {
      const all: SecretProperties[] = [];
      for await (const p of ctx.api(cmd).listAllSecretVersions(o.vaultName, o.name)) all.push(p);
      ctx.print(cmd, propertyList(all));
    },
  );

  withAttributes(withRef(secret.command('update').description("change a version's attributes or tags (not its value)")))
    .option('--version <id>', 'a version id (default: the latest)')
    .action(async (o: Ref & Attributes & { version?: string }, cmd: Command) => {
      const req: UpdateSecretPropertiesRequest = { vault: o.vaultName, name: o.name, version: o.version ?? '' };
      if (o.contentType !== undefined) req.contentType = o.contentType;
      if (o.enabled !== undefined) req.enabled = o.enabled;
      if (o.notBefore !== undefined) req.notBefore = o.notBefore;
      if (o.expires !== undefined) req.expires = o.expires;
      if (o.tags !== undefined) req.tags = { tags: o.tags };
      if (Object.keys(req).length === 3) {
        throw new UsageError('nothing to update: give --content-type, --tags, --enabled, --not-before or --expires');
      }
      ctx.print(cmd, properties(await ctx.api(cmd).updateSecretProperties(req)));
    });

  withRef(secret.command('delete').description("delete every version (soft: recoverable for the vault's retention)")).action(
    async (o: Ref, cmd: Command) => {
      ctx.print(cmd, deleted(await ctx.api(cmd).deleteSecret({ vault: o.vaultName, name: o.name })));
    },
  );

  withRef(secret.command('recover').description('bring a deleted secret back')).action(async (o: Ref, cmd: Command) => {
    ctx.print(cmd, properties(await ctx.api(cmd).recoverDeletedSecret({ vault: o.vaultName, name: o.name })));
  });

  withRef(secret.command('purge').description('erase a deleted secret for good')).action(async (o: Ref, cmd: Command) => {
    const r = await ctx.api(cmd).purgeDeletedSecret({ vault: o.vaultName, name: o.name });
    ctx.print(cmd, { json: toProtoJson('keyraft.v1.PurgeDeletedSecretResponse', r), table: () => '' });
  });

  withRef(secret.command('backup').description('an encrypted blob with every version'))
    .option('-f, --file <path>', 'write the blob to this new file (default: print it as base64url)')
    .action(async (o: Ref & { file?: string }, cmd: Command) => {
      const r = await ctx.api(cmd).backupSecret({ vault: o.vaultName, name: o.name });
      await printBackup(ctx, cmd, 'keyraft.v1.BackupSecretResponse', `${o.vaultName}/${o.name}`, r, o.file);
    });

  withRef(secret.command('restore').description('restore a backup into a vault (refused if the name exists)'), false)
    .requiredOption('-f, --file <path>', 'the backup file (- for standard input)')
    .action(async (o: { vaultName: string; file: string }, cmd: Command) => {
      const backup = await ctx.deps.readFile(o.file);
      ctx.print(cmd, properties(await ctx.api(cmd).restoreSecret({ vault: o.vaultName, backup })));
    });

  withRef(secret.command('list-deleted').description('deleted secrets that can still be recovered'), false).action(
    async (o: { vaultName: string }, cmd: Command) => {
      const all: DeletedSecret[] = [];
      for await (const d of ctx.api(cmd).listAllDeletedSecrets(o.vaultName)) all.push(d);
      ctx.print(cmd, {
        json: toProtoJson('keyraft.v1.ListDeletedSecretsResponse', { secrets: all, nextPageToken: '' }),
        table: () => deletedSecretListTable(all),
      });
    },
  );

  withRef(secret.command('show-deleted').description('a deleted secret (never its value)')).action(async (o: Ref, cmd: Command) => {
    ctx.print(cmd, deleted(await ctx.api(cmd).getDeletedSecret({ vault: o.vaultName, name: o.name })));
  });
}
