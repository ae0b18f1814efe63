// Every RPC of the public API, called with each kind of token an attacker or
// a misconfigured application could hold, against a primary and against a
// failed-over secondary: the table below says what each must get. After
// every refusal the serving node's applied index is unchanged (nothing was
// proposed, so nothing changed); the calls with the right role succeed (or,
// on the failed-over secondary, what it does not serve gets READ_ONLY_FAILOVER). The primary's
// audit log then holds one line per call with the right principal and
// outcome, and a marker secret value is in no log, audit line or data file.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CLUSTER_PERMISSIONS, OPEN, AUTHENTICATED, ROLE_PERMISSIONS, RPC_PATHS, type Permission, type RoleName, generateTokenKey, issueToken, permissionFor } from '../../src/auth/index.js';
import { KeyraftClient } from '../../src/client/index.js';
import { apiClient } from '../../src/server/api.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(600_000);

type Case = 'no token' | 'expired' | 'other key' | 'deleted principal' | 'no role' | 'role on another vault' | 'right role';
const CASES: readonly Case[] = ['no token', 'expired', 'other key', 'deleted principal', 'no role', 'role on another vault', 'right role'];

/** What the table's requests need from the setup. */
interface Fixture {
  secretBackup: Buffer;
  keyBackup: Buffer;
  ciphertext: Buffer;
  wrapped: Buffer;
  signature: Buffer;
  roleAssignmentId: string;
  importJwk: object;
  /** The region whose membership the table changes: the one of the node it runs on. */
  region: string;
}

interface Entry {
  /**
   * Refused on a failed-over secondary with READ_ONLY_FAILOVER: every write,
   * and the reads that are not among the seed's read-only operations.
   */
  notInFailover: boolean;
  request: (f: Fixture) => object;
  /** What the right role gets, when not OK (a refusal that comes after authorization). */
  served?: Outcome;
}

const V = 'alpha';
const digest = Buffer.alloc(32, 9);
const E = (notInFailover: boolean, request: (f: Fixture) => object, served?: Outcome): Entry => ({ notInFailover, request, ...(served ? { served } : {}) });

