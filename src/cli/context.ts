// What every subcommand is handed (CliContext) and what it hands back
// (CommandOutput), apart from program.ts, which imports every subcommand: a
// subcommand importing these from program.ts would close an import cycle.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CA_ENV, defaultEndpoints, TOKEN_ENV, type KeyraftClient, type KeyraftClientOptions } from '../client/index.js';
import { UsageError } from './parse.js';

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
