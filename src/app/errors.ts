// What every failure means to a caller, whatever the front-end: a status
// code, a machine-readable reason (DESIGN §4), a message, and for overload
// when to try again. classify() is the one place that decides it; each
// front-end writes it in its own protocol (src/server/errors.ts for gRPC,
// src/rest/errors.ts for HTTP). A client's mistake is never UNKNOWN or
// INTERNAL.

import { ReplicaError } from '../replica/errors.js';
import { MembershipError } from '../replica/membership-ops.js';
import { ErrorKind, VaultError } from '../vault/errors.js';
import { Code } from './codes.js';

/** Overload (DESIGN §6): RESOURCE_EXHAUSTED with this reason, and when to try again. */
export const THROTTLED = 'THROTTLED';

/** A failure the application layer itself decides (not the vault's, not the replica's). */
export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly code: Code,
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
    super(Code.RESOURCE_EXHAUSTED, THROTTLED, message);
  }
}

/** What a caller is told of a failure; `internal` says whether it is our bug (then logged, and the message hides it). */
export interface Failure {
  readonly code: Code;
  readonly reason: string;
  readonly message: string;
  readonly internal: boolean;
  /** THROTTLED: the milliseconds to wait before trying again. */
  readonly retryAfterMs?: number;
}

const KIND_CODES: Record<ErrorKind, Code> = {
  [ErrorKind.NotFound]: Code.NOT_FOUND,
  [ErrorKind.AlreadyExists]: Code.ALREADY_EXISTS,
  [ErrorKind.InvalidArgument]: Code.INVALID_ARGUMENT,
  [ErrorKind.FailedPrecondition]: Code.FAILED_PRECONDITION,
  [ErrorKind.PermissionDenied]: Code.PERMISSION_DENIED,
  [ErrorKind.Unavailable]: Code.UNAVAILABLE,
};

/** The status, reason and message for any error. */
export function classify(e: unknown): Failure {
  if (e instanceof VaultError) return { code: KIND_CODES[e.kind], reason: e.reason, message: e.message, internal: false };
  if (e instanceof ThrottledError) return { code: e.code, reason: e.reason, message: e.message, internal: false, retryAfterMs: e.retryAfterMs };
  if (e instanceof ApiError) return { code: e.code, reason: e.reason, message: e.message, internal: false };
  if (e instanceof MembershipError) return { code: Code[e.kind], reason: e.reason, message: e.message, internal: false };
  // The leader's uncommitted entries are at their limit in bytes: a refusal like admission's.
  if (e instanceof ReplicaError && e.reason === THROTTLED) return { code: Code.RESOURCE_EXHAUSTED, reason: THROTTLED, message: e.message, internal: false, retryAfterMs: e.retryAfterMs ?? 0 };
  if (e instanceof ReplicaError) return { code: e.reason === 'DEADLINE_EXCEEDED' ? Code.DEADLINE_EXCEEDED : Code.UNAVAILABLE, reason: e.reason, message: e.message, internal: false };
  return { code: Code.INTERNAL, reason: 'INTERNAL', message: 'internal error', internal: true };
}
