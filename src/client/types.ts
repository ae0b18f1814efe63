// The public API's messages (package keyraft.v1) as the SDK's callers see
// them. They are not written out here: each is the message proto/keyraft/v1
// defines, as generated into src/api (scripts/gen-api-types.mjs), through
// src/api's Answer (an answer: every field present, int64 as number, bytes as
// Uint8Array) or Ask (a request: fields optional but the ones named, which the
// call cannot do without). Field documentation is in the .proto files and the
// generated types. A few names are the SDK's own: Tags, the refs (a vault, a
// name and, for writes, a request id), JsonWebKeyInput and SnapshotSummary.

import type * as pb from '../api/index.js';
import type { Answer, Ask } from '../api/index.js';

export type Tags = Record<string, string>;

// ---- Vaults ----
export type Vault = Answer<pb.Vault__Output>;
export type CreateVaultRequest = Ask<pb.CreateVaultRequest, 'name'>;
export type GetVaultRequest = Ask<pb.GetVaultRequest, 'name'>;
export type ListVaultsRequest = Ask<pb.ListVaultsRequest>;
export type ListVaultsResponse = Answer<pb.ListVaultsResponse__Output>;
export type DeleteVaultRequest = Ask<pb.DeleteVaultRequest, 'name'>;
export type DeleteVaultResponse = Answer<pb.DeleteVaultResponse__Output>;

// ---- Secrets ----
export type SecretProperties = Answer<pb.SecretProperties__Output>;
export type Secret = Answer<pb.Secret__Output>;
export type SetSecretRequest = Ask<pb.SetSecretRequest, 'vault' | 'name' | 'value'>;
export type GetSecretRequest = Ask<pb.GetSecretRequest, 'vault' | 'name'>;
export type ListSecretsRequest = Ask<pb.ListSecretsRequest, 'vault'>;
export type ListSecretVersionsRequest = Ask<pb.ListSecretVersionsRequest, 'vault' | 'name'>;
export type ListSecretPropertiesResponse = Answer<pb.ListSecretPropertiesResponse__Output>;
export type UpdateSecretPropertiesRequest = Ask<pb.UpdateSecretPropertiesRequest, 'vault' | 'name'>;
export type DeletedSecret = Answer<pb.DeletedSecret__Output>;
export type SecretRef = Ask<pb.GetDeletedSecretRequest, 'vault' | 'name'>;
export type SecretWriteRef = Ask<pb.DeleteSecretRequest, 'vault' | 'name'>;
export type ListDeletedSecretsRequest = Ask<pb.ListDeletedSecretsRequest, 'vault'>;
export type ListDeletedSecretsResponse = Answer<pb.ListDeletedSecretsResponse__Output>;
export type PurgeDeletedSecretResponse = Answer<pb.PurgeDeletedSecretResponse__Output>;
export type BackupSecretResponse = Answer<pb.BackupSecretResponse__Output>;
export type RestoreSecretRequest = Ask<pb.RestoreSecretRequest, 'vault' | 'backup'>;

// ---- Cluster ----
export type NodeStatus = Answer<pb.NodeStatus__Output>;
export type RotateMasterKeyResponse = Answer<pb.RotateMasterKeyResponse__Output>;
export type RegionStatus = Answer<pb.RegionStatus__Output>;
export type ClusterStatus = Answer<pb.ClusterStatus__Output>;
/** A member of a region's Raft group. */
export type Member = Answer<pb.Member__Output>;
export type Principal = Answer<pb.Principal__Output>;
export type DataKey = Answer<pb.DataKey__Output>;
export type ListDataKeysResponse = Answer<pb.ListDataKeysResponse__Output>;
/** One batch of the background re-seal. */
export type ResealValuesResponse = Answer<pb.ResealValuesResponse__Output>;
export type Token = Answer<pb.Token__Output>;
export type RoleAssignment = Answer<pb.RoleAssignment__Output>;

// ---- Keys ----
/**
 * RFC 7517, members as raw bytes. A response carries every member, the
 * private ones (d, p, q, dp, dq, qi, k) empty: they never leave the vault.
 */
export type JsonWebKey = Answer<pb.JsonWebKey__Output>;
/** A JWK to import: kty and the members its type needs, private ones included. */
export type JsonWebKeyInput = Ask<pb.JsonWebKey, 'kty'>;
export type KeyProperties = Answer<pb.KeyProperties__Output>;
export type Key = Answer<pb.Key__Output>;
export type CreateKeyRequest = Ask<pb.CreateKeyRequest, 'vault' | 'name' | 'kty'>;
export type ImportKeyRequest = Omit<Ask<pb.ImportKeyRequest, 'vault' | 'name'>, 'key'> & { key: JsonWebKeyInput };
export type GetKeyRequest = Ask<pb.GetKeyRequest, 'vault' | 'name'>;
export type ListKeysRequest = Ask<pb.ListKeysRequest, 'vault'>;
export type ListKeyVersionsRequest = Ask<pb.ListKeyVersionsRequest, 'vault' | 'name'>;
export type ListKeyPropertiesResponse = Answer<pb.ListKeyPropertiesResponse__Output>;
export type UpdateKeyPropertiesRequest = Ask<pb.UpdateKeyPropertiesRequest, 'vault' | 'name'>;
/** GetDeletedKey, BackupKey. */
export type KeyRef = Ask<pb.GetDeletedKeyRequest, 'vault' | 'name'>;
/** RotateKey, DeleteKey, RecoverDeletedKey, PurgeDeletedKey. */
export type KeyWriteRef = Ask<pb.DeleteKeyRequest, 'vault' | 'name'>;
export type DeletedKey = Answer<pb.DeletedKey__Output>;
export type ListDeletedKeysRequest = Ask<pb.ListDeletedKeysRequest, 'vault'>;
export type ListDeletedKeysResponse = Answer<pb.ListDeletedKeysResponse__Output>;
export type PurgeDeletedKeyResponse = Answer<pb.PurgeDeletedKeyResponse__Output>;
export type BackupKeyResponse = Answer<pb.BackupKeyResponse__Output>;
export type RestoreKeyRequest = Ask<pb.RestoreKeyRequest, 'vault' | 'backup'>;
/** Encrypt, Decrypt, WrapKey, UnwrapKey. */
export type KeyOperationRequest = Ask<pb.KeyOperationRequest, 'vault' | 'name' | 'algorithm' | 'value'>;
/** Azure's KeyOperationResult: `value` is the output (ciphertext, plaintext, wrapped key, signature). */
export type KeyOperationResult = Answer<pb.KeyOperationResult__Output>;
export type SignRequest = Ask<pb.SignRequest, 'vault' | 'name' | 'algorithm' | 'digest'>;
export type VerifyRequest = Ask<pb.VerifyRequest, 'vault' | 'name' | 'algorithm' | 'digest' | 'signature'>;
export type VerifyResult = Answer<pb.VerifyResult__Output>;
export type GetRandomBytesRequest = Ask<pb.GetRandomBytesRequest, 'count'>;
export type RandomBytes = Answer<pb.RandomBytes__Output>;

// ---- Cluster snapshots ----
export type SnapshotChunk = Answer<pb.SnapshotChunk__Output>;

/** What `saveSnapshot` wrote. */
export interface SnapshotSummary {
  file: string;
  index: number;
  term: number;
  recordCount: number;
  bytes: number;
}
