// Every failure leaves as a gRPC status with a machine-readable reason, both
// as the prefix of the message and in the `keyraft-reason` trailer. A
// client's mistake is never UNKNOWN or INTERNAL.

import * as grpc from '@grpc/grpc-js';
import { ReplicaError } from '../replica/errors.js';
import { MembershipError } from '../replica/membership-ops.js';
import { ErrorKind, VaultError } from '../vault/errors.js';

export const REASON_KEY = 'keyraft-reason';
/** Overload (DESIGN §6): RESOURCE_EXHAUSTED with this reason, and when to try again in RETRY_AFTER_KEY. */
export const THROTTLED = 'THROTTLED';
/** Trailer of a THROTTLED refusal: milliseconds the client should wait before trying again. */
export const RETRY_AFTER_KEY = 'retry-after-ms';

/** A failure the server itself decides (not the vault's, not the replica's). */
export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly code: grpc.status,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A refusal for overload, before any work: nothing was changed, so the same
 * request (a write with its request id) may simply be sent again after
 * retryAfterMs.
 */
export class ThrottledError extends ApiError {
  override name = 'ThrottledError';

  constructor(
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(grpc.status.RESOURCE_EXHAUSTED, THROTTLED, message);
  }
}

/** The trailers of a THROTTLED refusal, added to `metadata` (the response metadata naming this node). */
export function throttledStatus(retryAfterMs: number, message: string, metadata: grpc.Metadata): grpc.StatusObject {
  metadata.set(REASON_KEY, THROTTLED);
  metadata.set(RETRY_AFTER_KEY, String(Math.max(1, Math.ceil(retryAfterMs))));
  return { code: grpc.status.RESOURCE_EXHAUSTED, details: `${THROTTLED}: ${message}`, metadata };
}

const KIND_CODES: Record<ErrorKind, grpc.status> = {
  [ErrorKind.NotFound]: grpc.status.NOT_FOUND,
  [ErrorKind.AlreadyExists]: grpc.status.ALREADY_EXISTS,
  [ErrorKind.InvalidArgument]: grpc.status.INVALID_ARGUMENT,
  [ErrorKind.FailedPrecondition]: grpc.status.FAILED_PRECONDITION,
  [ErrorKind.PermissionDenied]: grpc.status.PERMISSION_DENIED,
  [ErrorKind.Unavailable]: grpc.status.UNAVAILABLE,
};

/** The status, reason and message for any error; `internal` says whether it is our bug. */
export function classify(e: unknown): { code: grpc.status; reason: string; message: string; internal: boolean; retryAfterMs?: number } {
  if (e instanceof VaultError) return { code: KIND_CODES[e.kind], reason: e.reason, message: e.message, internal: false };
  if (e instanceof ThrottledError) return { code: e.code, reason: e.reason, message: e.message, internal: false, retryAfterMs: e.retryAfterMs };
  if (e instanceof ApiError) return { code: e.code, reason: e.reason, message: e.message, internal: false };
  if (e instanceof MembershipError) return { code: grpc.status[e.kind], reason: e.reason, message: e.message, internal: false };
  // The leader's uncommitted entries are at their limit in bytes: a refusal like admission's.
  if (e instanceof ReplicaError && e.reason === THROTTLED) return { code: grpc.status.RESOURCE_EXHAUSTED, reason: THROTTLED, message: e.message, internal: false, retryAfterMs: e.retryAfterMs ?? 0 };
  if (e instanceof ReplicaError) return { code: e.reason === 'DEADLINE_EXCEEDED' ? grpc.status.DEADLINE_EXCEEDED : grpc.status.UNAVAILABLE, reason: e.reason, message: e.message, internal: false };
  return { code: grpc.status.INTERNAL, reason: 'INTERNAL', message: 'internal error', internal: true };
}

export function toServiceError(e: unknown, metadata: grpc.Metadata): Partial<grpc.ServiceError> {
  const { code, reason, message, retryAfterMs } = classify(e);
  if (retryAfterMs !== undefined) return throttledStatus(retryAfterMs, message, metadata.clone());
  const trailers = metadata.clone();
  trailers.set(REASON_KEY, reason);
  return { code, details: `${reason}: ${message}`, metadata: trailers };
}
