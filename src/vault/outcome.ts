// What apply answers. Results are plain JSON-able data (no bytes, so no
// sealed material either): they are also what the deduplication table
// remembers and persists.

import type { VaultError } from './errors.js';
import type { DeletedKeyInfo, DeletedSecretInfo, KeyBundle, SecretProperties, VaultInfo } from './model.js';
import type { PrincipalInfo, RoleAssignmentInfo } from './model-auth.js';

/** A change to one state record, as apply produces it. */
export type Mutation = { op: 'put'; key: string; value: Uint8Array } | { op: 'del'; key: string };

export type ApplyResult =
  /** CreateVault; DeleteVault (the vault as it was). */
  | { kind: 'vault'; vault: VaultInfo }
  /** SetSecret, UpdateSecret, RecoverSecret, RestoreSecret: the version set, updated, or now latest. */
  | { kind: 'secret'; secret: SecretProperties }
  /** DeleteSecret. */
  | { kind: 'deletedSecret'; deletedSecret: DeletedSecretInfo }
  /** CreateKeyVersion, UpdateKey, RecoverKey, RestoreKey: the version created, updated, or now latest. */
  | { kind: 'key'; key: KeyBundle }
  /** DeleteKey. */
  | { kind: 'deletedKey'; deletedKey: DeletedKeyInfo }
  /** CreatePrincipal, ResetPrincipal (the new generation); DeletePrincipal (the principal as it was). */
  | { kind: 'principal'; principal: PrincipalInfo }
  /** CreateRoleAssignment; DeleteRoleAssignment (the assignment as it was). */
  | { kind: 'roleAssignment'; roleAssignment: RoleAssignmentInfo }
  /** ResealValues: how many values it replaced, and how many had changed since the leader read them. */
  | { kind: 'resealed'; resealed: number; skipped: number }
  /** PurgeSecret, PurgeKey, InstallDataKey, InstallTokenKey. */
  | { kind: 'none' };

/**
 * `mutations` is empty whenever `error` is set: a refused command changes
 * nothing. `index` is the log index of the entry whose apply made `result`:
 * the command's own, or for a request id seen before the first one's (absent
 * when that is not known).
 */
export type ApplyOutcome = ({ result: ApplyResult; index?: number } | { error: VaultError }) & { mutations: Mutation[] };
