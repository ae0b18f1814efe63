// The REST gateway as a server: a real HTTPS port on 127.0.0.1 with a
// certificate of the project's PKI, driven by the unmodified
// @azure/keyvault-secrets and @azure/keyvault-keys over real sockets at
// https://myvault.kv.localhost:PORT (sdk-child.ts), and by hand for what no
// SDK sends: requests without a token, other hosts, bodies too large,
// garbage. The backend is a fake that records each call.

import { generateKeyPairSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { JsonWebKey, Key, KeyProperties, Secret, SecretProperties } from '../../src/client/types.js';
import { SERVICE_VERSION } from '../../src/rest/gateway.js';
import { admissionControl } from '../../src/server/admission-interceptor.js';
import { MAX_BODY_BYTES } from '../../src/rest/request-body.js';
import type { RefusalReason } from '../../src/transport/connections.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/transport/connections.js';
import { type Attempt } from './sdk-child.js';
import { keyProperties } from './objects.js';
import { FALLBACK_VAULT, Failure, type Fixture, GATEWAY_NODE, ISSUER, runSdk, SERVING_NODE, startGateway } from './gateway-fixture.js';

t.setTimeout(240_000);

const TOKEN = 'a-keyraft-token';
const V1 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const CREATED = 1764720000;
const EMPTY = Buffer.alloc(0);
const SECRETS = '/keyraft.v1.Secrets/';
const KEYS = '/keyraft.v1.Keys/';

function secretProps(vault: string, name: string): SecretProperties {
  return {
    vault,
    name,
    version: V1,
    id: `keyraft://${vault}/secrets/${name}/${V1}`,
    contentType: '',
    tags: {},
    enabled: true,
    notBefore: 0,
    expires: 0,
    created: CREATED,
    updated: CREATED,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  };
}

const secret = (r: Record<string, unknown>, value: string): Secret => ({ properties: secretProps(r['vault'] as string, r['name'] as string), value });

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });

const keyProps = (name: string): KeyProperties => keyProperties('myvault', name, V1, 'RSA', CREATED, { keyOps: ['encrypt', 'verify'] });

function rsaKey(name: string): Key {
  const blank = { crv: '', x: EMPTY, y: EMPTY, d: EMPTY, p: EMPTY, q: EMPTY, dp: EMPTY, dq: EMPTY, qi: EMPTY, k: EMPTY };
  const jwk: JsonWebKey = { ...blank, kid: '', kty: 'RSA', keyOps: ['encrypt', 'verify'], n: Buffer.from(rsa.n!, 'base64url'), e: Buffer.from(rsa.e!, 'base64url') };
  return { properties: keyProps(name), key: jwk };
}