// In the order they run: the right role's calls succeed one after another.
const TABLE: Readonly<Record<string, Entry>> = {
  'Vaults/CreateVault': E(true, () => ({ name: 'gamma' })),
  'Vaults/GetVault': E(false, () => ({ name: V })),
  'Vaults/ListVaults': E(false, () => ({})),
  'Vaults/DeleteVault': E(true, () => ({ name: 'gamma' })),
  'Secrets/SetSecret': E(true, () => ({ vault: V, name: 's1', value: 'v2' })),
  'Secrets/GetSecret': E(false, () => ({ vault: V, name: 's1' })),
  'Secrets/ListSecrets': E(false, () => ({ vault: V })),
  'Secrets/ListSecretVersions': E(true, () => ({ vault: V, name: 's1' })),
  'Secrets/UpdateSecretProperties': E(true, () => ({ vault: V, name: 's1', contentType: 'text/plain' })),
  'Secrets/DeleteSecret': E(true, () => ({ vault: V, name: 'del1' })),
  'Secrets/GetDeletedSecret': E(true, () => ({ vault: V, name: 'gone' })),
  'Secrets/ListDeletedSecrets': E(true, () => ({ vault: V })),
  'Secrets/RecoverDeletedSecret': E(true, () => ({ vault: V, name: 'rec' })),
  'Secrets/PurgeDeletedSecret': E(true, () => ({ vault: V, name: 'pur' })),
  'Secrets/BackupSecret': E(false, () => ({ vault: V, name: 's1' })),
  'Secrets/RestoreSecret': E(true, (f) => ({ vault: V, backup: f.secretBackup })),
  'Keys/CreateKey': E(true, () => ({ vault: V, name: 'knew', kty: 'EC', curve: 'P-256' })),
  'Keys/ImportKey': E(true, (f) => ({ vault: V, name: 'kimp', key: f.importJwk })),
  'Keys/GetKey': E(false, () => ({ vault: V, name: 'ec' })),
  'Keys/ListKeys': E(false, () => ({ vault: V })),
  'Keys/ListKeyVersions': E(true, () => ({ vault: V, name: 'ec' })),
  'Keys/UpdateKeyProperties': E(true, () => ({ vault: V, name: 'ec', enabled: true })),
  'Keys/RotateKey': E(true, () => ({ vault: V, name: 'krot' })),
  'Keys/DeleteKey': E(true, () => ({ vault: V, name: 'kdel' })),
  'Keys/GetDeletedKey': E(true, () => ({ vault: V, name: 'kgone' })),
  'Keys/ListDeletedKeys': E(true, () => ({ vault: V })),
  'Keys/RecoverDeletedKey': E(true, () => ({ vault: V, name: 'krec' })),
  'Keys/PurgeDeletedKey': E(true, () => ({ vault: V, name: 'kpur' })),
  'Keys/BackupKey': E(false, () => ({ vault: V, name: 'ec' })),
  'Keys/RestoreKey': E(true, (f) => ({ vault: V, backup: f.keyBackup })),
  'Keys/Encrypt': E(false, () => ({ vault: V, name: 'rsa', algorithm: 'RSA-OAEP-256', value: Buffer.alloc(16, 1) })),
  'Keys/Decrypt': E(false, (f) => ({ vault: V, name: 'rsa', algorithm: 'RSA-OAEP-256', value: f.ciphertext })),
  'Keys/WrapKey': E(false, () => ({ vault: V, name: 'rsa', algorithm: 'RSA-OAEP-256', value: Buffer.alloc(32, 2) })),
  'Keys/UnwrapKey': E(false, (f) => ({ vault: V, name: 'rsa', algorithm: 'RSA-OAEP-256', value: f.wrapped })),
  'Keys/Sign': E(false, () => ({ vault: V, name: 'ec', algorithm: 'ES256', digest })),
  'Keys/Verify': E(false, (f) => ({ vault: V, name: 'ec', algorithm: 'ES256', digest, signature: f.signature })),
  'Keys/GetRandomBytes': E(true, () => ({ count: 16 })),
  'Cluster/GetStatus': E(false, () => ({})),
  'Cluster/CreatePrincipal': E(true, () => ({ name: 'p-new' })),
  'Cluster/DeletePrincipal': E(true, () => ({ name: 'p-del' })),
  'Cluster/ResetPrincipal': E(true, () => ({ name: 'p-reset' })),
  'Cluster/ListPrincipals': E(false, () => ({})),
  'Cluster/CreateToken': E(false, () => ({ principal: 'p-reset', ttlMs: 60_000 })),
  'Cluster/CreateRoleAssignment': E(true, () => ({ principal: 'p-ra', role: 'Key Vault Reader', scope: '/vaults/gamma' })),
  'Cluster/DeleteRoleAssignment': E(true, (f) => ({ id: f.roleAssignmentId })),
  'Cluster/ListRoleAssignments': E(false, () => ({})),
  // A learner that never comes up: it cannot be promoted, and is removed again.
  'Cluster/ListMembers': E(false, () => ({})),
  'Cluster/AddMember': E(false, (f) => ({ region: f.region, id: 'ghost-1', clientAddress: '127.0.0.1:9', peerAddress: '127.0.0.1:10' })),
  'Cluster/PromoteMember': E(false, () => ({ id: 'ghost-1' }), { code: grpc.status.FAILED_PRECONDITION, reason: 'LEARNER_NOT_READY' }),
  'Cluster/RemoveMember': E(false, () => ({ id: 'ghost-1' })),
  'Cluster/SaveSnapshot': E(true, () => ({})),
  // Every node holds the same master key: a rotation rewraps under it again.
  'Cluster/RotateMasterKey': E(true, () => ({})),
  'Cluster/ListDataKeys': E(true, () => ({})),
  'Cluster/ResealValues': E(true, () => ({ maxValues: 8 })),
  // Last: the failover drill and its end.
  'Cluster/Failover': E(false, () => ({ reason: 'authorization test' })),
  'Cluster/Failback': E(false, () => ({ reason: 'authorization test' })),
};

const PUBLIC_PATHS = RPC_PATHS.filter((p) => p.startsWith('/keyraft.v1.'));
/** The table's paths, in its order. */
const PATHS = Object.keys(TABLE).map((k) => `/keyraft.v1.${k}`);
const entryOf = (path: string): Entry => TABLE[path.slice('/keyraft.v1.'.length)]!;

t.test('the table covers every RPC of the public API', async (t) => {
  t.same([...PATHS].sort(), [...PUBLIC_PATHS].sort());
});

const isClusterRole = (role: RoleName) => (ROLE_PERMISSIONS[role] as readonly Permission[]).some((p) => CLUSTER_PERMISSIONS.has(p));

