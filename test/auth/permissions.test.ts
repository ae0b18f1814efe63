// The permission table: every public RPC in the .proto files has an entry
// that reads the request field naming its vault, the open and
// token-without-role paths are exactly the ones decided, and the table and
// the role table together give the answers the roles promise.

import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import t from 'tap';
import {
  AUTHENTICATED,
  OPEN,
  OPEN_PATHS,
  PERMISSIONS,
  ROLE_PERMISSIONS,
  RPC_PATHS,
  type RoleAssignment,
  allows,
  permissionFor,
  seesClusterDetails,
} from '../../src/auth/index.js';
import { API_FILES, GRPC_LOADER_OPTIONS } from '../../src/protos.js';

/** Cluster RPCs the table guards before cluster.proto has them. */
const PRINCIPAL_RPCS = [
  'CreatePrincipal',
  'DeletePrincipal',
  'ResetPrincipal',
  'ListPrincipals',
  'CreateToken',
  'CreateRoleAssignment',
  'DeleteRoleAssignment',
  'ListRoleAssignments',
].map((m) => `/keyraft.v1.Cluster/${m}`);

const REFLECTION = [
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
];

interface Rpc {
  path: string;
  /** The request's string fields, by their proto-loader (camelCase) names. */
  stringFields: Set<string>;
}

/** Every RPC of the public API, as grpc-js routes it (the same loader as the server). */
function publicRpcs(): Rpc[] {
  const def = protoLoader.loadSync(API_FILES, GRPC_LOADER_OPTIONS);
  const rpcs: Rpc[] = [];
  for (const [name, entry] of Object.entries(def)) {
    if (!name.startsWith('keyraft.v1.') || 'format' in entry || 'type' in entry) continue;
    for (const method of Object.values(entry as protoLoader.ServiceDefinition)) {
      const fields = (method.requestType.type as { field: { name: string; type: string }[] }).field;
      rpcs.push({
        path: method.path,
        stringFields: new Set(fields.filter((f) => f.type === 'TYPE_STRING').map((f) => f.name)),
      });
    }
  }
  return rpcs;
}

t.test('every public RPC has an entry, which reads the field naming its vault', async (t) => {
  const rpcs = publicRpcs();
  t.equal(rpcs.length, 56, 'the four services of keyraft.v1 hold 56 RPCs today');
  for (const { path, stringFields } of rpcs) {
    const rule = permissionFor(path);
    if (rule === undefined) {
      t.fail(`${path} has no entry in src/auth/permissions.ts: say which permission it needs`);
      continue;
    }
    t.not(rule.permission, OPEN, `${path} needs a token`);
    const vaultsService = path.startsWith('/keyraft.v1.Vaults/');
    const expected = stringFields.has('vault') ? 'vault' : vaultsService && stringFields.has('name') ? 'name' : undefined;
    t.equal(rule.vaultField, expected, `${path} reads the vault from ${expected ?? 'nowhere'}`);
  }
});

t.test('every keyraft.v1 entry is an RPC of the .proto files', async (t) => {
  const known = new Set(publicRpcs().map((r) => r.path));
  for (const path of RPC_PATHS.filter((p) => p.startsWith('/keyraft.'))) {
    t.ok(known.has(path), `${path} is in the table but not in the API`);
  }
  for (const path of PRINCIPAL_RPCS) t.ok(permissionFor(path)?.permission.startsWith('cluster/'), `${path} needs a cluster permission`);
});

t.test('the data-key RPCs need cluster/dataKeys, which only Cluster Administrator holds', async (t) => {
  for (const m of ['ListDataKeys', 'ResealValues']) t.equal(permissionFor(`/keyraft.v1.Cluster/${m}`)?.permission, 'cluster/dataKeys', m);
  const holders = Object.entries(ROLE_PERMISSIONS).filter(([, ps]) => (ps as readonly string[]).includes('cluster/dataKeys'));
  t.same(holders.map(([r]) => r), ['Cluster Administrator']);
});

t.test('the health service, and only it, is open', async (t) => {
  const healthPaths = Object.values(healthService).map((m) => m.path);
  t.ok(healthPaths.length >= 2);
  t.same([...OPEN_PATHS].sort(), [...healthPaths].sort());
  for (const p of healthPaths) t.equal(permissionFor(p)?.permission, OPEN, p);
});

