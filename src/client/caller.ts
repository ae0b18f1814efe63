// How one logical call reaches the cluster: which endpoint, how long, and
// when to try again.
//
// - Which endpoint is Routing's choice (routing.ts): the primary region
//   first, what failed recently last. What the cluster looks like is learned
//   from Cluster.GetStatus on first use, again every discoveryIntervalMs, and
//   after a run of failures; a call waits for the first discovery only
//   briefly, the others run beside the calls, and so do the probes of a
//   region whose cool-down has ended.
// - Every call has one deadline, retries included; each attempt gets what is
//   left (at most attemptTimeoutMs), and no retry starts without time to run.
// - Retries are bounded, with exponential backoff and full jitter (an attempt
//   on a node the call has not tried yet goes at once). A write is
//   retried only when it carries a request id, which the server uses to apply
//   it once however many attempts reach it. A refusal (READ_ONLY_FAILOVER
//   among them) ends the call at once.
// - THROTTLED (the node refused the call for overload before doing anything
//   with it) is tried again on the same node after the retry-after-ms it
//   asked for, with jitter, for as long as the deadline allows: the server
//   asking to be called back later is no failure, so these attempts do not
//   count against `retries` (though retries: 0 turns them off too).

import * as grpc from '@grpc/grpc-js';
import { CLIENT_MESSAGE_LIMITS } from '../client-port.js';
import { backoffDelay, retryAfterDelay, sleep, type BackoffOptions } from './backoff.js';
import { clientError, fromServiceError, isThrottled, KeyraftError, servedByFrom, type ServedBy } from './errors.js';
import { methodDefinition, type AnyMethod } from './proto.js';
import { Routing, type Topology } from './routing.js';
import type { ClusterStatus } from './types.js';

/** 'idempotent': a write that has the same effect however often it applies (a region's move to a mode), retried like a read. */
export type CallKind = 'read' | 'write' | 'idempotent';

export interface CallOptions {
  /** This call's deadline, retries included; overrides the client's timeoutMs. */
  timeoutMs?: number;
  /** Told who served the call when it succeeds. */
  onServedBy?: (servedBy: ServedBy) => void;
}

export interface CallerOptions {
  endpoints: readonly string[];
  credentials: grpc.ChannelCredentials;
  timeoutMs: number;
  attemptTimeoutMs: number;
  retries: number;
  backoff: BackoffOptions;
  endpointCooldownMs: number;
  regionAware: boolean;
  discoveryIntervalMs: number;
  random: () => number;
}

/** Codes that say nothing about the request itself: another attempt may succeed. */
const RETRYABLE = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED]);
/** Codes that say this endpoint could not serve the call: another may. */
const MOVE_ON = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
/** An attempt shorter than this could not complete a round trip. */
const MIN_ATTEMPT_MS = 20;
/**
 * GetStatus gathers every node's report, waiting up to 400 ms for the
 * unreachable ones: an attempt gets a little more than that, and no more, so
 * that a node that hangs does not hold discovery up.
 */
const DISCOVERY_ATTEMPT_MS = 1500;
/** The longest a call waits for the first discovery before going by the given endpoints. */
const FIRST_DISCOVERY_WAIT_MS = 2000;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // grpc-js backs reconnections off up to two minutes by default, and fails
  // calls fast meanwhile: a node that came back would stay unused that long.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
  // Pings while calls are in flight (not on an idle channel, which the node
  // closes after its idle timeout): a node gone without a word (a partition)
  // fails the calls after 40 s at most, not at their deadline. keyraft's
  // nodes take pings at any interval (README, "Connections").
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  ...CLIENT_MESSAGE_LIMITS,
};

export function hasRequestId(request: object): boolean {
  const id = (request as { requestId?: unknown }).requestId;
  return typeof id === 'string' && id !== '';
}

export function isRetryable(err: KeyraftError, kind: CallKind, request: object): boolean {
  // Refused before any work: even a write without a request id was not applied.
  if (isThrottled(err)) return true;
  if (!RETRYABLE.has(err.code)) return false;
  return kind !== 'write' || hasRequestId(request);
}

