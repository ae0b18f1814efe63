// The `keyraft` command: global options, the subcommand groups, and how every
// outcome becomes output and an exit code (0 ok, 1 failed, 2 misused).
// Everything the CLI touches outside itself comes in through CliDeps, so
// tests run the whole CLI against a fake client and capture its output.

import { readFile, writeFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { defaultCaFile, defaultTokenFile, isThrottled, KeyraftClient, KeyraftError } from '../client/index.js';
import { CliContext, type CliDeps } from './context.js';
import { registerCluster } from './cluster.js';
import { registerKey } from './key.js';
import { registerKeyCrypto } from './key-crypto.js';
import { parseEndpointList, parseIntIn, UsageError } from './parse.js';
import { registerPrincipal } from './principal.js';
import { registerRole } from './role.js';
import { registerSecret } from './secret.js';
import { registerVault } from './vault.js';

export { CliContext, type CliClient, type CliDeps, type CommandOutput, type OutputFormat } from './context.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

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
