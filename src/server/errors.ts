// Every failure leaves as a gRPC status with a machine-readable reason, both
// as the prefix of the message and in the `keyraft-reason` trailer; what the
// failure means is src/app/errors.ts's classify(), this is only its gRPC
// form.

import * as grpc from '@grpc/grpc-js';
import { THROTTLED, classify } from '../app/errors.js';

export const REASON_KEY = 'keyraft-reason';
/** Trailer of a THROTTLED refusal: milliseconds the client should wait before trying again. */
export const RETRY_AFTER_KEY = 'retry-after-ms';

/** The trailers of a THROTTLED refusal, added to `metadata` (the response metadata naming this node). */
export function throttledStatus(retryAfterMs: number, message: string, metadata: grpc.Metadata): grpc.StatusObject {
  metadata.set(REASON_KEY, THROTTLED);
  metadata.set(RETRY_AFTER_KEY, String(Math.max(1, Math.ceil(retryAfterMs))));
  return { code: grpc.status.RESOURCE_EXHAUSTED, details: `${THROTTLED}: ${message}`, metadata };
}

export function toServiceError(e: unknown, metadata: grpc.Metadata): Partial<grpc.ServiceError> {
  const { code, reason, message, retryAfterMs } = classify(e);
  if (retryAfterMs !== undefined) return throttledStatus(retryAfterMs, message, metadata.clone());
  const trailers = metadata.clone();
  trailers.set(REASON_KEY, reason);
  return { code, details: `${reason}: ${message}`, metadata: trailers };
}
