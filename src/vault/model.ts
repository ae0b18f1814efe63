// The state's shapes: the records kept in memory, and the views handed to the
// server, which mirror the keyraft.v1 messages (times in unix seconds there,
// milliseconds here). Secrets and keys share the entry and shelf shapes.

import type { KeyAttributes, KeyMaterial, KeyVersionRecord, SecretAttributes, SecretVersionRecord } from './commands.js';
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

/** A key version: its material (public part in the clear, private part sealed) and attributes. */
export interface KeyVersion {
  version: string;
  /** Position in the key's creation order, from 0. */
  seq: number;
  material: KeyMaterial;
  /** key_ops in canonical order and tags sorted by name, so that equal states serialize identically. */
  attributes: KeyAttributes;
  createdMs: number;
  updatedMs: number;
}

/** What secrets and keys have in common: a name, versions, and a soft deletion. */
export interface Entry<R extends VersionRecord | KeyVersion> {
  name: string;
  /** Oldest first; versions are only ever added, so index === seq. */
  versions: R[];
  /**
   * By version id, built by findVersion only once an entry has more than
   * INDEX_VERSIONS_AFTER versions (most have one: a Map each would cost more
   * than the version); kept up to date by Store.putVersion once built.
   */
  byVersion: Map<string, R> | undefined;
  deleted: Deletion | null;
}
export type SecretEntry = Entry<VersionRecord>;
export type KeyEntry = Entry<KeyVersion>;

/**
 * One kind of item in a vault. Secrets and keys are separate namespaces, as
 * in Azure: a key and a secret may share a name.
 */
export interface Shelf<R extends VersionRecord | KeyVersion> {
  /** By lower-cased name. */
  byName: Map<string, Entry<R>>;
  /** Lower-cased names of the entries that are not deleted. */
  live: SortedKeys;
  /** Lower-cased names of the soft-deleted entries, expired or not. */
  deleted: SortedKeys;
}

/** The record key prefix of each kind, and its name in messages. */
export type Kind = 'secret' | 'key';
export interface VersionOf {
  secret: VersionRecord;
  key: KeyVersion;
}

export interface VaultEntry {
  rec: VaultRecord;
  secrets: Shelf<VersionRecord>;
  keys: Shelf<KeyVersion>;
}

export const shelfOf = <K extends Kind>(vault: VaultEntry, kind: K): Shelf<VersionOf[K]> =>
  (kind === 'secret' ? vault.secrets : vault.keys) as Shelf<VersionOf[K]>;

export interface DataKeyRecord {
  wrappedKey: Uint8Array;
  /** Install order; the highest is the active key. */
  seq: number;
  /** The time stamped on the command that installed it (0 for keys installed before this was kept). */
  installedMs: number;
  /** Values sealed under it by writes while it was active: what rotation after N writes counts. */
  writes: number;
}

/** What a secret version's sealed value is bound to: its name and version, not its vault, so that a backup restores anywhere. */
export const secretSealContext = (name: string, version: string): string => `secret/${name.toLowerCase()}/${version}`;

/** What a key version's sealed private JWK is bound to, likewise. */
export const keySealContext = (name: string, version: string): string => `key/${name.toLowerCase()}/${version}`;

export const lower = (name: string) => name.toLowerCase();

/** A soft-deleted secret or key past its purge date counts as purged, whether or not it is still stored. */
export const isExpired = (d: Deletion, nowMs: number) => nowMs >= d.scheduledPurgeMs;

export const latest = <R extends VersionRecord | KeyVersion>(e: Entry<R>): R => e.versions[e.versions.length - 1]!;

/** Up to this many versions, a lookup by id scans them instead of keeping a Map. */
export const INDEX_VERSIONS_AFTER = 8;

/** The version with this id, if the entry has it. */
export function findVersion<R extends VersionRecord | KeyVersion>(e: Entry<R>, id: string): R | undefined {
  const vs = e.versions;
  if (vs.length <= INDEX_VERSIONS_AFTER) {
    for (let i = vs.length - 1; i >= 0; i--) if (vs[i]!.version === id) return vs[i];
    return undefined;
  }
  let index = e.byVersion;
  if (index === undefined) {
    index = new Map();
    for (const r of vs) index.set(r.version, r);
    e.byVersion = index;
  }
  return index.get(id);
}

/** The tags of most versions: shared, so never mutated (frozen, so that a mistake throws). */
export const NO_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Kept bytes up to this size share slabs of KEPT_SLAB_BYTES; larger ones get
 * an ArrayBuffer of their own. A slab is above glibc's mmap threshold (see
 * NODE_ENV in test/integration/cluster.ts), so it does not sit in the malloc
 * heap among short-lived buffers.
 */
const KEPT_SHARED_MAX = 2048;
const KEPT_SLAB_BYTES = 256 * 1024;
let keptSlab = new ArrayBuffer(0);
let keptOffset = 0;

