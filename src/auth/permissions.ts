// The one table of what every RPC needs: the permission, and where in the
// request the vault it acts on is. A gRPC server interceptor is meant to
// use it like this:
//
//   const rule = permissionFor(path);
//   if (rule === undefined) refuse PERMISSION_DENIED (FORBIDDEN)  // unknown path
//   if (rule.permission === OPEN) pass                            // health
//   principal ← verifyToken(bearer)       else UNAUTHENTICATED
//   if (rule.permission === AUTHENTICATED) pass
//   if (!allows(assignmentsOf(principal), rule.permission, rule.vaultOf(request)))
//     refuse PERMISSION_DENIED (FORBIDDEN)
//
// It runs before the handler validates the request, so vaultOf reads the
// raw field: a vault name that is missing, not a string or not a valid name
// can only be matched by an assignment at "/", and the handler then refuses
// the request for what it is (INVALID_NAME, BAD_REQUEST).
//
// Decisions on the special cases:
// - grpc.health.v1.Health (Check, Watch, List) is OPEN: health probes
//   carry no token (DESIGN §6).
// - Server reflection (v1 and v1alpha) needs a token but no role: it
//   describes the public API, which is no secret, but not to anyone at all.
// - ListVaults needs `vaults/read` at "/", like every vault-bound permission
//   asked without a vault. The alternative (any principal, the handler
//   filtering the list by its assignments) would put a second authorization
//   rule in the handler; a principal with roles on one vault calls GetVault
//   on the vault it was given instead.
// - GetStatus needs a token but no role: the SDK of every principal reads
//   the nodes' client addresses, regions and modes from it to route its
//   calls. Peer addresses are for principals that seesClusterDetails says
//   may see them (Cluster Administrator); the handler blanks them for others.
// - GetRandomBytes needs `rng` (Azure Managed HSM's rng/action), held by the
//   roles that use keys; the request names no vault and the permission is
//   granted at any scope (see UNSCOPED_PERMISSIONS).
// - CreateToken is principal management (`cluster/principals`): a token
//   acts as its principal, so minting one for any principal belongs with
//   creating and resetting principals. (A principal renewing its own token
//   would be a separate rule, not decided here.)

import { type Permission, type RoleAssignment, allows } from './roles.js';

/** No token needed. */
export const OPEN = 'open';
/** A valid token, whatever its roles. */
export const AUTHENTICATED = 'authenticated';

export type Access = Permission | typeof OPEN | typeof AUTHENTICATED;

/** The request field naming the vault, in @grpc/proto-loader's camelCase. */
export type VaultField = 'vault' | 'name';

export interface RpcRule {
  readonly permission: Access;
  /** Undefined when the request names no vault. */
  readonly vaultField: VaultField | undefined;
  /** The vault the request names, as sent (not validated); undefined when it names none. */
  vaultOf(request: unknown): string | undefined;
}

const noVault = (): undefined => undefined;

