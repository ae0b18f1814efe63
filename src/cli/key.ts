// keyraft key create|import|show|list|list-versions|update|rotate|delete|
// recover|purge|backup|restore|list-deleted|show-deleted, with az keyvault's
// flags. Nothing private is ever printed: the API hands out public keys only,
// and every key is passed through publicJwk before it is shown regardless.

import type { Command } from 'commander';
import {
  KeyraftError,
  parseJwk,
  publicJwk,
  toProtoJson,
  type DeletedKey,
  type JsonWebKeyInput,
  type Key,
  type KeyProperties,
  type Tags,
  type UpdateKeyPropertiesRequest,
} from '../client/index.js';
import { deletedKeyListTable, deletedKeyTable, keyListTable, keyTable } from './format.js';
import { parseBool, parseCurve, parseIntIn, parseKty, parseOps, parseTag, parseTime, UsageError } from './parse.js';
import { printBackup } from './backup.js';
import type { CliContext, CommandOutput } from './context.js';

export interface KeyRefOptions {
  vaultName: string;
  name: string;
}

interface Attributes {
  tags?: Tags;
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
  ops?: string[];
}

const CREATE_HELP = `
RSA: --size 2048 (default), 3072 or 4096; public exponent 65537.
EC: --curve P-256 (default), P-384, P-521 or P-256K.
oct: --size 128, 192 or 256 (default).
Without --ops the key allows every operation its type permits.`;

export function withKeyRef(cmd: Command, name = true): Command {
  cmd.requiredOption('--vault-name <vault>', 'vault name');
  if (name) cmd.requiredOption('-n, --name <name>', 'key name');
  return cmd;
}

function withAttributes(cmd: Command): Command {
  return cmd
    .option('--ops <op...>', 'permitted operations, comma- or space-separated: encrypt, decrypt, sign, verify, wrapKey, unwrapKey', parseOps)
    .option('--tags <key=value...>', 'space-separated tags ("" for none)', parseTag)
    .option('--enabled <bool>', 'whether the version can be used (true|false)', parseBool)
    .option('--not-before <time>', 'not usable before this time (ISO 8601 or Unix seconds)', parseTime)
    .option('--expires <time>', 'not usable after this time (ISO 8601 or Unix seconds)', parseTime);
}

function withExportable(cmd: Command): Command {
  return cmd.option('--exportable [bool]', 'mark the key exportable (default false)', parseBool);
}

/** Defence in depth: whatever a server sends, no private member reaches the output. */
function safe(k: Key): Key {
  return { properties: k.properties, key: publicJwk(k.key) };
}

export function keyOutput(k: Key): CommandOutput {
  const s = safe(k);
  return { json: toProtoJson('keyraft.v1.Key', s), table: () => keyTable(s) };
}

function deletedOutput(d: DeletedKey): CommandOutput {
  const s = { ...d, key: safe(d.key) };
  return { json: toProtoJson('keyraft.v1.DeletedKey', s), table: () => deletedKeyTable(s) };
}

function listOutput(keys: KeyProperties[]): CommandOutput {
  return { json: toProtoJson('keyraft.v1.ListKeyPropertiesResponse', { keys, nextPageToken: '' }), table: () => keyListTable(keys) };
}

