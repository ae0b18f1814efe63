// How every public RPC is served: response metadata naming who served it,
// errors mapped to statuses with reasons, a deadline that is never longer
// than the client's, and routing.
//
// Routing, by region role and mode:
//   primary    reads here (linearizable through ReadIndex); writes on the
//              region's leader, forwarded there by a follower.
//   secondary  STANDBY: everything is forwarded to the primary region.
//              FAILED_OVER: the read-only operations of the seed are served
//              here from the replicated state; anything else is refused
//              with READ_ONLY_FAILOVER.
// Server streams (stream): served by any primary node; a STANDBY secondary
// relays the stream of a primary node, chunk by chunk.

import * as grpc from '@grpc/grpc-js';
import { ReplicaError } from '../replica/errors.js';
import { COMMIT_INDEX_HEADER, type NodeContext, type ResponseHeaders, responseHeaders } from '../app/node-context.js';
import { UNDECODABLE_REQUEST } from './api.js';
import { CLIENT_MESSAGE_LIMITS } from '../client-port.js';
import type { VaultThrottle } from '../app/vault-throttle.js';
import { ApiError, ThrottledError, classify } from '../app/errors.js';
import { REASON_KEY, toServiceError } from './errors.js';

/** Requests without a deadline get this much time. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** Answer this much before the client's deadline, so that it hears why. */
const DEADLINE_MARGIN_MS = 250;
/** Secondary → primary node → primary leader, at most. */
const MAX_HOPS = 2;
const HOPS_KEY = 'keyraft-hops';
/** Time kept to answer the client when forwarding got no answer. */
const FORWARD_RESERVE_MS = 100;

/** The node as the gRPC adapter sees it: TLS to the other nodes besides. */
export interface ServerContext extends NodeContext {
  /** TLS to another node, presenting this node's certificate; with an id, the server must be that node. */
  channelCredentials(nodeId?: string): grpc.ChannelCredentials;
}

/** Response headers as gRPC metadata. */
export function metadataOf(headers: ResponseHeaders): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers)) md.set(key, value);
  return md;
}

export function responseMetadata(ctx: NodeContext): grpc.Metadata {
  return metadataOf(responseHeaders(ctx));
}

/** Milliseconds left for this call, capped by the default and the margin. */
function timeLeft(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getDeadline'>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return DEFAULT_TIMEOUT_MS;
  return Math.max(1, Math.min(DEFAULT_TIMEOUT_MS, at - Date.now() - DEADLINE_MARGIN_MS));
}

export type Impl<Req, Res> = (request: Req, timeoutMs: number) => Promise<Res>;

/** What a write reports besides its response; CommandRunner.run fills it in. */
export interface WriteReceipt {
  /** The log index of the entry that carried the write, when known (see COMMIT_INDEX_HEADER). */
  commitIndex?: number;
}

export type WriteImpl<Req, Res> = (request: Req, timeoutMs: number, receipt: WriteReceipt) => Promise<Res>;

export interface RouteOptions {
  /** Served by a FAILED_OVER secondary (the seed's read-only list). */
  readonly failover?: boolean;
}

function undecodable(): ApiError {
  return new ApiError(grpc.status.INVALID_ARGUMENT, 'BAD_REQUEST', 'the request is not a valid protobuf message for this method');
}

export class Router {
  private readonly clients = new Map<string, grpc.Client>();

  /** `throttle`: the per-vault limits of the calls this node serves itself (not those it forwards). */
  constructor(
    private readonly ctx: ServerContext,
    private readonly throttle?: VaultThrottle,
  ) {}

  /** Served wherever it arrives, in any mode (cluster status); the impl sees the request's metadata (the caller, CALLER_KEY). */
  local<Req, Res>(impl: (request: Req, timeLeftMs: number, metadata: grpc.Metadata) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return this.serve(async (call, callback) => this.answer(call, callback, await impl(call.request, timeLeft(call), call.metadata)));
  }

  read<Req, Res>(method: grpc.MethodDefinition<Req, Res>, impl: Impl<Req, Res>, opts: RouteOptions = {}): grpc.handleUnaryCall<Req, Res> {
    return this.serve(async (call, callback) => {
      if (this.ctx.regionRole === 'secondary' && !(await this.servedBySecondary(opts))) return this.toPrimary(method, call, callback);
      this.takeFromVault(method.path, call.request);
      this.answer(call, callback, await impl(call.request, timeLeft(call)));
    });
  }

