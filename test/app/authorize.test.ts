// The authorization decision, against a directory of principals and keys
// as the replicated state will hand it: every refusal the issue lists
// (no token, expired, another key, deleted principal, reset principal, no
// role, the right role on another vault) and the calls that must pass.

import t from 'tap';
import { type RoleAssignment, type TokenKey, generateTokenKey, issueToken } from '../../src/auth/index.js';
import { type AuthDirectory, type Refusal, VerifiedTokens, authenticate, bearerToken, permit } from '../../src/app/authorize.js';

const ISSUER = 'test-cluster';
const NOW = 1_800_000_000_000;
const GET_SECRET = '/keyraft.v1.Secrets/GetSecret';
const SET_SECRET = '/keyraft.v1.Secrets/SetSecret';

type Assigned = RoleAssignment & { principal: string };

function directory(keys: TokenKey[]): AuthDirectory & { principals: Map<string, number>; assignments: Assigned[] } {
  const principals = new Map<string, number>();
  const assignments: Assigned[] = [];
  return {
    principals,
    assignments,
    principal: (name) => (principals.has(name) ? { name, generation: principals.get(name)! } : undefined),
    roleAssignments: (name) => assignments.filter((a) => a.principal === name),
    tokenKeys: () => keys,
  };
}

async function bearer(principal: string, generation: number, key: TokenKey, opts: { ttlMs?: number; nowMs?: number; issuer?: string } = {}): Promise<string> {
  const { token } = await issueToken({ principal, generation, key, ttlMs: opts.ttlMs ?? 60_000, nowMs: opts.nowMs ?? NOW, issuer: opts.issuer ?? ISSUER });
  return `Bearer ${token}`;
}

const isRefusal = (r: unknown): r is Refusal => typeof r === 'object' && r !== null && 'code' in r;

/** The whole decision for one call: authenticate, then permit. */
async function decide(dir: AuthDirectory, path: string, authorization: string | undefined, request: object): Promise<string> {
  const who = await authenticate(path, authorization, dir, { nowMs: NOW, issuer: ISSUER });
  if (isRefusal(who)) return `${who.code} ${who.reason}`;
  const refused = permit(who.rule, who.caller, request);
  return refused === undefined ? 'OK' : `${refused.code} ${refused.reason}`;
}

t.test('bearer tokens are read from the authorization header, nothing else', async (t) => {
  t.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
  t.equal(bearerToken('bearer abc'), 'abc', 'the scheme is case-insensitive');
  t.equal(bearerToken(undefined), undefined);
  t.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
  t.equal(bearerToken('Bearer'), undefined);
  t.equal(bearerToken('Bearer a b'), undefined);
});

t.test('each kind of caller gets the answer the issue asks for', async (t) => {
  const key = generateTokenKey();
  const dir = directory([key]);
  dir.principals.set('alice', 0);
  dir.principals.set('bob', 3);
  dir.principals.set('carol', 0);
  dir.assignments.push({ principal: 'alice', role: 'Key Vault Secrets User', scope: '/vaults/payroll' });
  dir.assignments.push({ principal: 'carol', role: 'Key Vault Secrets User', scope: '/vaults/other' });
  const read = { vault: 'payroll', name: 'db' };

  t.equal(await decide(dir, GET_SECRET, undefined, read), 'UNAUTHENTICATED TOKEN_MISSING', 'no token');
  t.equal(await decide(dir, GET_SECRET, 'Basic x', read), 'UNAUTHENTICATED TOKEN_MISSING', 'not a bearer token');
  t.equal(await decide(dir, GET_SECRET, await bearer('alice', 0, key, { nowMs: NOW - 120_000 }), read), 'UNAUTHENTICATED TOKEN_EXPIRED', 'expired');
  t.equal(await decide(dir, GET_SECRET, await bearer('alice', 0, generateTokenKey()), read), 'UNAUTHENTICATED TOKEN_KEY_UNKNOWN', 'signed by another key');
  t.equal(await decide(dir, GET_SECRET, await bearer('alice', 0, key, { issuer: 'another-cluster' }), read), 'UNAUTHENTICATED TOKEN_INVALID', "another cluster's");
  t.equal(await decide(dir, GET_SECRET, await bearer('dave', 0, key), read), 'UNAUTHENTICATED TOKEN_REVOKED', 'a deleted principal');
  t.equal(await decide(dir, GET_SECRET, await bearer('bob', 2, key), read), 'UNAUTHENTICATED TOKEN_REVOKED', 'issued before a reset');
  t.equal(await decide(dir, GET_SECRET, await bearer('bob', 3, key), read), 'PERMISSION_DENIED FORBIDDEN', 'no role');
  t.equal(await decide(dir, GET_SECRET, await bearer('carol', 0, key), read), 'PERMISSION_DENIED FORBIDDEN', 'the right role on another vault');
  t.equal(await decide(dir, GET_SECRET, await bearer('alice', 0, key), read), 'OK', 'the right role on this vault');
  t.equal(await decide(dir, GET_SECRET, await bearer('alice', 0, key), { vault: 'PAYROLL', name: 'db' }), 'OK', 'vault names match case-insensitively');
  t.equal(await decide(dir, SET_SECRET, await bearer('alice', 0, key), { ...read, value: 'x' }), 'PERMISSION_DENIED FORBIDDEN', 'a role that does not grant this call');
});

