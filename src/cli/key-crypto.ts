// keyraft key encrypt|decrypt|wrap|unwrap|sign|verify|random. Bytes go in
// and come out as base64url (standard base64 is accepted too) or, for
// binary data, as raw files: --value-file in, --out-file out.

import { Option, type Command } from 'commander';
import { digestFor, signatureHash, toProtoJson, type KeyOperationRequest, type KeyOperationResult } from '../client/index.js';
import { keyOperationResultTable } from './format.js';
import { withKeyRef, type KeyRefOptions } from './key.js';
import { parseAlgorithm, parseBase64, parseIntIn, UsageError } from './parse.js';
import type { CliContext, CommandOutput } from './context.js';

const RSA_CIPHERS = 'RSA-OAEP, RSA-OAEP-256 (RSA)';
const RSA1_5_REFUSED = 'RSA1_5 is refused here: Node.js disables PKCS#1 v1.5 decryption because of the Marvin attack.';

const OUT_FILE_HELP = 'write the raw output bytes to this new file (readable by you only) instead of printing them';
const IO_HELP = `
Bytes: --value takes base64url (or standard base64); --value-file F reads raw
bytes from F (- for standard input). Output is base64url; with --out-file F
the raw bytes go to F and only the rest (kid, iv, tag) is printed.`;

interface CipherSpec {
  command: string;
  method: 'encrypt' | 'decrypt' | 'wrapKey' | 'unwrapKey';
  description: string;
  input: string;
  algorithms: string;
  /** AES modes only: encrypt and decrypt take an IV and AAD, decrypt a GCM tag. */
  aes: 'none' | 'encrypt' | 'decrypt';
}

const CIPHERS: CipherSpec[] = [
  {
    command: 'encrypt', method: 'encrypt', description: 'encrypt a value with a key', input: 'the plaintext', aes: 'encrypt',
    algorithms: `${RSA_CIPHERS}, RSA1_5; A128GCM, A192GCM, A256GCM, A128CBCPAD, A192CBCPAD, A256CBCPAD (oct). For AES the vault picks a random IV, which is printed with the GCM tag: keep both for decrypt. Only AES-CBC takes --iv; AES-GCM refuses one, because a repeated IV under one key gives away the plaintexts.`,
  },
  {
    command: 'decrypt', method: 'decrypt', description: 'decrypt a value with a key', input: 'the ciphertext', aes: 'decrypt',
    algorithms: `${RSA_CIPHERS}; A128GCM, A192GCM, A256GCM (give --iv, --tag and any --aad), A128CBCPAD, A192CBCPAD, A256CBCPAD (give --iv) (oct). ${RSA1_5_REFUSED}`,
  },
  {
    command: 'wrap', method: 'wrapKey', description: 'wrap (encrypt) a key with a key', input: 'the key to wrap', aes: 'none',
    algorithms: `${RSA_CIPHERS}, RSA1_5; A128KW, A192KW, A256KW (oct).`,
  },
  {
    command: 'unwrap', method: 'unwrapKey', description: 'unwrap a wrapped key', input: 'the wrapped key', aes: 'none',
    algorithms: `${RSA_CIPHERS}; A128KW, A192KW, A256KW (oct). ${RSA1_5_REFUSED}`,
  },
];

const SIGN_ALGORITHMS = 'RS256, RS384, RS512, PS256, PS384, PS512 (RSA); ES256, ES384, ES512, ES256K (EC)';
const DIGEST_HELP = `
Like Azure Key Vault, keyraft signs a digest, not the data: give the digest
with --digest (SHA-256 for RS256/PS256/ES256/ES256K, SHA-384 for RS384/PS384/
ES384, SHA-512 for RS512/PS512/ES512), or give the data with --data-file F
(- for standard input) and the CLI hashes it with the matching hash, so the
data itself never leaves this machine. EC signatures are JOSE-style R||S.`;

interface OpOptions extends KeyRefOptions {
  algorithm: string;
  version?: string;
  outFile?: string;
}

function withOp(cmd: Command, algorithms: string): Command {
  return withKeyRef(cmd)
    .requiredOption('-a, --algorithm <name>', algorithms, parseAlgorithm)
    .option('--version <id>', 'a version id (default: the latest)');
}

/** Exactly one of an inline base64url option and a raw file. */
async function bytesFrom(ctx: CliContext, inline: Uint8Array | undefined, file: string | undefined, flags: string): Promise<Uint8Array> {
  if (inline !== undefined) return inline;
  if (file === undefined) throw new UsageError(`give ${flags}`);
  return ctx.deps.readFile(file);
}

/** A KeyOperationResult, its value printed or written raw to --out-file. */
async function resultOutput(ctx: CliContext, r: KeyOperationResult, outFile: string | undefined): Promise<CommandOutput> {
  const json = toProtoJson('keyraft.v1.KeyOperationResult', r);
  if (outFile === undefined) return { json, table: () => keyOperationResultTable(r) };
  await ctx.deps.writeFile(outFile, r.value);
  delete json['value'];
  return {
    json: { ...json, file: outFile, bytes: r.value.length },
    table: () => keyOperationResultTable(r, `(written to ${outFile}, ${r.value.length} bytes)`),
  };
}

