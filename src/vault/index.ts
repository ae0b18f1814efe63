// The vault's public face for the replica and the server.

export * from './errors.js';
export * from './validate.js';
export * from './commands.js';
export type * from './model.js';
export type { ApplyOutcome, ApplyResult } from './outcome.js';
export type { Mutation } from './records.js';
export { MAX_SEALED_VALUE_BYTES } from './apply.js';
export { MAX_REMEMBERED_REQUESTS, VaultState, type DeletedSecretList, type SecretList, type VaultList } from './state.js';