/** The least role that grants `permission`: the fewest permissions. */
function rightRole(permission: Permission): RoleName {
  const roles = (Object.keys(ROLE_PERMISSIONS) as RoleName[]).filter((r) => (ROLE_PERMISSIONS[r] as readonly Permission[]).includes(permission));
  return roles.sort((a, b) => ROLE_PERMISSIONS[a].length - ROLE_PERMISSIONS[b].length)[0]!;
}

const slug = (role: string) => role.toLowerCase().replace(/ /g, '-');

/** Who calls with the right role, and who holds a role on another vault, for the RPC at `path`. */
function principalsFor(path: string): { right: string; other: string; role: RoleName; vaultBound: boolean } | undefined {
  const rule = permissionFor(path)!;
  if (rule.permission === OPEN || rule.permission === AUTHENTICATED) return undefined;
  const role = rightRole(rule.permission);
  const vaultBound = rule.vaultField !== undefined && !isClusterRole(role);
  // A cluster role exists only at "/": its stand-in on another vault is the broadest vault role.
  const otherRole = isClusterRole(role) ? 'Key Vault Administrator' : role;
  return { right: `${slug(role)}-${vaultBound ? V : 'root'}`, other: `${slug(otherRole)}-beta`, role, vaultBound };
}

interface Outcome {
  code: number;
  reason: string;
}

function call(address: string, ca: Buffer, path: string, request: object, token: string | undefined): Promise<Outcome> {
  const [service, method] = path.replace('/keyraft.v1.', '').split('/') as [string, string];
  const def = apiClient(service as 'Vaults').service[method]!;
  const client = new grpc.Client(address, grpc.credentials.createSsl(ca));
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  const done = (resolve: (o: Outcome) => void) => (err: grpc.ServiceError | null) => {
    client.close();
    if (err === null) resolve({ code: grpc.status.OK, reason: '' });
    else resolve({ code: err.code, reason: String(err.metadata?.get('keyraft-reason')[0] ?? '') });
  };
  return new Promise((resolve) => {
    const options = { deadline: Date.now() + 10_000 };
    if (!def.responseStream) return client.makeUnaryRequest(path, def.requestSerialize, def.responseDeserialize, request, md, options, done(resolve));
    // A server stream (SaveSnapshot): read to its end.
    const stream = client.makeServerStreamRequest(path, def.requestSerialize, def.responseDeserialize, request, md, options);
    const end = done(resolve);
    stream.on('data', () => undefined);
    stream.on('end', () => end(null));
    stream.on('error', end);
  });
}

const REFUSAL: Partial<Record<Case, Outcome>> = {
  'no token': { code: grpc.status.UNAUTHENTICATED, reason: 'TOKEN_MISSING' },
  expired: { code: grpc.status.UNAUTHENTICATED, reason: 'TOKEN_EXPIRED' },
  'other key': { code: grpc.status.UNAUTHENTICATED, reason: 'TOKEN_KEY_UNKNOWN' },
  'deleted principal': { code: grpc.status.UNAUTHENTICATED, reason: 'TOKEN_REVOKED' },
};
const OK: Outcome = { code: grpc.status.OK, reason: '' };
const FORBIDDEN: Outcome = { code: grpc.status.PERMISSION_DENIED, reason: 'FORBIDDEN' };
const READ_ONLY: Outcome = { code: grpc.status.FAILED_PRECONDITION, reason: 'READ_ONLY_FAILOVER' };

function expected(path: string, c: Case, failedOver: boolean): Outcome {
  const refusal = REFUSAL[c];
  if (refusal !== undefined) return refusal;
  const rule = permissionFor(path)!;
  const served = failedOver && entryOf(path).notInFailover ? READ_ONLY : (entryOf(path).served ?? OK);
  if (rule.permission === AUTHENTICATED) return served;
  if (c === 'no role') return FORBIDDEN;
  // `rng` is granted at any scope (Managed HSM's rng/action names no vault).
  if (c === 'role on another vault') return rule.permission === 'rng' ? served : FORBIDDEN;
  return served;
}