t.test('reflection and GetStatus need a token and no role; nothing else does', async (t) => {
  const authenticatedOnly = RPC_PATHS.filter((p) => permissionFor(p)!.permission === AUTHENTICATED);
  t.same(authenticatedOnly.sort(), [...REFLECTION, '/keyraft.v1.Cluster/GetStatus'].sort());
});

t.test('an unknown path has no entry, to be refused', async (t) => {
  for (const p of [
    '',
    '/',
    '/keyraft.v1.Secrets/getSecret',
    '/keyraft.v1.secrets/GetSecret',
    'keyraft.v1.Secrets/GetSecret',
    '/keyraft.v1.Secrets/GetSecret/',
    '/keyraft.v2.Secrets/GetSecret',
    '/keyraft.peer.v1.Raft/Append',
    '/grpc.health.v1.Health/Check2',
    '/keyraft.v1.Secrets/toString',
    '/keyraft.v1.Secrets/__proto__',
  ]) {
    t.equal(permissionFor(p), undefined, JSON.stringify(p));
  }
});

t.test('vaultOf reads the raw field, and nothing from what is not a string', async (t) => {
  const getSecret = permissionFor('/keyraft.v1.Secrets/GetSecret')!;
  t.equal(getSecret.vaultOf({ vault: 'App', name: 's' }), 'App');
  t.equal(getSecret.vaultOf({ vault: '' }), '');
  const notNaming = [{}, { vault: 7 }, { vault: null }, { vault: ['app'] }, { name: 'app' }, null, undefined, 'app', { undecodable: true }];
  for (const req of notNaming) {
    t.equal(getSecret.vaultOf(req), undefined, JSON.stringify(req));
  }
  t.equal(permissionFor('/keyraft.v1.Vaults/GetVault')!.vaultOf({ name: 'app' }), 'app');
  t.equal(permissionFor('/keyraft.v1.Vaults/ListVaults')!.vaultOf({ name: 'app', vault: 'app' }), undefined);
  t.equal(permissionFor('/keyraft.v1.Keys/GetRandomBytes')!.vaultOf({ vault: 'app' }), undefined);
});

t.test('permissions the table never asks for are the ones kept for what is to come', async (t) => {
  const used = new Set(RPC_PATHS.map((p) => permissionFor(p)!.permission));
  t.same(
    PERMISSIONS.filter((p) => !used.has(p)),
    ['cluster/read'],
    'cluster/read: seesClusterDetails',
  );
});

/** Whether a principal with these assignments may make this call, as the interceptor will decide it. */
function may(assignments: readonly RoleAssignment[], path: string, request: object): boolean {
  const rule = permissionFor(path);
  if (rule === undefined) return false;
  if (rule.permission === OPEN || rule.permission === AUTHENTICATED) return true;
  return allows(assignments, rule.permission, rule.vaultOf(request));
}