const notFound = (name: string) => new Failure({ code: grpc.status.NOT_FOUND, reason: 'SECRET_NOT_FOUND', message: `SECRET_NOT_FOUND: secret ${name} not found` });

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request by hand, over TLS with the test CA, to the fixture's port; the Host header as given. */
function raw(f: Fixture, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: f.gateway.port, method, path, headers, ca: f.tls.ca, servername: 'localhost', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const authorized = { authorization: `Bearer ${TOKEN}`, host: 'myvault.kv.localhost' };

t.test('SecretClient over HTTPS: the challenge, the vault from the host, request ids, SecretNotFound, a 429 retried, who served it', async (t) => {
  const f = await startGateway(t);
  let throttled = false;
  f.handlers[`${SECRETS}SetSecret`] = (r) => {
    if (r['name'] === 'busy' && !throttled) {
      throttled = true;
      throw new Failure({ code: grpc.status.RESOURCE_EXHAUSTED, reason: 'THROTTLED', message: 'THROTTLED: vault myvault: too many writes', retryAfterMs: 150 });
    }
    return secret(r, r['value'] as string);
  };
  f.handlers[`${SECRETS}GetSecret`] = (r) => {
    if (r['name'] === 'missing') throw notFound('missing');
    return secret(r, `value of ${r['vault']}`);
  };
  const report = await runSdk<{
    scopes: string[][];
    setAttempts: Attempt[];
    set: { value: string; id: string; vaultUrl: string; version: string };
    got: { value: string; id: string };
    missing: { error: { statusCode: number; code: string; message: string } };
    busyAttempts: Attempt[];
    busy: { value: string };
    other: { value: string; id: string };
  }>(t, f, 'secrets', { TOKEN });
  t.notOk(report.error, report.stack ?? 'the SDK ran through');
  const r = report.result!;
  const origin = `https://myvault.kv.localhost:${f.gateway.port}`;

  // The challenge: the first attempt goes without a token, and the 401 names the resource the SDK asks its credential for.
  t.same(r.scopes, [['https://kv.localhost/.default'], ['https://kv.localhost/.default']], 'each client asked for a token for the challenge resource, once');
  t.match(r.setAttempts, [
    { method: 'PUT', url: `${origin}/secrets/s1?api%2Dversion=2026-04-01`, status: 401, headers: { 'www-authenticate': `Bearer authorization="${ISSUER}", resource="https://kv.localhost"` } },
    { method: 'PUT', url: `${origin}/secrets/s1?api%2Dversion=2026-04-01`, authorization: `Bearer ${TOKEN}`, status: 200 },
  ]);
  t.equal(r.setAttempts.length, 2);
  t.notOk(r.setAttempts[0]!.authorization, 'the first attempt carries no token');
  t.equal(r.setAttempts[0]!.requestId, r.setAttempts[1]!.requestId, 'the retried attempt keeps its x-ms-client-request-id');

  // The write, as the backend got it.
  const set = f.calls[0]!;
  t.equal(set.path, `${SECRETS}SetSecret`);
  t.same(set.request, { vault: 'myvault', name: 's1', value: 'v1', requestId: r.setAttempts[1]!.requestId }, 'the vault from the host, the request id from the header');
  t.equal(set.authorization, `Bearer ${TOKEN}`, 'the header as sent');
  t.match(set.peer, /^127\.0\.0\.1:\d+$/);
  t.ok(set.deadlineMs > Date.now() - 60_000 && set.deadlineMs <= Date.now() + 5000, 'a deadline of the default 5 s');
  t.same(r.set, { value: 'v1', id: `${origin}/secrets/s1/${V1}`, vaultUrl: origin, version: V1 }, 'ids on the origin the request came to');

  // Who served it: the backend's node, as headers the SDK logs.
  t.match(r.setAttempts[1]!.headers, {
    'x-ms-keyvault-region': 'east',
    'x-ms-keyvault-service-version': SERVICE_VERSION,
    'x-keyraft-node': SERVING_NODE['keyraft-node'],
    'x-keyraft-region': 'east',
    'x-keyraft-mode': 'SERVING',
    'x-ms-client-request-id': r.setAttempts[1]!.requestId,
    'x-ms-request-id': /^[0-9a-f-]{36}$/,
  });
  t.match(r.setAttempts[0]!.headers, { 'x-keyraft-node': GATEWAY_NODE['keyraft-node'], 'x-ms-keyvault-region': 'east' }, 'the challenge names the gateway\'s own node');

  t.same(r.got, { value: 'value of myvault', id: `${origin}/secrets/s1/${V1}` });
  t.match(f.calls[1], { path: `${SECRETS}GetSecret`, request: { vault: 'myvault', name: 's1', version: '' } });
  t.notOk('requestId' in f.calls[1]!.request, 'a read carries no request id');

  // An error mapped: SECRET_NOT_FOUND is Azure's 404 SecretNotFound.
  t.match(r.missing, { error: { statusCode: 404, code: 'SecretNotFound', message: /SECRET_NOT_FOUND: secret missing not found/ } });

  // THROTTLED: 429 with Retry-After in seconds (rounded up) and the ms; the SDK waits and sends the same write again.
  t.match(r.busyAttempts, [
    { method: 'PUT', status: 429, headers: { 'retry-after': '1', 'retry-after-ms': '150' } },
    { method: 'PUT', status: 200 },
  ]);
  t.equal(r.busyAttempts.length, 2);
  const busy = f.calls.filter((c) => c.path === `${SECRETS}SetSecret` && (c.request as { name: string }).name === 'busy');
  t.equal(busy.length, 2, 'the backend saw the write twice');
  t.equal((busy[0]!.request as { requestId: string }).requestId, (busy[1]!.request as { requestId: string }).requestId, 'with one request id, so it applies once');
  t.equal((busy[0]!.request as { requestId: string }).requestId, r.busyAttempts[0]!.requestId);
  t.same(r.busy, { value: 'v2' });

  // Another host, another vault, its ids on its own origin.
  t.same(r.other, { value: 'value of othervault', id: `https://othervault.kv.localhost:${f.gateway.port}/secrets/s1/${V1}` });
  t.match(f.calls.at(-1), { path: `${SECRETS}GetSecret`, request: { vault: 'othervault', name: 's1' } });
});

t.test('KeyClient over HTTPS: a key\'s JWK, and a listing whose nextLink stays on the origin', async (t) => {
  const f = await startGateway(t);
  f.handlers[`${KEYS}GetKey`] = () => rsaKey('k1');
  f.handlers[`${KEYS}ListKeys`] = (r) =>
    r['pageToken'] === undefined ? { keys: [keyProps('k1')], nextPageToken: 'page-2' } : { keys: [keyProps('k2')], nextPageToken: '' };
  const report = await runSdk<{ key: { id: string; name: string; kty: string; n: number; keyOps: string[] }; listed: string[]; attempts: Attempt[] }>(t, f, 'keys', { TOKEN });
  t.notOk(report.error, report.stack ?? 'the SDK ran through');
  const r = report.result!;
  const origin = `https://myvault.kv.localhost:${f.gateway.port}`;
  t.same(r.key, { id: `${origin}/keys/k1/${V1}`, name: 'k1', kty: 'RSA', n: 256, keyOps: ['encrypt', 'verify'] });
  t.same(r.listed, [`k1 ${origin}/keys/k1`, `k2 ${origin}/keys/k2`]);
  t.match(f.calls.map((c) => [c.path, c.request]), [
    [`${KEYS}GetKey`, { vault: 'myvault', name: 'k1', version: '' }],
    [`${KEYS}ListKeys`, { vault: 'myvault' }],
    [`${KEYS}ListKeys`, { vault: 'myvault', pageToken: 'page-2' }],
  ]);
  t.ok(r.attempts.some((a) => a.url.startsWith(`${origin}/keys?`) && a.url.includes('skiptoken=page-2') && a.status === 200), 'the SDK followed the nextLink to the gateway');
});

t.test('by hand: no token is challenged before anything else; then the host, api-version and path decide', async (t) => {
  const f = await startGateway(t);
  f.handlers[`${SECRETS}GetSecret`] = (r) => secret(r, 'x');
  const challenge = `Bearer authorization="${ISSUER}", resource="https://kv.localhost"`;
  const untokened: Record<string, string>[] = [{ host: 'evil.example' }, { host: 'myvault.kv.localhost', authorization: 'Basic dTpw' }, { host: 'myvault.kv.localhost', authorization: 'Bearer' }];
  for (const headers of untokened) {
    const res = await raw(f, 'GET', '/nowhere?api-version=1999-01-01', headers);
    t.equal(res.status, 401, JSON.stringify(headers));
    t.equal(res.headers['www-authenticate'], challenge);
    t.same(JSON.parse(res.body), { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } });
  }

  const byHost = async (host: string) => {
    const res = await raw(f, 'GET', '/secrets/s?api-version=7.4', { authorization: `Bearer ${TOKEN}`, host });
    return { status: res.status, body: JSON.parse(res.body) as { id?: string; error?: { code: string; message: string } } };
  };
  const port = f.gateway.port;
  t.match(await byHost(`127.0.0.1:${port}`), { status: 200, body: { id: `https://127.0.0.1:${port}/secrets/s/${V1}` } });
  t.match(f.calls.at(-1)!.request, { vault: FALLBACK_VAULT }, 'an IP address names no vault: the default one');
  t.match(await byHost(`localhost:${port}`), { status: 200 });
  t.match(f.calls.at(-1)!.request, { vault: FALLBACK_VAULT });
  t.match(await byHost(`MyVault.KV.localhost:${port}`), { status: 200, body: { id: `https://myvault.kv.localhost:${port}/secrets/s/${V1}` } });
  t.match(f.calls.at(-1)!.request, { vault: 'myvault' });
  const calls = f.calls.length;
  for (const host of ['evil.example', 'a.b.kv.localhost', 'kv.localhost', '.kv.localhost', 'my vault.kv.localhost', '[zz']) {
    t.match(await byHost(host), { status: 400, body: { error: { code: 'BadParameter', message: /names no vault|not a host name/ } } }, host);
  }
  t.equal(f.calls.length, calls, 'no call for a host that names no vault');

  const res = await raw(f, 'GET', '/secrets/s', authorized);
  t.match({ status: res.status, body: JSON.parse(res.body) }, { status: 400, body: { error: { code: 'BadParameter', message: /api-version/ } } });
  const wrongMethod = await raw(f, 'POST', '/secrets/s/versions?api-version=7.4', authorized);
  t.equal(wrongMethod.status, 405);
  t.equal(wrongMethod.headers['allow'], 'GET, PATCH', 'a listing, or an update of version "versions"');
  t.equal((await raw(f, 'GET', '/certificates/c?api-version=7.4', authorized)).status, 404);
  t.equal(f.calls.length, calls);
});