t.test('open, authenticated-only and unknown paths', async (t) => {
  const key = generateTokenKey();
  const dir = directory([key]);
  dir.principals.set('bob', 0);
  t.equal(await decide(dir, '/grpc.health.v1.Health/Check', undefined, {}), 'OK', 'health needs no token');
  t.equal(await decide(dir, '/keyraft.v1.Cluster/GetStatus', undefined, {}), 'UNAUTHENTICATED TOKEN_MISSING', 'status needs a token');
  t.equal(await decide(dir, '/keyraft.v1.Cluster/GetStatus', await bearer('bob', 0, key), {}), 'OK', '...but no role');
  t.equal(await decide(dir, '/keyraft.v1.Nope/Nothing', await bearer('bob', 0, key), {}), 'PERMISSION_DENIED FORBIDDEN', 'an unknown method is refused, not passed');
});

t.test('a rotated key: tokens of the key being retired still verify', async (t) => {
  const [older, newer] = [generateTokenKey(), generateTokenKey()];
  const dir = directory([newer, older]);
  dir.principals.set('alice', 0);
  dir.assignments.push({ principal: 'alice', role: 'Key Vault Reader', scope: '/' });
  t.equal(await decide(dir, '/keyraft.v1.Vaults/ListVaults', await bearer('alice', 0, older), {}), 'OK');
  t.equal(await decide(dir, '/keyraft.v1.Vaults/ListVaults', await bearer('alice', 0, newer), {}), 'OK');
});

t.test('a verified token is remembered, but its principal, generation and expiry are checked on every call', async (t) => {
  const key = generateTokenKey();
  let keys: TokenKey[] = [key];
  const dir = { ...directory([]), tokenKeys: () => keys };
  dir.principals.set('alice', 0);
  const cache = new VerifiedTokens();
  const auth = async (authorization: string, nowMs = NOW) => {
    const r = await authenticate(GET_SECRET, authorization, dir, { nowMs, issuer: ISSUER }, cache);
    return isRefusal(r) ? r.reason : r.caller?.principal;
  };
  const token = await bearer('alice', 0, key);
  t.equal(await auth(token), 'alice');

  // Emptied in place (the same array): only a remembered verification lets the token through.
  keys.length = 0;
  t.equal(await auth(token), 'alice', 'the second call does not verify the signature again');
  dir.principals.set('alice', 1);
  t.equal(await auth(token), 'TOKEN_REVOKED', 'a reset still revokes it');
  dir.principals.delete('alice');
  t.equal(await auth(token), 'TOKEN_REVOKED', 'so does a delete');
  dir.principals.set('alice', 0);
  t.equal(await auth(token, NOW + 60_000), 'TOKEN_KEY_UNKNOWN', 'once expired it is forgotten and verified again');

  keys = [key];
  t.equal(await auth(token), 'alice');
  keys = [generateTokenKey()];
  t.equal(await auth(token), 'TOKEN_KEY_UNKNOWN', 'new token keys forget every verification');
});
