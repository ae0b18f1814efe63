// `keyraft principal`, `token` and `role assignment` run in-process against a
// fake client: what each sends, what it prints in both formats, its exit code,
// and how `role assignment delete` finds an assignment without its id.

import t from 'tap';
import { runWithClient } from './run-fake.js';
import { parseTtl } from '../../src/cli/principal.js';
import type { Principal, RoleAssignment, Token } from '../../src/client/index.js';

const alice: Principal = { name: 'alice', generation: 3, createdMs: 1700000000000 };
const token: Token = { token: 'kr1.header.payload.signature', principal: 'alice', expiresAtMs: 1700086400000, tokenId: 'tok-42' };
const assignment = (id: string, role: string, scope: string): RoleAssignment => ({ id, principal: 'alice', role, scope, createdMs: 1700000000000 });
const held = [
  assignment('ra-root-user', 'Key Vault Secrets User', '/'),
  assignment('ra-pay-user', 'Key Vault Secrets User', '/vaults/pay'),
  assignment('ra-pay-reader', 'Key Vault Reader', '/vaults/pay'),
];

const DEFAULT_ANSWERS: Record<string, unknown> = {
  createPrincipal: alice,
  deletePrincipal: alice,
  resetPrincipal: { ...alice, generation: 4 },
  listPrincipals: { principals: [alice, { name: 'ci-bot', generation: 0, createdMs: 1700000100000 }] },
  createToken: token,
  createRoleAssignment: held[1],
  deleteRoleAssignment: held[1],
  listRoleAssignments: { roleAssignments: held },
};

interface Outcome {
  code: number;
  out: string;
  err: string;
  calls: [string, unknown][];
}

async function cli(argv: string[], answers: Record<string, unknown> = {}): Promise<Outcome> {
  const calls: [string, unknown][] = [];
  const all = { ...DEFAULT_ANSWERS, ...answers };
  const client = new Proxy({} as Record<string, unknown>, {
    get: (_target, method: string) => {
      if (method === 'close') return () => undefined;
      return async (req: unknown) => {
        calls.push([method, req]);
        if (!(method in all)) throw new Error(`the fake has no answer for ${method}`);
        return all[method];
      };
    },
  });
  return { ...(await runWithClient(argv, client)), calls };
}

t.test('principal create, delete and reset send the name and print the principal', async (t) => {
  for (const [verb, method] of [['create', 'createPrincipal'], ['delete', 'deletePrincipal'], ['reset', 'resetPrincipal']] as const) {
    const r = await cli(['principal', verb, '--name', 'alice']);
    t.equal(r.code, 0, r.err);
    t.same(r.calls, [[method, { name: 'alice' }]], verb);
    t.match(r.out, /^Name\s+alice$/m);
    t.match(r.out, /^Created\s+2023-11-14T22:13:20Z$/m);
  }
  t.match((await cli(['principal', 'reset', '-n', 'alice'])).out, /^Generation\s+4$/m, 'a reset raises the generation');
  const json = await cli(['principal', 'create', '-n', 'alice', '-o', 'json']);
  t.same(JSON.parse(json.out), { name: 'alice', generation: '3', createdMs: '1700000000000' }, '64-bit integers as strings');
});

t.test('principal list', async (t) => {
  const r = await cli(['principal', 'list']);
  t.same(r.calls, [['listPrincipals', undefined]]);
  t.match(r.out, /^Name\s+Generation\s+Created$/m);
  t.match(r.out, /^alice\s+3\s+2023-11-14T22:13:20Z$/m);
  t.match(r.out, /^ci-bot\s+0\s+2023-11-14T22:15:00Z$/m);
  const json = JSON.parse((await cli(['principal', 'list', '-o', 'json'])).out) as { principals: { name: string }[] };
  t.same(json.principals.map((p) => p.name), ['alice', 'ci-bot']);
  const empty = await cli(['principal', 'list'], { listPrincipals: { principals: [] } });
  t.equal(empty.out, 'Name  Generation  Created\n----  ----------  -------\n');
});

