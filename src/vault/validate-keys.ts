// Static checks of what a client may ask of keys, with Azure Key Vault's key
// types, sizes and operations (the cryptographic operations' requests are in
// validate-crypto.ts). As with secrets, the server calls these before
// proposing and apply calls the field checks again.

import { invalid, quote } from './errors.js';
import {
  normalizePageSize,
  validateDates,
  validateRequestId,
  validateTags,
  validateUnixSeconds,
  validateVaultName,
  validateVersionRef,
} from './validate.js';

export const KEY_NAME_MAX = 127;
const KEY_NAME = /^[0-9a-zA-Z-]+$/;

export type KeyType = 'RSA' | 'EC' | 'oct';
export type KeyOp = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrapKey' | 'unwrapKey';

export const KEY_TYPES: readonly KeyType[] = ['RSA', 'EC', 'oct'];
/** Also the canonical order in which a key's operations are kept and shown. */
export const KEY_OPS: readonly KeyOp[] = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];
export const KEY_OPS_BY_TYPE: Readonly<Record<KeyType, readonly KeyOp[]>> = {
  RSA: KEY_OPS,
  EC: ['sign', 'verify'],
  oct: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'],
};
export const RSA_KEY_SIZES: readonly number[] = [2048, 3072, 4096];
export const OCT_KEY_SIZES: readonly number[] = [128, 192, 256];
export const EC_CURVES: readonly string[] = ['P-256', 'P-384', 'P-521', 'P-256K'];
export const DEFAULT_RSA_KEY_SIZE = 2048;
export const DEFAULT_OCT_KEY_SIZE = 256;
export const DEFAULT_EC_CURVE = 'P-256';

/** The same rule as secret names, as in Azure. */
export function validateKeyName(name: unknown): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > KEY_NAME_MAX || !KEY_NAME.test(name)) {
    throw invalid('INVALID_NAME', `key name ${quote(name)} must be 1-${KEY_NAME_MAX} characters of letters, digits and hyphens`);
  }
  return name;
}

export function validateKeyType(kty: unknown): KeyType {
  if (typeof kty === 'string' && /^(RSA|EC|oct)-HSM$/.test(kty)) {
    throw invalid('BAD_PARAMETER', `key type ${quote(kty)}: HSM-protected keys are not offered; use ${kty.slice(0, -4)}`);
  }
  if (!(KEY_TYPES as readonly unknown[]).includes(kty)) throw invalid('BAD_PARAMETER', `key type ${quote(kty)} must be RSA, EC or oct`);
  return kty as KeyType;
}

/**
 * The size and curve of a key of type `kty`, exactly as stored: bits for RSA
 * and oct with no curve, a curve for EC with size 0.
 */
export function validateKeySpec(kty: unknown, keySize: unknown, curve: unknown): { kty: KeyType; keySize: number; curve: string } {
  const t = validateKeyType(kty);
  if (t === 'EC') {
    if (keySize !== 0) throw invalid('BAD_PARAMETER', `an EC key has a curve, not a key size (got ${quote(keySize)})`);
    if (!EC_CURVES.includes(curve as string)) throw invalid('BAD_PARAMETER', `curve ${quote(curve)} must be one of ${EC_CURVES.join(', ')}`);
    return { kty: t, keySize: 0, curve: curve as string };
  }
  if (curve !== '') throw invalid('BAD_PARAMETER', `a curve is for EC keys only, not ${t} (got ${quote(curve)})`);
  const sizes = t === 'RSA' ? RSA_KEY_SIZES : OCT_KEY_SIZES;
  if (!sizes.includes(keySize as number)) throw invalid('BAD_PARAMETER', `a ${t} key size must be one of ${sizes.join(', ')} bits, got ${quote(keySize)}`);
  return { kty: t, keySize: keySize as number, curve: '' };
}

/** Like validateKeySpec, but 0 and "" mean the type's default. */
export function normalizeKeySpec(kty: unknown, keySize: unknown, curve: unknown) {
  const t = validateKeyType(kty);
  const size = keySize ?? 0;
  const crv = curve ?? '';
  if (t === 'EC') return validateKeySpec(t, size, crv === '' ? DEFAULT_EC_CURVE : crv);
  return validateKeySpec(t, size === 0 ? (t === 'RSA' ? DEFAULT_RSA_KEY_SIZE : DEFAULT_OCT_KEY_SIZE) : size, crv);
}

/**
 * Without `kty`, any of the six operations (an update does not know the type;
 * apply checks it). Duplicates go; the result is in canonical order.
 */
export function validateKeyOps(ops: unknown, kty?: KeyType): KeyOp[] {
  if (!Array.isArray(ops)) throw invalid('BAD_PARAMETER', 'key_ops must be a list of operations');
  const allowed = kty ? KEY_OPS_BY_TYPE[kty] : KEY_OPS;
  for (const op of ops) {
    if (!allowed.includes(op as KeyOp)) {
      const which = kty ? `a ${kty} key allows ${allowed.join(', ')}` : `operations are ${KEY_OPS.join(', ')}`;
      throw invalid('BAD_PARAMETER', `key operation ${quote(op)} is not allowed: ${which}`);
    }
  }
  return KEY_OPS.filter((op) => ops.includes(op));
}

/** Empty means every operation the type allows, as in Azure. */
export const normalizeKeyOps = (ops: unknown, kty: KeyType): KeyOp[] =>
  ops === undefined || ops === null || (Array.isArray(ops) && ops.length === 0) ? [...KEY_OPS_BY_TYPE[kty]] : validateKeyOps(ops, kty);

