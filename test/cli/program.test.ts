// The whole CLI run in-process against a fake client: what each command
// sends, what it prints in both formats, and its exit code (0 ok, 1 failed,
// 2 misused). Values are printed by `secret show` only.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { run, type CliClient, type CliDeps } from '../../src/cli/program.js';
import { KeyraftError, type KeyraftClientOptions, type SecretProperties } from '../../src/client/index.js';

const VALUE = 'hunter2-do-not-print';

const props = (name: string, version = 'v1'): SecretProperties => ({
  vault: 'pay',
  name,
  version,
  id: `keyraft://pay/secrets/${name}/${version}`,
  contentType: '',
  tags: {},
  enabled: true,
  notBefore: 0,
  expires: 0,
  created: 1700000000,
  updated: 1700000000,
  recoveryLevel: 'Recoverable+Purgeable',
  recoverableDays: 90,
});
const vault = { name: 'pay', id: 'keyraft://pay', softDeleteRetentionDays: 30, purgeProtection: true, created: 1700000000 };
const deleted = { properties: props('db'), recoveryId: 'keyraft://pay/deletedsecrets/db', deletedDate: 1700000100, scheduledPurgeDate: 1702592100 };

/** Records every call; answers canned objects, or throws `failWith`. */
function fakeClient(failWith?: Error): { client: CliClient; calls: [string, unknown][]; closed: () => boolean } {
  const calls: [string, unknown][] = [];
  let closed = false;
  const answer = <T>(name: string, req: unknown, value: T): Promise<T> => {
    calls.push([name, req]);
    return failWith === undefined ? Promise.resolve(value) : Promise.reject(failWith);
  };
  async function* items<T>(name: string, req: unknown, list: T[]): AsyncGenerator<T> {
    calls.push([name, req]);
    if (failWith !== undefined) throw failWith;
    yield* list;
  }
  const client = {
    createVault: (r: unknown) => answer('createVault', r, vault),
    getVault: (r: unknown) => answer('getVault', r, vault),
    deleteVault: (r: unknown) => answer('deleteVault', r, { vault }),
    listAllVaults: () => items('listAllVaults', undefined, [vault, { ...vault, name: 'ops' }]),
    setSecret: (r: unknown) => answer('setSecret', r, { properties: props('db', 'v2'), value: VALUE }),
    getSecret: (r: unknown) => answer('getSecret', r, { properties: props('db'), value: VALUE }),
    listAllSecrets: (v: string) => items('listAllSecrets', v, [props('a'), props('b')]),
    listAllSecretVersions: (v: string, n: string) => items('listAllSecretVersions', [v, n], [props(n, 'v1'), props(n, 'v2')]),
    updateSecretProperties: (r: unknown) => answer('updateSecretProperties', r, props('db')),
    deleteSecret: (r: unknown) => answer('deleteSecret', r, deleted),
    getDeletedSecret: (r: unknown) => answer('getDeletedSecret', r, deleted),
    listAllDeletedSecrets: (v: string) => items('listAllDeletedSecrets', v, [deleted]),
    recoverDeletedSecret: (r: unknown) => answer('recoverDeletedSecret', r, props('db')),
    purgeDeletedSecret: (r: unknown) => answer('purgeDeletedSecret', r, {}),
    backupSecret: (r: unknown) => answer('backupSecret', r, { value: Uint8Array.from([0xfb, 0xff, 1]) }),
    restoreSecret: (r: unknown) => answer('restoreSecret', r, props('db')),
    getStatus: () =>
      answer('getStatus', {}, {
        nodes: [{ id: 'east-1', region: 'east', role: 'leader', term: 2, commitIndex: 9, appliedIndex: 9, leader: 'east-1', mode: 'SERVING', reachable: true, clientAddress: 'a:1', peerAddress: 'a:2' }],
        regions: [{ name: 'east', role: 'primary', mode: 'SERVING', leader: 'east-1' }],
        answeredBy: 'east-1',
      }),
    close: () => {
      closed = true;
    },
  };
  return { client: client as unknown as CliClient, calls, closed: () => closed };
}

interface Outcome {
  code: number;
  out: string;
  err: string;
  calls: [string, unknown][];
  options: KeyraftClientOptions[];
  closed: boolean;
  written: Map<string, Uint8Array>;
}

