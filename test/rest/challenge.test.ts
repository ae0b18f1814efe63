// The 401 challenge, read back by @azure/keyvault-common's own
// authentication policy: the scope it asks its credential for, the retry
// with the token, and its check of the resource against the vault host.

import { createHttpHeaders, createPipelineRequest, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { keyVaultAuthenticationPolicy } from '@azure/keyvault-common';
import t from 'tap';
import { challengeResponse, KV_RESOURCE, sdkAcceptsResource, wwwAuthenticate } from '../../src/rest/challenge.js';

const ISSUER = 'https://login.kv.localhost:8443';

t.test('the header', async (t) => {
  t.equal(wwwAuthenticate(ISSUER), 'Bearer authorization="https://login.kv.localhost:8443", resource="https://kv.localhost"');
  t.equal(KV_RESOURCE, 'https://kv.localhost');
  t.throws(() => wwwAuthenticate('https://login.example/a b'), /challenge parser/, 'a space would cut the value');
  t.throws(() => wwwAuthenticate('not a url'), /challenge parser/);
  const r = challengeResponse(ISSUER);
  t.equal(r.status, 401);
  t.equal(r.body.error.code, 'Unauthorized');
  t.equal(r.headers['www-authenticate'], wwwAuthenticate(ISSUER));
});

t.test('the resource check the SDK makes', async (t) => {
  t.ok(sdkAcceptsResource('myvault.kv.localhost'));
  t.notOk(sdkAcceptsResource('kv.localhost'));
  t.notOk(sdkAcceptsResource('localhost'));
  t.notOk(sdkAcceptsResource('127.0.0.1'));
  t.notOk(sdkAcceptsResource('myvault.kv.localhost.evil.example'));
});

/** Runs the SDK's policy on one request, the "server" answering 401 + challenge until it sees a token. */
async function runPolicy(url: string, header: string) {
  const scopesAsked: string[][] = [];
  const tenants: (string | undefined)[] = [];
  const credential = {
    getToken: async (scopes: string | string[], options?: { tenantId?: string }) => {
      scopesAsked.push([scopes].flat());
      tenants.push(options?.tenantId);
      return { token: 'kr-token', expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  const policy = keyVaultAuthenticationPolicy(credential);
  const seen: { authorization: string | undefined; body: unknown }[] = [];
  const next = async (request: PipelineRequest): Promise<PipelineResponse> => {
    const authorization = request.headers.get('authorization');
    seen.push({ authorization, body: request.body });
    const headers = createHttpHeaders(authorization === undefined ? { 'www-authenticate': header } : {});
    return { request, headers, status: authorization === undefined ? 401 : 200, bodyAsText: '{}' };
  };
  const request = createPipelineRequest({ url, method: 'PUT', body: '{"value":"v"}' });
  const response = await policy.sendRequest(request, next);
  return { response, scopesAsked, tenants, seen };
}

t.test("keyvault-common's policy completes the challenge on a vault host", async (t) => {
  const { response, scopesAsked, tenants, seen } = await runPolicy('https://myvault.kv.localhost:8443/secrets/s?api-version=2026-04-01', wwwAuthenticate(ISSUER));
  t.equal(response.status, 200);
  t.same(scopesAsked, [['https://kv.localhost/.default']], 'the scope is the resource + /.default');
  t.same(tenants, [undefined], 'an issuer URL without a path names no tenant');
  t.same(seen, [
    { authorization: undefined, body: null },
    { authorization: 'Bearer kr-token', body: '{"value":"v"}' },
  ], 'first without token and body, then with both');
});

t.test("the policy refuses the resource for a host outside it, as sdkAcceptsResource says", async (t) => {
  await t.rejects(runPolicy('https://localhost:8443/secrets/s?api-version=2026-04-01', wwwAuthenticate(ISSUER)), /does not match the requested domain/);
});
