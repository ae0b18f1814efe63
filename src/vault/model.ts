// The state's shapes: the records kept in memory, and the views handed to the
// server, which mirror the keyraft.v1 messages (times in unix seconds there,
// milliseconds here).

import type { SecretAttributes, SecretVersionRecord } from './commands.js';
import { SortedKeys } from './sorted.js';
import { DEFAULT_RETENTION_DAYS } from './validate.js';

export const DAY_MS = 86_400_000;

export interface VaultRecord {
  /** As first created; lookups go by the lower-cased name. */
  name: string;
  retentionDays: number;
  purgeProtection: boolean;
  createdMs: number;
}

export interface VersionRecord {
  version: string;
  /** Position in the secret's creation order, from 0. */
  seq: number;
  sealedValue: Uint8Array;
  /** Tags sorted by name, so that equal states serialize identically. */
  attributes: SecretAttributes;
  createdMs: number;
  updatedMs: number;
}

export interface Deletion {
  deletedMs: number;
  scheduledPurgeMs: number;
}

export interface SecretEntry {
  name: string;
  /** Oldest first; versions are only ever added, so index === seq. */
  versions: VersionRecord[];
  byVersion: Map<string, VersionRecord>;
  deleted: Deletion | null;
}

export interface VaultEntry {
  rec: VaultRecord;
  /** By lower-cased name. Keys (a later issue) get their own map and indexes. */
  secrets: Map<string, SecretEntry>;
  /** Lower-cased names of the secrets that are not deleted. */
  live: SortedKeys;
  /** Lower-cased names of the soft-deleted secrets, expired or not. */
  deleted: SortedKeys;
}

export interface DataKeyRecord {
  wrappedKey: Uint8Array;
  /** Install order; the highest is the active key. */
  seq: number;
}

export const lower = (name: string) => name.toLowerCase();

/** A soft-deleted secret past its purge date counts as purged, whether or not it is still stored. */
export const isExpired = (d: Deletion, nowMs: number) => nowMs >= d.scheduledPurgeMs;

export const latest = (s: SecretEntry): VersionRecord => s.versions[s.versions.length - 1]!;

// Views.

export interface VaultInfo {
  name: string;
  id: string;
  softDeleteRetentionDays: number;
  purgeProtection: boolean;
  /** Unix seconds. */
  created: number;
}

export interface SecretProperties {
  vault: string;
  name: string;
  version: string;
  id: string;
  contentType: string;
  tags: Record<string, string>;
  enabled: boolean;
  notBefore: number;
  expires: number;
  created: number;
  updated: number;
  recoveryLevel: string;
  recoverableDays: number;
}

export interface DeletedSecretInfo {
  properties: SecretProperties;
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

/** What the server unseals to answer GetSecret. */
export interface SealedSecret {
  properties: SecretProperties;
  sealedValue: Uint8Array;
}

/** What the server encrypts into a BackupSecret blob; RestoreSecret takes it back. */
export interface SecretBackup {
  vault: string;
  name: string;
  /** Oldest first. */
  versions: SecretVersionRecord[];
}

export interface DataKeys {
  /** "" before the first InstallDataKey. */
  activeKeyId: string;
  /** Install order. */
  keys: { keyId: string; wrappedKey: Uint8Array }[];
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Azure's DeletionRecoveryLevel for a vault's settings. */
export function recoveryLevel(v: VaultRecord): string {
  const base = v.retentionDays < DEFAULT_RETENTION_DAYS ? 'CustomizedRecoverable' : 'Recoverable';
  return v.purgeProtection ? base : `${base}+Purgeable`;
}

export function vaultView(v: VaultRecord): VaultInfo {
  return {
    name: v.name,
    id: `keyraft://${v.name}`,
    softDeleteRetentionDays: v.retentionDays,
    purgeProtection: v.purgeProtection,
    created: seconds(v.createdMs),
  };
}

export function propertiesView(v: VaultRecord, s: SecretEntry, ver: VersionRecord): SecretProperties {
  const a = ver.attributes;
  return {
    vault: v.name,
    name: s.name,
    version: ver.version,
    id: `keyraft://${v.name}/secrets/${s.name}/${ver.version}`,
    contentType: a.contentType,
    tags: { ...a.tags },
    enabled: a.enabled,
    notBefore: a.notBefore,
    expires: a.expires,
    created: seconds(ver.createdMs),
    updated: seconds(ver.updatedMs),
    recoveryLevel: recoveryLevel(v),
    recoverableDays: v.retentionDays,
  };
}

export function deletedView(v: VaultRecord, s: SecretEntry, d: Deletion): DeletedSecretInfo {
  return {
    properties: propertiesView(v, s, latest(s)),
    recoveryId: `keyraft://${v.name}/deletedsecrets/${s.name}`,
    deletedDate: seconds(d.deletedMs),
    scheduledPurgeDate: seconds(d.scheduledPurgeMs),
  };
}

export function copyAttributes(a: SecretAttributes): SecretAttributes {
  return { ...a, tags: { ...a.tags } };
}

export function newVaultEntry(rec: VaultRecord): VaultEntry {
  return { rec, secrets: new Map(), live: new SortedKeys(), deleted: new SortedKeys() };
}
