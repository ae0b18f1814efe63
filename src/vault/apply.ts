// The command handlers. Each one checks every precondition first and only then
// writes, so a refused command leaves no trace. Everything they use comes from
// the command (time, version ids, sealed values) or the state: they are
// deterministic. They assume nothing about the command's shape.

import type {
  CreateVault,
  DeleteSecret,
  DeleteVault,
  InstallDataKey,
  PurgeSecret,
  RecoverSecret,
  RestoreSecret,
  SecretAttributes,
  SetSecret,
  UpdateSecret,
} from './commands.js';
import { alreadyExists, invalid, notFound, precondition, quote, VaultError } from './errors.js';
import {
  DAY_MS,
  type SecretEntry,
  type VaultEntry,
  type VersionRecord,
  deletedView,
  isExpired,
  latest,
  lower,
  propertiesView,
  vaultView,
} from './model.js';
import type { ApplyResult } from './outcome.js';
import type { Store } from './store.js';
import {
  normalizeRetentionDays,
  validateContentType,
  validateDates,
  validateSecretName,
  validateTags,
  validateVaultName,
  validateVersionId,
  validateVersionRef,
} from './validate.js';

/** Ciphertext of a 25 KiB value plus any sealing overhead fits well within this. */
export const MAX_SEALED_VALUE_BYTES = 64 * 1024;
export const MAX_RESTORED_VERSIONS = 10_000;
const DATA_KEY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_WRAPPED_KEY_BYTES = 4096;

type Body = Record<string, unknown>;

export type Handler = (store: Store, body: Body, timeMs: number) => ApplyResult;

function vaultOf(store: Store, name: unknown): VaultEntry {
  const vault = store.vault(validateVaultName(name));
  if (!vault) throw notFound('VAULT_NOT_FOUND', `vault ${quote(name)} does not exist`);
  return vault;
}

/** The secret if it exists and is not deleted. */
function liveSecret(vault: VaultEntry, name: string): SecretEntry {
  const s = vault.secrets.get(lower(name));
  if (!s || s.deleted) throw notFound('SECRET_NOT_FOUND', `secret ${quote(name)} not found in vault ${quote(vault.rec.name)}`);
  return s;
}

/** The secret if it is soft-deleted and not yet past its purge date. */
function deletedSecret(vault: VaultEntry, name: string, timeMs: number): SecretEntry {
  const s = vault.secrets.get(lower(name));
  if (!s || !s.deleted || isExpired(s.deleted, timeMs)) {
    throw notFound('DELETED_SECRET_NOT_FOUND', `no deleted secret ${quote(name)} in vault ${quote(vault.rec.name)}`);
  }
  return s;
}

/**
 * Refuses a name that is taken, live or soft-deleted. Returns true when a
 * deleted secret that counts as purged is still stored and must be removed
 * before the name is reused.
 */
function claimName(vault: VaultEntry, name: string, timeMs: number, ifLive: VaultError | null): boolean {
  const s = vault.secrets.get(lower(name));
  if (!s) return false;
  if (!s.deleted) {
    if (ifLive) throw ifLive;
    return false;
  }
  if (!isExpired(s.deleted, timeMs)) {
    throw precondition(
      'CONFLICT_DELETED_EXISTS',
      `secret ${quote(name)} is deleted but recoverable in vault ${quote(vault.rec.name)}; recover or purge it before reusing the name`,
    );
  }
  return true;
}

function attributes(a: unknown): SecretAttributes {
  if (a === null || typeof a !== 'object') throw invalid('BAD_PARAMETER', 'the secret attributes are missing');
  const o = a as Body;
  if (typeof o.enabled !== 'boolean') throw invalid('BAD_PARAMETER', 'attributes.enabled must be a boolean');
  return {
    contentType: validateContentType(o.contentType),
    tags: sortedTags(validateTags(o.tags)),
    enabled: o.enabled,
    ...validateDates(o.notBefore, o.expires),
  };
}

/** Sorted, and copied through defineProperty semantics so that a "__proto__" tag stays data. */
const sortedTags = (tags: Record<string, string>) =>
  Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function sealedValue(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw invalid('BAD_PARAMETER', 'the sealed value must be bytes');
  if (v.byteLength > MAX_SEALED_VALUE_BYTES) {
    throw invalid('VALUE_TOO_LARGE', `the sealed value is ${v.byteLength} bytes; the limit is ${MAX_SEALED_VALUE_BYTES}`);
  }
  return new Uint8Array(v);
}