async function readJwk(ctx: CliContext, path: string): Promise<JsonWebKeyInput> {
  try {
    return parseJwk((await ctx.deps.readFile(path)).toString('utf8'));
  } catch (e) {
    // A malformed file is the caller's mistake (exit 2), not the server's refusal.
    if (e instanceof KeyraftError && e.reason === 'BAD_JWK') throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Registers the `key` group and its management commands; key-crypto.ts adds the operations. */
export function registerKey(program: Command, ctx: CliContext): Command {
  const key = program.command('key').description('manage keys and use them (private parts never leave the vault)');

  const create = withKeyRef(key.command('create').description('generate a key in the vault, or a new version of it'))
    .option('--kty <type>', 'RSA, EC or oct (default: EC when --curve is given, else RSA)', parseKty)
    .option('--size <bits>', 'key size in bits (RSA and oct)', parseIntIn(1, 16384))
    .option('--curve <name>', 'elliptic curve (EC)', parseCurve);
  withExportable(withAttributes(create))
    .addHelpText('after', CREATE_HELP)
    .action(async (o: KeyRefOptions & Attributes & { kty?: string; size?: number; curve?: string; exportable?: boolean }, cmd: Command) => {
      const k = await ctx.api(cmd).createKey({
        vault: o.vaultName,
        name: o.name,
        kty: o.kty ?? (o.curve !== undefined ? 'EC' : 'RSA'),
        keySize: o.size ?? 0,
        curve: o.curve ?? '',
        keyOps: o.ops ?? [],
        enabled: o.enabled,
        notBefore: o.notBefore ?? 0,
        expires: o.expires ?? 0,
        tags: o.tags ?? {},
        exportable: o.exportable === true,
      });
      ctx.print(cmd, keyOutput(k));
    });

  withExportable(withAttributes(withKeyRef(key.command('import').description('import a private key, or a new version of it'))))
    .requiredOption('-f, --file <path>', 'a JWK (RFC 7517 JSON, base64url members) or an unencrypted PEM private key; - for standard input')
    .addHelpText('after', '\n--ops, when given, replaces the JWK\'s key_ops.')
    .action(async (o: KeyRefOptions & Attributes & { file: string; exportable?: boolean }, cmd: Command) => {
      const jwk = await readJwk(ctx, o.file);
      if (o.ops !== undefined) jwk.keyOps = o.ops;
      const k = await ctx.api(cmd).importKey({
        vault: o.vaultName,
        name: o.name,
        key: jwk,
        enabled: o.enabled,
        notBefore: o.notBefore ?? 0,
        expires: o.expires ?? 0,
        tags: o.tags ?? {},
        exportable: o.exportable === true,
      });
      ctx.print(cmd, keyOutput(k));
    });

  withKeyRef(key.command('show').description("a key's properties and its public key (JWK)"))
    .option('--version <id>', 'a version id (default: the latest)')
    .action(async (o: KeyRefOptions & { version?: string }, cmd: Command) => {
      ctx.print(cmd, keyOutput(await ctx.api(cmd).getKey({ vault: o.vaultName, name: o.name, version: o.version ?? '' })));
    });

  withKeyRef(key.command('list').description('the latest version of every key'), false).action(async (o: { vaultName: string }, cmd: Command) => {
    const all: KeyProperties[] = [];
    for await (const p of ctx.api(cmd).listAllKeys(o.vaultName)) all.push(p);
    ctx.print(cmd, listOutput(all));
  });

  withKeyRef(key.command('list-versions').description('every version of a key')).action(async (o: KeyRefOptions, cmd: Command) => {
    const all: KeyProperties[] = [];
    for await (const p of ctx.api(cmd).listAllKeyVersions(o.vaultName, o.name)) all.push(p);
    ctx.print(cmd, listOutput(all));
  });

  withAttributes(withKeyRef(key.command('update').description("change a version's attributes, operations or tags (never its material)")))
    .option('--version <id>', 'a version id (default: the latest)')
    .action(async (o: KeyRefOptions & Attributes & { version?: string }, cmd: Command) => {
      const req: UpdateKeyPropertiesRequest = { vault: o.vaultName, name: o.name, version: o.version ?? '' };
      if (o.enabled !== undefined) req.enabled = o.enabled;
      if (o.notBefore !== undefined) req.notBefore = o.notBefore;
      if (o.expires !== undefined) req.expires = o.expires;
      if (o.ops !== undefined) req.keyOps = { keyOps: o.ops };
      if (o.tags !== undefined) req.tags = { tags: o.tags };
      if (Object.keys(req).length === 3) throw new UsageError('nothing to update: give --ops, --tags, --enabled, --not-before or --expires');
      ctx.print(cmd, keyOutput(await ctx.api(cmd).updateKeyProperties(req)));
    });

  withKeyRef(key.command('rotate').description('a new version with the same type and size')).action(async (o: KeyRefOptions, cmd: Command) => {
    ctx.print(cmd, keyOutput(await ctx.api(cmd).rotateKey({ vault: o.vaultName, name: o.name })));
  });

  withKeyRef(key.command('delete').description("delete every version (soft: recoverable for the vault's retention)")).action(
    async (o: KeyRefOptions, cmd: Command) => {
      ctx.print(cmd, deletedOutput(await ctx.api(cmd).deleteKey({ vault: o.vaultName, name: o.name })));
    },
  );

  withKeyRef(key.command('recover').description('bring a deleted key back')).action(async (o: KeyRefOptions, cmd: Command) => {
    ctx.print(cmd, keyOutput(await ctx.api(cmd).recoverDeletedKey({ vault: o.vaultName, name: o.name })));
  });

  withKeyRef(key.command('purge').description('erase a deleted key for good')).action(async (o: KeyRefOptions, cmd: Command) => {
    const r = await ctx.api(cmd).purgeDeletedKey({ vault: o.vaultName, name: o.name });
    ctx.print(cmd, { json: toProtoJson('keyraft.v1.PurgeDeletedKeyResponse', r), table: () => '' });
  });

  withKeyRef(key.command('backup').description('an encrypted blob with every version'))
    .option('-f, --file <path>', 'write the blob to this new file (default: print it as base64url)')
    .action(async (o: KeyRefOptions & { file?: string }, cmd: Command) => {
      const r = await ctx.api(cmd).backupKey({ vault: o.vaultName, name: o.name });
      await printBackup(ctx, cmd, 'keyraft.v1.BackupKeyResponse', `${o.vaultName}/${o.name}`, r, o.file);
    });

  withKeyRef(key.command('restore').description('restore a backup into a vault (refused if the name exists)'), false)
    .requiredOption('-f, --file <path>', 'the backup file (- for standard input)')
    .action(async (o: { vaultName: string; file: string }, cmd: Command) => {
      const backup = await ctx.deps.readFile(o.file);
      ctx.print(cmd, keyOutput(await ctx.api(cmd).restoreKey({ vault: o.vaultName, backup })));
    });

  withKeyRef(key.command('list-deleted').description('deleted keys that can still be recovered'), false).action(
    async (o: { vaultName: string }, cmd: Command) => {
      const all: DeletedKey[] = [];
      for await (const d of ctx.api(cmd).listAllDeletedKeys(o.vaultName)) all.push({ ...d, key: safe(d.key) });
      ctx.print(cmd, {
        json: toProtoJson('keyraft.v1.ListDeletedKeysResponse', { keys: all, nextPageToken: '' }),
        table: () => deletedKeyListTable(all),
      });
    },
  );

  withKeyRef(key.command('show-deleted').description('a deleted key and its public key')).action(async (o: KeyRefOptions, cmd: Command) => {
    ctx.print(cmd, deletedOutput(await ctx.api(cmd).getDeletedKey({ vault: o.vaultName, name: o.name })));
  });

  return key;
}
