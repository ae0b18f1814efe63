// How one logical call reaches the cluster: which endpoint, how long, and
// when to try again.
//
// - Endpoints are tried in order of preference; one that failed to answer
//   (UNAVAILABLE, or an attempt's deadline) is skipped for a cool-down, so the
//   calls that follow go straight to one that works, and come back to the
//   preferred one once it has had time to return.
// - Every call has one deadline, retries included; each attempt gets what is
//   left (at most attemptTimeoutMs), and no retry starts without time to run.
// - Retries are bounded, with exponential backoff and full jitter. A write is
//   retried only when it carries a request id, which the server uses to apply
//   it once however many attempts reach it.

import * as grpc from '@grpc/grpc-js';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { clientError, fromServiceError, KeyraftError, servedByFrom, type ServedBy } from './errors.js';
import type { AnyMethod } from './proto.js';

export type CallKind = 'read' | 'write';

export interface CallOptions {
  /** This call's deadline, retries included; overrides the client's timeoutMs. */
  timeoutMs?: number;
  /** Told who served the call when it succeeds. */
  onServedBy?: (servedBy: ServedBy) => void;
}

export interface CallerOptions {
  endpoints: readonly string[];
  timeoutMs: number;
  attemptTimeoutMs: number;
  retries: number;
  backoff: BackoffOptions;
  endpointCooldownMs: number;
  random: () => number;
}

/** Codes that say nothing about the request itself: another attempt may succeed. */
const RETRYABLE = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED]);
/** Codes that say this endpoint could not serve the call: try another. */
const MOVE_ON = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
/** An attempt shorter than this could not complete a round trip. */
const MIN_ATTEMPT_MS = 20;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // grpc-js backs reconnections off up to two minutes by default, and fails
  // calls fast meanwhile: a node that came back would stay unused that long.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
};

export function hasRequestId(request: object): boolean {
  const id = (request as { requestId?: unknown }).requestId;
  return typeof id === 'string' && id !== '';
}

export function isRetryable(err: KeyraftError, kind: CallKind, request: object): boolean {
  if (!RETRYABLE.has(err.code)) return false;
  return kind === 'read' || hasRequestId(request);
}

export class Caller {
  private readonly clients = new Map<number, grpc.Client>();
  private readonly downUntil: number[];
  private readonly active = new Set<grpc.ClientUnaryCall>();
  private closed = false;
  lastServedBy: ServedBy | undefined;

  constructor(private readonly o: CallerOptions) {
    this.downUntil = o.endpoints.map(() => 0);
  }

  async call<Res>(method: AnyMethod, kind: CallKind, request: object, opts: CallOptions = {}): Promise<Res> {
    const timeoutMs = opts.timeoutMs ?? this.o.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    let index = this.startIndex();
    let attempts = 0;
    for (;;) {
      this.checkOpen();
      attempts++;
      const remaining = deadline - Date.now();
      try {
        const { response, servedBy } = await this.attempt<Res>(index, method, request, Date.now() + Math.max(1, Math.min(this.o.attemptTimeoutMs, remaining)));
        this.downUntil[index] = 0;
        this.lastServedBy = servedBy;
        opts.onServedBy?.(servedBy);
        return response;
      } catch (e) {
        const err = e instanceof KeyraftError ? e : clientError(grpc.status.INTERNAL, 'INTERNAL', String(e));
        if (this.closed || attempts > this.o.retries || !isRetryable(err, kind, request)) throw err.withAttempts(attempts);
        if (MOVE_ON.has(err.code)) {
          this.downUntil[index] = Date.now() + this.o.endpointCooldownMs;
          index = this.nextIndex(index);
        }
        const delay = backoffDelay(attempts - 1, this.o.backoff, this.o.random);
        if (Date.now() + delay + MIN_ATTEMPT_MS > deadline) throw err.withAttempts(attempts);
        await sleep(delay);
      }
    }
  }

  /** The most preferred endpoint that is not cooling down (or the one that recovers first). */
  startIndex(now = Date.now()): number {
    let best = 0;
    for (let i = 0; i < this.downUntil.length; i++) {
      if (this.downUntil[i]! <= now) return i;
      if (this.downUntil[i]! < this.downUntil[best]!) best = i;
    }
    return best;
  }

  /** The next endpoint after `from` in preference order, wrapping, skipping those cooling down. */
  nextIndex(from: number, now = Date.now()): number {
    const n = this.downUntil.length;
    for (let step = 1; step < n; step++) {
      const i = (from + step) % n;
      if (this.downUntil[i]! <= now) return i;
    }
    return (from + 1) % n;
  }

  private client(index: number): grpc.Client {
    let c = this.clients.get(index);
    if (c === undefined) {
      c = new grpc.Client(this.o.endpoints[index]!, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      this.clients.set(index, c);
    }
    return c;
  }

  private attempt<Res>(index: number, method: AnyMethod, request: object, deadline: number): Promise<{ response: Res; servedBy: ServedBy }> {
    const endpoint = this.o.endpoints[index]!;
    return new Promise((resolve, reject) => {
      let headers: grpc.Metadata | undefined;
      const call = this.client(index).makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline },
        (err, response) => {
          this.active.delete(call);
          if (err !== null && err !== undefined) {
            reject(fromServiceError(err, endpoint, headers));
            return;
          }
          const servedBy = servedByFrom(endpoint, headers) ?? { endpoint, node: '', region: '', mode: '', metadata: {} };
          resolve({ response: response as Res, servedBy });
        },
      );
      this.active.add(call);
      // Headers always arrive before the status that ends the call.
      call.on('metadata', (md: grpc.Metadata) => {
        headers = md;
      });
    });
  }

  private checkOpen(): void {
    if (this.closed) throw clientError(grpc.status.CANCELLED, 'CLIENT_CLOSED', 'the client was closed');
  }

  /** Cancels calls in flight (they fail with CANCELLED) and closes every channel. */
  close(): void {
    this.closed = true;
    for (const call of this.active) call.cancel();
    this.active.clear();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