function epochMs(field: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw invalid('BAD_PARAMETER', `${field} must be a non-negative integer`);
  return v as number;
}

const optional = <T>(v: unknown, check: (v: unknown) => T): T | undefined =>
  v === undefined || v === null ? undefined : check(v);

const createVault: Handler = (store, body, timeMs) => {
  const b = body as Partial<CreateVault>;
  const name = validateVaultName(b.name);
  const retentionDays = normalizeRetentionDays(b.softDeleteRetentionDays);
  if (b.purgeProtection !== undefined && typeof b.purgeProtection !== 'boolean') {
    throw invalid('BAD_PARAMETER', 'purge_protection must be a boolean');
  }
  const existing = store.vault(name);
  if (existing) throw alreadyExists('VAULT_ALREADY_EXISTS', `vault ${quote(existing.rec.name)} already exists`);
  const rec = { name, retentionDays, purgeProtection: b.purgeProtection === true, createdMs: timeMs };
  store.putVault(rec);
  return { kind: 'vault', vault: vaultView(rec) };
};

const deleteVault: Handler = (store, body, timeMs) => {
  const vault = vaultOf(store, (body as Partial<DeleteVault>).name);
  const v = lower(vault.rec.name);
  const stored = [...vault.deleted];
  const blocking = vault.live.size > 0 || stored.some((n) => !isExpired(vault.secrets.get(n)!.deleted!, timeMs));
  if (blocking) {
    throw precondition(
      'VAULT_NOT_EMPTY',
      `vault ${quote(vault.rec.name)} still holds secrets (deleted ones included); delete and purge them first`,
    );
  }
  for (const n of stored) store.removeSecret(v, n);
  store.removeVault(v);
  return { kind: 'vault', vault: vaultView(vault.rec) };
};

const setSecret: Handler = (store, body, timeMs) => {
  const b = body as Partial<SetSecret>;
  const vault = vaultOf(store, b.vault);
  const name = validateSecretName(b.name);
  const version = validateVersionId(b.version);
  const value = sealedValue(b.sealedValue);
  const attrs = attributes(b.attributes);
  const v = lower(vault.rec.name);
  const purgeFirst = claimName(vault, name, timeMs, null);
  const existing = purgeFirst ? undefined : vault.secrets.get(lower(name));
  if (existing?.byVersion.has(version)) {
    throw alreadyExists('SECRET_VERSION_ALREADY_EXISTS', `secret ${quote(name)} already has version ${version}`);
  }
  if (purgeFirst) store.removeSecret(v, lower(name));
  const s = existing ?? store.putSecret(v, name, null);
  const rec: VersionRecord = { version, seq: s.versions.length, sealedValue: value, attributes: attrs, createdMs: timeMs, updatedMs: timeMs };
  store.putVersion(v, s, rec);
  return { kind: 'secret', secret: propertiesView(vault.rec, s, rec) };
};

const updateSecret: Handler = (store, body, timeMs) => {
  const b = body as Partial<UpdateSecret>;
  const vault = vaultOf(store, b.vault);
  const s = liveSecret(vault, validateSecretName(b.name));
  const version = validateVersionRef(b.version ?? '');
  const cur = version === '' ? latest(s) : s.byVersion.get(version);
  if (!cur) throw notFound('SECRET_VERSION_NOT_FOUND', `secret ${quote(s.name)} has no version ${version}`);
  const a = cur.attributes;
  const enabled = optional(b.enabled, (e) => {
    if (typeof e !== 'boolean') throw invalid('BAD_PARAMETER', 'enabled must be a boolean');
    return e;
  });
  if (b.replaceTags !== undefined && typeof b.replaceTags !== 'boolean') throw invalid('BAD_PARAMETER', 'replace_tags must be a boolean');
  const next: SecretAttributes = {
    contentType: optional(b.contentType, validateContentType) ?? a.contentType,
    tags: b.replaceTags === true ? sortedTags(validateTags(b.tags)) : a.tags,
    enabled: enabled ?? a.enabled,
    ...validateDates(b.notBefore ?? a.notBefore, b.expires ?? a.expires),
  };
  const rec: VersionRecord = { ...cur, attributes: next, updatedMs: timeMs };
  store.putVersion(lower(vault.rec.name), s, rec);
  return { kind: 'secret', secret: propertiesView(vault.rec, s, rec) };
};

