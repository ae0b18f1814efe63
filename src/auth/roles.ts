// The role table: Azure Key Vault's built-in RBAC roles, plus our Cluster
// Administrator, each a fixed set of permissions, and the scopes they are
// assigned at. Pure: no state, no clock; the replicated role assignments
// come in as an argument.
//
// The role → permission sets follow Azure's built-in role definitions
// (their `dataActions`, and the `Microsoft.KeyVault/vaults/*/read` control
// plane action for GetVault), read from the definitions themselves:
//   Administrator      dataActions Microsoft.KeyVault/vaults/*; "cannot manage
//                      key vault resources or manage role assignments"
//   Reader             vaults/*/read, secrets/readMetadata/action
//   Secrets Officer    vaults/secrets/*, deletedSecrets/*
//   Secrets User       secrets/getSecret/action, secrets/readMetadata/action
//   Crypto Officer     vaults/keys/*, keyrotationpolicies/*
//   Crypto User        keys/read, keys/update/action, keys/backup/action,
//                      keys/{encrypt,decrypt,wrap,unwrap,sign,verify}/action
//   Crypto Service     keys/read, keys/wrap/action, keys/unwrap/action
//   Encryption User
// One difference, because our check runs before the key is loaded: Azure
// lets `keys/read` alone encrypt, wrap and verify with an asymmetric key
// (public-key operations a holder of the public key could do anyway); here
// each operation needs its own permission whatever the key type.

import { ErrorKind, VaultError, quote } from '../vault/errors.js';
import { lower } from '../vault/model.js';
import { validateVaultName } from '../vault/validate.js';

/**
 * The closed set of permissions. A permission is as fine as some built-in
 * role needs: Azure's secrets/setSecret, update, delete and recover are one
 * `secrets/write` because no role holds some of them without the others,
 * while `keys/update` and `keys/backup` stand apart from `keys/write`
 * because Crypto User holds them and not the rest. Backup, restore and purge
 * stay separate everywhere: they move key material out, bring it in, or
 * destroy it for good, and a future custom role will want them apart.
 */
export const PERMISSIONS = [
  // GetVault, ListVaults (Azure: Microsoft.KeyVault/vaults/read).
  'vaults/read',
  // CreateVault, DeleteVault (Azure: vaults/write, vaults/delete; control plane).
  'vaults/write',
  // List, list versions, properties, deleted secrets: never a value.
  'secrets/readMetadata',
  'secrets/getSecret',
  // Set, update properties, delete, recover.
  'secrets/write',
  'secrets/backup',
  'secrets/restore',
  'secrets/purge',
  // Get (public part only), list, list versions, deleted keys.
  'keys/readMetadata',
  // Create, import, rotate, delete, recover.
  'keys/write',
  // Update properties (Azure's keys/update/action).
  'keys/update',
  'keys/backup',
  'keys/restore',
  'keys/purge',
  'keys/encrypt',
  'keys/decrypt',
  'keys/wrap',
  'keys/unwrap',
  'keys/sign',
  'keys/verify',
  // GetRandomBytes (Azure Managed HSM: Microsoft.KeyVault/managedHsm/rng/action).
  'rng',
  // Node and region details in GetStatus (peer addresses, indexes).
  'cluster/read',
  'cluster/failover',
  // Create, delete, reset and list principals; issue their tokens.
  'cluster/principals',
  'cluster/roleAssignments',
  'cluster/membership',
  // SaveSnapshot: the whole state, sealed, in one file.
  'cluster/snapshot',
  // RotateMasterKey: rewraps every data key under the nodes' new master key.
  'cluster/masterKey',
  // The data keys' status and the background re-seal.
  'cluster/dataKeys',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/**
 * Permissions about the cluster itself, including which vaults exist: only
 * an assignment at "/" grants them, whatever vault a request names.
 */
export const CLUSTER_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  'vaults/write',
  'cluster/read',
  'cluster/failover',
  'cluster/principals',
  'cluster/roleAssignments',
  'cluster/membership',
  'cluster/snapshot',
  'cluster/masterKey',
  'cluster/dataKeys',
]);