t.test('bodies: too large is 413 before or while it is read; past the budget is 503 with Retry-After; the port serves on', async (t) => {
  const f = await startGateway(t);
  const put = { ...authorized, 'content-type': 'application/json' };

  const declared = await raw(f, 'PUT', '/secrets/big?api-version=7.4', { ...put, 'content-length': String(MAX_BODY_BYTES + 1) });
  t.equal(declared.status, 413, 'refused by its Content-Length, unread');
  t.equal(declared.headers['connection'], 'close', 'the unread body goes with the connection');
  t.match(JSON.parse(declared.body), { error: { code: 'RequestEntityTooLarge' } });

  // Chunked: no length to go by, so it is cut off once it gets there.
  const streamed = await new Promise<Raw>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: f.gateway.port, method: 'PUT', path: '/secrets/big?api-version=7.4', headers: put, ca: f.tls.ca, servername: 'localhost', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString())).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent <= MAX_BODY_BYTES + chunk.length) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  }).catch((e: NodeJS.ErrnoException) => ({ status: 0, headers: {}, body: e.code ?? e.message }));
  // The answer comes before the client has sent it all; the client may see the reset of the closed connection first.
  t.ok(streamed.status === 413 || streamed.body === 'ECONNRESET' || streamed.body === 'EPIPE', `cut off: ${streamed.status} ${streamed.body.slice(0, 80)}`);

  t.equal(f.calls.length, 0, 'no call for a refused body');

  // Past the budget of bodies held at once (64 KiB here): 503, which the SDKs retry after Retry-After.
  const g = await startGateway(t, { bodyBudgetBytes: 64 * 1024 });
  g.handlers[`${SECRETS}SetSecret`] = (r) => secret(r, r['value'] as string);
  const over = await raw(g, 'PUT', '/secrets/s?api-version=7.4', put, JSON.stringify({ value: 'x'.repeat(70 * 1024) }));
  t.equal(over.status, 503);
  t.equal(over.headers['retry-after'], '1');
  t.equal(g.calls.length, 0);
  for (let i = 0; i < 3; i++) {
    const fine = await raw(g, 'PUT', '/secrets/s?api-version=7.4', put, JSON.stringify({ value: 'x'.repeat(40 * 1024) }));
    t.equal(fine.status, 200, 'what was held is given back: bodies within the budget go through, one after another');
  }
  t.equal((g.calls[0]!.request as { value: string }).value.length, 40 * 1024);
});

