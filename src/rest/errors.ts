// keyraft's failures as Azure Key Vault answers them: an HTTP status and the
// body `{"error":{"code","message"}}` that @azure/keyvault-secrets and
// @azure/keyvault-keys read (keyVaultErrorDeserializer in each package's
// models/models.js: code, message, innererror). The SDK's RestError carries
// the HTTP status as `statusCode`, which is what its pollers look at:
//
// - keyvault-secrets lro/delete/operation.js and keyvault-keys
//   lro/delete/operation.js poll GET /deleted{secrets,keys}/{name} after the
//   DELETE and keep polling while it answers 404 (the delete not yet
//   visible); 403 ends the poll as done (the caller may delete but not read
//   deleted items); any other status fails the poller. So
//   DELETED_*_NOT_FOUND must be 404.
// - lro/recover/operation.js (both packages) first GETs /{secrets,keys}/{name}
//   (a success ends the poll: nothing to recover; any error goes on), then
//   POSTs the recover, then polls the same GET in the same way as above:
//   404 means "not back yet".
//
// One function per protocol (STYLE.md): this is REST's.

import * as grpc from '@grpc/grpc-js';

/** What keyraft says of a failure: src/app/errors.ts classify()'s fields, or a client's view of a status. */
export interface KeyraftFailure {
  code: grpc.status;
  reason: string;
  message: string;
  /** THROTTLED: when to try again. */
  retryAfterMs?: number;
}

export interface AzureErrorBody {
  error: { code: string; message: string; innererror?: { code: string } };
}

export interface AzureError {
  status: number;
  body: AzureErrorBody;
  /** Response headers the refusal needs (Retry-After). */
  headers: Record<string, string>;
}

/** A refusal the REST layer itself decides, before any gRPC call (a bad body, an unknown path). */
export class RestError extends Error {
  override name = 'RestError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  toAzure(): AzureError {
    return { status: this.status, body: { error: { code: this.code, message: this.message } }, headers: {} };
  }
}

export const badParameter = (message: string): RestError => new RestError(400, 'BadParameter', message);

interface Mapping {
  status: number;
  code: string;
  /** Azure's finer code, as its service puts it in innererror (e.g. ForbiddenByRbac). */
  inner?: string;
}

const SECRET_NOT_FOUND: Mapping = { status: 404, code: 'SecretNotFound' };
const KEY_NOT_FOUND: Mapping = { status: 404, code: 'KeyNotFound' };
const CONFLICT: Mapping = { status: 409, code: 'Conflict' };
const BAD_PARAMETER: Mapping = { status: 400, code: 'BadParameter' };
const FORBIDDEN: Mapping = { status: 403, code: 'Forbidden' };
/**
 * Retried by the SDK's default retry policy (core-rest-pipeline retries 503
 * with exponential back-off, honouring Retry-After), which is right for a
 * region without quorum or a failover in progress: the same request succeeds
 * once the cluster has a writer again.
 */
const UNAVAILABLE: Mapping = { status: 503, code: 'ServiceUnavailable' };

