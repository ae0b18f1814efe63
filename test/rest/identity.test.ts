// The managed-identity token endpoint (src/rest/identity.ts) on a real
// gateway: the unmodified @azure/identity, with nothing but environment
// variables (IDENTITY_ENDPOINT, IDENTITY_HEADER = a keyraft token), gets the
// token over HTTPS and a SecretClient works with it; a header that is not a
// good keyraft token, a request without one, the IMDS form and a token for
// another service are refused. Tokens are real ones (src/auth/tokens.ts).

import { request as httpsRequest } from 'node:https';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { Secret } from '../../src/client/types.js';
import { generateTokenKey, issueToken, verifyToken } from '../../src/auth/tokens.js';
import { IDENTITY_PATH } from '../../src/rest/identity.js';
import { Failure, type Fixture, runSdk, startGateway } from './gateway-fixture.js';

t.setTimeout(240_000);

const ISSUER = 'test-cluster';
const key = generateTokenKey();
const otherKey = generateTokenKey();
const token = (k = key, ttlMs = 3_600_000, nowMs = Date.now()) => issueToken({ principal: 'app', generation: 0, ttlMs, nowMs, key: k, issuer: ISSUER });
const verify = (k = key) => async (s: string) => verifyToken(s, { keys: [k], nowMs: Date.now(), issuer: ISSUER });

const V1 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

function secret(vault: string, name: string, value: string): Secret {
  const properties = { vault, name, version: V1, id: `keyraft://${vault}/secrets/${name}/${V1}`, contentType: '', tags: {}, enabled: true, notBefore: 0, expires: 0, created: 1, updated: 1, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 };
  return { properties, value };
}

const endpoint = (f: Fixture) => `https://127.0.0.1:${f.gateway.port}${IDENTITY_PATH}`;

/** A request to the token endpoint by hand, trusting the test CA. */
function ask(f: Fixture, query: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: f.gateway.port, method, path: `${IDENTITY_PATH}?${query}`, headers, ca: f.tls.ca, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString())).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

const QUERY = 'api-version=2019-08-01&resource=https://kv.localhost';

t.test('DefaultAzureCredential with only IDENTITY_ENDPOINT and IDENTITY_HEADER: the keyraft token, and a SecretClient that works with it', async (t) => {
  const f = await startGateway(t, { verifyToken: verify() });
  const issued = await token();
  f.handlers['/keyraft.v1.Secrets/GetSecret'] = (r, call) => {
    if (call.authorization !== `Bearer ${issued.token}`) throw new Failure({ code: grpc.status.UNAUTHENTICATED, reason: 'TOKEN_INVALID', message: 'not the token' });
    return secret(r['vault'] as string, r['name'] as string, 'opened with a managed identity');
  };
  const report = await runSdk<{ token: string; expiresOnTimestamp: number; value: string }>(t, f, 'identity-default', { IDENTITY_ENDPOINT: endpoint(f), IDENTITY_HEADER: issued.token });
  t.notOk(report.error, report.error ? `${report.error.message}\n${report.stack}` : 'the credential and the client ran through');
  const r = report.result!;
  t.equal(r.token, issued.token, 'the access token is the keyraft token');
  t.ok(Math.abs(r.expiresOnTimestamp - issued.expiresAtMs) <= 2000, `expiring with it (${r.expiresOnTimestamp - issued.expiresAtMs} ms apart)`);
  t.equal(r.value, 'opened with a managed identity');
  t.equal(f.calls.length, 1);
  t.equal(f.calls[0]!.authorization, `Bearer ${issued.token}`);
});

