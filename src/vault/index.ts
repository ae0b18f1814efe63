// The vault's public face for the replica and the server.

export * from './errors.js';
export * from './validate.js';
export * from './validate-keys.js';
export * from './validate-crypto.js';
export * from './validate-auth.js';
export * from './commands.js';
export type * from './model.js';
export type { PrincipalInfo, RoleAssignmentInfo, TokenKeyInfo } from './model-auth.js';
export { tokenKeySealContext } from './model-auth.js';
export type { ApplyOutcome, ApplyResult } from './outcome.js';
export type { Mutation } from './records.js';
export { MAX_SEALED_VALUE_BYTES } from './apply.js';
export { DEFAULT_VERSION_LIMITS, MAX_VERSIONS, type VersionLimits, checkVersionRoom } from './limits.js';
export { MAX_RESEALED_PER_COMMAND, type SealedRef } from './reseal.js';
export { DEFAULT_DATA_KEY_POLICY, type DataKeyPolicy, type DataKeyUsage, rotationDue } from './rotation.js';
export { keySealContext, secretSealContext } from './model.js';
export { MAX_PUBLIC_JWK_CHARS, MAX_SEALED_PRIVATE_JWK_BYTES } from './apply-keys.js';
export {
  MAX_PRINCIPALS,
  MAX_ROLE_ASSIGNMENTS,
  MAX_ROLE_ASSIGNMENTS_PER_PRINCIPAL,
  MAX_SEALED_TOKEN_SEED_BYTES,
  MAX_START_GENERATION,
  MAX_TOKEN_KEYS,
} from './apply-auth.js';
export {
  MAX_REMEMBERED_REQUESTS,
  VaultState,
  type DeletedKeyList,
  type DeletedSecretList,
  type KeyList,
  type SecretList,
  type VaultList,
  type VaultLoader,
} from './state.js';
