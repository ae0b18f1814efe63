// Reads of keys, for the server to answer the Keys service and to run
// cryptographic operations on any node from its applied state. Like the
// secret queries they throw VaultError and return fresh copies.

import { VaultError, forbidden, invalid, notFound, quote } from './errors.js';
import {
  type DeletedKeyInfo,
  type KeyBackup,
  type KeyBundle,
  type KeyEntry,
  type KeyForOperation,
  type KeyProperties,
  type KeySpec,
  type KeyVersion,
  type VaultEntry,
  copyKeyAttributes,
  copyKeyMaterial,
  deletedKeyView,
  findVersion,
  isExpired,
  keyBundle,
  keyId,
  keyPropertiesView,
  latest,
  lower,
} from './model.js';
import { type Page, collectPage, decodePageToken } from './paging.js';
import { vaultOf, versionIds } from './queries.js';
import type { Store } from './store.js';
import { normalizePageSize, validateVersionRef } from './validate.js';
import { KEY_OPS, type KeyOp, validateKeyName } from './validate-keys.js';

function liveKey(vault: VaultEntry, name: string): KeyEntry {
  const k = vault.keys.byName.get(lower(validateKeyName(name)));
  if (!k || k.deleted) throw notFound('KEY_NOT_FOUND', `key ${quote(name)} not found in vault ${quote(vault.rec.name)}`);
  return k;
}

function keyVersion(k: KeyEntry, version: string): KeyVersion {
  const ref = validateVersionRef(version);
  const ver = ref === '' ? latest(k) : findVersion(k, ref);
  if (!ver) throw notFound('KEY_VERSION_NOT_FOUND', `key ${quote(k.name)} has no version ${ref}`);
  return ver;
}

/** Readable even when disabled, not yet valid or expired: Azure shows such a key's properties. */
export function getKey(store: Store, vault: string, name: string, version: string): KeyBundle {
  const ve = vaultOf(store, vault);
  const k = liveKey(ve, name);
  return keyBundle(ve.rec, k, keyVersion(k, version));
}

/**
 * The key version with its sealed private part, once it may serve `op` at
 * nowMs. The checks go in a fixed order so that a client is told the first
 * thing to fix: existence, enabled, validity dates, then the operation.
 */
export function keyForOperation(store: Store, vault: string, name: string, version: string, op: string, nowMs: number): KeyForOperation {
  if (!KEY_OPS.includes(op as KeyOp)) throw invalid('BAD_PARAMETER', `key operation ${quote(op)} must be one of ${KEY_OPS.join(', ')}`);
  const ve = vaultOf(store, vault);
  const k = liveKey(ve, name);
  const ver = keyVersion(k, version);
  const a = ver.attributes;
  const what = () => `version ${ver.version} of key ${quote(k.name)}`;
  if (!a.enabled) throw forbidden('KEY_DISABLED', `${what()} is disabled`);
  if (a.notBefore !== 0 && nowMs < a.notBefore * 1000) {
    throw forbidden('KEY_NOT_YET_VALID', `${what()} is not valid before ${new Date(a.notBefore * 1000).toISOString()}`);
  }
  if (a.expires !== 0 && nowMs >= a.expires * 1000) {
    throw forbidden('KEY_EXPIRED', `${what()} expired at ${new Date(a.expires * 1000).toISOString()}`);
  }
  if (!a.keyOps.includes(op)) {
    throw forbidden('OPERATION_NOT_ALLOWED', `${what()} does not allow ${op}; it allows ${a.keyOps.join(', ') || 'no operation'}`);
  }
  const m = ver.material;
  return {
    kid: keyId(ve.rec, k, ver),
    name: k.name,
    version: ver.version,
    sealedPrivateJwk: new Uint8Array(m.sealedPrivateJwk),
    kty: m.kty,
    keySize: m.keySize,
    curve: m.curve,
  };
}

/** The latest version's properties of each key that is not deleted, by name. */
export function listKeys(store: Store, vault: string, pageSize: number, pageToken: string): Page<KeyProperties> {
  const ve = vaultOf(store, vault);
  const size = normalizePageSize(pageSize);
  const after = decodePageToken('k', pageToken);
  return collectPage('k', ve.keys.live.after(after), size, (n) => {
    const k = ve.keys.byName.get(n)!;
    return keyPropertiesView(ve.rec, k, latest(k));
  });
}

/** Every version, oldest first. */
export function listKeyVersions(store: Store, vault: string, name: string, pageSize: number, pageToken: string): Page<KeyProperties> {
  const ve = vaultOf(store, vault);
  const k = liveKey(ve, name);
  const size = normalizePageSize(pageSize);
  const after = decodePageToken('kr', pageToken);
  let start = 0;
  if (after !== undefined) {
    const ver = findVersion(k, after);
    // Versions are never removed one by one: a missing one means the token is from another key.
    if (!ver) throw invalid('INVALID_PAGE_TOKEN', `the page token does not belong to the versions of key ${quote(k.name)}`);
    start = ver.seq + 1;
  }
  return collectPage('kr', versionIds(k, start), size, (id) => keyPropertiesView(ve.rec, k, findVersion(k, id)!));
}

export function getDeletedKey(store: Store, vault: string, name: string, nowMs: number): DeletedKeyInfo {
  const ve = vaultOf(store, vault);
  const k = ve.keys.byName.get(lower(validateKeyName(name)));
  if (!k || !k.deleted || isExpired(k.deleted, nowMs)) {
    throw notFound('DELETED_KEY_NOT_FOUND', `no deleted key ${quote(name)} in vault ${quote(ve.rec.name)}`);
  }
  return deletedKeyView(ve.rec, k, k.deleted);
}

export function listDeletedKeys(store: Store, vault: string, pageSize: number, pageToken: string, nowMs: number): Page<DeletedKeyInfo> {
  const ve = vaultOf(store, vault);
  const size = normalizePageSize(pageSize);
  const after = decodePageToken('dk', pageToken);
  return collectPage('dk', ve.keys.deleted.after(after), size, (n) => {
    const k = ve.keys.byName.get(n)!;
    return isExpired(k.deleted!, nowMs) ? null : deletedKeyView(ve.rec, k, k.deleted!);
  });
}

/** Every version with its sealed private part, oldest first: the server seals this into the blob. */
export function backupKey(store: Store, vault: string, name: string): KeyBackup {
  const ve = vaultOf(store, vault);
  const k = liveKey(ve, name);
  return {
    vault: ve.rec.name,
    name: k.name,
    versions: k.versions.map((v) => ({
      version: v.version,
      material: copyKeyMaterial(v.material),
      attributes: copyKeyAttributes(v.attributes),
      createdMs: v.createdMs,
      updatedMs: v.updatedMs,
    })),
  };
}

/**
 * The type, size and curve of a key version (the latest for ""), or
 * undefined when the request names none: throttling weighs a call by it
 * before the call itself is checked.
 */
export function keyTypeOf(store: Store, vault: string, name: string, version: string): { kty: string; keySize: number; curve: string } | undefined {
  try {
    const { kty, keySize, curve } = keyVersion(liveKey(vaultOf(store, vault), name), version).material;
    return { kty, keySize, curve };
  } catch (e) {
    if (e instanceof VaultError) return undefined;
    throw e;
  }
}

/** The type, size and attributes of the latest version: what RotateKey makes again. */
export function latestKeySpec(store: Store, vault: string, name: string): KeySpec {
  const k = liveKey(vaultOf(store, vault), name);
  const { material: m, attributes } = latest(k);
  return { kty: m.kty, keySize: m.keySize, curve: m.curve, attributes: copyKeyAttributes(attributes) };
}