async function digestOf(ctx: CliContext, o: { algorithm: string; digest?: Uint8Array; dataFile?: string }): Promise<Uint8Array> {
  if (o.digest !== undefined) return o.digest;
  if (o.dataFile === undefined) throw new UsageError('give --digest or --data-file');
  if (signatureHash(o.algorithm) === undefined) throw new UsageError(`--data-file: ${o.algorithm} is not a signature algorithm (${SIGN_ALGORITHMS})`);
  return digestFor(o.algorithm, await ctx.deps.readFile(o.dataFile));
}

function withDigest(cmd: Command): Command {
  return cmd
    .addOption(new Option('--digest <b64url>', 'the digest to sign or verify').argParser(parseBase64).conflicts('dataFile'))
    .addOption(new Option('--data-file <path>', 'hash this file with the hash the algorithm names (- for standard input)').conflicts('digest'))
    .addHelpText('after', DIGEST_HELP);
}

export function registerKeyCrypto(key: Command, ctx: CliContext): void {
  for (const spec of CIPHERS) {
    const cmd = withOp(key.command(spec.command).description(spec.description), spec.algorithms)
      .addOption(new Option('--value <b64url>', spec.input).argParser(parseBase64).conflicts('valueFile'))
      .addOption(new Option('--value-file <path>', `read ${spec.input} as raw bytes from a file (- for standard input)`).conflicts('value'))
      .option('--out-file <path>', OUT_FILE_HELP)
      .addHelpText('after', IO_HELP);
    if (spec.aes !== 'none') {
      cmd.option(
        '--iv <b64url>',
        spec.aes === 'encrypt' ? 'AES-CBC only: the initialization vector (default: a random one)' : 'AES-GCM and AES-CBC: the IV encrypt printed',
        parseBase64,
      );
      cmd.option('--aad <b64url>', 'AES-GCM: additional authenticated data', parseBase64);
    }
    if (spec.aes === 'decrypt') cmd.option('--tag <b64url>', 'AES-GCM: the authentication tag encrypt printed', parseBase64);
    cmd.action(
      async (o: OpOptions & { value?: Uint8Array; valueFile?: string; iv?: Uint8Array; aad?: Uint8Array; tag?: Uint8Array }, c: Command) => {
        const req: KeyOperationRequest = {
          vault: o.vaultName,
          name: o.name,
          version: o.version ?? '',
          algorithm: o.algorithm,
          value: await bytesFrom(ctx, o.value, o.valueFile, '--value or --value-file'),
        };
        if (o.iv !== undefined) req.iv = o.iv;
        if (o.aad !== undefined) req.aad = o.aad;
        if (o.tag !== undefined) req.tag = o.tag;
        const r = await ctx.api(c)[spec.method](req);
        ctx.print(c, await resultOutput(ctx, r, o.outFile));
      },
    );
  }

  withDigest(withOp(key.command('sign').description('sign a digest (or a file, hashed here) with a key'), SIGN_ALGORITHMS))
    .option('--out-file <path>', 'write the raw signature to this new file instead of printing it')
    .action(async (o: OpOptions & { digest?: Uint8Array; dataFile?: string }, cmd: Command) => {
      const digest = await digestOf(ctx, o);
      const r = await ctx.api(cmd).sign({ vault: o.vaultName, name: o.name, version: o.version ?? '', algorithm: o.algorithm, digest });
      ctx.print(cmd, await resultOutput(ctx, r, o.outFile));
    });

  withDigest(withOp(key.command('verify').description('check a signature: prints true or false (exit 0 either way)'), SIGN_ALGORITHMS))
    .addOption(new Option('--signature <b64url>', 'the signature').argParser(parseBase64).conflicts('signatureFile'))
    .addOption(new Option('--signature-file <path>', 'read the raw signature from a file').conflicts('signature'))
    .action(async (o: OpOptions & { digest?: Uint8Array; dataFile?: string; signature?: Uint8Array; signatureFile?: string }, cmd: Command) => {
      const signature = await bytesFrom(ctx, o.signature, o.signatureFile, '--signature or --signature-file');
      const digest = await digestOf(ctx, o);
      const r = await ctx.api(cmd).verify({ vault: o.vaultName, name: o.name, version: o.version ?? '', algorithm: o.algorithm, digest, signature });
      ctx.print(cmd, { json: toProtoJson('keyraft.v1.VerifyResult', r), table: () => String(r.value) });
    });

  key
    .command('random')
    .description("random bytes from the vault's generator")
    .requiredOption('--count <n>', 'how many bytes, 1-128', parseIntIn(1, 128))
    .option('--out-file <path>', OUT_FILE_HELP)
    // Accepted so that scripts can pass the same flags to every key command; random bytes belong to no vault.
    .addOption(new Option('--vault-name <vault>').hideHelp())
    .action(async (o: { count: number; outFile?: string }, cmd: Command) => {
      const r = await ctx.api(cmd).getRandomBytes({ count: o.count });
      const json = toProtoJson('keyraft.v1.RandomBytes', r);
      if (o.outFile === undefined) {
        ctx.print(cmd, { json, table: () => String(json['value']) });
        return;
      }
      await ctx.deps.writeFile(o.outFile, r.value);
      ctx.print(cmd, { json: { file: o.outFile, bytes: r.value.length }, table: () => `${r.value.length} random bytes written to ${o.outFile}` });
    });
}
