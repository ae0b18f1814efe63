// The key command handlers, under the same rules as the secret ones: every
// check before the first write, nothing but the command and the state as
// input. Keys live on their own shelf: a key and a secret may share a name.
// The material arrives made (generated or imported on the leader) with its
// private part sealed; apply checks that the public part is only public.

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
import type { CreateKeyVersion, KeyAttributes, KeyMaterial, RestoreKey, UpdateKey } from './commands.js';
import { alreadyExists, invalid, notFound, quote } from './errors.js';
import { checkVersionRoom, versionCap } from './limits.js';
import { type KeyEntry, type KeyVersion, type VaultEntry, deletedKeyView, findVersion, keptBytes, keyBundle, latest, lower } from './model.js';
import { validateDates, validateTags, validateVersionId, validateVersionRef } from './validate.js';
import { type KeyType, validateKeyName, validateKeyOps, validateKeySpec } from './validate-keys.js';

/** An RSA-4096 private JWK is about 3 KiB of JSON before sealing. */
export const MAX_SEALED_PRIVATE_JWK_BYTES = 16 * 1024;
/** An RSA-4096 public JWK is under 800 characters. */
export const MAX_PUBLIC_JWK_CHARS = 4096;

/** The members a public JWK holds besides kty; any other (d, p, q, k, ...) could be private. */
const PUBLIC_MEMBERS: Record<KeyType, readonly string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], oct: [] };
/** Coordinate length of each curve, in bytes. */
const CURVE_BYTES: Record<string, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66, 'P-256K': 32 };
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const KEY: KindReasons = { kind: 'key', notFound: 'KEY_NOT_FOUND', deletedNotFound: 'DELETED_KEY_NOT_FOUND' };

const liveKey = (vault: VaultEntry, name: string) => liveEntry<'key'>(vault.keys, KEY, vault.rec.name, name);


/** Byte length of a base64url member; refuses anything that is not canonical unpadded base64url. */
function memberBytes(jwk: Body, member: string): number {
  const v = jwk[member];
  if (typeof v !== 'string' || !BASE64URL.test(v) || v.length % 4 === 1) {
    throw invalid('BAD_PARAMETER', `public_jwk.${member} must be base64url`);
  }
  return Buffer.from(v, 'base64url').byteLength;
}

/**
 * The stored public JWK must be exactly the public members of its type, and
 * agree with the declared size or curve: GetKey hands it out as it is.
 */
