// The unmodified Azure SDKs over real HTTPS, in a process of their own:
// gateway-server.test.ts and identity.test.ts start this file with a
// scenario name and read back one JSON line of what the SDK did and got.
// A process of its own because what the test sets up must not leak into
// the test runner, and cannot be set up later in a running one:
//
// - Trust: the parent sets NODE_EXTRA_CA_CERTS to the test's cluster CA,
//   which Node reads at start only (Node 20 has no setDefaultCACertificates).
// - Names: *.kv.localhost resolves nowhere on these machines (NOTES.md), so
//   kv-localhost.ts makes dns.lookup answer 127.0.0.1 for it here.
// - @azure/identity (msal-node) picks its managed-identity source once per
//   process, from the environment the parent gives.
//
// Nothing in the SDKs is changed: clients get only documented options (a
// policy that records each attempt, shorter retry delays).
//
// env: GATEWAY_PORT, TOKEN (what the static credential hands out), and for
// the identity scenarios IDENTITY_ENDPOINT, IDENTITY_HEADER and SCOPE (what
// ManagedIdentityCredential is asked for; the vault's unless given).
//
// The scenario `serve` stays up and runs one SDK call per line of stdin
// (a ServeCommand), answering one line each (a ServeAnswer): for tests that
// interleave the SDK with other things, such as a real cluster's failover
// (test/integration/rest-sdk.test.ts). Bytes travel as {"$bytes": base64},
// Dates as {"$date": ms}.

import './kv-localhost.js';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { decode, encode } from './sdk-json.js';

const port = process.env['GATEWAY_PORT'];
const vaultUrl = (vault: string) => `https://${vault}.kv.localhost:${port}`;

/** What the child reports of one HTTP attempt, as the SDK's pipeline saw it. */
export interface Attempt {
  method: string;
  url: string;
  authorization: string | undefined;
  requestId: string | undefined;
  status: number;
  headers: Record<string, string | undefined>;
}

const SHOWN_HEADERS = [
  'www-authenticate',
  'retry-after',
  'retry-after-ms',
  'x-ms-keyvault-region',
  'x-ms-keyvault-service-version',
  'x-ms-request-id',
  'x-ms-client-request-id',
  'x-keyraft-node',
  'x-keyraft-region',
  'x-keyraft-mode',
];

const attempts: Attempt[] = [];
/** Placed after the retry policy ("perRetry"): sees every attempt, the challenged one and each retry too. */
const recorder: PipelinePolicy = {
  name: 'attemptRecorder',
  async sendRequest(request, next) {
    const response = await next(request);
    attempts.push({
      method: request.method,
      url: request.url,
      authorization: request.headers.get('authorization'),
      requestId: request.headers.get('x-ms-client-request-id'),
      status: response.status,
      headers: Object.fromEntries(SHOWN_HEADERS.map((h) => [h, response.headers.get(h)])),
    });
    return response;
  },
};

const clientOptions = {
  additionalPolicies: [{ policy: recorder, position: 'perRetry' as const }],
  // The SDK's delays, shortened: retry-after-ms, when given, still sets the wait.
  retryOptions: { retryDelayInMs: 50, maxRetryDelayInMs: 500 },
};