/**
 * Permissions that touch no vault: an assignment at any scope grants them.
 * Random bytes come from the node, not from a vault's keys, so a Crypto User
 * of one vault may draw them as well as one of every vault.
 */
export const UNSCOPED_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>(['rng']);

const SECRETS_ALL: readonly Permission[] = [
  'secrets/readMetadata',
  'secrets/getSecret',
  'secrets/write',
  'secrets/backup',
  'secrets/restore',
  'secrets/purge',
];

const KEY_OPERATIONS: readonly Permission[] = [
  'keys/encrypt',
  'keys/decrypt',
  'keys/wrap',
  'keys/unwrap',
  'keys/sign',
  'keys/verify',
];

const KEYS_ALL: readonly Permission[] = [
  'keys/readMetadata',
  'keys/write',
  'keys/update',
  'keys/backup',
  'keys/restore',
  'keys/purge',
  ...KEY_OPERATIONS,
];

/**
 * The roles, by their exact Azure names. Cluster Administrator gets the
 * cluster and vault lifecycle but no data-plane permission: it can read no
 * secret and use no key until it assigns itself a Key Vault role, which
 * leaves a role assignment behind (in the replicated state and the audit
 * log) rather than silent access. Key Vault Administrator, even at "/",
 * gets no cluster permission and cannot create or delete vaults: Azure's
 * definition says it "cannot manage key vault resources or manage role
 * assignments", and letting it assign roles would let a vault's
 * administrator grant itself every other vault.
 */
export const ROLE_PERMISSIONS = {
  'Key Vault Administrator': ['vaults/read', ...SECRETS_ALL, ...KEYS_ALL, 'rng'],
  'Key Vault Reader': ['vaults/read', 'secrets/readMetadata', 'keys/readMetadata'],
  'Key Vault Secrets Officer': ['vaults/read', ...SECRETS_ALL],
  'Key Vault Secrets User': ['secrets/readMetadata', 'secrets/getSecret'],
  'Key Vault Crypto Officer': ['vaults/read', ...KEYS_ALL, 'rng'],
  'Key Vault Crypto User': ['keys/readMetadata', 'keys/update', 'keys/backup', ...KEY_OPERATIONS, 'rng'],
  'Key Vault Crypto Service Encryption User': ['keys/readMetadata', 'keys/wrap', 'keys/unwrap'],
  'Cluster Administrator': [
    'vaults/read',
    'vaults/write',
    'cluster/read',
    'cluster/failover',
    'cluster/principals',
    'cluster/roleAssignments',
    'cluster/membership',
    'cluster/snapshot',
    'cluster/masterKey',
    'cluster/dataKeys',
  ],
} as const satisfies Record<string, readonly Permission[]>;

export type RoleName = keyof typeof ROLE_PERMISSIONS;

export const ROLE_NAMES = Object.keys(ROLE_PERMISSIONS) as readonly RoleName[];

/** Roles holding any cluster permission: assignable at "/" only. */
const CLUSTER_ROLES: ReadonlySet<string> = new Set(
  ROLE_NAMES.filter((r) => ROLE_PERMISSIONS[r].some((p) => CLUSTER_PERMISSIONS.has(p))),
);

const GRANTS: ReadonlyMap<string, ReadonlySet<Permission>> = new Map(
  ROLE_NAMES.map((r) => [r, new Set<Permission>(ROLE_PERMISSIONS[r])]),
);

const ROLE_BY_LOWER: ReadonlyMap<string, RoleName> = new Map(ROLE_NAMES.map((r) => [r.toLowerCase(), r]));

export const ROOT_SCOPE = '/';
const VAULT_SCOPE_PREFIX = '/vaults/';

/** "/" (every vault, and the cluster) or "/vaults/<name>" (one vault). */
export type Scope = typeof ROOT_SCOPE | `/vaults/${string}`;

export interface RoleAssignment {
  readonly role: string;
  readonly scope: string;
}

export const permissionsOf = (role: RoleName): ReadonlySet<Permission> => GRANTS.get(role)!;

