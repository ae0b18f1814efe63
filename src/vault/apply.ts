// The command handlers (vaults, secrets and data keys here; keys in
// apply-keys.ts; principals, role assignments and token keys in
// apply-auth.ts). Each one checks every precondition first and only then
// writes, so a refused command leaves no trace. Everything they use comes from
// the command (time, version ids, sealed values) or the state: they are
// deterministic. They assume nothing about the command's shape.

import {
  type Body,
  type Handler,
  type KindReasons,
  type RestoreTarget,
  boolean,
  claimName,
  lifecycleHandlers,
  epochMs,
  liveEntry,
  optional,
  restoredVersions,
  sortedTags,
  vaultOf,
} from './apply-common.js';
import { authHandlers } from './apply-auth.js';
import { resealValues } from './reseal.js';
import { keyHandlers } from './apply-keys.js';
import { rotateMasterKey } from './apply-masterkey.js';
import type {
  CreateVault,
  DeleteVault,
  InstallDataKey,
  RestoreSecret,
  SecretAttributes,
  SetSecret,
  UpdateSecret,
} from './commands.js';
import { alreadyExists, invalid, notFound, precondition, quote } from './errors.js';
import { checkVersionRoom, versionCap } from './limits.js';
import {
  type KeyVersion,
  type Shelf,
  type VaultEntry,
  type VersionRecord,
  deletedView,
  findVersion,
  isExpired,
  keptBytes,
  latest,
  lower,
  propertiesView,
  vaultView,
} from './model.js';
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
const DATA_KEY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_WRAPPED_KEY_BYTES = 4096;

const SECRET: KindReasons = { kind: 'secret', notFound: 'SECRET_NOT_FOUND', deletedNotFound: 'DELETED_SECRET_NOT_FOUND' };

const liveSecret = (vault: VaultEntry, name: string) => liveEntry<'secret'>(vault.secrets, SECRET, vault.rec.name, name);


function attributes(a: unknown): SecretAttributes {
  if (a === null || typeof a !== 'object') throw invalid('BAD_PARAMETER', 'the secret attributes are missing');
  const o = a as Body;
  if (typeof o.enabled !== 'boolean') throw invalid('BAD_PARAMETER', 'attributes.enabled must be a boolean');
  // Checked in this order; built as one literal, which V8 keeps smaller than one with a spread.
  const contentType = validateContentType(o.contentType);
  const tags = sortedTags(validateTags(o.tags));
  const enabled = o.enabled;
  const { notBefore, expires } = validateDates(o.notBefore, o.expires);
  return { contentType, tags, enabled, notBefore, expires };
}

function sealedValue(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw invalid('BAD_PARAMETER', 'the sealed value must be bytes');
  if (v.byteLength > MAX_SEALED_VALUE_BYTES) {
    throw invalid('VALUE_TOO_LARGE', `the sealed value is ${v.byteLength} bytes; the limit is ${MAX_SEALED_VALUE_BYTES}`);
  }
  return keptBytes(v);
}

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

/** A shelf blocks its vault's deletion while it holds anything not yet counted as purged. */
const holdsAnything = <R extends VersionRecord | KeyVersion>(shelf: Shelf<R>, timeMs: number) =>
  shelf.live.size > 0 || [...shelf.deleted].some((n) => !isExpired(shelf.byName.get(n)!.deleted!, timeMs));

const deleteVault: Handler = (store, body, timeMs) => {
  const vault = vaultOf(store, (body as Partial<DeleteVault>).name);
  const v = lower(vault.rec.name);
  if (holdsAnything(vault.secrets, timeMs) || holdsAnything(vault.keys, timeMs)) {
    throw precondition(
      'VAULT_NOT_EMPTY',
      `vault ${quote(vault.rec.name)} still holds secrets or keys (deleted ones included); delete and purge them first`,
    );
  }
  for (const n of [...vault.secrets.deleted]) store.removeEntry('secret', v, n);
  for (const n of [...vault.keys.deleted]) store.removeEntry('key', v, n);
  // A vault made again under this name must not inherit who could use this one.
  const scope = `/vaults/${v}`;
  const scoped = [...store.auth.assignments.values()].filter((a) => a.scope === scope).map((a) => a.id);
  for (const id of scoped.sort()) store.auth.removeAssignment(id);
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
  const purgeFirst = claimName<'secret'>(vault.secrets, 'secret', vault.rec.name, name, timeMs, null);
  const existing = purgeFirst ? undefined : vault.secrets.byName.get(lower(name));
  if (existing && findVersion(existing, version)) {
    throw alreadyExists('SECRET_VERSION_ALREADY_EXISTS', `secret ${quote(name)} already has version ${version}`);
  }
  checkVersionRoom('secret', name, existing?.versions.length ?? 0, 1, versionCap(b.maxVersions));
  if (purgeFirst) store.removeEntry('secret', v, lower(name));
  const s = existing ?? store.putEntry('secret', v, name, null);
  const rec: VersionRecord = { version, seq: s.versions.length, sealedValue: value, attributes: attrs, createdMs: timeMs, updatedMs: timeMs };
  store.putVersion('secret', v, s, rec);
  return { kind: 'secret', secret: propertiesView(vault.rec, s, rec) };
};