function fieldReader(field: VaultField): (request: unknown) => string | undefined {
  return (request) => {
    if (typeof request !== 'object' || request === null) return undefined;
    const value = (request as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  };
}

const readers: Record<VaultField, (request: unknown) => string | undefined> = {
  vault: fieldReader('vault'),
  name: fieldReader('name'),
};

const rule = (permission: Access, vaultField?: VaultField): RpcRule =>
  Object.freeze({ permission, vaultField, vaultOf: vaultField === undefined ? noVault : readers[vaultField] });

const V = '/keyraft.v1.';

const TABLE: ReadonlyMap<string, RpcRule> = new Map<string, RpcRule>([
  [`${V}Vaults/CreateVault`, rule('vaults/write', 'name')],
  [`${V}Vaults/GetVault`, rule('vaults/read', 'name')],
  [`${V}Vaults/ListVaults`, rule('vaults/read')],
  [`${V}Vaults/DeleteVault`, rule('vaults/write', 'name')],

  [`${V}Secrets/SetSecret`, rule('secrets/write', 'vault')],
  [`${V}Secrets/GetSecret`, rule('secrets/getSecret', 'vault')],
  [`${V}Secrets/ListSecrets`, rule('secrets/readMetadata', 'vault')],
  [`${V}Secrets/ListSecretVersions`, rule('secrets/readMetadata', 'vault')],
  [`${V}Secrets/UpdateSecretProperties`, rule('secrets/write', 'vault')],
  [`${V}Secrets/DeleteSecret`, rule('secrets/write', 'vault')],
  [`${V}Secrets/GetDeletedSecret`, rule('secrets/readMetadata', 'vault')],
  [`${V}Secrets/ListDeletedSecrets`, rule('secrets/readMetadata', 'vault')],
  [`${V}Secrets/RecoverDeletedSecret`, rule('secrets/write', 'vault')],
  [`${V}Secrets/PurgeDeletedSecret`, rule('secrets/purge', 'vault')],
  [`${V}Secrets/BackupSecret`, rule('secrets/backup', 'vault')],
  [`${V}Secrets/RestoreSecret`, rule('secrets/restore', 'vault')],

  [`${V}Keys/CreateKey`, rule('keys/write', 'vault')],
  [`${V}Keys/ImportKey`, rule('keys/write', 'vault')],
  [`${V}Keys/GetKey`, rule('keys/readMetadata', 'vault')],
  [`${V}Keys/ListKeys`, rule('keys/readMetadata', 'vault')],
  [`${V}Keys/ListKeyVersions`, rule('keys/readMetadata', 'vault')],
  [`${V}Keys/UpdateKeyProperties`, rule('keys/update', 'vault')],
  [`${V}Keys/RotateKey`, rule('keys/write', 'vault')],
  [`${V}Keys/DeleteKey`, rule('keys/write', 'vault')],
  [`${V}Keys/GetDeletedKey`, rule('keys/readMetadata', 'vault')],
  [`${V}Keys/ListDeletedKeys`, rule('keys/readMetadata', 'vault')],
  [`${V}Keys/RecoverDeletedKey`, rule('keys/write', 'vault')],
  [`${V}Keys/PurgeDeletedKey`, rule('keys/purge', 'vault')],
  [`${V}Keys/BackupKey`, rule('keys/backup', 'vault')],
  [`${V}Keys/RestoreKey`, rule('keys/restore', 'vault')],
  [`${V}Keys/Encrypt`, rule('keys/encrypt', 'vault')],
  [`${V}Keys/Decrypt`, rule('keys/decrypt', 'vault')],
  [`${V}Keys/WrapKey`, rule('keys/wrap', 'vault')],
  [`${V}Keys/UnwrapKey`, rule('keys/unwrap', 'vault')],
  [`${V}Keys/Sign`, rule('keys/sign', 'vault')],
  [`${V}Keys/Verify`, rule('keys/verify', 'vault')],
  [`${V}Keys/GetRandomBytes`, rule('rng')],

  [`${V}Cluster/GetStatus`, rule(AUTHENTICATED)],
  [`${V}Cluster/Failover`, rule('cluster/failover')],
  [`${V}Cluster/Failback`, rule('cluster/failover')],
  [`${V}Cluster/CreatePrincipal`, rule('cluster/principals')],
  [`${V}Cluster/DeletePrincipal`, rule('cluster/principals')],
  [`${V}Cluster/ResetPrincipal`, rule('cluster/principals')],
  [`${V}Cluster/ListPrincipals`, rule('cluster/principals')],
  [`${V}Cluster/CreateToken`, rule('cluster/principals')],
  [`${V}Cluster/CreateRoleAssignment`, rule('cluster/roleAssignments')],
  [`${V}Cluster/DeleteRoleAssignment`, rule('cluster/roleAssignments')],
  [`${V}Cluster/ListRoleAssignments`, rule('cluster/roleAssignments')],
  [`${V}Cluster/ListMembers`, rule('cluster/membership')],
  [`${V}Cluster/AddMember`, rule('cluster/membership')],
  [`${V}Cluster/PromoteMember`, rule('cluster/membership')],
  [`${V}Cluster/RemoveMember`, rule('cluster/membership')],
  [`${V}Cluster/SaveSnapshot`, rule('cluster/snapshot')],
  [`${V}Cluster/RotateMasterKey`, rule('cluster/masterKey')],
  [`${V}Cluster/ListDataKeys`, rule('cluster/dataKeys')],
  [`${V}Cluster/ResealValues`, rule('cluster/dataKeys')],

  ['/grpc.health.v1.Health/Check', rule(OPEN)],
  ['/grpc.health.v1.Health/Watch', rule(OPEN)],
  ['/grpc.health.v1.Health/List', rule(OPEN)],

  ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', rule(AUTHENTICATED)],
  ['/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', rule(AUTHENTICATED)],
]);

/** What the RPC at this full gRPC path needs; undefined for a path the table does not know, which must be refused. */
export const permissionFor = (path: string): RpcRule | undefined => TABLE.get(path);

/** Every path in the table, for tests and documentation. */
export const RPC_PATHS: readonly string[] = [...TABLE.keys()];

/** The paths that need no token. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(RPC_PATHS.filter((p) => TABLE.get(p)!.permission === OPEN));

/** Whether GetStatus may show this principal the nodes' peer addresses. */
export const seesClusterDetails = (assignments: readonly RoleAssignment[]): boolean =>
  allows(assignments, 'cluster/read', undefined);