const deleteSecret: Handler = (store, body, timeMs) => {
  const b = body as Partial<DeleteSecret>;
  const vault = vaultOf(store, b.vault);
  const s = liveSecret(vault, validateSecretName(b.name));
  const deletion = { deletedMs: timeMs, scheduledPurgeMs: timeMs + vault.rec.retentionDays * DAY_MS };
  store.putSecret(lower(vault.rec.name), s.name, deletion);
  return { kind: 'deletedSecret', deletedSecret: deletedView(vault.rec, s, deletion) };
};

const recoverSecret: Handler = (store, body, timeMs) => {
  const b = body as Partial<RecoverSecret>;
  const vault = vaultOf(store, b.vault);
  const s = deletedSecret(vault, validateSecretName(b.name), timeMs);
  store.putSecret(lower(vault.rec.name), s.name, null);
  return { kind: 'secret', secret: propertiesView(vault.rec, s, latest(s)) };
};

const purgeSecret: Handler = (store, body, timeMs) => {
  const b = body as Partial<PurgeSecret>;
  const vault = vaultOf(store, b.vault);
  const s = deletedSecret(vault, validateSecretName(b.name), timeMs);
  if (vault.rec.purgeProtection) {
    throw precondition(
      'PURGE_PROTECTED',
      `vault ${quote(vault.rec.name)} has purge protection: secret ${quote(s.name)} is purged only at its scheduled purge date`,
    );
  }
  store.removeSecret(lower(vault.rec.name), lower(s.name));
  return { kind: 'none' };
};

/** Restored versions keep their ids and dates; a malformed one is BAD_BACKUP. */
function restoredVersions(list: unknown): VersionRecord[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RESTORED_VERSIONS) {
    throw invalid('BAD_BACKUP', `a backup holds 1-${MAX_RESTORED_VERSIONS} versions`);
  }
  const seen = new Set<string>();
  return list.map((item: unknown, seq) => {
    try {
      if (item === null || typeof item !== 'object') throw invalid('BAD_PARAMETER', 'not a version record');
      const o = item as Body;
      const version = validateVersionId(o.version);
      if (seen.has(version)) throw invalid('BAD_PARAMETER', `version ${version} appears twice`);
      seen.add(version);
      return {
        version,
        seq,
        sealedValue: sealedValue(o.sealedValue),
        attributes: attributes(o.attributes),
        createdMs: epochMs('created', o.createdMs),
        updatedMs: epochMs('updated', o.updatedMs),
      };
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      throw invalid('BAD_BACKUP', `the backup's version #${seq + 1} is invalid: ${e.message}`);
    }
  });
}

const restoreSecret: Handler = (store, body, timeMs) => {
  const b = body as Partial<RestoreSecret>;
  const vault = vaultOf(store, b.vault);
  const name = validateSecretName(b.name);
  const versions = restoredVersions(b.versions);
  const exists = alreadyExists('SECRET_ALREADY_EXISTS', `secret ${quote(name)} already exists in vault ${quote(vault.rec.name)}`);
  const purgeFirst = claimName(vault, name, timeMs, exists);
  const v = lower(vault.rec.name);
  if (purgeFirst) store.removeSecret(v, lower(name));
  const s = store.putSecret(v, name, null);
  for (const rec of versions) store.putVersion(v, s, rec);
  return { kind: 'secret', secret: propertiesView(vault.rec, s, latest(s)) };
};

const installDataKey: Handler = (store, body) => {
  const b = body as Partial<InstallDataKey>;
  if (typeof b.keyId !== 'string' || !DATA_KEY_ID.test(b.keyId)) {
    throw invalid('BAD_PARAMETER', 'a data key id is 1-128 characters of letters, digits and . _ : -');
  }
  const wrapped = b.wrappedKey;
  if (!(wrapped instanceof Uint8Array) || wrapped.byteLength === 0 || wrapped.byteLength > MAX_WRAPPED_KEY_BYTES) {
    throw invalid('BAD_PARAMETER', `a wrapped data key is 1-${MAX_WRAPPED_KEY_BYTES} bytes`);
  }
  const existing = store.dataKeys.get(b.keyId);
  if (existing && Buffer.compare(existing.wrappedKey, wrapped) !== 0) {
    throw alreadyExists('DATA_KEY_ALREADY_EXISTS', `data key ${quote(b.keyId)} exists with other key material`);
  }
  // Installing the same key again makes it the active one again.
  store.putDataKey(b.keyId, new Uint8Array(wrapped));
  return { kind: 'none' };
};

export const handlers: Record<string, Handler> = {
  createVault,
  deleteVault,
  setSecret,
  updateSecret,
  deleteSecret,
  recoverSecret,
  purgeSecret,
  restoreSecret,
  installDataKey,
};
