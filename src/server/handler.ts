// How every public RPC is served: response metadata naming who served it,
// errors mapped to statuses with reasons, a deadline that is never longer
// than the client's, and writes forwarded to the region's leader.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ReplicaError } from '../replica/errors.js';
import type { Replica } from '../replica/replica.js';
import { UNDECODABLE_REQUEST } from './api.js';
import { ApiError, REASON_KEY, classify, toServiceError } from './errors.js';

/** Requests without a deadline get this much time. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** Answer this much before the client's deadline, so that it hears why. */
const DEADLINE_MARGIN_MS = 50;
const FORWARDED_BY = 'keyraft-forwarded-by';

export interface ServerContext {
  readonly nodeId: string;
  readonly region: string;
  readonly replica: Replica;
  readonly logger: Logger;
  /** SERVING | NO_QUORUM | STANDBY | FAILED_OVER */
  mode(): string;
  /** The client address of a node of this region, by id. */
  clientAddress(nodeId: string): string | undefined;
}

export function responseMetadata(ctx: ServerContext): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('keyraft-region', ctx.region);
  md.set('keyraft-node', ctx.nodeId);
  md.set('keyraft-mode', ctx.mode());
  return md;
}

/** Milliseconds left for this call, capped by the default and the margin. */
export function timeLeft(call: grpc.ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  const now = Date.now();
  if (!Number.isFinite(at)) return DEFAULT_TIMEOUT_MS;
  return Math.max(1, Math.min(DEFAULT_TIMEOUT_MS, at - now - DEADLINE_MARGIN_MS));
}

type Impl<Req, Res> = (request: Req, timeoutMs: number, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>;

function undecodable(): ApiError {
  return new ApiError(grpc.status.INVALID_ARGUMENT, 'BAD_REQUEST', 'the request is not a valid protobuf message for this method');
}

/** Serves a call here: reads, and anything that needs no leader. */
export function local<Req, Res>(ctx: ServerContext, impl: Impl<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const md = responseMetadata(ctx);
    const run = (call.request as unknown) === UNDECODABLE_REQUEST ? Promise.reject(undecodable()) : impl(call.request, timeLeft(call), call);
    run.then(
      (response) => {
        call.sendMetadata(md);
        callback(null, response);
      },
      (e: unknown) => fail(ctx, call, callback, md, e),
    );
  };
}

function fail<Req, Res>(
  ctx: ServerContext,
  call: grpc.ServerUnaryCall<Req, Res>,
  callback: grpc.sendUnaryData<Res>,
  md: grpc.Metadata,
  e: unknown,
): void {
  const c = classify(e);
  if (c.internal) ctx.logger.error({ err: e, method: call.getPath() }, 'request failed');
  call.sendMetadata(md);
  callback(toServiceError(e, md));
}

/**
 * Serves a write on the region's leader: runs it here when this node leads,
 * otherwise forwards the request (once) to the leader it knows.
 */
export class WriteRouter {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly ctx: ServerContext) {}

  handler<Req, Res>(method: grpc.MethodDefinition<Req, Res>, impl: Impl<Req, Res>): grpc.handleUnaryCall<Req, Res> {
    const ctx = this.ctx;
    return (call, callback) => {
      const timeoutMs = timeLeft(call);
      const deadline = Date.now() + timeoutMs;
      const forwardedBy = call.metadata.get(FORWARDED_BY)[0];
      const attempt = async (): Promise<void> => {
        if ((call.request as unknown) === UNDECODABLE_REQUEST) throw undecodable();
        if (ctx.replica.isLeader) {
          try {
            const response = await impl(call.request, deadline - Date.now(), call);
            call.sendMetadata(responseMetadata(ctx));
            callback(null, response);
            return;
          } catch (e) {
            // Leadership moved between the check and the proposal: forward instead.
            if (!(e instanceof ReplicaError && e.reason === 'NOT_LEADER')) throw e;
          }
        }
        if (forwardedBy !== undefined) {
          throw new ApiError(grpc.status.UNAVAILABLE, 'NOT_LEADER', `forwarded by ${String(forwardedBy)} to ${ctx.nodeId}, which does not lead`);
        }
        const leader = await this.awaitLeader(deadline);
        await this.forward(method, call, callback, leader, deadline);
      };
      attempt().catch((e: unknown) => fail(ctx, call, callback, responseMetadata(ctx), e));
    };
  }

  /** Waits for the region to have a leader, up to the deadline. */
  private async awaitLeader(deadline: number): Promise<string> {
    for (;;) {
      const leader = this.ctx.replica.leader;
      if (leader !== '') return leader;
      if (Date.now() >= deadline) {
        throw new ReplicaError('NO_QUORUM', `region ${this.ctx.region} has no leader: it may have lost its quorum`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private forward<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    call: grpc.ServerUnaryCall<Req, Res>,
    callback: grpc.sendUnaryData<Res>,
    leader: string,
    deadline: number,
  ): Promise<void> {
    if (leader === this.ctx.nodeId) {
      return Promise.reject(new ReplicaError('NOT_LEADER', 'this node was leader a moment ago; retry'));
    }
    const address = this.ctx.clientAddress(leader);
    if (address === undefined) return Promise.reject(new ApiError(grpc.status.INTERNAL, 'INTERNAL', `no address for leader ${leader}`));
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new grpc.Client(address, grpc.credentials.createInsecure());
      this.clients.set(address, client);
    }
    const md = call.metadata.clone();
    md.set(FORWARDED_BY, this.ctx.nodeId);
    return new Promise((resolve, reject) => {
      const forwarded = client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        call.request,
        md,
        { deadline },
        (err, response) => {
          if (err === null) callback(null, response);
          else if (err.metadata.get(REASON_KEY).length > 0) callback(err);
          else {
            // No keyraft answer at all: the leader we knew is gone or cut off.
            const code = err.code === grpc.status.DEADLINE_EXCEEDED ? 'did not answer in time' : 'is unreachable';
            reject(new ApiError(grpc.status.UNAVAILABLE, 'LEADER_UNREACHABLE', `leader ${leader} ${code}; a new one may be elected: retry`));
            return;
          }
          // The leader's answer, with its metadata (it served the request).
          resolve();
        },
      );
      forwarded.on('metadata', (leaderMd) => call.sendMetadata(leaderMd));
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