function checkPublicJwk(text: unknown, spec: { kty: KeyType; keySize: number; curve: string }): string {
  if (typeof text !== 'string' || text.length > MAX_PUBLIC_JWK_CHARS) {
    throw invalid('BAD_PARAMETER', `public_jwk must be JSON of at most ${MAX_PUBLIC_JWK_CHARS} characters`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('BAD_PARAMETER', 'public_jwk is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('BAD_PARAMETER', 'public_jwk must be a JSON object');
  const jwk = parsed as Body;
  const allowed = ['kty', ...PUBLIC_MEMBERS[spec.kty]];
  for (const member of Object.keys(jwk)) {
    if (!allowed.includes(member)) {
      throw invalid('BAD_PARAMETER', `public_jwk of a ${spec.kty} key holds only ${allowed.join(', ')}, not ${quote(member)}`);
    }
  }
  if (jwk.kty !== spec.kty) throw invalid('BAD_PARAMETER', `public_jwk.kty must be ${spec.kty}`);
  if (spec.kty === 'RSA') {
    if (memberBytes(jwk, 'n') !== spec.keySize / 8) throw invalid('BAD_PARAMETER', `public_jwk.n must be a ${spec.keySize}-bit modulus`);
    if (memberBytes(jwk, 'e') > 8) throw invalid('BAD_PARAMETER', 'public_jwk.e is too long');
  } else if (spec.kty === 'EC') {
    if (jwk.crv !== spec.curve) throw invalid('BAD_PARAMETER', `public_jwk.crv must be ${spec.curve}`);
    const size = CURVE_BYTES[spec.curve]!;
    if (memberBytes(jwk, 'x') !== size || memberBytes(jwk, 'y') !== size) {
      throw invalid('BAD_PARAMETER', `public_jwk.x and .y must be ${size} bytes each on ${spec.curve}`);
    }
  }
  return text;
}

function material(m: unknown): KeyMaterial {
  if (m === null || typeof m !== 'object') throw invalid('BAD_PARAMETER', 'the key material is missing');
  const o = m as Body;
  const spec = validateKeySpec(o.kty, o.keySize, o.curve);
  const publicJwk = checkPublicJwk(o.publicJwk, spec);
  const sealed = o.sealedPrivateJwk;
  if (!(sealed instanceof Uint8Array) || sealed.byteLength === 0 || sealed.byteLength > MAX_SEALED_PRIVATE_JWK_BYTES) {
    throw invalid('BAD_PARAMETER', `the sealed private key must be 1-${MAX_SEALED_PRIVATE_JWK_BYTES} bytes`);
  }
  return { kty: spec.kty, keySize: spec.keySize, curve: spec.curve, publicJwk, sealedPrivateJwk: keptBytes(sealed) };
}

function keyAttributes(a: unknown, kty: string): KeyAttributes {
  if (a === null || typeof a !== 'object') throw invalid('BAD_PARAMETER', 'the key attributes are missing');
  const o = a as Body;
  // Checked in this order; built as one literal, which V8 keeps smaller than one with a spread.
  const keyOps = validateKeyOps(o.keyOps, kty as KeyType);
  const enabled = boolean('attributes.enabled', o.enabled);
  const { notBefore, expires } = validateDates(o.notBefore, o.expires);
  const tags = sortedTags(validateTags(o.tags));
  const exportable = boolean('attributes.exportable', o.exportable);
  return { keyOps, enabled, notBefore, expires, tags, exportable };
}

/** Decoding fills absent booleans with false; a command built in code may leave them out. */
const flag = (field: string, v: unknown) => (v === undefined ? false : boolean(field, v));

const createKeyVersion: Handler = (store, body, timeMs) => {
  const b = body as Partial<CreateKeyVersion>;
  const vault = vaultOf(store, b.vault);
  const name = validateKeyName(b.name);
  const version = validateVersionId(b.version);
  const m = material(b.material);
  const attrs = keyAttributes(b.attributes, m.kty);
  const rotation = flag('rotation', b.rotation);
  const v = lower(vault.rec.name);
  let purgeFirst = false;
  let existing: KeyEntry | undefined;
  if (rotation) {
    existing = liveKey(vault, name);
    const cur = latest(existing).material;
    if (cur.kty !== m.kty || cur.keySize !== m.keySize || cur.curve !== m.curve) {
      throw invalid('BAD_PARAMETER', `a rotation of key ${quote(existing.name)} must make another ${cur.kty} ${cur.curve || cur.keySize} key`);
    }
  } else {
    purgeFirst = claimName<'key'>(vault.keys, 'key', vault.rec.name, name, timeMs, null);
    existing = purgeFirst ? undefined : vault.keys.byName.get(lower(name));
  }
  if (existing && findVersion(existing, version)) {
    throw alreadyExists('KEY_VERSION_ALREADY_EXISTS', `key ${quote(name)} already has version ${version}`);
  }
  checkVersionRoom('key', name, existing?.versions.length ?? 0, 1, versionCap(b.maxVersions));
  if (purgeFirst) store.removeEntry('key', v, lower(name));
  const k = existing ?? store.putEntry('key', v, name, null);
  const rec: KeyVersion = { version, seq: k.versions.length, material: m, attributes: attrs, createdMs: timeMs, updatedMs: timeMs };
  store.putVersion('key', v, k, rec);
  return { kind: 'key', key: keyBundle(vault.rec, k, rec) };
};

const updateKey: Handler = (store, body, timeMs) => {
  const b = body as Partial<UpdateKey>;
  const vault = vaultOf(store, b.vault);
  const k = liveKey(vault, validateKeyName(b.name));
  const version = validateVersionRef(b.version ?? '');
  const cur = version === '' ? latest(k) : findVersion(k, version);
  if (!cur) throw notFound('KEY_VERSION_NOT_FOUND', `key ${quote(k.name)} has no version ${version}`);
  const a = cur.attributes;
  const enabled = optional(b.enabled, (e) => boolean('enabled', e));
  const keyOps = flag('replace_key_ops', b.replaceKeyOps) ? validateKeyOps(b.keyOps, cur.material.kty as KeyType) : a.keyOps;
  const { notBefore, expires } = validateDates(b.notBefore ?? a.notBefore, b.expires ?? a.expires);
  const tags = flag('replace_tags', b.replaceTags) ? sortedTags(validateTags(b.tags)) : a.tags;
  const next: KeyAttributes = { keyOps, enabled: enabled ?? a.enabled, notBefore, expires, tags, exportable: a.exportable };
  const rec: KeyVersion = { ...cur, attributes: next, updatedMs: timeMs };
  store.putVersion('key', lower(vault.rec.name), k, rec);
  return { kind: 'key', key: keyBundle(vault.rec, k, rec) };
};

const keyLifecycle = lifecycleHandlers({
  kind: 'key',
  reasons: KEY,
  validateName: validateKeyName,
  deletedResult: (v, k, d) => ({ kind: 'deletedKey', deletedKey: deletedKeyView(v, k, d) }),
  liveResult: (v, k, ver) => ({ kind: 'key', key: keyBundle(v, k, ver) }),
});

/** Restored versions keep their ids and dates; a malformed one is BAD_BACKUP. */
const restoredKeyVersions = (t: RestoreTarget): KeyVersion[] =>
  restoredVersions(
    t,
    (o, version, seq) => {
      const m = material(o.material);
      return {
        version,
        seq,
        material: m,
        attributes: keyAttributes(o.attributes, m.kty),
        createdMs: epochMs('created', o.createdMs),
        updatedMs: epochMs('updated', o.updatedMs),
      };
    },
    validateVersionId,
  );

const restoreKey: Handler = (store, body, timeMs) => {
  const b = body as Partial<RestoreKey>;
  const vault = vaultOf(store, b.vault);
  const name = validateKeyName(b.name);
  const versions = restoredKeyVersions({ kind: 'key', name, versions: b.versions, maxVersions: b.maxVersions });
  const exists = alreadyExists('KEY_ALREADY_EXISTS', `key ${quote(name)} already exists in vault ${quote(vault.rec.name)}`);
  const purgeFirst = claimName<'key'>(vault.keys, 'key', vault.rec.name, name, timeMs, exists);
  const v = lower(vault.rec.name);
  if (purgeFirst) store.removeEntry('key', v, lower(name));
  const k = store.putEntry('key', v, name, null);
  for (const rec of versions) store.putVersion('key', v, k, rec);
  return { kind: 'key', key: keyBundle(vault.rec, k, latest(k)) };
};

export const keyHandlers: Record<string, Handler> = {
  createKeyVersion,
  updateKey,
  deleteKey: keyLifecycle.delete,
  recoverKey: keyLifecycle.recover,
  purgeKey: keyLifecycle.purge,
  restoreKey,
};
