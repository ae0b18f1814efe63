// The role table: each built-in role's permissions as Azure defines them,
// how a scope limits an assignment, and the validators for what an
// operator types (role names, scopes).

import fc from 'fast-check';
import t from 'tap';
import {
  PERMISSIONS,
  type Permission,
  ROLE_NAMES,
  type RoleAssignment,
  allows,
  permissionsOf,
  validateRoleAssignment,
  validateRoleName,
  validateScope,
} from '../../src/auth/index.js';
import { ErrorKind, VaultError } from '../../src/vault/errors.js';

const AZURE_ROLES = [
  'Key Vault Administrator',
  'Key Vault Reader',
  'Key Vault Secrets Officer',
  'Key Vault Secrets User',
  'Key Vault Crypto Officer',
  'Key Vault Crypto User',
  'Key Vault Crypto Service Encryption User',
];

// Written out again rather than derived from the source, so that a change to
// the table has to be made twice, on purpose.
const EXPECTED: Record<string, readonly Permission[]> = {
  'Key Vault Administrator': [
    'vaults/read',
    'secrets/readMetadata', 'secrets/getSecret', 'secrets/write', 'secrets/backup', 'secrets/restore', 'secrets/purge',
    'keys/readMetadata', 'keys/write', 'keys/update', 'keys/backup', 'keys/restore', 'keys/purge',
    'keys/encrypt', 'keys/decrypt', 'keys/wrap', 'keys/unwrap', 'keys/sign', 'keys/verify',
    'rng',
  ],
  'Key Vault Reader': ['vaults/read', 'secrets/readMetadata', 'keys/readMetadata'],
  'Key Vault Secrets Officer': [
    'vaults/read',
    'secrets/readMetadata', 'secrets/getSecret', 'secrets/write', 'secrets/backup', 'secrets/restore', 'secrets/purge',
  ],
  'Key Vault Secrets User': ['secrets/readMetadata', 'secrets/getSecret'],
  'Key Vault Crypto Officer': [
    'vaults/read',
    'keys/readMetadata', 'keys/write', 'keys/update', 'keys/backup', 'keys/restore', 'keys/purge',
    'keys/encrypt', 'keys/decrypt', 'keys/wrap', 'keys/unwrap', 'keys/sign', 'keys/verify',
    'rng',
  ],
  'Key Vault Crypto User': [
    'keys/readMetadata', 'keys/update', 'keys/backup',
    'keys/encrypt', 'keys/decrypt', 'keys/wrap', 'keys/unwrap', 'keys/sign', 'keys/verify',
    'rng',
  ],
  'Key Vault Crypto Service Encryption User': ['keys/readMetadata', 'keys/wrap', 'keys/unwrap'],
  'Cluster Administrator': [
    'vaults/read', 'vaults/write',
    'cluster/read', 'cluster/failover', 'cluster/principals', 'cluster/roleAssignments', 'cluster/membership',
    'cluster/snapshot',
    'cluster/masterKey',
    'cluster/dataKeys',
  ],
};

const CLUSTER: readonly Permission[] = [
  'vaults/write',
  'cluster/read',
  'cluster/failover',
  'cluster/principals',
  'cluster/roleAssignments',
  'cluster/membership',
  'cluster/snapshot',
  'cluster/masterKey',
  'cluster/dataKeys',
];

function thrown(f: () => unknown): VaultError {
  try {
    f();
  } catch (e) {
    if (e instanceof VaultError) return e;
    throw e;
  }
  throw new Error('expected a VaultError, nothing was thrown');
}

t.test('the roles are Azure Key Vault built-in roles, by their exact names, and Cluster Administrator', async (t) => {
  t.same([...ROLE_NAMES].sort(), [...AZURE_ROLES, 'Cluster Administrator'].sort());
});

t.test('each role grants exactly its permissions', async (t) => {
  for (const role of ROLE_NAMES) {
    t.same([...permissionsOf(role)].sort(), [...EXPECTED[role]!].sort(), role);
    for (const p of PERMISSIONS) {
      t.equal(allows([{ role, scope: '/' }], p, 'app'), EXPECTED[role]!.includes(p), `${role} at / → ${p}`);
    }
  }
});

