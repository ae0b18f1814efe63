// The `keyraft` command: global options, the subcommand groups, and how every
// outcome becomes output and an exit code (0 ok, 1 failed, 2 misused).
// Everything the CLI touches outside itself comes in through CliDeps, so
// tests run the whole CLI against a fake client and capture its output.

import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { CA_ENV, defaultCaFile, defaultEndpoints, defaultTokenFile, isThrottled, KeyraftClient, TOKEN_ENV, KeyraftError, type KeyraftClientOptions } from '../client/index.js';
import { registerCluster } from './cluster.js';
import { registerKey } from './key.js';
import { registerKeyCrypto } from './key-crypto.js';
import { parseEndpointList, parseIntIn, UsageError } from './parse.js';
import { registerPrincipal } from './principal.js';
import { registerRole } from './role.js';
import { registerSecret } from './secret.js';
import { registerVault } from './vault.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The subset of the SDK the CLI uses; a test hands in a fake. */
export type CliClient = Pick<KeyraftClient, Exclude<keyof KeyraftClient, 'endpoints' | 'lastServedBy'>>;

export interface CliDeps {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  newClient(options: KeyraftClientOptions): CliClient;
  /** `-` reads standard input. */
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /**
   * The files of the local cluster that `make cluster` started from this
   * checkout, used when neither a flag nor the environment names them.
   * Absent: there is none (tests, which must not depend on one).
   */
  localCluster?(): { caFile?: string; tokenFile?: string };
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function processDeps(): CliDeps {
  return {
    stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    env: process.env,
    newClient: (o) => new KeyraftClient(o),
    readFile: (path) => (path === '-' ? readStdin() : readFile(path)),
    // Backups and crypto outputs (a decrypted value, an unwrapped key): readable by their owner only, never overwritten.
    writeFile: (path, data) => writeFile(path, data, { mode: 0o600, flag: 'wx' }),
    localCluster: () => ({ caFile: defaultCaFile({}), tokenFile: defaultTokenFile() }),
  };
}

export type OutputFormat = 'table' | 'json';

interface GlobalOptions {
  endpoints?: string[];
  ca?: string;
  token?: string;
  output: OutputFormat;
  timeout?: number;
}

/** What a command hands back: the JSON-mapped object and, lazily, its table. */
export interface CommandOutput {
  json: unknown;
  table: () => string;
}

/** What every subcommand gets: the client (built on first use) and a way to print. */
export class CliContext {
  private client: CliClient | undefined;

  constructor(readonly deps: CliDeps) {}

  globals(cmd: Command): GlobalOptions {
    return cmd.optsWithGlobals<GlobalOptions>();
  }

  api(cmd: Command): CliClient {
    if (this.client === undefined) {
      const g = this.globals(cmd);
      let endpoints = g.endpoints;
      if (endpoints === undefined) {
        try {
          endpoints = defaultEndpoints(this.deps.env);
        } catch (e) {
          throw new UsageError(e instanceof Error ? e.message : String(e));
        }
      }
      const local = this.deps.localCluster?.() ?? {};
      const caFile = g.ca ?? nonEmpty(this.deps.env[CA_ENV]) ?? local.caFile;
      let ca: Buffer | undefined;
      try {
        ca = caFile === undefined ? undefined : readFileSync(caFile);
      } catch (e) {
        throw new UsageError(`cannot read the CA certificate ${caFile}: ${e instanceof Error ? e.message : String(e)}`);
      }
      const token = g.token ?? nonEmpty(this.deps.env[TOKEN_ENV]) ?? this.readTokenFile(local.tokenFile);
      this.client = this.deps.newClient({
        endpoints,
        ...(ca !== undefined ? { ca } : {}),
        ...(token !== undefined ? { token } : {}),
        ...(g.timeout !== undefined ? { timeoutMs: g.timeout } : {}),
      });
    }
    return this.client;
  }

  private readTokenFile(file: string | undefined): string | undefined {
    if (file === undefined) return undefined;
    try {
      return nonEmpty(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`cannot read the token file ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  print(cmd: Command, out: CommandOutput): void {
    if (this.globals(cmd).output === 'json') {
      this.deps.stdout(`${JSON.stringify(out.json, null, 2)}\n`);
      return;
    }
    const table = out.table();
    if (table !== '') this.deps.stdout(`${table}\n`);
  }

  close(): void {
    this.client?.close();
  }
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s.trim() === '' ? undefined : s.trim());

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('keyraft')
    .description('A two-region key vault replicated with Raft: vaults, secrets, keys, the cluster, and who may use them.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.deps.stdout(s),
      writeErr: (s) => ctx.deps.stderr(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .option('--endpoints <host:port,...>', 'nodes to talk to, most preferred first (default: KEYRAFT_ENDPOINTS, else cluster/local.json)', parseEndpointList)
    .option('--ca <file>', "the cluster CA's certificate (default: KEYRAFT_CA, else cluster/.data/pki/ca.crt)")
    .option('--token <token>', 'the bearer token of every call (default: KEYRAFT_TOKEN, else the file cluster/.data/admin.token)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--timeout <ms>', 'deadline of each call, retries included (default 5000)', parseIntIn(1, 3_600_000));
  // Subcommands created from here on inherit exitOverride and the output routing.
  registerVault(program, ctx);
  registerSecret(program, ctx);
  registerKeyCrypto(registerKey(program, ctx), ctx);
  registerCluster(program, ctx);
  registerPrincipal(program, ctx);
  registerRole(program, ctx);
  return program;
}

/** `error: REASON: message` for a server's answer, `error: message` otherwise; never a stack. */
function report(e: unknown, deps: CliDeps): number {
  if (e instanceof CommanderError) {
    // Commander has printed its message already.
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
  }
  if (e instanceof UsageError) {
    deps.stderr(`error: ${e.message}\n(add --help for usage)\n`);
    return EXIT_USAGE;
  }
  if (e instanceof KeyraftError) {
    const tries = e.attempts > 1 ? ` (after ${e.attempts} attempts)` : '';
    deps.stderr(`error: ${e.reason}: ${e.message}${tries}\n`);
    if (isThrottled(e)) deps.stderr('(the cluster is overloaded: it refused the call before doing anything, so nothing changed; try again later)\n');
    return EXIT_FAILED;
  }
  const message = e instanceof Error ? e.message : String(e);
  deps.stderr(`error: ${message}\n`);
  if (deps.env['KEYRAFT_DEBUG'] && e instanceof Error && e.stack !== undefined) deps.stderr(`${e.stack}\n`);
  return EXIT_FAILED;
}

/** Runs the CLI on `argv` (without node and the script) and answers the exit code. */
export async function run(argv: string[], deps: Partial<CliDeps> = {}): Promise<number> {
  const d: CliDeps = { ...processDeps(), ...deps };
  const ctx = new CliContext(d);
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    return report(e, d);
  } finally {
    ctx.close();
  }
}
