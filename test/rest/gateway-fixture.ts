// A real gateway (src/rest/gateway.ts) for the REST tests: on 127.0.0.1:0,
// with a certificate of the project's own PKI (src/ops/pki.ts) in a
// temporary folder, before a fake backend that records each call and answers
// with the test's handlers; and the SDK child (sdk-child.ts) to drive it.
// Each test's gateway, folder and child processes go when the test ends.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { TokenError } from '../../src/auth/tokens.js';
import { ensurePki } from '../../src/ops/pki.js';
import type { KeyraftFailure } from '../../src/rest/errors.js';
import { type GatewayOptions, type RestCall, RestGateway } from '../../src/rest/gateway.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/transport/connections.js';
import { type TlsMaterial, nodeTls } from '../../src/transport/tls.js';
import { Failure } from './gateway-harness.js';
import type { ServeAnswer, ServeCommand } from './sdk-child.js';

export { Failure };

export const ISSUER = 'https://login.kv.localhost';
export const FALLBACK_VAULT = 'fallback';
/** Who the gateway says it is for the answers it makes itself. */
export const GATEWAY_NODE = { 'keyraft-region': 'east', 'keyraft-node': 'east-1', 'keyraft-mode': 'SERVING' };
/** Who the backend says served a call: another node, as a forwarded call would be. */
export const SERVING_NODE = { 'keyraft-region': 'east', 'keyraft-node': 'east-2', 'keyraft-mode': 'SERVING', 'keyraft-commit-index': '42' };

/** A handler answers one RPC (by its method path) with a response, or throws a Failure. */
export type Handler = (request: Record<string, unknown>, call: RestCall) => unknown;

export interface Fixture {
  gateway: RestGateway;
  tls: TlsMaterial;
  /** The CA's certificate as a file, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  dir: string;
  calls: RestCall[];
  handlers: Record<string, Handler>;
}

/** As the node will: the harness's Failure is a keyraft failure, a TokenError is UNAUTHENTICATED, anything else INTERNAL. */
export function failureOf(e: unknown): KeyraftFailure {
  if (e instanceof Failure) return e.failure;
  if (e instanceof TokenError) return { code: grpc.status.UNAUTHENTICATED, reason: e.reason, message: e.message };
  return { code: grpc.status.INTERNAL, reason: 'INTERNAL', message: 'internal error' };
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startGateway(t: Teardown, options: Partial<GatewayOptions> = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await ensurePki(dir, [{ id: 'gw', hosts: ['127.0.0.1'] }]);
  const tls = nodeTls(dir, 'gw');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, tls.ca);
  const calls: RestCall[] = [];
  const handlers: Record<string, Handler> = {};
  const gateway = await RestGateway.open({
    backend: async (call) => {
      calls.push(call);
      const handler = handlers[call.path];
      if (handler === undefined) throw new Error(`the test has no handler for ${call.path}`);
      try {
        return { ok: true, response: await handler(call.request as Record<string, unknown>, call), headers: SERVING_NODE };
      } catch (error) {
        return { ok: false, error, headers: SERVING_NODE };
      }
    },
    failureOf,
    verifyToken: async () => {
      throw new Error('this test verifies no token');
    },
    servedBy: () => GATEWAY_NODE,
    tls,
    address: '127.0.0.1:0',
    issuer: ISSUER,
    defaultVault: FALLBACK_VAULT,
    limits: DEFAULT_CONNECTION_LIMITS,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  t.teardown(() => gateway.close());
  return { gateway, tls, caFile, dir, calls, handlers };
}

/** What sdk-child.ts printed: its result, or the error it ended on. */
export interface ChildReport<R> {
  result?: R;
  error?: { name?: string; statusCode?: number; code?: string; message: string };
  stack?: string;
}

const CHILD = fileURLToPath(new URL(`./sdk-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Variables that would steer @azure/identity elsewhere than the test says: none come from the runner's environment. */
const IDENTITY_VARIABLES = /^(AZURE_|IDENTITY_|MSI_|IMDS_|MSAL_)/;

/** sdk-child.ts running `scenario`, trusting `caFile`, with `env` and none of the runner's identity variables; killed when the test ends. */
function spawnChild(t: Teardown, scenario: string, caFile: string, env: Record<string, string>, stdin: 'ignore' | 'pipe') {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !IDENTITY_VARIABLES.test(k)));
  const child = spawn(process.execPath, [...process.execArgv, CHILD, scenario], {
    env: { ...base, NODE_EXTRA_CA_CERTS: caFile, ...env },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  return child;
}

/** An SDK process that runs one call at a time (sdk-child.ts `serve`). */
export interface SdkServer {
  /** Runs one call; rejects only if the child fails or the call takes longer than `timeoutMs`: an SDK error is `error` in the answer. */
  call(command: Omit<ServeCommand, 'id'>, timeoutMs?: number): Promise<ServeAnswer>;
  /** What the child wrote on stderr so far. */
  stderr(): string;
}

/**
 * Starts sdk-child.ts in `serve` mode, trusting `caFile` (a cluster's CA),
 * with `env` (TOKEN, IDENTITY_ENDPOINT, ...): for tests that interleave SDK
 * calls with their own steps.
 */
export function startSdkServer(t: Teardown, caFile: string, env: Record<string, string> = {}): SdkServer {
  const child = spawnChild(t, 'serve', caFile, env, 'pipe');
  const waiting = new Map<number, (a: ServeAnswer) => void>();
  let err = '';
  let buffered = '';
  let ended: Error | undefined;
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout!.on('data', (b: Buffer) => {
    buffered += b.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      const answer = JSON.parse(line) as ServeAnswer;
      waiting.get(answer.id)?.(answer);
      waiting.delete(answer.id);
    }
  });
  child.on('close', (code, signal) => {
    ended = new Error(`sdk-child serve ended (${code ?? signal}):\n${err}`);
  });
  let next = 0;
  return {
    stderr: () => err,
    call(command, timeoutMs = 30_000) {
      if (ended !== undefined) return Promise.reject(ended);
      const id = ++next;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`the SDK's ${command.client}.${command.method} took more than ${timeoutMs} ms\n${err}`));
        }, timeoutMs);
        waiting.set(id, (a) => {
          clearTimeout(timer);
          resolve(a);
        });
        child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
      });
    },
  };
}

/**
 * Runs a scenario of sdk-child.ts with the fixture's CA trusted and
 * `env` set, in a process killed after `timeoutMs`; with the loaders the
 * test runs with (execArgv), so that it runs from TypeScript or from dist.
 */
export function runSdk<R>(t: Teardown, f: Fixture, scenario: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ChildReport<R>> {
  const child = spawnChild(t, scenario, f.caFile, { GATEWAY_PORT: String(f.gateway.port), ...env }, 'ignore');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as ChildReport<R>);
      } catch {
        reject(new Error(`sdk-child ${scenario} ended (${code ?? signal}) without a report:\n${out}\n${err}`));
      }
    });
  });
}