async function cli(
  argv: string[],
  o: { failWith?: Error; env?: NodeJS.ProcessEnv; files?: Record<string, Buffer>; local?: { caFile?: string; tokenFile?: string } } = {},
): Promise<Outcome> {
  const fake = fakeClient(o.failWith);
  let out = '';
  let err = '';
  const options: KeyraftClientOptions[] = [];
  const written = new Map<string, Uint8Array>();
  const deps: Partial<CliDeps> = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env: o.env ?? { KEYRAFT_ENDPOINTS: '127.0.0.1:7101' },
    newClient: (opts) => {
      options.push(opts);
      return fake.client;
    },
    readFile: async (path) => {
      const f = o.files?.[path];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
      return f;
    },
    writeFile: async (path, data) => void written.set(path, data),
    // Not this checkout's cluster, whether or not `make cluster` ran here.
    localCluster: () => o.local ?? {},
  };
  const code = await run(argv, deps);
  return { code, out, err, calls: fake.calls, options, closed: fake.closed(), written };
}

const ref = ['--vault-name', 'pay', '--name', 'db'];

t.test('vault create sends the flags and prints a table', async (t) => {
  const r = await cli(['vault', 'create', '--name', 'pay', '--retention-days', '30', '--purge-protection']);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['createVault', { name: 'pay', softDeleteRetentionDays: 30, purgeProtection: true }]]);
  t.match(r.out, /^Name\s+pay$/m);
  t.ok(r.closed, 'the client is closed afterwards');
  const d = await cli(['vault', 'create', '--name', 'pay']);
  t.same(d.calls[0], ['createVault', { name: 'pay', softDeleteRetentionDays: 0, purgeProtection: false }]);
});

t.test('vault show|list|delete', async (t) => {
  t.same((await cli(['vault', 'show', '--name', 'pay'])).calls, [['getVault', { name: 'pay' }]]);
  const list = await cli(['vault', 'list', '--output', 'json']);
  const json = JSON.parse(list.out) as { vaults: { name: string; created: string }[] };
  t.same(json.vaults.map((v) => v.name), ['pay', 'ops']);
  t.equal(json.vaults[0]!.created, '1700000000', 'int64 as a string, as the JSON mapping says');
  const del = await cli(['vault', 'delete', '-n', 'pay', '-o', 'json']);
  t.same(JSON.parse(del.out).vault.name, 'pay');
});

t.test('secret set: value from --value or --file, attributes parsed, the value never printed', async (t) => {
  const r = await cli([
    'secret', 'set', ...ref, '--value', VALUE, '--content-type', 'text/plain',
    '--tags', 'env=prod', 'team=pay', '--enabled', 'false', '--not-before', '2030-01-01', '--expires', '1900000000',
  ]);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [[
    'setSecret',
    { vault: 'pay', name: 'db', value: VALUE, contentType: 'text/plain', tags: { env: 'prod', team: 'pay' }, enabled: false, notBefore: 1893456000, expires: 1900000000 },
  ]]);
  t.notMatch(r.out, VALUE);
  t.match(r.out, /^Version\s+v2$/m);
  const json = await cli(['secret', 'set', ...ref, '--value', VALUE, '--output', 'json']);
  t.notMatch(json.out, VALUE);
  const parsed = JSON.parse(json.out) as Record<string, unknown>;
  t.same(Object.keys(parsed), ['properties'], 'the JSON answer leaves the value out');
  const file = await cli(['secret', 'set', ...ref, '--file', 'v.txt'], { files: { 'v.txt': Buffer.from('from a file\n') } });
  t.same(file.calls[0]![1], { vault: 'pay', name: 'db', value: 'from a file\n', contentType: '', tags: {}, enabled: undefined, notBefore: 0, expires: 0 });
});

t.test('secret set refuses to guess', async (t) => {
  const neither = await cli(['secret', 'set', ...ref]);
  t.equal(neither.code, 2);
  t.match(neither.err, /--value or --file/);
  t.equal((await cli(['secret', 'set', ...ref, '--value', 'x', '--file', 'f'])).code, 2, '--value and --file conflict');
  const binary = await cli(['secret', 'set', ...ref, '--file', 'b'], { files: { b: Buffer.from([0xff, 0xfe, 0x00]) } });
  t.equal(binary.code, 2);
  t.match(binary.err, /not UTF-8/);
  t.equal(binary.calls.length, 0, 'nothing was sent');
  const missing = await cli(['secret', 'set', ...ref, '--file', 'nope']);
  t.equal(missing.code, 1);
  t.match(missing.err, /^error: ENOENT/);
});

