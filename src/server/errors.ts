// Every failure leaves as a gRPC status with a machine-readable reason, both
// as the prefix of the message and in the `keyraft-reason` trailer. A
// client's mistake is never UNKNOWN or INTERNAL.

import * as grpc from '@grpc/grpc-js';
import { ReplicaError } from '../replica/errors.js';
import { MembershipError } from '../replica/membership-ops.js';
import { ErrorKind, VaultError } from '../vault/errors.js';

export const REASON_KEY = 'keyraft-reason';

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

const KIND_CODES: Record<ErrorKind, grpc.status> = {
  [ErrorKind.NotFound]: grpc.status.NOT_FOUND,
  [ErrorKind.AlreadyExists]: grpc.status.ALREADY_EXISTS,
  [ErrorKind.InvalidArgument]: grpc.status.INVALID_ARGUMENT,
  [ErrorKind.FailedPrecondition]: grpc.status.FAILED_PRECONDITION,
  [ErrorKind.PermissionDenied]: grpc.status.PERMISSION_DENIED,
  [ErrorKind.Unavailable]: grpc.status.UNAVAILABLE,
};

export const RETRY_AFTER_KEY = 'retry-after-ms';

/** The status, reason and message for any error; `internal` says whether it is our bug. */
export function classify(e: unknown): { code: grpc.status; reason: string; message: string; internal: boolean; retryAfterMs?: number } {
  if (e instanceof VaultError) return { code: KIND_CODES[e.kind], reason: e.reason, message: e.message, internal: false };
  if (e instanceof ApiError) return { code: e.code, reason: e.reason, message: e.message, internal: false };
  if (e instanceof MembershipError) return { code: grpc.status[e.kind], reason: e.reason, message: e.message, internal: false };
  if (e instanceof ReplicaError && e.reason === 'THROTTLED') return { code: grpc.status.RESOURCE_EXHAUSTED, reason: e.reason, message: e.message, internal: false, retryAfterMs: e.retryAfterMs };
  if (e instanceof ReplicaError) return { code: grpc.status.UNAVAILABLE, reason: e.reason, message: e.message, internal: false };
  return { code: grpc.status.INTERNAL, reason: 'INTERNAL', message: 'internal error', internal: true };
}

export function toServiceError(e: unknown, metadata: grpc.Metadata): Partial<grpc.ServiceError> {
  const { code, reason, message, retryAfterMs } = classify(e);
  const trailers = metadata.clone();
  trailers.set(REASON_KEY, reason);
  if (retryAfterMs !== undefined) trailers.set(RETRY_AFTER_KEY, String(retryAfterMs));
  return { code, details: `${reason}: ${message}`, metadata: trailers };
}