t.test('garbage: bad JSON, paths, headers and bytes get answers or a closed socket, never a crash', async (t) => {
  const f = await startGateway(t);
  f.handlers[`${SECRETS}GetSecret`] = (r) => secret(r, 'still here');
  const put = { ...authorized, 'content-type': 'application/json' };
  const cases: [string, string, Record<string, string>, string | undefined, number, string][] = [
    ['PUT', '/secrets/s?api-version=7.4', put, '{"value":', 400, 'BadParameter'],
    ['PUT', '/secrets/s?api-version=7.4', put, '[1,2]', 400, 'BadParameter'],
    ['PUT', '/secrets/s?api-version=7.4', put, '{"value":5}', 400, 'BadParameter'],
    ['PUT', '/secrets/s?api-version=7.4', put, '\u0000\u00ff', 400, 'BadParameter'],
    ['GET', '/secrets/%E0%A4%A?api-version=7.4', authorized, undefined, 404, 'NotFound'],
    ['GET', '//evil.example/secrets/s?api-version=7.4', authorized, undefined, 404, 'NotFound'],
    ['GET', '/secrets/s?api-version=7.4&api-version=7.5', authorized, undefined, 400, 'BadParameter'],
    ['PROPFIND', '/secrets/s?api-version=7.4', authorized, undefined, 405, 'MethodNotAllowed'],
  ];
  for (const [method, path, headers, body, status, code] of cases) {
    const res = await raw(f, method, path, headers, body).catch((e: Error) => ({ status: 0, headers: {}, body: e.message }));
    t.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}`);
    if (res.status === status) t.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, code);
  }

  // Bytes that are not HTTP (a method Node's parser does not know), over TLS and not: refused and closed.
  const overTls = await new Promise<string>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: f.gateway.port, ca: f.tls.ca, servername: 'localhost' }, () => s.write('GARBAGE \u0001\u0002 /\r\n\r\n'));
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString())).on('close', () => resolve(got)).on('error', () => undefined);
  });
  t.match(overTls, /^HTTP\/1\.1 400 Bad Request/);
  await new Promise<void>((resolve) => {
    const s = tcpConnect(f.gateway.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('close', () => resolve()).on('error', () => undefined).resume();
  });
  // A request whose body never arrives whole: the client goes away in the middle.
  await new Promise<void>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: f.gateway.port, ca: f.tls.ca, servername: 'localhost' }, () => {
      s.write(`PUT /secrets/s?api-version=7.4 HTTP/1.1\r\nHost: myvault.kv.localhost\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100\r\n\r\n{"value":`);
      setTimeout(() => s.destroy(), 50);
    });
    s.on('close', () => resolve()).on('error', () => undefined);
  });
  // A header line far too long: Node's 431.
  const longHeader = await raw(f, 'GET', '/secrets/s?api-version=7.4', { ...authorized, 'x-pad': 'p'.repeat(20_000) }).catch((e: NodeJS.ErrnoException) => ({ status: 0, headers: {}, body: e.code ?? '' }));
  t.ok(longHeader.status === 431 || longHeader.body === 'ECONNRESET', `too large headers: ${longHeader.status} ${longHeader.body}`);

  t.equal(f.calls.length, 0, 'none of it reached the backend');
  const after = await raw(f, 'GET', '/secrets/s?api-version=7.4', authorized);
  t.equal(after.status, 200, 'and the port serves on');
  t.equal((JSON.parse(after.body) as { value: string }).value, 'still here');
});

t.test('connections: the limit and the handshake timeout, as the other ports apply them', async (t) => {
  const refused: RefusalReason[] = [];
  const limits = { ...DEFAULT_CONNECTION_LIMITS, restMaxConnections: 2, handshakeTimeoutMs: 300 };
  const f = await startGateway(t, { limits, onRefused: (r) => refused.push(r) });
  const held = [0, 1].map(() => tcpConnect(f.gateway.port, '127.0.0.1').on('error', () => undefined));
  t.teardown(() => held.forEach((s) => s.destroy()));
  await new Promise((r) => setTimeout(r, 100));
  const third = await new Promise<string>((resolve) => {
    const s = tcpConnect(f.gateway.port, '127.0.0.1');
    s.on('close', () => resolve('closed')).on('error', () => undefined);
  });
  t.equal(third, 'closed', 'one past the limit is closed');
  t.ok(refused.includes('limit'));
  // The two held connections never start TLS: closed by the handshake timeout.
  const closedAt = await Promise.all(held.map((s) => new Promise<number>((resolve) => s.on('close', () => resolve(Date.now())))));
  t.equal(closedAt.length, 2);
  t.equal(refused.filter((r) => r === 'handshake_timeout').length, 2);
  // TLS done, but no request: the headers timeout (checked every handshakeTimeoutMs) closes it.
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: f.gateway.port, ca: f.tls.ca, servername: 'localhost' });
    s.on('close', () => resolve()).on('error', () => undefined).resume();
  });
  t.ok(Date.now() - started < 5000, `a silent connection closed after ${Date.now() - started} ms`);
});

t.test('admission control, the node\'s: a call it has no room for is 429 Throttled, and never reaches the application layer', async (t) => {
  const settings = { nodeCalls: 1, nodeQueue: 0, connectionCalls: 1, connectionQueue: 0, operatorCalls: 1, operatorQueue: 0, retryAfterMs: 200 };
  const admission = admissionControl({ settings, nodeId: 'gw', responseMetadata: () => new grpc.Metadata() });
  const f = await startGateway(t, { admit: (peer, path, deadlineMs) => admission.enter(peer, path, deadlineMs) });
  let letGo!: () => void;
  const held = new Promise<void>((resolve) => (letGo = resolve));
  f.handlers[`${SECRETS}GetSecret`] = async (r) => {
    if (r['name'] === 'slow') await held;
    return secret(r, 'v');
  };
  const slow = raw(f, 'GET', '/secrets/slow?api-version=7.4', authorized);
  while (f.calls.length === 0) await new Promise((r) => setTimeout(r, 10));
  const refused = await raw(f, 'GET', '/secrets/fast?api-version=7.4', authorized);
  t.equal(refused.status, 429);
  t.match(JSON.parse(refused.body), { error: { code: 'Throttled', message: /node gw is at its limit of 1 calls in progress/ } });
  t.match(refused.headers, { 'retry-after': '1', 'retry-after-ms': '200' });
  t.equal(f.calls.length, 1, 'the refused call never reached the application layer');
  letGo();
  t.equal((await slow).status, 200);
  t.equal((await raw(f, 'GET', '/secrets/fast?api-version=7.4', authorized)).status, 200, 'the slot is free again once the first call has ended');
});