t.test('secret show prints the value, in both formats', async (t) => {
  const r = await cli(['secret', 'show', ...ref, '--version', 'v1']);
  t.same(r.calls, [['getSecret', { vault: 'pay', name: 'db', version: 'v1' }]]);
  t.match(r.out, new RegExp(`^Value\\s+${VALUE}$`, 'm'));
  const json = JSON.parse((await cli(['secret', 'show', ...ref, '-o', 'json'])).out) as { value: string; properties: { created: string } };
  t.equal(json.value, VALUE);
  t.equal(json.properties.created, '1700000000');
});

t.test('secret list, list-versions, list-deleted and show-deleted walk the API and print no value', async (t) => {
  const list = await cli(['secret', 'list', '--vault-name', 'pay']);
  t.same(list.calls, [['listAllSecrets', 'pay']]);
  t.match(list.out, /^a\s+v1/m);
  t.match(list.out, /^b\s+v1/m);
  const versions = await cli(['secret', 'list-versions', ...ref, '-o', 'json']);
  t.same(versions.calls, [['listAllSecretVersions', ['pay', 'db']]]);
  t.same((JSON.parse(versions.out) as { secrets: { version: string }[] }).secrets.map((s) => s.version), ['v1', 'v2']);
  const gone = await cli(['secret', 'list-deleted', '--vault-name', 'pay']);
  t.match(gone.out, /^db\s+keyraft:\/\/pay\/deletedsecrets\/db/m);
  const shown = await cli(['secret', 'show-deleted', ...ref]);
  t.same(shown.calls, [['getDeletedSecret', { vault: 'pay', name: 'db' }]]);
  for (const r of [list, versions, gone, shown]) t.notMatch(r.out, VALUE);
});

t.test('secret update sends only what was given; --tags "" removes every tag', async (t) => {
  const r = await cli(['secret', 'update', ...ref, '--enabled', 'no', '--tags', '']);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['updateSecretProperties', { vault: 'pay', name: 'db', version: '', enabled: false, tags: { tags: {} } }]]);
  const nothing = await cli(['secret', 'update', ...ref]);
  t.equal(nothing.code, 2);
  t.match(nothing.err, /nothing to update/);
});

t.test('secret delete, recover, purge', async (t) => {
  t.same((await cli(['secret', 'delete', ...ref])).calls, [['deleteSecret', { vault: 'pay', name: 'db' }]]);
  t.same((await cli(['secret', 'recover', ...ref])).calls, [['recoverDeletedSecret', { vault: 'pay', name: 'db' }]]);
  const purge = await cli(['secret', 'purge', ...ref]);
  t.same(purge.calls, [['purgeDeletedSecret', { vault: 'pay', name: 'db' }]]);
  t.equal(purge.out, '', 'a purge has nothing to show');
  t.equal((await cli(['secret', 'purge', ...ref, '-o', 'json'])).out, '{}\n');
});

t.test('secret backup to a file or as base64url; restore from a file', async (t) => {
  const toFile = await cli(['secret', 'backup', ...ref, '--file', 'db.bak']);
  t.same([...toFile.written.get('db.bak')!], [0xfb, 0xff, 1]);
  t.match(toFile.out, /written to db\.bak \(3 bytes\)/);
  const printed = await cli(['secret', 'backup', ...ref, '-o', 'json']);
  t.same(JSON.parse(printed.out), { value: '-_8B' });
  const restore = await cli(['secret', 'restore', '--vault-name', 'pay', '--file', 'db.bak'], { files: { 'db.bak': Buffer.from([1, 2]) } });
  t.same(restore.calls, [['restoreSecret', { vault: 'pay', backup: Buffer.from([1, 2]) }]]);
});

t.test('cluster status prints nodes and regions', async (t) => {
  const r = await cli(['cluster', 'status']);
  t.match(r.out, /^Node\s+Region\s+Role\s+Term\s+Commit\s+Applied\s+Leader\s+Mode\s+Reachable\s+Primary index\s+Geo lag$/m);
  t.match(r.out, /^east\s+primary\s+SERVING\s+east-1$/m);
  t.same(JSON.parse((await cli(['cluster', 'status', '-o', 'json'])).out).nodes[0].commitIndex, '9');
});

t.test('global options reach the client, before or after the subcommand', async (t) => {
  const r = await cli(['--endpoints', 'a:1,b:2', 'vault', 'list', '--timeout', '900']);
  t.same(r.options, [{ endpoints: ['a:1', 'b:2'], timeoutMs: 900 }]);
  const env = await cli(['vault', 'list'], { env: { KEYRAFT_ENDPOINTS: 'c:3' } });
  t.same(env.options, [{ endpoints: ['c:3'] }]);
  const badEnv = await cli(['vault', 'list'], { env: { KEYRAFT_ENDPOINTS: 'nope' } });
  t.equal(badEnv.code, 2);
  t.match(badEnv.err, /KEYRAFT_ENDPOINTS/);
});