  write<Req, Res>(method: grpc.MethodDefinition<Req, Res>, impl: WriteImpl<Req, Res>): grpc.handleUnaryCall<Req, Res> {
    return this.serve(async (call, callback) => {
      if (this.ctx.regionRole === 'secondary') {
        // STANDBY forwards; FAILED_OVER refuses every write.
        await this.servedBySecondary({});
        return this.toPrimary(method, call, callback);
      }
      const deadline = Date.now() + timeLeft(call);
      if (this.ctx.replica.isLeader) {
        this.takeFromVault(method.path, call.request);
        try {
          const receipt: WriteReceipt = {};
          return this.answer(call, callback, await impl(call.request, deadline - Date.now(), receipt), receipt);
        } catch (e) {
          // Leadership moved between the check and the proposal: forward instead.
          if (!(e instanceof ReplicaError && e.reason === 'NOT_LEADER')) throw e;
        }
      }
      // Forward to the leader; if it does not answer, wait for the next one.
      let unreachable = '';
      for (;;) {
        const leader = await this.awaitLeader(deadline, unreachable);
        const address = this.ctx.clientAddress(leader);
        if (leader === this.ctx.nodeId || address === undefined) throw new ReplicaError('NOT_LEADER', 'leadership is moving; retry');
        if (await this.forward(method, call, callback, [address], deadline)) return;
        unreachable = leader;
      }
    });
  }