const scopes: string[][] = [];
/** A credential that answers the challenge with TOKEN: the gateway leaves tokens to the backend. */
const staticCredential = {
  getToken: async (s: string | string[]) => {
    scopes.push([s].flat());
    return { token: process.env['TOKEN'] ?? '', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

/** An SDK error as the test compares it. */
function failure(e: unknown): { name?: string; statusCode?: number; code?: string; message: string } {
  const { name, statusCode, code, message } = e as { name?: string; statusCode?: number; code?: string; message?: string };
  return { name, statusCode, code, message: message ?? String(e) };
}

async function settle<T>(p: Promise<T>): Promise<{ ok: T } | { error: ReturnType<typeof failure> }> {
  try {
    return { ok: await p };
  } catch (e) {
    return { error: failure(e) };
  }
}

const scenarios: Record<string, () => Promise<unknown>> = {
  /** SecretClient: the challenge, a write and a read, SecretNotFound, a throttled write retried, another vault. */
  async secrets() {
    const { SecretClient } = await import('@azure/keyvault-secrets');
    const client = new SecretClient(vaultUrl('myvault'), staticCredential, clientOptions);
    const set = await client.setSecret('s1', 'v1');
    const setAttempts = attempts.splice(0);
    const got = await client.getSecret('s1');
    const missing = await settle(client.getSecret('missing'));
    const readAttempts = attempts.splice(0);
    const busy = await client.setSecret('busy', 'v2');
    const busyAttempts = attempts.splice(0);
    const other = await new SecretClient(vaultUrl('othervault'), staticCredential, clientOptions).getSecret('s1');
    return {
      scopes,
      setAttempts,
      set: { value: set.value, id: set.properties.id, vaultUrl: set.properties.vaultUrl, version: set.properties.version },
      got: { value: got.value, id: got.properties.id },
      missing,
      readAttempts,
      busyAttempts,
      busy: { value: busy.value },
      other: { value: other.value, id: other.properties.id },
      rest: attempts,
    };
  },

  /** KeyClient: a key and its JWK, and a listing of two pages whose nextLink is followed. */
  async keys() {
    const { KeyClient } = await import('@azure/keyvault-keys');
    const client = new KeyClient(vaultUrl('myvault'), staticCredential, clientOptions);
    const key = await client.getKey('k1');
    const listed: string[] = [];
    for await (const p of client.listPropertiesOfKeys()) listed.push(`${p.name} ${p.id}`);
    return { scopes, key: { id: key.id, name: key.name, kty: key.keyType, n: key.key?.n?.length, keyOps: key.keyOperations }, listed, attempts };
  },

  /** DefaultAzureCredential from the environment alone, and a SecretClient with it. */
  async 'identity-default'() {
    const { DefaultAzureCredential } = await import('@azure/identity');
    const { SecretClient } = await import('@azure/keyvault-secrets');
    const credential = new DefaultAzureCredential();
    const token = await credential.getToken('https://kv.localhost/.default');
    const secret = await new SecretClient(vaultUrl('myvault'), credential, clientOptions).getSecret('s1');
    return { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp, value: secret.value, attempts };
  },

  /** ManagedIdentityCredential from the environment alone: the token, or the credential's error. */
  async 'identity-managed'() {
    const { ManagedIdentityCredential } = await import('@azure/identity');
    const got = await settle(new ManagedIdentityCredential().getToken(process.env['SCOPE'] ?? 'https://kv.localhost/.default'));
    return 'ok' in got ? { token: got.ok.token, expiresOnTimestamp: got.ok.expiresOnTimestamp } : got;
  },
};

/** One SDK call: `client` made for `url` (a key id for crypto), then `method(...args)`, run as `mode` says. */
export interface ServeCommand {
  id: number;
  client: 'secrets' | 'keys' | 'crypto';
  url: string;
  /** The bearer the static credential hands out (TOKEN when absent); 'default': DefaultAzureCredential from the environment. */
  token?: string;
  credential?: 'static' | 'default';
  method: string;
  args: unknown[];
  /** call: await the promise; poll: a poller, until done; list: every item; pages: the items page by page (byPage with maxPageSize). */
  mode?: 'call' | 'poll' | 'list' | 'pages';
  maxPageSize?: number;
}

export interface ServeAnswer {
  id: number;
  ok?: unknown;
  error?: ReturnType<typeof failure>;
  /** Every HTTP attempt of the call. */
  attempts: Attempt[];
}

const clients = new Map<string, Record<string, (...a: unknown[]) => unknown>>();

async function clientFor(c: ServeCommand): Promise<Record<string, (...a: unknown[]) => unknown>> {
  const cacheKey = JSON.stringify([c.client, c.url, c.token, c.credential]);
  const known = clients.get(cacheKey);
  if (known !== undefined) return known;
  let credential: typeof staticCredential;
  if (c.credential === 'default') {
    const { DefaultAzureCredential } = await import('@azure/identity');
    credential = new DefaultAzureCredential() as unknown as typeof staticCredential;
  } else {
    credential = { getToken: async () => ({ token: c.token ?? process.env['TOKEN'] ?? '', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  }
  let made: unknown;
  if (c.client === 'secrets') made = new (await import('@azure/keyvault-secrets')).SecretClient(c.url, credential, clientOptions);
  else if (c.client === 'keys') made = new (await import('@azure/keyvault-keys')).KeyClient(c.url, credential, clientOptions);
  else made = new (await import('@azure/keyvault-keys')).CryptographyClient(c.url, credential, clientOptions);
  const client = made as Record<string, (...a: unknown[]) => unknown>;
  clients.set(cacheKey, client);
  return client;
}

async function runCommand(c: ServeCommand): Promise<unknown> {
  const client = await clientFor(c);
  const fn = client[c.method];
  if (typeof fn !== 'function') throw new Error(`no method ${c.method} on the ${c.client} client`);
  const out = fn.apply(client, decode(c.args) as unknown[]);
  switch (c.mode ?? 'call') {
    case 'call':
      return await out;
    case 'poll': {
      const poller = (await out) as { pollUntilDone(): Promise<unknown> };
      return await poller.pollUntilDone();
    }
    case 'list': {
      const items: unknown[] = [];
      for await (const item of out as AsyncIterable<unknown>) items.push(item);
      return items;
    }
    case 'pages': {
      const pages: unknown[][] = [];
      const paged = out as { byPage(o: { maxPageSize?: number }): AsyncIterable<unknown[]> };
      for await (const page of paged.byPage(c.maxPageSize === undefined ? {} : { maxPageSize: c.maxPageSize })) pages.push([...page]);
      return pages;
    }
  }
}

/** Runs the commands of stdin one at a time, in order, until stdin ends. */
async function serve(): Promise<void> {
  const { createInterface } = await import('node:readline');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const c = JSON.parse(line) as ServeCommand;
    attempts.splice(0);
    let answer: ServeAnswer;
    try {
      answer = { id: c.id, ok: encode(await runCommand(c)), attempts: attempts.splice(0) };
    } catch (e) {
      answer = { id: c.id, error: failure(e), attempts: attempts.splice(0) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}

if (process.argv[2] === 'serve') {
  serve().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  const scenario = scenarios[process.argv[2] ?? ''];
  if (scenario === undefined) {
    console.error(`no scenario ${process.argv[2]}: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  scenario().then(
    (result) => {
      process.stdout.write(`${JSON.stringify({ result })}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stdout.write(`${JSON.stringify({ error: failure(e), stack: (e as Error).stack, attempts })}\n`);
      process.exit(1);
    },
  );
}