t.test('ManagedIdentityCredential: a header that is no good keyraft token, or a scope of another service, gets no token', async (t) => {
  const f = await startGateway(t, { verifyToken: verify() });
  const cases: [string, Record<string, string>, RegExp][] = [
    ['a token of another cluster key', { IDENTITY_HEADER: (await token(otherKey)).token }, /IDENTITY_HEADER is not a valid keyraft token: the token is signed with key/],
    ['an expired token', { IDENTITY_HEADER: (await token(key, 1000, Date.now() - 10_000)).token }, /IDENTITY_HEADER is not a valid keyraft token: the token expired/],
    ['not a token at all', { IDENTITY_HEADER: 'let-me-in' }, /IDENTITY_HEADER is not a valid keyraft token/],
    ['a token asked for another service', { IDENTITY_HEADER: (await token()).token, SCOPE: 'https://storage.azure.com/.default' }, /keyraft's tokens are for its vaults \(resource https:\/\/kv.localhost\), not for "https:\/\/storage.azure.com"/],
  ];
  // One SDK process each (@azure/identity reads the variables once per process), all at once: each is mostly start-up.
  const reports = await Promise.all(
    cases.map(([, env]) => runSdk<{ error?: { name: string; message: string }; token?: string }>(t, f, 'identity-managed', { IDENTITY_ENDPOINT: endpoint(f), ...env })),
  );
  for (const [i, [what, , message]] of cases.entries()) {
    t.notOk(reports[i]!.result?.token, `${what}: no token`);
    t.match(reports[i]!.result?.error, { name: 'CredentialUnavailableError', message }, what);
  }
});

t.test('by hand: App Service\'s request and answer; every other form refused', async (t) => {
  let verified = 0;
  const f = await startGateway(t, {
    verifyToken: async (s) => {
      verified++;
      if (s === 'node-joining') throw new Failure({ code: grpc.status.UNAVAILABLE, reason: 'NODE_JOINING', message: 'NODE_JOINING: this node has no state yet' });
      return verify()(s);
    },
  });
  const issued = await token();
  const good = await ask(f, QUERY, { 'x-identity-header': issued.token });
  t.equal(good.status, 200);
  t.same(good.body, { access_token: issued.token, expires_on: String(issued.expiresAtMs / 1000), resource: 'https://kv.localhost', token_type: 'Bearer' });
  t.equal(good.headers['cache-control'], 'no-store', 'a token is for no cache');
  t.equal((await ask(f, 'api-version=2025-01-01&resource=https://myvault.kv.localhost/.default', { 'x-identity-header': issued.token })).status, 200, 'a later version, a vault\'s own resource');

  const refusals: [string, string, Record<string, string>, number, RegExp, string?][] = [
    ['no header', QUERY, {}, 400, /X-IDENTITY-HEADER header is required/],
    ['the IMDS form', QUERY, { metadata: 'true' }, 400, /App Service form of managed identity only/],
    ['no api-version', 'resource=https://kv.localhost', { 'x-identity-header': issued.token }, 400, /api-version must be 2019-08-01 or later/],
    ['an older api-version', 'api-version=2017-09-01&resource=https://kv.localhost', { 'x-identity-header': issued.token }, 400, /api-version/],
    ['no resource', 'api-version=2019-08-01', { 'x-identity-header': issued.token }, 400, /resource query parameter is required/],
    ['plain http', 'api-version=2019-08-01&resource=http://kv.localhost', { 'x-identity-header': issued.token }, 400, /not for "http:\/\/kv.localhost"/],
    ['a look-alike host', 'api-version=2019-08-01&resource=https://kv.localhost.evil.example', { 'x-identity-header': issued.token }, 400, /not for/],
    ['a bad token', QUERY, { 'x-identity-header': 'x.y.z' }, 401, /not a valid keyraft token/],
    ['a node that cannot check yet', QUERY, { 'x-identity-header': 'node-joining' }, 503, /NODE_JOINING/],
    ['POST', QUERY, { 'x-identity-header': issued.token }, 405, /takes GET/, 'POST'],
  ];
  for (const [what, query, headers, status, message, method] of refusals) {
    const res = await ask(f, query, headers, method);
    t.equal(res.status, status, what);
    t.match(res.body, { statusCode: status, error: /^[a-z_]+$/, message }, what);
    t.notOk('access_token' in res.body, `${what}: no token`);
  }
  t.equal(verified, 4, 'a token is checked only once the request is in the right form');
  t.equal(f.calls.length, 0, 'the token endpoint calls no RPC');
});