/** By keyraft reason: the reasons of src/vault/errors.ts and src/server that have an Azure twin. */
const BY_REASON: Record<string, Mapping> = {
  SECRET_NOT_FOUND,
  SECRET_VERSION_NOT_FOUND: SECRET_NOT_FOUND,
  DELETED_SECRET_NOT_FOUND: SECRET_NOT_FOUND,
  KEY_NOT_FOUND,
  KEY_VERSION_NOT_FOUND: KEY_NOT_FOUND,
  DELETED_KEY_NOT_FOUND: KEY_NOT_FOUND,
  VAULT_NOT_FOUND: { status: 404, code: 'VaultNotFound' },
  CONFLICT_DELETED_EXISTS: CONFLICT,
  SECRET_ALREADY_EXISTS: CONFLICT,
  SECRET_VERSION_ALREADY_EXISTS: CONFLICT,
  KEY_ALREADY_EXISTS: CONFLICT,
  KEY_VERSION_ALREADY_EXISTS: CONFLICT,
  REQUEST_ID_REUSED: CONFLICT,
  SECRET_DISABLED: { ...FORBIDDEN, inner: 'SecretDisabled' },
  KEY_DISABLED: { ...FORBIDDEN, inner: 'KeyDisabled' },
  SECRET_NOT_YET_VALID: FORBIDDEN,
  SECRET_EXPIRED: FORBIDDEN,
  KEY_NOT_YET_VALID: FORBIDDEN,
  KEY_EXPIRED: FORBIDDEN,
  OPERATION_NOT_ALLOWED: FORBIDDEN,
  PURGE_PROTECTED: FORBIDDEN,
  FORBIDDEN: { ...FORBIDDEN, inner: 'ForbiddenByRbac' },
  INVALID_NAME: BAD_PARAMETER,
  VALUE_TOO_LARGE: BAD_PARAMETER,
  BAD_PARAMETER,
  INVALID_PAGE_TOKEN: BAD_PARAMETER,
  BAD_BACKUP: BAD_PARAMETER,
  BAD_ALGORITHM: BAD_PARAMETER,
  BAD_REQUEST: BAD_PARAMETER,
  // The request itself is fine; the region serves only reads until failback.
  READ_ONLY_FAILOVER: UNAVAILABLE,
  THROTTLED: { status: 429, code: 'Throttled' },
};

/** Every other reason, by its gRPC status. */
const BY_CODE: Partial<Record<grpc.status, Mapping>> = {
  [grpc.status.NOT_FOUND]: { status: 404, code: 'NotFound' },
  [grpc.status.ALREADY_EXISTS]: CONFLICT,
  [grpc.status.INVALID_ARGUMENT]: BAD_PARAMETER,
  [grpc.status.OUT_OF_RANGE]: BAD_PARAMETER,
  [grpc.status.FAILED_PRECONDITION]: CONFLICT,
  [grpc.status.PERMISSION_DENIED]: FORBIDDEN,
  [grpc.status.UNAUTHENTICATED]: { status: 401, code: 'Unauthorized' },
  [grpc.status.RESOURCE_EXHAUSTED]: { status: 429, code: 'Throttled' },
  [grpc.status.UNAVAILABLE]: UNAVAILABLE,
  [grpc.status.DEADLINE_EXCEEDED]: { status: 504, code: 'GatewayTimeout' },
};

const INTERNAL: Mapping = { status: 500, code: 'InternalServerError' };

/**
 * The Azure answer to a keyraft failure. An UNAUTHENTICATED answer also needs
 * the WWW-Authenticate challenge (challenge.ts), which only the server knows
 * how to address. An internal error's message is not passed on: it may say
 * more about the node than a client should see.
 */
export function toAzureError(failure: KeyraftFailure): AzureError {
  const mapping = BY_REASON[failure.reason] ?? BY_CODE[failure.code] ?? INTERNAL;
  const message = mapping === INTERNAL ? 'internal error' : failure.message;
  const error: AzureErrorBody['error'] = { code: mapping.code, message };
  if (mapping.inner !== undefined) error.innererror = { code: mapping.inner };
  const headers: Record<string, string> = {};
  if (mapping.status === 429) {
    const waitMs = Math.max(1, Math.ceil(failure.retryAfterMs ?? 1000));
    // Retry-After is whole seconds (RFC 9110 §10.2.3), rounded up so a client never comes back early;
    // the SDKs' throttling retry strategy (@typespec/ts-http-runtime throttlingRetryStrategy.js)
    // reads retry-after-ms before it, so they get the exact wait.
    headers['retry-after'] = String(Math.ceil(waitMs / 1000));
    headers['retry-after-ms'] = String(waitMs);
  }
  return { status: mapping.status, body: { error }, headers };
}