t.test("the CA and the token: a flag, else the environment, else the local cluster's files", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const local = { caFile: join(dir, 'ca.crt'), tokenFile: join(dir, 'admin.token') };
  writeFileSync(local.caFile, 'LOCAL CA');
  writeFileSync(local.tokenFile, 'local-token\n');
  const env = { KEYRAFT_ENDPOINTS: 'c:3' };
  const fromFiles = await cli(['vault', 'list'], { env, local });
  t.same(fromFiles.options, [{ endpoints: ['c:3'], ca: Buffer.from('LOCAL CA'), token: 'local-token' }]);
  const fromEnv = await cli(['vault', 'list'], { env: { ...env, KEYRAFT_TOKEN: 'env-token', KEYRAFT_CA: local.tokenFile }, local });
  t.same(fromEnv.options, [{ endpoints: ['c:3'], ca: Buffer.from('local-token\n'), token: 'env-token' }]);
  const fromFlags = await cli(['--token', 'flag-token', '--ca', local.tokenFile, 'vault', 'list'], { env: { ...env, KEYRAFT_TOKEN: 'env-token' }, local });
  t.same(fromFlags.options, [{ endpoints: ['c:3'], ca: Buffer.from('local-token\n'), token: 'flag-token' }]);
  const none = await cli(['vault', 'list'], { env });
  t.same(none.options, [{ endpoints: ['c:3'] }], 'no local cluster: no CA and no token');
  const unreadable = await cli(['vault', 'list'], { env, local: { tokenFile: join(dir, 'missing') } });
  t.equal(unreadable.code, 2);
  t.match(unreadable.err, /cannot read the token file/);
});

t.test('usage errors exit 2; help exits 0', async (t) => {
  for (const argv of [
    [],
    ['secret'],
    ['vault', 'frobnicate'],
    ['vault', 'show'],
    ['vault', 'show', '--name', 'x', '--bogus'],
    ['vault', 'list', '--output', 'yaml'],
    ['vault', 'create', '--name', 'x', '--retention-days', '5'],
    ['secret', 'show', '--name', 'db'],
    ['secret', 'set', ...ref, '--value', 'x', '--enabled', 'maybe'],
    ['secret', 'set', ...ref, '--value', 'x', '--expires', 'next week'],
    ['--endpoints', 'nohost', 'vault', 'list'],
    ['--timeout', '0', 'vault', 'list'],
  ]) {
    const r = await cli(argv);
    t.equal(r.code, 2, argv.join(' '));
    t.equal(r.calls.length, 0, 'nothing was sent');
  }
  const help = await cli(['secret', 'set', '--help']);
  t.equal(help.code, 0);
  t.match(help.out, /--vault-name <vault>/);
});

t.test('a server error: `error: REASON: message` on stderr, exit 1, no stack', async (t) => {
  const failWith = new KeyraftError(grpc.status.NOT_FOUND, 'SECRET_NOT_FOUND', 'secret db not found in vault pay');
  const r = await cli(['secret', 'show', ...ref], { failWith });
  t.equal(r.code, 1);
  t.equal(r.err, 'error: SECRET_NOT_FOUND: secret db not found in vault pay\n');
  t.equal(r.out, '');
  const retried = await cli(['vault', 'list'], { failWith: new KeyraftError(grpc.status.UNAVAILABLE, 'NO_QUORUM', 'no leader').withAttempts(5) });
  t.equal(retried.err, 'error: NO_QUORUM: no leader (after 5 attempts)\n');
  const throttled = new KeyraftError(grpc.status.RESOURCE_EXHAUSTED, 'THROTTLED', 'vault pay is over its limit of 4000 secrets and vault transactions per 10 s on this node; retry after 120 ms');
  const busy = await cli(['secret', 'set', ...ref, '--value', 'x'], { failWith: throttled.withAttempts(7) });
  t.equal(busy.code, 1);
  t.match(busy.err, /^error: THROTTLED: vault pay is over its limit .* \(after 7 attempts\)\n/);
  t.match(busy.err, /overloaded: it refused the call before doing anything, so nothing changed; try again later/, 'THROTTLED says that nothing changed');
  const other = await cli(['cluster', 'status'], { failWith: new Error('boom') });
  t.equal(other.code, 1);
  t.equal(other.err, 'error: boom\n', 'even an unexpected error prints no stack');
  t.ok(other.closed);
});