t.test('no secret value, key operation or destruction for the read-only and narrow roles', async (t) => {
  const reader = [{ role: 'Key Vault Reader', scope: '/' }];
  for (const p of ['secrets/getSecret', 'keys/decrypt', 'keys/encrypt', 'keys/sign', 'secrets/backup', 'keys/backup'] as const) {
    t.notOk(allows(reader, p, 'app'), `Reader: ${p}`);
  }
  const seu = [{ role: 'Key Vault Crypto Service Encryption User', scope: '/' }];
  for (const p of ['keys/encrypt', 'keys/decrypt', 'keys/sign', 'keys/verify', 'keys/write', 'rng'] as const) {
    t.notOk(allows(seu, p, 'app'), `Crypto Service Encryption User: ${p}`);
  }
  const cryptoUser = [{ role: 'Key Vault Crypto User', scope: '/' }];
  for (const p of ['keys/write', 'keys/purge', 'keys/restore', 'secrets/getSecret'] as const) {
    t.notOk(allows(cryptoUser, p, 'app'), `Crypto User: ${p}`);
  }
});

t.test('Key Vault Administrator at / manages no vault and no cluster; Cluster Administrator reads no data', async (t) => {
  const kvAdmin = [{ role: 'Key Vault Administrator', scope: '/' }];
  for (const p of CLUSTER) t.notOk(allows(kvAdmin, p, undefined), `Key Vault Administrator: ${p}`);
  const clusterAdmin = [{ role: 'Cluster Administrator', scope: '/' }];
  for (const p of PERMISSIONS.filter((p) => p.startsWith('secrets/') || p.startsWith('keys/') || p === 'rng')) {
    t.notOk(allows(clusterAdmin, p, 'app'), `Cluster Administrator: ${p}`);
  }
  for (const p of CLUSTER) t.ok(allows(clusterAdmin, p, undefined), `Cluster Administrator: ${p}`);
});

t.test('a vault scope reaches that vault only, in any case', async (t) => {
  const a = [{ role: 'Key Vault Secrets User', scope: '/vaults/app' }];
  t.ok(allows(a, 'secrets/getSecret', 'app'));
  t.ok(allows(a, 'secrets/getSecret', 'APP'));
  t.ok(allows([{ role: 'Key Vault Secrets User', scope: '/vaults/App' }], 'secrets/getSecret', 'aPp'));
  t.notOk(allows(a, 'secrets/getSecret', 'app2'));
  t.notOk(allows(a, 'secrets/getSecret', 'ap'));
  t.notOk(allows(a, 'secrets/getSecret', ''));
  t.notOk(allows(a, 'secrets/getSecret', undefined), 'no vault named: only "/" covers it');
  t.notOk(allows(a, 'secrets/write', 'app'), 'the scope does not add permissions');
});

t.test('a request vault that is not a valid name matches no vault scope, even when it folds to one', async (t) => {
  const a = [{ role: 'Key Vault Reader', scope: '/vaults/keys' }];
  // U+212A KELVIN SIGN lower-cases to an ASCII "k".
  t.equal('\u212Aeys'.toLowerCase(), 'keys');
  t.notOk(allows(a, 'keys/readMetadata', '\u212Aeys'));
  t.notOk(allows(a, 'keys/readMetadata', 'keys/'));
  t.notOk(allows(a, 'keys/readMetadata', ' keys'));
  t.ok(allows([{ role: 'Key Vault Reader', scope: '/' }], 'keys/readMetadata', '\u212Aeys'), '"/" covers it; the handler refuses the name');
});

t.test('cluster permissions need "/", whatever the assignment says', async (t) => {
  // Refused by the validator; the check must not rely on that.
  const a = [{ role: 'Cluster Administrator', scope: '/vaults/app' }];
  for (const p of CLUSTER) {
    t.notOk(allows(a, p, 'app'), p);
    t.notOk(allows(a, p, undefined), p);
  }
  t.ok(allows(a, 'vaults/read', 'app'), 'its vault-bound permission still follows the scope');
});

t.test('rng is granted at any scope: it touches no vault', async (t) => {
  t.ok(allows([{ role: 'Key Vault Crypto User', scope: '/vaults/app' }], 'rng', undefined));
  t.ok(allows([{ role: 'Key Vault Crypto User', scope: '/' }], 'rng', undefined));
  t.notOk(allows([{ role: 'Key Vault Reader', scope: '/' }], 'rng', undefined));
  t.notOk(allows([{ role: 'Key Vault Crypto User', scope: '/vaults/a' }], 'rng', undefined), 'not from a malformed scope');
});

