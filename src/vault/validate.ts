// Static checks of what a client may ask, with Azure Key Vault's limits. The
// server calls these before proposing; apply calls them again on every command
// because a log entry is input too and apply must not trust it.

import { invalid, quote } from './errors.js';

export const VAULT_NAME_MIN = 3;
export const VAULT_NAME_MAX = 24;
export const SECRET_NAME_MAX = 127;
export const MAX_SECRET_VALUE_BYTES = 25 * 1024;
export const DEFAULT_RETENTION_DAYS = 90;
export const MIN_RETENTION_DAYS = 7;
export const MAX_RETENTION_DAYS = 90;
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 25;
export const MAX_TAGS = 15;
export const MAX_TAG_KEY = 256;
export const MAX_TAG_VALUE = 256;
export const MAX_CONTENT_TYPE = 256;
export const MAX_REQUEST_ID = 128;
/** Azure's latest representable date, 9999-12-31T23:59:59Z, in unix seconds. */
export const MAX_UNIX_SECONDS = 253_402_300_799;

const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]*$/;
const SECRET_NAME = /^[0-9a-zA-Z-]+$/;
const VERSION_ID = /^[0-9a-f]{32}$/;
const REQUEST_ID = /^[\x21-\x7e]+$/;

export function validateVaultName(name: unknown): string {
  if (typeof name !== 'string' || name.length < VAULT_NAME_MIN || name.length > VAULT_NAME_MAX) {
    throw invalid('INVALID_NAME', `vault name ${quote(name)} must be ${VAULT_NAME_MIN}-${VAULT_NAME_MAX} characters`);
  }
  if (!VAULT_NAME.test(name) || name.includes('--') || name.endsWith('-')) {
    throw invalid(
      'INVALID_NAME',
      `vault name ${quote(name)} must start with a letter, hold only letters, digits and single hyphens, and not end with a hyphen`,
    );
  }
  return name;
}

export function validateSecretName(name: unknown): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > SECRET_NAME_MAX || !SECRET_NAME.test(name)) {
    throw invalid(
      'INVALID_NAME',
      `secret name ${quote(name)} must be 1-${SECRET_NAME_MAX} characters of letters, digits and hyphens`,
    );
  }
  return name;
}

/** A version id as the server makes them: 32 lowercase hex characters. */
export function validateVersionId(version: unknown): string {
  if (typeof version !== 'string' || !VERSION_ID.test(version)) {
    throw invalid('BAD_PARAMETER', `version ${quote(version)} must be 32 lowercase hexadecimal characters`);
  }
  return version;
}

/** Like validateVersionId, but "" (the latest version) is allowed. */
export function validateVersionRef(version: unknown): string {
  return version === '' ? '' : validateVersionId(version);
}

/** The message never quotes the value: it is the one thing that must not leak. */
export function validateSecretValue(value: unknown): string {
  if (typeof value !== 'string') throw invalid('BAD_PARAMETER', 'the secret value must be a string');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_SECRET_VALUE_BYTES) {
    throw invalid(
      'VALUE_TOO_LARGE',
      `the secret value is ${bytes} bytes in UTF-8; the limit is ${MAX_SECRET_VALUE_BYTES} bytes (25 KiB)`,
    );
  }
  return value;
}

/** 0 means the default (90). */
export function normalizeRetentionDays(days: unknown): number {
  if (days === 0 || days === undefined || days === null) return DEFAULT_RETENTION_DAYS;
  if (!Number.isInteger(days) || (days as number) < MIN_RETENTION_DAYS || (days as number) > MAX_RETENTION_DAYS) {
    throw invalid(
      'BAD_PARAMETER',
      `soft_delete_retention_days must be ${MIN_RETENTION_DAYS}-${MAX_RETENTION_DAYS} (or 0 for ${DEFAULT_RETENTION_DAYS}), got ${quote(days)}`,
    );
  }
  return days as number;
}

/** 0 means the default (25). */
export function normalizePageSize(size: unknown): number {
  if (size === 0 || size === undefined || size === null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > MAX_PAGE_SIZE) {
    throw invalid('BAD_PARAMETER', `page_size must be 1-${MAX_PAGE_SIZE} (or 0 for ${DEFAULT_PAGE_SIZE}), got ${quote(size)}`);
  }
  return size as number;
}

export function validateTags(tags: unknown): Record<string, string> {
  if (tags === undefined || tags === null) return {};
  if (typeof tags !== 'object' || Array.isArray(tags)) throw invalid('BAD_PARAMETER', 'tags must be a map of strings');
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > MAX_TAGS) throw invalid('BAD_PARAMETER', `at most ${MAX_TAGS} tags are allowed, got ${entries.length}`);
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > MAX_TAG_KEY) {
      throw invalid('BAD_PARAMETER', `tag name ${quote(k)} must be 1-${MAX_TAG_KEY} characters`);
    }
    if (typeof v !== 'string' || v.length > MAX_TAG_VALUE) {
      throw invalid('BAD_PARAMETER', `the value of tag ${quote(k)} must be a string of at most ${MAX_TAG_VALUE} characters`);
    }
  }
  return tags as Record<string, string>;
}