/** Resolves when `p` does or after `ms`, whichever is first, leaving no timer behind. */
function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class Caller {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly active = new Set<{ cancel(): void }>();
  private readonly routing: Routing;
  private discovering: Promise<void> | undefined;
  private readonly probing = new Set<string>();
  private closed = false;
  lastServedBy: ServedBy | undefined;

  constructor(private readonly o: CallerOptions) {
    this.routing = new Routing({
      given: o.endpoints,
      cooldownMs: o.endpointCooldownMs,
      regionAware: o.regionAware,
      discoveryIntervalMs: o.discoveryIntervalMs,
    });
  }

  async call<Res>(method: AnyMethod, kind: CallKind, request: object, opts: CallOptions = {}): Promise<Res> {
    this.checkOpen();
    const timeoutMs = opts.timeoutMs ?? this.o.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    if (this.routing.discoveryDue()) {
      const discovery = this.discover();
      // Half the call's time at most: were discovery to hang, the call still has time by the given endpoints.
      if (!this.routing.discoveredOnce) await within(discovery, Math.min(FIRST_DISCOVERY_WAIT_MS, timeoutMs / 2));
    }
    this.probeRegions();
    const tries = new Map<string, number>();
    let attempts = 0;
    let throttledAttempts = 0;
    let backoffs = 0;
    let address = this.routing.pick(tries);
    for (;;) {
      this.checkOpen();
      attempts++;
      tries.set(address, (tries.get(address) ?? 0) + 1);
      const remaining = deadline - Date.now();
      try {
        const { response, servedBy } = await this.attempt<Res>(address, method, request, Date.now() + Math.max(1, Math.min(this.o.attemptTimeoutMs, remaining)));
        this.routing.succeeded(address, servedBy);
        this.lastServedBy = servedBy;
        opts.onServedBy?.(servedBy);
        return response;
      } catch (e) {
        const err = e instanceof KeyraftError ? e : clientError(grpc.status.INTERNAL, 'INTERNAL', String(e));
        if (this.closed) throw err.withAttempts(attempts);
        this.routing.failed(address, err);
        const throttled = isThrottled(err);
        if (throttled) throttledAttempts++;
        if (this.o.retries === 0 || attempts - throttledAttempts > this.o.retries || !isRetryable(err, kind, request)) throw err.withAttempts(attempts);
        let delay: number;
        if (throttled) {
          delay = retryAfterDelay(err.retryAfterMs, this.o.backoff, this.o.random);
        } else {
          if (this.routing.discoveryDue()) void this.discover();
          this.probeRegions();
          address = this.routing.pick(tries);
          // Moving on to a node this call has not tried is failing over, not retrying: waiting would only add
          // to the latency (each dead primary node would cost a backoff). Coming back to one is a retry.
          delay = tries.has(address) ? backoffDelay(backoffs++, this.o.backoff, this.o.random) : 0;
        }
        if (Date.now() + delay + MIN_ATTEMPT_MS > deadline) throw err.withAttempts(attempts);
        if (delay > 0) await sleep(delay);
      }
    }
  }

  /**
   * A server stream: tried on endpoints in the routing's order until one
   * answers (its first headers); after that, a failure ends the stream with
   * that error, since what was already yielded cannot be taken back.
   */
  async *stream<Res>(method: AnyMethod, request: object, opts: CallOptions = {}): AsyncGenerator<Res> {
    this.checkOpen();
    const deadline = Date.now() + (opts.timeoutMs ?? this.o.timeoutMs);
    if (this.routing.discoveryDue()) {
      const discovery = this.discover();
      if (!this.routing.discoveredOnce) await within(discovery, FIRST_DISCOVERY_WAIT_MS);
    }
    const tries = new Map<string, number>();
    for (let attempts = 1; ; attempts++) {
      const address = this.routing.pick(tries);
      tries.set(address, (tries.get(address) ?? 0) + 1);
      const call = this.client(address).makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, request, new grpc.Metadata(), { deadline });
      this.active.add(call);
      let headers: grpc.Metadata | undefined;
      call.on('metadata', (md: grpc.Metadata) => {
        headers = md;
      });
      try {
        for await (const item of call as AsyncIterable<Res>) yield item;
        const servedBy = servedByFrom(address, headers) ?? { endpoint: address, node: '', region: '', mode: '', metadata: {} };
        this.routing.succeeded(address, servedBy);
        this.lastServedBy = servedBy;
        opts.onServedBy?.(servedBy);
        return;
      } catch (e) {
        const err = fromServiceError(e as grpc.ServiceError, address, headers);
        if (this.closed || headers !== undefined || !MOVE_ON.has(err.code) || attempts > this.o.retries || Date.now() + MIN_ATTEMPT_MS > deadline) {
          throw err.withAttempts(attempts);
        }
        this.routing.failed(address, err);
      } finally {
        this.active.delete(call);
        call.cancel();
      }
    }
  }

  topology(): Topology {
    return this.routing.snapshot();
  }

  /** Learns the topology, one discovery at a time; never rejects. */
  discover(): Promise<void> {
    if (this.discovering === undefined) {
      this.routing.discoveryStarted();
      this.discovering = this.runDiscovery()
        .catch(() => this.routing.discoveryFailed())
        .finally(() => {
          this.discovering = undefined;
        });
    }
    return this.discovering;
  }

  /** Asks each endpoint in turn, most preferred first, until one answers. */
  private async runDiscovery(): Promise<void> {
    const getStatus = methodDefinition('Cluster', 'GetStatus');
    const asked = new Set<string>();
    for (;;) {
      const address = this.routing.order().find((a) => !asked.has(a));
      if (this.closed || address === undefined) break;
      asked.add(address);
      try {
        const { response, servedBy } = await this.attempt<ClusterStatus>(address, getStatus, {}, Date.now() + Math.min(this.o.attemptTimeoutMs, DISCOVERY_ATTEMPT_MS));
        this.routing.reachable(address, servedBy);
        this.routing.learn(response);
        return;
      } catch (e) {
        if (this.closed) break;
        // A node that answered with a refusal (an older server, say) speaks for the others: asking them is no use.
        if (!(e instanceof KeyraftError) || !MOVE_ON.has(e.code)) break;
        this.routing.failed(address, e);
      }
    }
    this.routing.discoveryFailed();
  }

  /** Starts a probe of each region whose cool-down has ended, one per region at a time. */
  private probeRegions(): void {
    for (const region of this.routing.regionsToProbe()) {
      if (this.probing.has(region)) continue;
      this.probing.add(region);
      void this.probeRegion(region)
        .catch(() => this.routing.regionStillDown(region))
        .finally(() => this.probing.delete(region));
    }
  }

  /**
   * Asks the region's nodes for GetStatus until one says it has quorum (the
   * region is back) or every one has been asked (still down). A node that
   * says NO_QUORUM does not speak for the others: alone on its side of a
   * partition, it knows no leader while the rest of its region serves.
   */
  private async probeRegion(region: string): Promise<void> {
    const getStatus = methodDefinition('Cluster', 'GetStatus');
    for (const address of this.routing.membersOf(region)) {
      if (this.closed) return;
      try {
        const { response, servedBy } = await this.attempt<ClusterStatus>(address, getStatus, {}, Date.now() + Math.min(this.o.attemptTimeoutMs, DISCOVERY_ATTEMPT_MS));
        this.routing.reachable(address, servedBy);
        this.routing.learn(response);
        // GetStatus is served without quorum; the node's mode says whether it has one.
        if (servedBy.mode === 'NO_QUORUM') continue;
        this.routing.regionBack(region, address);
        return;
      } catch (e) {
        if (this.closed) return;
        if (!(e instanceof KeyraftError) || !MOVE_ON.has(e.code)) break;
      }
    }
    this.routing.regionStillDown(region);
  }

  private client(address: string): grpc.Client {
    let c = this.clients.get(address);
    if (c === undefined) {
      c = new grpc.Client(address, this.o.credentials, CHANNEL_OPTIONS);
      this.clients.set(address, c);
    }
    return c;
  }

  private attempt<Res>(endpoint: string, method: AnyMethod, request: object, deadline: number): Promise<{ response: Res; servedBy: ServedBy }> {
    return new Promise((resolve, reject) => {
      let headers: grpc.Metadata | undefined;
      const call = this.client(endpoint).makeUnaryRequest(
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