t.test('token create: the ttl in milliseconds; the token alone on the first line', async (t) => {
  const r = await cli(['token', 'create', '--principal', 'alice', '--ttl', '24h']);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['createToken', { principal: 'alice', ttlMs: 86_400_000 }]]);
  const lines = r.out.split('\n');
  t.equal(lines[0], token.token);
  t.match(r.out, /^Principal\s+alice$/m);
  t.match(r.out, /^Expires\s+2023-11-15T22:13:20Z$/m);
  t.match(r.out, /^Token id\s+tok-42$/m);
  const json = await cli(['token', 'create', '--principal', 'alice', '--ttl', '90', '-o', 'json']);
  t.same(json.calls[0], ['createToken', { principal: 'alice', ttlMs: 90_000 }], 'a plain number is seconds');
  t.same(JSON.parse(json.out), { token: token.token, principal: 'alice', expiresAtMs: '1700086400000', tokenId: 'tok-42' });
});

t.test('parseTtl: units s, m, h, d; plain seconds; 1s to 366d', async (t) => {
  for (const [given, ms] of [
    ['90s', 90_000], ['30m', 1_800_000], ['24h', 86_400_000], ['7d', 604_800_000], ['600', 600_000],
    ['1s', 1000], ['1', 1000], ['366d', 366 * 86_400_000], [' 2H ', 7_200_000], ['527040m', 366 * 86_400_000],
  ] as const) {
    t.equal(parseTtl(given), ms, given);
  }
  for (const bad of ['', '0', '0s', '367d', '31622401', '1.5h', '1e3', '-5s', '5w', 'h', '24 h', '1h30m', '99999999999999999999d']) {
    t.throws(() => parseTtl(bad), { code: 'commander.invalidArgument' }, JSON.stringify(bad));
  }
  for (const [bad, why] of [['5w', /s, m, h or d/], ['367d', /from 1s to 366d/], ['0', /from 1s to 366d/]] as const) {
    const r = await cli(['token', 'create', '--principal', 'alice', '--ttl', bad]);
    t.equal(r.code, 2, bad);
    t.match(r.err, /--ttl/);
    t.match(r.err, why);
    t.same(r.calls, [], 'nothing was sent');
  }
});

t.test('role assignment create: the scope defaults to "/"; role names have spaces', async (t) => {
  const r = await cli(['role', 'assignment', 'create', '--assignee', 'alice', '--role', 'Key Vault Secrets User']);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['createRoleAssignment', { principal: 'alice', role: 'Key Vault Secrets User', scope: '/' }]]);
  t.match(r.out, /^Id\s+ra-pay-user$/m);
  t.match(r.out, /^Role\s+Key Vault Secrets User$/m);
  const json = await cli(['role', 'assignment', 'create', '--assignee', 'alice', '--role', 'Key Vault Secrets User', '--scope', '/vaults/pay', '-o', 'json']);
  t.same(json.calls[0], ['createRoleAssignment', { principal: 'alice', role: 'Key Vault Secrets User', scope: '/vaults/pay' }]);
  t.same(JSON.parse(json.out), { id: 'ra-pay-user', principal: 'alice', role: 'Key Vault Secrets User', scope: '/vaults/pay', createdMs: '1700000000000' });
});

t.test('role assignment list: everyone or one assignee', async (t) => {
  const r = await cli(['role', 'assignment', 'list']);
  t.same(r.calls, [['listRoleAssignments', {}]]);
  t.match(r.out, /^Principal\s+Role\s+Scope\s+Id\s+Created$/m);
  t.match(r.out, /^alice\s+Key Vault Reader\s+\/vaults\/pay\s+ra-pay-reader\s+2023-11-14T22:13:20Z$/m);
  const one = await cli(['role', 'assignment', 'list', '--assignee', 'alice', '-o', 'json']);
  t.same(one.calls, [['listRoleAssignments', { principal: 'alice' }]]);
  const json = JSON.parse(one.out) as { roleAssignments: { id: string; createdMs: string }[] };
  t.same(json.roleAssignments.map((a) => a.id), ['ra-root-user', 'ra-pay-user', 'ra-pay-reader']);
  t.equal(json.roleAssignments[0]!.createdMs, '1700000000000');
});

