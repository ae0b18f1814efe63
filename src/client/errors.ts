// Every failure the SDK reports is a KeyraftError: the gRPC status, the
// server's machine-readable reason, the human text without its prefix, and
// who answered, so that callers branch on `reason` rather than on strings.

import * as grpc from '@grpc/grpc-js';

export const REASON_KEY = 'keyraft-reason';
/** Overload: RESOURCE_EXHAUSTED with this reason; the trailer RETRY_AFTER_KEY says when to come back. */
export const THROTTLED = 'THROTTLED';
export const RETRY_AFTER_KEY = 'retry-after-ms';

/** Who served a call, from the response metadata (empty strings when absent). */
export interface ServedBy {
  /** The endpoint (host:port) the SDK sent the call to. */
  endpoint: string;
  node: string;
  region: string;
  /** SERVING | NO_QUORUM | STANDBY | FAILED_OVER */
  mode: string;
  /**
   * A secondary's answer (`keyraft-primary-index`): the primary log index
   * its state reflects. Absent from the primary region's answers.
   */
  primaryIndex?: number;
  /**
   * A successful write's answer (`keyraft-commit-index`): the primary log
   * index of the entry that carried the write (for a retry the server
   * deduplicated, the first attempt's entry), when the server knows it.
   */
  commitIndex?: number;
  /** Every `keyraft-*` metadata entry, for what later servers add. */
  metadata: Record<string, string>;
}

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpc.status)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([name, code]) => [code, name]),
);

export function statusName(code: number): string {
  return CODE_NAMES[code] ?? `STATUS_${code}`;
}

export class KeyraftError extends Error {
  override name = 'KeyraftError';
  /** The gRPC status name, e.g. NOT_FOUND. */
  readonly codeName: string;

  constructor(
    /** The gRPC status number. */
    readonly code: number,
    /** The server's reason (e.g. SECRET_NOT_FOUND); the status name when it gave none. */
    readonly reason: string,
    message: string,
    /** Who answered; undefined when no server did (e.g. a connection failure). */
    readonly servedBy?: ServedBy,
    /** How many attempts the call made before giving up. */
    readonly attempts = 1,
    /** A THROTTLED refusal's `retry-after-ms`: how long the server asked the client to wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.codeName = statusName(code);
  }

  /** `REASON: message`, as the server wrote it. */
  get detail(): string {
    return `${this.reason}: ${this.message}`;
  }

  withAttempts(attempts: number): KeyraftError {
    const e = new KeyraftError(this.code, this.reason, this.message, this.servedBy, attempts, this.retryAfterMs);
    e.stack = this.stack;
    return e;
  }
}

function first(md: grpc.Metadata | undefined, key: string): string {
  const v = md?.get(key)[0];
  if (v === undefined) return '';
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** Reads who served a call from its headers and, for a failure, its trailers (which win). */
export function servedByFrom(endpoint: string, ...sources: (grpc.Metadata | undefined)[]): ServedBy | undefined {
  const metadata: Record<string, string> = {};
  for (const md of sources) {
    if (md === undefined) continue;
    for (const key of Object.keys(md.getMap())) {
      if (key.startsWith('keyraft-') && key !== REASON_KEY) metadata[key] = first(md, key);
    }
  }
  if (Object.keys(metadata).length === 0) return undefined;
  const servedBy: ServedBy = {
    endpoint,
    node: metadata['keyraft-node'] ?? '',
    region: metadata['keyraft-region'] ?? '',
    mode: metadata['keyraft-mode'] ?? '',
    metadata,
  };
  const primaryIndex = logIndex(metadata['keyraft-primary-index']);
  if (primaryIndex !== undefined) servedBy.primaryIndex = primaryIndex;
  const commitIndex = logIndex(metadata['keyraft-commit-index']);
  if (commitIndex !== undefined) servedBy.commitIndex = commitIndex;
  return servedBy;
}

/** A log index (or a count of ms) from metadata; undefined when absent or not a non-negative integer. */
function logIndex(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

const PREFIX = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/;

/** The shape of what grpc-js hands to a unary callback on failure. */
export type ServiceErrorLike = Partial<Pick<grpc.ServiceError, 'code' | 'details' | 'metadata' | 'message'>>;

/**
 * Turns a grpc-js failure into a KeyraftError. The reason comes from the
 * trailer, else from the `REASON: ` prefix of the message; a failure that no
 * server explained (connection refused, deadline) takes its status name.
 */
export function fromServiceError(err: ServiceErrorLike, endpoint = '', headers?: grpc.Metadata): KeyraftError {
  const code = typeof err.code === 'number' ? err.code : grpc.status.UNKNOWN;
  // grpc-js ends connection failures with an empty "Resolution note: "; it says nothing.
  const text = (err.details ?? err.message ?? '').replace(/\s*Resolution note:\s*$/, '');
  const trailer = first(err.metadata, REASON_KEY);
  const match = PREFIX.exec(text);
  let reason = trailer;
  let message = text;
  if (match !== null && (trailer === '' || match[1] === trailer)) {
    reason = match[1]!;
    message = match[2]!;
  }
  if (reason === '') reason = statusName(code);
  return new KeyraftError(code, reason, message, servedByFrom(endpoint, headers, err.metadata), 1, logIndex(first(err.metadata, RETRY_AFTER_KEY)));
}

/** Whether the server refused the call for overload, before doing anything with it. */
export const isThrottled = (err: KeyraftError): boolean => err.code === grpc.status.RESOURCE_EXHAUSTED && err.reason === THROTTLED;

/** A failure raised by the SDK itself, before or without any server. */
export function clientError(code: grpc.status, reason: string, message: string): KeyraftError {
  return new KeyraftError(code, reason, message);
}