/**
 * A copy of bytes to keep in the state (sealed values, sealed private keys,
 * wrapped data keys), never a view pinning a larger buffer (a decoded
 * command, a read buffer). An ArrayBuffer each would cost about 190 bytes
 * more than a 300-byte value, so small ones are views into slabs that hold
 * nothing but such bytes: not Node's Buffer pool, where the kept bytes would
 * sit among short-lived buffers and pin their slabs. A plain Uint8Array, as
 * before; whatever leaves the state is copied again.
 */
export function keptBytes(b: Uint8Array): Uint8Array {
  const n = b.byteLength;
  if (n === 0 || n > KEPT_SHARED_MAX) return new Uint8Array(b);
  if (keptOffset + n > keptSlab.byteLength) {
    keptSlab = new ArrayBuffer(KEPT_SLAB_BYTES);
    keptOffset = 0;
  }
  const out = new Uint8Array(keptSlab, keptOffset, n);
  out.set(b);
  keptOffset += n;
  return out;
}

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

/** The public members of a JWK, as stored: base64url strings. */
export interface PublicJwk {
  kty: string;
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

/** Mirrors keyraft.v1.KeyProperties. */
export interface KeyProperties {
  vault: string;
  name: string;
  version: string;
  kid: string;
  kty: string;
  keySize: number;
  curve: string;
  keyOps: string[];
  enabled: boolean;
  notBefore: number;
  expires: number;
  created: number;
  updated: number;
  tags: Record<string, string>;
  recoveryLevel: string;
  recoverableDays: number;
  exportable: boolean;
}

/** A key version as GetKey shows it: never any private member. */
export interface KeyBundle {
  properties: KeyProperties;
  publicJwk: PublicJwk;
}

export interface DeletedKeyInfo {
  key: KeyBundle;
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

/**
 * What the server needs to run a cryptographic operation, once the key has
 * passed every check: no view of the key's properties, which every
 * operation would build (a JSON parse of the public JWK included) to discard.
 */
export interface KeyForOperation {
  kid: string;
  name: string;
  version: string;
  sealedPrivateJwk: Uint8Array;
  kty: string;
  keySize: number;
  curve: string;
}

/** What the server encrypts into a BackupKey blob; RestoreKey takes it back. */
export interface KeyBackup {
  vault: string;
  name: string;
  /** Oldest first. */
  versions: KeyVersionRecord[];
}

/** What RotateKey needs to make a new version like the latest one. */
export interface KeySpec {
  kty: string;
  keySize: number;
  curve: string;
  attributes: KeyAttributes;
}

export const keyId = (v: VaultRecord, k: KeyEntry, ver: KeyVersion): string => `keyraft://${v.name}/keys/${k.name}/${ver.version}`;

export function keyPropertiesView(v: VaultRecord, k: KeyEntry, ver: KeyVersion): KeyProperties {
  const a = ver.attributes;
  const m = ver.material;
  return {
    vault: v.name,
    name: k.name,
    version: ver.version,
    kid: keyId(v, k, ver),
    kty: m.kty,
    keySize: m.keySize,
    curve: m.curve,
    keyOps: [...a.keyOps],
    enabled: a.enabled,
    notBefore: a.notBefore,
    expires: a.expires,
    created: seconds(ver.createdMs),
    updated: seconds(ver.updatedMs),
    tags: { ...a.tags },
    recoveryLevel: recoveryLevel(v),
    recoverableDays: v.retentionDays,
    exportable: a.exportable,
  };
}

/** Parsing on every call hands out a fresh object; apply checked the JSON when it stored it. */
export function keyBundle(v: VaultRecord, k: KeyEntry, ver: KeyVersion): KeyBundle {
  return { properties: keyPropertiesView(v, k, ver), publicJwk: JSON.parse(ver.material.publicJwk) as PublicJwk };
}

export function deletedKeyView(v: VaultRecord, k: KeyEntry, d: Deletion): DeletedKeyInfo {
  return {
    key: keyBundle(v, k, latest(k)),
    recoveryId: `keyraft://${v.name}/deletedkeys/${k.name}`,
    deletedDate: seconds(d.deletedMs),
    scheduledPurgeDate: seconds(d.scheduledPurgeMs),
  };
}

export function copyKeyAttributes(a: KeyAttributes): KeyAttributes {
  return { ...a, keyOps: [...a.keyOps], tags: { ...a.tags } };
}

export function copyKeyMaterial(m: KeyMaterial): KeyMaterial {
  return { ...m, sealedPrivateJwk: new Uint8Array(m.sealedPrivateJwk) };
}

const newShelf = <R extends VersionRecord | KeyVersion>(): Shelf<R> => ({ byName: new Map(), live: new SortedKeys(), deleted: new SortedKeys() });

export function newVaultEntry(rec: VaultRecord): VaultEntry {
  return { rec, secrets: newShelf(), keys: newShelf() };
}
