// Reads, for the server to answer Get/List/Backup. They take the reader's clock
// (nowMs) where time matters: validity of a version, expiry of a deleted
// secret. They throw VaultError; every object returned is a fresh copy.

import { forbidden, invalid, notFound, quote } from './errors.js';
import {
  type DataKeys,
  type DeletedSecretInfo,
  type Entry,
  type KeyVersion,
  type SealedSecret,
  type SecretBackup,
  type SecretEntry,
  type SecretProperties,
  type VaultEntry,
  type VaultInfo,
  type VersionRecord,
  copyAttributes,
  deletedView,
  findVersion,
  isExpired,
  latest,
  lower,
  propertiesView,
  vaultView,
} from './model.js';
import { type Page, collectPage, decodePageToken } from './paging.js';
import type { Store } from './store.js';
import { normalizePageSize, validateSecretName, validateVaultName, validateVersionRef } from './validate.js';

export function vaultOf(store: Store, name: string): VaultEntry {
  const vault = store.vault(validateVaultName(name));
  if (!vault) throw notFound('VAULT_NOT_FOUND', `vault ${quote(name)} does not exist`);
  return vault;
}

function liveSecret(vault: VaultEntry, name: string): SecretEntry {
  const s = vault.secrets.byName.get(lower(validateSecretName(name)));
  if (!s || s.deleted) throw notFound('SECRET_NOT_FOUND', `secret ${quote(name)} not found in vault ${quote(vault.rec.name)}`);
  return s;
}

export function getVault(store: Store, name: string): VaultInfo {
  return vaultView(vaultOf(store, name).rec);
}

export function listVaults(store: Store, pageSize: number, pageToken: string): Page<VaultInfo> {
  const size = normalizePageSize(pageSize);
  const after = decodePageToken('v', pageToken);
  return collectPage('v', store.vaultNames.after(after), size, (v) => vaultView(store.vaults.get(v)!.rec));
}

/** Refuses, as Azure does, a version that is disabled, not yet valid or expired. */
export function getSecret(store: Store, vault: string, name: string, version: string, nowMs: number): SealedSecret {
  const ve = vaultOf(store, vault);
  const s = liveSecret(ve, name);
  const ref = validateVersionRef(version);
  const ver = ref === '' ? latest(s) : findVersion(s, ref);
  if (!ver) throw notFound('SECRET_VERSION_NOT_FOUND', `secret ${quote(s.name)} has no version ${ref}`);
  const a = ver.attributes;
  const what = `version ${ver.version} of secret ${quote(s.name)}`;
  if (!a.enabled) throw forbidden('SECRET_DISABLED', `${what} is disabled`);
  if (a.notBefore !== 0 && nowMs < a.notBefore * 1000) {
    throw forbidden('SECRET_NOT_YET_VALID', `${what} is not valid before ${new Date(a.notBefore * 1000).toISOString()}`);
  }
  if (a.expires !== 0 && nowMs >= a.expires * 1000) {
    throw forbidden('SECRET_EXPIRED', `${what} expired at ${new Date(a.expires * 1000).toISOString()}`);
  }
  return { properties: propertiesView(ve.rec, s, ver), sealedValue: new Uint8Array(ver.sealedValue) };
}

/** The latest version's properties of each secret that is not deleted, by name. */
export function listSecrets(store: Store, vault: string, pageSize: number, pageToken: string): Page<SecretProperties> {
  const ve = vaultOf(store, vault);
  const size = normalizePageSize(pageSize);
  const after = decodePageToken('s', pageToken);
  return collectPage('s', ve.secrets.live.after(after), size, (n) => {
    const s = ve.secrets.byName.get(n)!;
    return propertiesView(ve.rec, s, latest(s));
  });
}

/** Every version, oldest first. */
export function listSecretVersions(
  store: Store,
  vault: string,
  name: string,
  pageSize: number,
  pageToken: string,
): Page<SecretProperties> {
  const ve = vaultOf(store, vault);
  const s = liveSecret(ve, name);
  const size = normalizePageSize(pageSize);
  const after = decodePageToken('r', pageToken);
  let start = 0;
  if (after !== undefined) {
    const ver = findVersion(s, after);
    // Versions are never removed one by one: a missing one means the token is from another secret.
    if (!ver) throw invalid('INVALID_PAGE_TOKEN', `the page token does not belong to the versions of secret ${quote(s.name)}`);
    start = ver.seq + 1;
  }
  return collectPage('r', versionIds(s, start), size, (id) => propertiesView(ve.rec, s, findVersion(s, id)!));
}

export function* versionIds(e: Entry<VersionRecord | KeyVersion>, start: number): Generator<string> {
  for (let i = start; i < e.versions.length; i++) yield e.versions[i]!.version;
}

export function getDeletedSecret(store: Store, vault: string, name: string, nowMs: number): DeletedSecretInfo {
  const ve = vaultOf(store, vault);
  const s = ve.secrets.byName.get(lower(validateSecretName(name)));
  if (!s || !s.deleted || isExpired(s.deleted, nowMs)) {
    throw notFound('DELETED_SECRET_NOT_FOUND', `no deleted secret ${quote(name)} in vault ${quote(ve.rec.name)}`);
  }
  return deletedView(ve.rec, s, s.deleted);
}

export function listDeletedSecrets(
  store: Store,
  vault: string,
  pageSize: number,
  pageToken: string,
  nowMs: number,
): Page<DeletedSecretInfo> {
  const ve = vaultOf(store, vault);
  const size = normalizePageSize(pageSize);
  const after = decodePageToken('d', pageToken);
  return collectPage('d', ve.secrets.deleted.after(after), size, (n) => {
    const s = ve.secrets.byName.get(n)!;
    return isExpired(s.deleted!, nowMs) ? null : deletedView(ve.rec, s, s.deleted!);
  });
}

/** Every version with its sealed value, oldest first: the server seals this into the blob. */
export function backupSecret(store: Store, vault: string, name: string): SecretBackup {
  const ve = vaultOf(store, vault);
  const s = liveSecret(ve, name);
  return {
    vault: ve.rec.name,
    name: s.name,
    versions: s.versions.map((v) => ({
      version: v.version,
      sealedValue: new Uint8Array(v.sealedValue),
      attributes: copyAttributes(v.attributes),
      createdMs: v.createdMs,
      updatedMs: v.updatedMs,
    })),
  };
}

export function dataKeys(store: Store): DataKeys {
  const keys = [...store.dataKeys].map(([keyId, r]) => ({ keyId, wrappedKey: new Uint8Array(r.wrappedKey) }));
  return { activeKeyId: keys[keys.length - 1]?.keyId ?? '', keys };
}