// Whole requests, in the shape @grpc/proto-loader gives them (camelCase, bytes as Buffer).

export interface KeyRef {
  vault: string;
  name: string;
  version?: string;
  requestId?: string;
}

/** GetKey, RotateKey, DeleteKey, GetDeletedKey, RecoverDeletedKey, PurgeDeletedKey, BackupKey. */
export function validateKeyRef(req: KeyRef) {
  return {
    vault: validateVaultName(req.vault),
    name: validateKeyName(req.name),
    version: validateVersionRef(req.version ?? ''),
    requestId: validateRequestId(req.requestId),
  };
}

export interface KeyListRequest {
  vault?: string;
  name?: string;
  pageSize?: number;
  pageToken?: string;
}

/** ListKeys, ListKeyVersions, ListDeletedKeys. Page tokens are checked by the state. */
export function validateKeyListRequest(req: KeyListRequest) {
  return {
    vault: validateVaultName(req.vault),
    name: req.name === undefined ? undefined : validateKeyName(req.name),
    pageSize: normalizePageSize(req.pageSize),
    pageToken: typeof req.pageToken === 'string' ? req.pageToken : '',
  };
}

interface NewKeyFields {
  vault: string;
  name: string;
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
  tags?: Record<string, string>;
  exportable?: boolean;
  requestId?: string;
}

/** Absent `enabled` means enabled, as in Azure. */
function newKeyFields(req: NewKeyFields) {
  if (req.enabled !== undefined && typeof req.enabled !== 'boolean') throw invalid('BAD_PARAMETER', 'enabled must be a boolean');
  if (req.exportable !== undefined && typeof req.exportable !== 'boolean') throw invalid('BAD_PARAMETER', 'exportable must be a boolean');
  return {
    vault: validateVaultName(req.vault),
    name: validateKeyName(req.name),
    enabled: req.enabled !== false,
    ...validateDates(req.notBefore, req.expires),
    tags: { ...validateTags(req.tags) },
    exportable: req.exportable === true,
    requestId: validateRequestId(req.requestId),
  };
}

export interface CreateKeyRequest extends NewKeyFields {
  kty: string;
  keySize?: number;
  curve?: string;
  keyOps?: string[];
}

export function validateCreateKeyRequest(req: CreateKeyRequest) {
  const spec = normalizeKeySpec(req.kty, req.keySize, req.curve);
  return { ...newKeyFields(req), ...spec, keyOps: normalizeKeyOps(req.keyOps, spec.kty) };
}

/** RFC 7517 as keyraft.v1.JsonWebKey: members are bytes. */
export interface JsonWebKeyInput {
  kid?: string;
  kty?: string;
  keyOps?: string[];
  n?: Uint8Array;
  e?: Uint8Array;
  crv?: string;
  x?: Uint8Array;
  y?: Uint8Array;
  d?: Uint8Array;
  p?: Uint8Array;
  q?: Uint8Array;
  dp?: Uint8Array;
  dq?: Uint8Array;
  qi?: Uint8Array;
  k?: Uint8Array;
}

export interface ImportKeyRequest extends NewKeyFields {
  key?: JsonWebKeyInput | null;
}

/** Only the JWK's presence, type and operations: the crypto layer checks the material itself. */
export function validateImportKeyRequest(req: ImportKeyRequest) {
  const fields = newKeyFields(req);
  const key = req.key;
  if (key === undefined || key === null || typeof key !== 'object') throw invalid('BAD_PARAMETER', 'the key to import (a JWK) is missing');
  const kty = validateKeyType(key.kty);
  return { ...fields, key, kty, keyOps: normalizeKeyOps(key.keyOps, kty) };
}

export interface UpdateKeyPropertiesRequest extends KeyRef {
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
  /** Present: replaces the version's operations (an empty list allows none). */
  keyOps?: { keyOps?: string[] } | null;
  /** Present: replaces every tag. */
  tags?: { tags?: Record<string, string> } | null;
}

/**
 * Checks each field given. Whether the operations suit the key's type, and
 * whether expires still follows not_before once merged with the version's
 * current dates, is only known at apply time.
 */
export function validateUpdateKeyPropertiesRequest(req: UpdateKeyPropertiesRequest) {
  const ref = validateKeyRef(req);
  if (req.enabled !== undefined && typeof req.enabled !== 'boolean') throw invalid('BAD_PARAMETER', 'enabled must be a boolean');
  const notBefore = req.notBefore === undefined ? undefined : validateUnixSeconds('not_before', req.notBefore);
  const expires = req.expires === undefined ? undefined : validateUnixSeconds('expires', req.expires);
  if (notBefore !== undefined && expires !== undefined) validateDates(notBefore, expires);
  const keyOps = req.keyOps === undefined || req.keyOps === null ? undefined : validateKeyOps(req.keyOps.keyOps ?? []);
  const tags = req.tags === undefined || req.tags === null ? undefined : { ...validateTags(req.tags.tags) };
  return { ...ref, enabled: req.enabled, notBefore, expires, keyOps, tags };
}

export interface RestoreKeyRequest {
  vault: string;
  backup?: Uint8Array;
  requestId?: string;
}

/** The blob itself is opened and checked by the server, which sealed it. */
export function validateRestoreKeyRequest(req: RestoreKeyRequest) {
  const vault = validateVaultName(req.vault);
  if (!(req.backup instanceof Uint8Array) || req.backup.byteLength === 0) throw invalid('BAD_BACKUP', 'the key backup is empty');
  return { vault, backup: req.backup, requestId: validateRequestId(req.requestId) };
}