t.test('unknown roles and malformed scopes grant nothing', async (t) => {
  const bad: RoleAssignment[] = [
    { role: 'Owner', scope: '/' },
    { role: 'key vault administrator', scope: '/' },
    { role: 'Key Vault Administrator', scope: '' },
    { role: 'Key Vault Administrator', scope: '/vaults/' },
    { role: 'Key Vault Administrator', scope: 'vaults/app' },
    { role: 'Key Vault Administrator', scope: '/vaults/app/' },
    { role: 'Key Vault Administrator', scope: '//' },
  ];
  for (const p of PERMISSIONS) {
    t.notOk(allows(bad, p, 'app'), p);
    t.notOk(allows(bad, p, undefined), p);
  }
  t.notOk(allows([], 'vaults/read', undefined));
});

t.test('more assignments never take a permission away, and "/" covers whatever a vault scope does', async (t) => {
  const scope = fc.constantFrom('/', '/vaults/app', '/vaults/APP', '/vaults/other', '/vaults/', 'x');
  const assignment = fc.record({ role: fc.constantFrom(...ROLE_NAMES, 'Nobody'), scope });
  fc.assert(
    fc.property(
      fc.array(assignment, { maxLength: 5 }),
      assignment,
      fc.constantFrom(...PERMISSIONS),
      fc.constantFrom('app', 'App', 'other', '', 'a--b', undefined),
      (as, extra, p, vault) => {
        if (allows(as, p, vault) && !allows([...as, extra], p, vault)) return false;
        const rooted = as.map((a) => ({ ...a, scope: '/' }));
        return !allows(as, p, vault) || allows(rooted, p, vault);
      },
    ),
  );
});

t.test('role names: any case in, the exact Azure spelling out; anything else refused with the list', async (t) => {
  t.equal(validateRoleName('key vault secrets user'), 'Key Vault Secrets User');
  t.equal(validateRoleName('CLUSTER ADMINISTRATOR'), 'Cluster Administrator');
  for (const bad of ['', 'Owner', 'Key Vault Secrets Users', ' Key Vault Reader', 'KeyVaultReader', 42, undefined, null]) {
    const e = thrown(() => validateRoleName(bad));
    t.equal(e.kind, ErrorKind.InvalidArgument, String(bad));
    t.equal(e.reason, 'INVALID_ROLE', String(bad));
    t.match(e.message, /"Key Vault Crypto Service Encryption User"/, 'the message lists the roles');
  }
});

t.test('scopes: "/" or "/vaults/<valid vault name>", stored with the name in lower case', async (t) => {
  t.equal(validateScope('/'), '/');
  t.equal(validateScope('/vaults/Prod-1'), '/vaults/prod-1');
  t.equal(validateScope('/vaults/abc'), '/vaults/abc');
  t.equal(validateScope('/vaults/' + 'a'.repeat(24)), '/vaults/' + 'a'.repeat(24));
  const bad = [
    '', 'vaults/abc', '/vaults', '/vaults/', '/vaults/ab', '/vaults/' + 'a'.repeat(25), '/vaults/1abc', '/vaults/a--b',
    '/vaults/abc-', '/vaults/abc/', '/vaults/abc/secrets/x', '/Vaults/abc', '/keys', '//', ' /', 42, undefined,
  ];
  for (const s of bad) {
    const e = thrown(() => validateScope(s));
    t.equal(e.kind, ErrorKind.InvalidArgument, String(s));
    t.equal(e.reason, 'INVALID_SCOPE', String(s));
  }
  t.match(thrown(() => validateScope('/vaults/a--b')).message, /hyphen/, 'says what is wrong with the vault name');
  t.match(thrown(() => validateScope('/keys')).message, /"\/vaults\/<vault name>"/, 'says what a scope looks like');
});

t.test('role assignments: Cluster Administrator only at "/"', async (t) => {
  t.same(validateRoleAssignment({ role: 'cluster administrator', scope: '/' }), { role: 'Cluster Administrator', scope: '/' });
  t.same(validateRoleAssignment({ role: 'Key Vault Reader', scope: '/vaults/App' }), {
    role: 'Key Vault Reader',
    scope: '/vaults/app',
  });
  const e = thrown(() => validateRoleAssignment({ role: 'Cluster Administrator', scope: '/vaults/app' }));
  t.equal(e.reason, 'INVALID_SCOPE');
  t.match(e.message, /only be assigned at scope "\/"/);
  t.equal(thrown(() => validateRoleAssignment({ role: 'Nobody', scope: '/' })).reason, 'INVALID_ROLE');
});