export function validateContentType(contentType: unknown): string {
  if (contentType === undefined || contentType === null) return '';
  if (typeof contentType !== 'string' || contentType.length > MAX_CONTENT_TYPE) {
    throw invalid('BAD_PARAMETER', `content_type must be a string of at most ${MAX_CONTENT_TYPE} characters`);
  }
  return contentType;
}

export function validateUnixSeconds(field: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_UNIX_SECONDS) {
    throw invalid('BAD_PARAMETER', `${field} must be unix seconds between 0 (not set) and ${MAX_UNIX_SECONDS}, got ${quote(value)}`);
  }
  return smallInteger(value as number);
}

/**
 * The same number, as a small integer when it fits one: a decoded command's
 * 0 is a heap number, which would make V8 box these fields in every version
 * kept in the state (16 bytes each). -0 stays -0.
 */
const smallInteger = (n: number): number => ((n | 0) === n && !Object.is(n, -0) ? n | 0 : n);

/** Unix seconds, 0 meaning not set; expiry must come after activation. */
export function validateDates(notBefore: unknown, expires: unknown): { notBefore: number; expires: number } {
  const nbf = validateUnixSeconds('not_before', notBefore ?? 0);
  const exp = validateUnixSeconds('expires', expires ?? 0);
  if (nbf !== 0 && exp !== 0 && exp <= nbf) {
    throw invalid('BAD_PARAMETER', `expires (${exp}) must be later than not_before (${nbf})`);
  }
  return { notBefore: nbf, expires: exp };
}

/** "" means none (no deduplication). */
export function validateRequestId(requestId: unknown): string {
  if (requestId === '' || requestId === undefined || requestId === null) return '';
  if (typeof requestId !== 'string' || requestId.length > MAX_REQUEST_ID || !REQUEST_ID.test(requestId)) {
    throw invalid(
      'BAD_PARAMETER',
      `request_id must be at most ${MAX_REQUEST_ID} printable ASCII characters without spaces`,
    );
  }
  return requestId;
}

// Whole requests, in the shape @grpc/proto-loader gives them (camelCase).

export interface CreateVaultRequest {
  name: string;
  softDeleteRetentionDays?: number;
  purgeProtection?: boolean;
  requestId?: string;
}

export function validateCreateVaultRequest(req: CreateVaultRequest) {
  return {
    name: validateVaultName(req.name),
    softDeleteRetentionDays: normalizeRetentionDays(req.softDeleteRetentionDays),
    purgeProtection: req.purgeProtection === true,
    requestId: validateRequestId(req.requestId),
  };
}

export interface SetSecretRequest {
  vault: string;
  name: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
  requestId?: string;
}

/** Absent `enabled` means enabled, as in Azure. */
export function validateSetSecretRequest(req: SetSecretRequest) {
  return {
    vault: validateVaultName(req.vault),
    name: validateSecretName(req.name),
    value: validateSecretValue(req.value),
    contentType: validateContentType(req.contentType),
    tags: { ...validateTags(req.tags) },
    enabled: req.enabled !== false,
    ...validateDates(req.notBefore, req.expires),
    requestId: validateRequestId(req.requestId),
  };
}

export interface SecretRef {
  vault: string;
  name: string;
  version?: string;
  requestId?: string;
}

/** Get, delete, recover, purge, backup, list-versions: a vault, a name, maybe a version. */
export function validateSecretRef(req: SecretRef) {
  return {
    vault: validateVaultName(req.vault),
    name: validateSecretName(req.name),
    version: validateVersionRef(req.version ?? ''),
    requestId: validateRequestId(req.requestId),
  };
}

export interface UpdateSecretPropertiesRequest extends SecretRef {
  contentType?: string;
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
  /** Present: replaces every tag. */
  tags?: { tags?: Record<string, string> } | null;
}

/**
 * Checks each field given. Whether expires still follows not_before once merged
 * with the version's current dates is only known at apply time.
 */
export function validateUpdateSecretPropertiesRequest(req: UpdateSecretPropertiesRequest) {
  const ref = validateSecretRef(req);
  const contentType = req.contentType === undefined ? undefined : validateContentType(req.contentType);
  if (req.enabled !== undefined && typeof req.enabled !== 'boolean') throw invalid('BAD_PARAMETER', 'enabled must be a boolean');
  const notBefore = req.notBefore === undefined ? undefined : validateUnixSeconds('not_before', req.notBefore);
  const expires = req.expires === undefined ? undefined : validateUnixSeconds('expires', req.expires);
  if (notBefore !== undefined && expires !== undefined) validateDates(notBefore, expires);
  const tags = req.tags === undefined || req.tags === null ? undefined : { ...validateTags(req.tags.tags) };
  return { ...ref, contentType, enabled: req.enabled, notBefore, expires, tags };
}

export interface ListRequest {
  vault?: string;
  name?: string;
  pageSize?: number;
  pageToken?: string;
}

/** Page tokens are checked by the state, which knows their layout. */
export function validateListRequest(req: ListRequest) {
  return {
    vault: req.vault === undefined ? undefined : validateVaultName(req.vault),
    name: req.name === undefined ? undefined : validateSecretName(req.name),
    pageSize: normalizePageSize(req.pageSize),
    pageToken: typeof req.pageToken === 'string' ? req.pageToken : '',
  };
}