const invalidRole = (message: string) => new VaultError(ErrorKind.InvalidArgument, 'INVALID_ROLE', message);
const invalidScope = (message: string) => new VaultError(ErrorKind.InvalidArgument, 'INVALID_SCOPE', message);

/**
 * A role name, matched without regard to case and returned in its exact
 * spelling: operators type these long names, and no two roles differ only
 * in case, so folding cannot pick the wrong one.
 */
export function validateRoleName(role: unknown): RoleName {
  const found = typeof role === 'string' ? ROLE_BY_LOWER.get(role.toLowerCase()) : undefined;
  if (found === undefined) {
    throw invalidRole(`role ${quote(role)} is not one of ${ROLE_NAMES.map((r) => JSON.stringify(r)).join(', ')}`);
  }
  return found;
}

/**
 * A scope in its one stored spelling: "/" or "/vaults/" and the vault name in
 * lower case. Vault names are case-insensitive (the vault keys them in lower
 * case too), so one spelling keeps "/vaults/Prod" and "/vaults/prod" from
 * becoming two assignments that must be deleted separately.
 */
export function validateScope(scope: unknown): Scope {
  if (scope === ROOT_SCOPE) return ROOT_SCOPE;
  if (typeof scope !== 'string' || !scope.startsWith(VAULT_SCOPE_PREFIX)) {
    throw invalidScope(`scope ${quote(scope)} must be "/" (every vault and the cluster) or "/vaults/<vault name>"`);
  }
  const name = scope.slice(VAULT_SCOPE_PREFIX.length);
  try {
    validateVaultName(name);
  } catch (e) {
    if (!(e instanceof VaultError)) throw e;
    throw invalidScope(`scope ${quote(scope)}: ${e.message}`);
  }
  return `${VAULT_SCOPE_PREFIX}${lower(name)}`;
}

/** A role assignment as it may be stored: a known role at a scope that role makes sense at. */
export function validateRoleAssignment(a: { role: unknown; scope: unknown }): { role: RoleName; scope: Scope } {
  const role = validateRoleName(a.role);
  const scope = validateScope(a.scope);
  if (scope !== ROOT_SCOPE && CLUSTER_ROLES.has(role)) {
    throw invalidScope(`role ${JSON.stringify(role)} can only be assigned at scope "/": it manages the cluster, not one vault`);
  }
  return { role, scope };
}

/**
 * The vault a name stands for (its lower-case form), or undefined when it is
 * not a valid vault name. Checks the vault's own rules before folding case:
 * a request is not validated yet when it is authorized, and toLowerCase maps
 * some non-ASCII letters to ASCII ones (the Kelvin sign to "k"), which must
 * not reach another vault's assignment.
 */
function vaultKey(name: string): string | undefined {
  try {
    validateVaultName(name);
  } catch {
    return undefined;
  }
  return lower(name);
}

const scopeVaultKey = (scope: string): string | undefined =>
  scope.startsWith(VAULT_SCOPE_PREFIX) ? vaultKey(scope.slice(VAULT_SCOPE_PREFIX.length)) : undefined;

/**
 * Whether any of a principal's role assignments grants `permission` on
 * `vault`. `vault` undefined means the request names no vault (ListVaults,
 * or a request that did not decode): then a vault-bound permission is
 * granted only at "/", which covers every vault. Unknown roles and malformed
 * scopes grant nothing, so a bad entry in the state fails closed.
 */
export function allows(assignments: readonly RoleAssignment[], permission: Permission, vault: string | undefined): boolean {
  const requested = vault === undefined ? undefined : vaultKey(vault);
  for (const a of assignments) {
    if (GRANTS.get(a.role)?.has(permission) !== true) continue;
    if (a.scope === ROOT_SCOPE) return true;
    if (CLUSTER_PERMISSIONS.has(permission)) continue;
    const scoped = scopeVaultKey(a.scope);
    if (scoped === undefined) continue;
    if (UNSCOPED_PERMISSIONS.has(permission)) return true;
    if (requested !== undefined && scoped === requested) return true;
  }
  return false;
}