  /**
   * A server stream, served by any primary node (`impl` decides how it stays
   * consistent); a STANDBY secondary relays a primary node's stream, a
   * FAILED_OVER one refuses it. An error after the first message ends the
   * stream with that error: the caller starts over.
   */
  stream<Req, Res>(method: grpc.MethodDefinition<Req, Res>, impl: (request: Req, timeoutMs: number) => AsyncIterable<Res>): grpc.handleServerStreamingCall<Req, Res> {
    return (call) => {
      let headersSent = false;
      const sendHeaders = (md: grpc.Metadata = responseMetadata(this.ctx)) => {
        if (!headersSent) call.sendMetadata(md);
        headersSent = true;
      };
      const run = async () => {
        if ((call.request as unknown) === UNDECODABLE_REQUEST) throw undecodable();
        if (this.ctx.regionRole === 'secondary') {
          await this.servedBySecondary({});
          for (const address of this.ctx.primaryAddresses) if (await this.relayStream(method, call, address, sendHeaders)) return;
          throw new ApiError(grpc.status.UNAVAILABLE, 'PRIMARY_UNREACHABLE', 'the primary region did not answer; retry');
        }
        for await (const item of impl(call.request, timeLeft(call))) {
          if (call.cancelled) return;
          sendHeaders();
          // A client that goes away mid-stream never drains: stop then too, which closes what impl holds open.
          if (!call.write(item)) await new Promise((r) => (call.once('drain', r), call.once('cancelled', r)));
        }
        if (call.cancelled) return;
        sendHeaders();
        call.end();
      };
      run().catch((e: unknown) => {
        if (classify(e).internal) this.ctx.logger.error({ err: e, method: call.getPath() }, 'stream failed');
        const md = responseMetadata(this.ctx);
        sendHeaders(md);
        call.emit('error', toServiceError(e, md));
      });
    };
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  /** Per-vault throttling, before any work; a refused call takes nothing from its vault's limit. */
  private takeFromVault(path: string, request: unknown): void {
    const t = this.throttle?.take(path, request);
    if (t !== undefined) throw new ThrottledError(t.retryAfterMs, t.message);
  }

  /**
   * Relays the stream `address` answers with, and its metadata. False when
   * it gave no keyraft answer at all (unreachable): another may.
   */
  private relayStream<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    call: grpc.ServerWritableStream<Req, Res>,
    address: string,
    sendHeaders: (md: grpc.Metadata) => void,
  ): Promise<boolean> {
    const md = call.metadata.clone();
    const hops = Number(md.get(HOPS_KEY)[0] ?? 0);
    if (hops >= MAX_HOPS) throw new ApiError(grpc.status.UNAVAILABLE, 'NOT_LEADER', `${this.ctx.nodeId} cannot serve this and it was forwarded ${hops} times already`);
    md.set(HOPS_KEY, String(hops + 1));
    const upstream = this.client(address).makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, call.request, md, {
      deadline: call.getDeadline(),
    });
    call.on('cancelled', () => upstream.cancel());
    return new Promise((resolve) => {
      let answered = false;
      upstream.on('metadata', (m: grpc.Metadata) => {
        answered = true;
        sendHeaders(m);
      });
      upstream.on('data', (item: Res) => {
        if (!call.write(item)) {
          upstream.pause();
          call.once('drain', () => upstream.resume());
        }
      });
      upstream.on('end', () => {
        call.end();
        resolve(true);
      });
      upstream.on('error', (err: grpc.ServiceError) => {
        if (!answered && err.metadata?.get(REASON_KEY).length === 0) {
          this.ctx.logger.debug({ problem: `${address}: ${err.details || err.message}` }, 'relaying a stream failed');
          return resolve(false);
        }
        call.emit('error', err);
        resolve(true);
      });
    });
  }

  private client(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new grpc.Client(address, this.ctx.channelCredentials(), { ...CLIENT_MESSAGE_LIMITS, 'grpc.enable_channelz': 0 });
      this.clients.set(address, client);
    }
    return client;
  }

  private serve<Req, Res>(
    run: (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => Promise<void>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const attempt = (call.request as unknown) === UNDECODABLE_REQUEST ? Promise.reject(undecodable()) : run(call, callback);
      attempt.catch((e: unknown) => {
        const c = classify(e);
        if (c.internal) this.ctx.logger.error({ err: e, method: call.getPath() }, 'request failed');
        const md = responseMetadata(this.ctx);
        call.sendMetadata(md);
        callback(toServiceError(e, md));
      });
    };
  }

  private answer<Req, Res>(call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>, response: Res, receipt?: WriteReceipt): void {
    const md = responseMetadata(this.ctx);
    if (receipt?.commitIndex !== undefined) md.set(COMMIT_INDEX_HEADER, String(receipt.commitIndex));
    call.sendMetadata(md);
    callback(null, response);
  }

  /** On a secondary: whether to serve here (FAILED_OVER and allowed) rather than forward. */
  private async servedBySecondary(opts: RouteOptions): Promise<boolean> {
    if (this.ctx.mode() !== 'FAILED_OVER') return false;
    if (!opts.failover) {
      throw new ApiError(
        grpc.status.FAILED_PRECONDITION,
        'READ_ONLY_FAILOVER',
        `region ${this.ctx.region} serves read-only operations while the primary region is failed over; writes resume after failback`,
      );
    }
    return true;
  }

  private async toPrimary<Req, Res>(method: grpc.MethodDefinition<Req, Res>, call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): Promise<void> {
    if (!(await this.forward(method, call, callback, this.ctx.primaryAddresses, Date.now() + timeLeft(call)))) {
      throw new ApiError(grpc.status.UNAVAILABLE, 'PRIMARY_UNREACHABLE', 'the primary region did not answer; retry');
    }
  }

  /** Waits for the region to have a leader other than `unreachable`, up to the deadline. */
  private async awaitLeader(deadline: number, unreachable: string): Promise<string> {
    for (;;) {
      const leader = this.ctx.replica.leader;
      if (leader !== '' && leader !== unreachable) return leader;
      if (Date.now() >= deadline) {
        const why = unreachable === '' ? 'it has no leader' : `its leader ${unreachable} does not answer and no other was elected`;
        throw new ReplicaError('NO_QUORUM', `region ${this.ctx.region} cannot take writes: ${why}; it may have lost its quorum`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Sends the request on to the first of `addresses` that gives a keyraft
   * answer, and relays that answer with its metadata (the node that served
   * it). Returns false when none answered: the caller decides what to say.
   */
  private async forward<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    call: grpc.ServerUnaryCall<Req, Res>,
    callback: grpc.sendUnaryData<Res>,
    addresses: readonly string[],
    deadline: number,
  ): Promise<boolean> {
    const hops = Number(call.metadata.get(HOPS_KEY)[0] ?? 0);
    if (hops >= MAX_HOPS) throw new ApiError(grpc.status.UNAVAILABLE, 'NOT_LEADER', `${this.ctx.nodeId} cannot serve this and it was forwarded ${hops} times already`);
    const md = call.metadata.clone();
    md.set(HOPS_KEY, String(hops + 1));
    for (const [i, address] of addresses.entries()) {
      // Share the time among the addresses left, and keep some to answer the
      // client ourselves if none does.
      const share = (deadline - FORWARD_RESERVE_MS - Date.now()) / (addresses.length - i);
      const attemptDeadline = Date.now() + share;
      if (Date.now() >= attemptDeadline) break;
      const outcome = await this.forwardOnce(method, call.request, md, address, attemptDeadline);
      if (outcome.kind === 'unreachable') {
        this.ctx.logger.debug({ problem: outcome.problem }, 'forwarding failed');
        continue;
      }
      if (outcome.metadata !== undefined) call.sendMetadata(outcome.metadata);
      if (outcome.kind === 'error') callback(outcome.error);
      else callback(null, outcome.response);
      return true;
    }
    return false;
  }

  private forwardOnce<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    request: Req,
    md: grpc.Metadata,
    address: string,
    deadline: number,
  ): Promise<
    | { kind: 'ok'; response: Res; metadata?: grpc.Metadata }
    | { kind: 'error'; error: grpc.ServiceError; metadata?: grpc.Metadata }
    | { kind: 'unreachable'; problem: string }
  > {
    const client = this.client(address);
    return new Promise((resolve) => {
      let metadata: grpc.Metadata | undefined;
      const c = client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, md, { deadline }, (err, response) => {
        if (err === null) resolve({ kind: 'ok', response: response as Res, metadata });
        // A keyraft answer carries a reason; anything else means nobody answered.
        else if (err.metadata.get(REASON_KEY).length > 0) resolve({ kind: 'error', error: err, metadata });
        else resolve({ kind: 'unreachable', problem: `${address}: ${err.details || err.message}` });
      });
      c.on('metadata', (m) => {
        metadata = m;
      });
    });
  }
}