t.test('the two tables together', async (t) => {
  const secretsUser = [{ role: 'Key Vault Secrets User', scope: '/vaults/app' }];
  t.ok(may(secretsUser, '/keyraft.v1.Secrets/GetSecret', { vault: 'APP', name: 's' }));
  t.ok(may(secretsUser, '/keyraft.v1.Secrets/ListSecrets', { vault: 'app' }));
  t.notOk(may(secretsUser, '/keyraft.v1.Secrets/GetSecret', { vault: 'other', name: 's' }));
  t.notOk(may(secretsUser, '/keyraft.v1.Secrets/SetSecret', { vault: 'app', name: 's', value: 'v' }));
  t.notOk(may(secretsUser, '/keyraft.v1.Secrets/GetSecret', { undecodable: true }), 'an undecodable request names no vault');
  t.notOk(may(secretsUser, '/keyraft.v1.Vaults/ListVaults', {}), 'ListVaults needs vaults/read at "/"');
  t.notOk(may(secretsUser, '/keyraft.v1.Vaults/GetVault', { name: 'app' }), 'Secrets User has no vaults/read');
  t.ok(may(secretsUser, '/keyraft.v1.Cluster/GetStatus', {}));

  const reader = [{ role: 'Key Vault Reader', scope: '/vaults/app' }];
  t.ok(may(reader, '/keyraft.v1.Vaults/GetVault', { name: 'App' }));
  t.notOk(may(reader, '/keyraft.v1.Vaults/ListVaults', {}));
  t.ok(may([{ role: 'Key Vault Reader', scope: '/' }], '/keyraft.v1.Vaults/ListVaults', {}));
  t.notOk(may(reader, '/keyraft.v1.Secrets/GetSecret', { vault: 'app', name: 's' }));
  t.notOk(may(reader, '/keyraft.v1.Keys/Encrypt', { vault: 'app', name: 'k' }));

  const kvAdmin = [{ role: 'Key Vault Administrator', scope: '/' }];
  t.ok(may(kvAdmin, '/keyraft.v1.Keys/PurgeDeletedKey', { vault: 'any', name: 'k' }));
  t.notOk(may(kvAdmin, '/keyraft.v1.Vaults/CreateVault', { name: 'new' }));
  t.notOk(may(kvAdmin, '/keyraft.v1.Vaults/DeleteVault', { name: 'any' }));
  t.notOk(may(kvAdmin, '/keyraft.v1.Cluster/CreateRoleAssignment', {}));
  t.notOk(may(kvAdmin, '/keyraft.v1.Cluster/Failover', {}));

  const clusterAdmin = [{ role: 'Cluster Administrator', scope: '/' }];
  t.ok(may(clusterAdmin, '/keyraft.v1.Vaults/CreateVault', { name: 'new' }));
  t.ok(may(clusterAdmin, '/keyraft.v1.Cluster/CreateToken', {}));
  t.ok(may(clusterAdmin, '/keyraft.v1.Cluster/Failback', {}));
  t.notOk(may(clusterAdmin, '/keyraft.v1.Secrets/GetSecret', { vault: 'app', name: 's' }));

  const encryption = [{ role: 'Key Vault Crypto Service Encryption User', scope: '/vaults/app' }];
  t.ok(may(encryption, '/keyraft.v1.Keys/UnwrapKey', { vault: 'app', name: 'k' }));
  t.ok(may(encryption, '/keyraft.v1.Keys/GetKey', { vault: 'app', name: 'k' }));
  t.notOk(may(encryption, '/keyraft.v1.Keys/Decrypt', { vault: 'app', name: 'k' }));
  t.notOk(may(encryption, '/keyraft.v1.Keys/GetRandomBytes', { count: 16 }));

  const cryptoUser = [{ role: 'Key Vault Crypto User', scope: '/vaults/app' }];
  t.ok(may(cryptoUser, '/keyraft.v1.Keys/GetRandomBytes', { count: 16 }));
  t.ok(may(cryptoUser, '/keyraft.v1.Keys/UpdateKeyProperties', { vault: 'app', name: 'k' }), 'as in Azure: keys/update/action');
  t.ok(may(cryptoUser, '/keyraft.v1.Keys/BackupKey', { vault: 'app', name: 'k' }), 'as in Azure: keys/backup/action');
  t.notOk(may(cryptoUser, '/keyraft.v1.Keys/CreateKey', { vault: 'app', name: 'k' }));
  t.notOk(may(cryptoUser, '/keyraft.v1.Keys/RestoreKey', { vault: 'app' }));

  t.notOk(may(kvAdmin, '/keyraft.v1.Nope/Nothing', {}), 'unknown: refused');
  t.ok(may([], '/grpc.health.v1.Health/Check', {}));
});

t.test('GetStatus details are for Cluster Administrator', async (t) => {
  t.ok(seesClusterDetails([{ role: 'Cluster Administrator', scope: '/' }]));
  t.ok(seesClusterDetails([{ role: 'Key Vault Reader', scope: '/' }, { role: 'Cluster Administrator', scope: '/' }]));
  t.notOk(seesClusterDetails([{ role: 'Key Vault Administrator', scope: '/' }]));
  t.notOk(seesClusterDetails([{ role: 'Cluster Administrator', scope: '/vaults/app' }]));
  t.notOk(seesClusterDetails([]));
});