t.test('role assignment delete --ids deletes that one', async (t) => {
  const r = await cli(['role', 'assignment', 'delete', '--ids', 'ra-pay-user']);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['deleteRoleAssignment', { id: 'ra-pay-user' }]]);
  t.match(r.out, /^Scope\s+\/vaults\/pay$/m);
  t.equal(JSON.parse((await cli(['role', 'assignment', 'delete', '--ids', 'ra-pay-user', '-o', 'json'])).out).id, 'ra-pay-user');
});

t.test('role assignment delete by assignee, role and scope finds the one matching all three', async (t) => {
  const del = async (...more: string[]) => {
    const r = await cli(['role', 'assignment', 'delete', '--assignee', 'alice', ...more]);
    t.equal(r.code, 0, r.err);
    t.same(r.calls[0], ['listRoleAssignments', { principal: 'alice' }]);
    t.equal(r.calls.length, 2);
    return (r.calls[1]![1] as { id: string }).id;
  };
  t.equal(await del('--role', 'Key Vault Secrets User'), 'ra-root-user', 'the scope defaults to "/"');
  t.equal(await del('--role', 'Key Vault Secrets User', '--scope', '/vaults/pay'), 'ra-pay-user');
  t.equal(await del('--role', 'Key Vault Reader', '--scope', '/vaults/pay'), 'ra-pay-reader');
  t.equal(await del('--role', 'key vault reader', '--scope', '/vaults/PAY'), 'ra-pay-reader', 'role and vault names match in any case');
});

t.test('role assignment delete: nothing matching is an error, and nothing is deleted', async (t) => {
  const r = await cli(['role', 'assignment', 'delete', '--assignee', 'alice', '--role', 'Key Vault Reader']);
  t.equal(r.code, 1);
  t.same(r.calls, [['listRoleAssignments', { principal: 'alice' }]]);
  t.equal(r.out, '');
  t.match(r.err, /^error: principal "alice" holds no role "Key Vault Reader" at scope "\/"/);
  const nobody = await cli(['role', 'assignment', 'delete', '--assignee', 'bob', '--role', 'Key Vault Reader'], { listRoleAssignments: { roleAssignments: [] } });
  t.equal(nobody.code, 1);
  t.match(nobody.err, /"bob" holds no role/);
});

t.test('usage errors exit 2 and send nothing', async (t) => {
  for (const argv of [
    ['principal'],
    ['principal', 'create'],
    ['token', 'create', '--principal', 'alice'],
    ['token', 'create', '--ttl', '1h'],
    ['role', 'assignment', 'create', '--assignee', 'alice'],
    ['role', 'assignment', 'create', '--role', 'Key Vault Reader'],
    ['role', 'assignment', 'delete'],
    ['role', 'assignment', 'delete', '--assignee', 'alice'],
    ['role', 'assignment', 'delete', '--role', 'Key Vault Reader'],
    ['role', 'assignment', 'delete', '--ids', 'ra-1', '--assignee', 'alice'],
    ['role', 'assignment', 'delete', '--ids', 'ra-1', '--scope', '/'],
  ]) {
    const r = await cli(argv);
    t.equal(r.code, 2, argv.join(' '));
    t.same(r.calls, [], 'nothing was sent');
  }
  const neither = await cli(['role', 'assignment', 'delete', '--assignee', 'alice']);
  t.match(neither.err, /give --ids, or --assignee and --role/);
  const help = await cli(['role', 'assignment', 'create', '--help']);
  t.equal(help.code, 0);
  t.match(help.out, /Key Vault Secrets User/);
});