/** Every file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

t.test('every RPC × every kind of token, on a primary and on a failed-over secondary', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 1 }, { name: 'west', nodes: 1 }] });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const east = cluster.node('east-1');
  const west = cluster.node('west-1');
  const admin = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [east.client], timeoutMs: 10_000 });
  t.teardown(() => admin.close());

  // ---- setup, as the administrator ----
  const marker = `MARKER-${randomBytes(12).toString('hex')}`;
  await eventually('the first vault', () => admin.createVault({ name: V }), 60_000);
  await admin.createVault({ name: 'beta' });
  await admin.setSecret({ vault: V, name: 's1', value: marker });
  for (const name of ['del1', 'gone', 'rec', 'pur', 'rst']) await admin.setSecret({ vault: V, name, value: 'x' });
  for (const name of ['gone', 'rec', 'pur']) await admin.deleteSecret({ vault: V, name });
  const secretBackup = Buffer.from((await admin.backupSecret({ vault: V, name: 'rst' })).value);
  await admin.deleteSecret({ vault: V, name: 'rst' });
  await admin.purgeDeletedSecret({ vault: V, name: 'rst' });
  await admin.createKey({ vault: V, name: 'ec', kty: 'EC', curve: 'P-256' });
  await admin.createKey({ vault: V, name: 'rsa', kty: 'RSA', keySize: 2048 });
  for (const name of ['krot', 'kdel', 'kgone', 'krec', 'kpur', 'krst']) await admin.createKey({ vault: V, name, kty: 'EC', curve: 'P-256' });
  for (const name of ['kgone', 'krec', 'kpur']) await admin.deleteKey({ vault: V, name });
  const keyBackup = Buffer.from((await admin.backupKey({ vault: V, name: 'krst' })).value);
  await admin.deleteKey({ vault: V, name: 'krst' });
  await admin.purgeDeletedKey({ vault: V, name: 'krst' });
  const fixture: Fixture = {
    secretBackup,
    keyBackup,
    ciphertext: Buffer.from((await admin.encrypt({ vault: V, name: 'rsa', algorithm: 'RSA-OAEP-256', value: Buffer.alloc(16, 1) })).value),
    wrapped: Buffer.from((await admin.wrapKey({ vault: V, name: 'rsa', algorithm: 'RSA-OAEP-256', value: Buffer.alloc(32, 2) })).value),
    signature: Buffer.from((await admin.sign({ vault: V, name: 'ec', algorithm: 'ES256', digest })).value),
    roleAssignmentId: '',
    importJwk: { kty: 'oct', k: randomBytes(32), keyOps: ['encrypt', 'decrypt'] },
    region: 'east',
  };

  // Principals: one per role and scope the table needs, and the ones its calls act on.
  const wanted = new Map<string, { role: RoleName; scope: string }>();
  for (const path of PATHS) {
    const p = principalsFor(path);
    if (p === undefined) continue;
    wanted.set(p.right, { role: p.role, scope: p.vaultBound ? `/vaults/${V}` : '/' });
    wanted.set(p.other, { role: isClusterRole(p.role) ? 'Key Vault Administrator' : p.role, scope: '/vaults/beta' });
  }
  for (const [name, { role, scope }] of wanted) {
    await admin.createPrincipal({ name });
    await admin.createRoleAssignment({ principal: name, role, scope });
  }
  for (const name of ['no-role', 'gone-principal', 'p-del', 'p-reset', 'p-ra']) await admin.createPrincipal({ name });
  fixture.roleAssignmentId = (await admin.createRoleAssignment({ principal: 'p-ra', role: 'Key Vault Reader', scope: '/vaults/beta' })).id;

  const tokens = new Map<string, string>();
  for (const name of [...wanted.keys(), 'no-role']) tokens.set(name, await cluster.issueToken(name));
  const deletedToken = await cluster.issueToken('gone-principal');
  await admin.deletePrincipal({ name: 'gone-principal' });
  const expiredToken = await cluster.issueToken('admin', 1000);
  const otherKeyToken = (await issueToken({ principal: 'admin', generation: 0, ttlMs: 3_600_000, nowMs: Date.now(), key: generateTokenKey(), issuer: 'test' })).token;
  // The expired token's lifetime, in whole seconds, is over.
  await new Promise((r) => setTimeout(r, 2100));

  const tokenFor = (path: string, c: Case): string | undefined => {
    const p = principalsFor(path);
    switch (c) {
      case 'no token':
        return undefined;
      case 'expired':
        return expiredToken;
      case 'other key':
        return otherKeyToken;
      case 'deleted principal':
        return deletedToken;
      case 'no role':
        return tokens.get('no-role');
      case 'role on another vault':
        return p === undefined ? tokens.get('no-role') : tokens.get(p.other);
      case 'right role':
        return p === undefined ? tokens.get('no-role') : tokens.get(p.right);
    }
  };
  const principalOf = (path: string, c: Case): string | null => {
    if (REFUSAL[c] !== undefined) return null;
    const p = principalsFor(path);
    if (c === 'no role' || p === undefined) return 'no-role';
    return c === 'right role' ? p.right : p.other;
  };
  const appliedIndex = async (id: string) => (await cluster.admin<{ appliedIndex: number }>(id, 'nodeStatus', {})).appliedIndex;

  /** Runs the whole table against one node; returns what each call got, for the audit check. */
  const runTable = async (node: typeof east, failedOver: boolean) => {
    const calls: { path: string; principal: string | null; outcome: Outcome }[] = [];
    for (const path of PATHS) {
      const request = entryOf(path).request(fixture);
      for (const c of CASES) {
        const want = expected(path, c, failedOver);
        const before = want.code === grpc.status.OK ? undefined : await appliedIndex(node.id);
        const got = await call(node.client, cluster.ca, path, request, tokenFor(path, c));
        calls.push({ path, principal: principalOf(path, c), outcome: got });
        t.same(got, want, `${failedOver ? 'failed-over secondary' : 'primary'}: ${path} with ${c}`);
        if (before !== undefined) t.equal(await appliedIndex(node.id), before, `${path} with ${c}: nothing changed`);
      }
    }
    return calls;
  };

  // ---- the primary ----
  const auditFile = join(east.dataDir, 'audit.log');
  const auditLines = () => readFileSync(auditFile, 'utf8').split('\n').filter((l) => l !== '');
  // The audit log is written behind the requests: a last setup call, once in it, marks where the table starts.
  await admin.getVault({ name: 'beta' });
  const auditBefore = await eventually('the setup in the audit log', async () => {
    const all = auditLines();
    return all.length > 0 && (JSON.parse(all[all.length - 1]!) as { rpc: string; vault: string }).vault === 'beta' ? all.length : undefined;
  });
  const primaryCalls = await runTable(east, false);

  // The audit log: one line per call, in order, with who and how it ended.
  const lines = await eventually('every call in the audit log', async () => {
    const all = auditLines();
    return all.length >= auditBefore + primaryCalls.length ? all.slice(auditBefore) : undefined;
  });
  t.equal(lines.length, primaryCalls.length, 'one audit line per call');
  const audited = lines.map((l) => JSON.parse(l) as { rpc: string; principal: string | null; code: number; reason: string | null; node: string; time: string });
  t.same(
    audited.map((a) => [a.rpc, a.principal, a.code, a.reason ?? '']),
    primaryCalls.map((c) => [c.path, c.principal, c.outcome.code, c.outcome.reason]),
    'each audit line names the call, its principal and its outcome',
  );
  t.ok(audited.every((a) => a.node === 'east-1' && typeof a.time === 'string'), 'and the node and time');

  // GetStatus: peer addresses are for Cluster Administrators.
  const reader = new KeyraftClient({ ca: cluster.ca, token: tokens.get('no-role')!, regionAware: false, endpoints: [east.client], retries: 0 });
  const seenByReader = await reader.getStatus();
  reader.close();
  t.ok(seenByReader.nodes.length === 2 && seenByReader.nodes.every((n) => n.peerAddress === '' && n.clientAddress !== ''), 'a principal without roles sees client addresses only');
  t.ok((await admin.getStatus()).nodes.every((n) => n.peerAddress !== ''), 'a Cluster Administrator sees the peer addresses');

  // ---- the failed-over secondary ----
  const primaryCommit = await appliedIndex('east-1');
  await eventually('west has every primary entry', async () => {
    const s = await cluster.admin<{ primaryIndex: number }>('west-1', 'nodeStatus', {});
    return s.primaryIndex >= primaryCommit ? true : undefined;
  });
  await eventually('west back in standby after the drill', async () => {
    const s = await cluster.admin<{ mode: string }>('west-1', 'nodeStatus', {});
    return s.mode === 'STANDBY' ? true : undefined;
  });
  await admin.failover({ reason: 'authorization test, secondary' });
  await eventually('west failed over', async () => ((await cluster.admin<{ mode: string }>('west-1', 'nodeStatus', {})).mode === 'FAILED_OVER' ? true : undefined));
  fixture.region = 'west';
  await runTable(west, true);

  // ---- the marker secret value is nowhere on disk ----
  const leaks = filesUnder(cluster.dir).filter((f) => readFileSync(f).includes(marker));
  t.same(leaks, [], 'the marker secret value is in no log, audit line or data file');
  t.ok(cluster.isRunning('east-1') && cluster.isRunning('west-1'), 'no node crashed');
});