const updateSecret: Handler = (store, body, timeMs) => {
  const b = body as Partial<UpdateSecret>;
  const vault = vaultOf(store, b.vault);
  const s = liveSecret(vault, validateSecretName(b.name));
  const version = validateVersionRef(b.version ?? '');
  const cur = version === '' ? latest(s) : findVersion(s, version);
  if (!cur) throw notFound('SECRET_VERSION_NOT_FOUND', `secret ${quote(s.name)} has no version ${version}`);
  const a = cur.attributes;
  const enabled = optional(b.enabled, (e) => boolean('enabled', e));
  if (b.replaceTags !== undefined) boolean('replace_tags', b.replaceTags);
  const contentType = optional(b.contentType, validateContentType) ?? a.contentType;
  const tags = b.replaceTags === true ? sortedTags(validateTags(b.tags)) : a.tags;
  const { notBefore, expires } = validateDates(b.notBefore ?? a.notBefore, b.expires ?? a.expires);
  const next: SecretAttributes = { contentType, tags, enabled: enabled ?? a.enabled, notBefore, expires };
  const rec: VersionRecord = { ...cur, attributes: next, updatedMs: timeMs };
  store.putVersion('secret', lower(vault.rec.name), s, rec);
  return { kind: 'secret', secret: propertiesView(vault.rec, s, rec) };
};

const secretLifecycle = lifecycleHandlers({
  kind: 'secret',
  reasons: SECRET,
  validateName: validateSecretName,
  deletedResult: (v, s, d) => ({ kind: 'deletedSecret', deletedSecret: deletedView(v, s, d) }),
  liveResult: (v, s, ver) => ({ kind: 'secret', secret: propertiesView(v, s, ver) }),
});

/** Restored versions keep their ids and dates; a malformed one is BAD_BACKUP. */
const restoredSecretVersions = (t: RestoreTarget): VersionRecord[] =>
  restoredVersions(
    t,
    (o, version, seq) => ({
      version,
      seq,
      sealedValue: sealedValue(o.sealedValue),
      attributes: attributes(o.attributes),
      createdMs: epochMs('created', o.createdMs),
      updatedMs: epochMs('updated', o.updatedMs),
    }),
    validateVersionId,
  );

const restoreSecret: Handler = (store, body, timeMs) => {
  const b = body as Partial<RestoreSecret>;
  const vault = vaultOf(store, b.vault);
  const name = validateSecretName(b.name);
  const versions = restoredSecretVersions({ kind: 'secret', name, versions: b.versions, maxVersions: b.maxVersions });
  const exists = alreadyExists('SECRET_ALREADY_EXISTS', `secret ${quote(name)} already exists in vault ${quote(vault.rec.name)}`);
  const purgeFirst = claimName<'secret'>(vault.secrets, 'secret', vault.rec.name, name, timeMs, exists);
  const v = lower(vault.rec.name);
  if (purgeFirst) store.removeEntry('secret', v, lower(name));
  const s = store.putEntry('secret', v, name, null);
  for (const rec of versions) store.putVersion('secret', v, s, rec);
  return { kind: 'secret', secret: propertiesView(vault.rec, s, latest(s)) };
};

const installDataKey: Handler = (store, body, timeMs) => {
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
  if (b.replacesKeyId !== undefined && b.replacesKeyId !== null) {
    const active = store.activeDataKeyId() ?? '';
    if (b.replacesKeyId !== active) {
      throw precondition('DATA_KEY_ROTATED', `data key ${quote(b.replacesKeyId)} is no longer the active one (${quote(active)} is): already rotated`);
    }
  }
  // Installing the same key again makes it the active one again.
  store.putDataKey(b.keyId, keptBytes(wrapped), timeMs);
  return { kind: 'none' };
};

export const handlers: Record<string, Handler> = {
  createVault,
  deleteVault,
  setSecret,
  updateSecret,
  deleteSecret: secretLifecycle.delete,
  recoverSecret: secretLifecycle.recover,
  purgeSecret: secretLifecycle.purge,
  restoreSecret,
  installDataKey,
  rotateMasterKey,
  resealValues,
  ...keyHandlers,
  ...authHandlers,
};
