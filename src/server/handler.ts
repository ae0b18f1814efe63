// How the client port answers a call. The application layer decides
// (src/app/dispatch.ts: routing, throttling, the operation); this is only
// its gRPC form: the call's deadline, hop count, token and caller in; the
// answer's headers as response metadata and its error as a status with the
// reason (errors.ts) out.
//
// Server streams (SaveSnapshot) are gRPC's alone: served by any primary
// node; a STANDBY secondary relays the stream of a primary node, chunk by
// chunk; a FAILED_OVER one refuses it.

import * as grpc from '@grpc/grpc-js';
import type { Dispatcher } from '../app/dispatch.js';
import { ApiError, classify } from '../app/errors.js';
import { Code } from '../app/codes.js';
import { type NodeContext, type ResponseHeaders, responseHeaders } from '../app/node-context.js';
import { type Answer, nextHop, servedBySecondary, timeLeft } from '../app/router.js';
import { UNDECODABLE_REQUEST } from './api.js';
import { CALLER_KEY } from './auth-interceptor.js';
import { toServiceError } from './errors.js';
import { mark } from '../trace.js';
import { type GrpcForwarder, HOPS_KEY, forwardMetadata } from './forwarder.js';

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

/** When the caller stops waiting, in Date.now()'s ms; Infinity when it set no deadline. */
function deadlineOf(call: { getDeadline(): grpc.Deadline }): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

const first = (md: grpc.Metadata, key: string): string | undefined => {
  const value = md.get(key)[0];
  return typeof value === 'string' ? value : undefined;
};

/** How many nodes forwarded the call here. */
const hopsOf = (md: grpc.Metadata): number => Number(md.get(HOPS_KEY)[0] ?? 0);

function undecodable(): ApiError {
  return new ApiError(Code.INVALID_ARGUMENT, 'BAD_REQUEST', 'the request is not a valid protobuf message for this method');
}

/**
 * A unary RPC: the operation of `path`, which the interceptors have
 * authorized by the time the request arrives here, and will audit.
 */
export function unaryHandler(dispatcher: Dispatcher, ctx: NodeContext, path: string): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    mark('handler');
    const answered: Promise<Answer> =
      call.request === UNDECODABLE_REQUEST
        ? Promise.resolve({ ok: false, error: undecodable(), headers: responseHeaders(ctx) })
        : dispatcher.serve({
            path,
            request: call.request,
            deadlineMs: deadlineOf(call),
            authorization: first(call.metadata, 'authorization'),
            hops: hopsOf(call.metadata),
            principal: first(call.metadata, CALLER_KEY),
          });
    void answered.then((answer) => {
      mark('reply');
      const md = metadataOf(answer.headers);
      call.sendMetadata(md);
      if (answer.ok) callback(null, answer.response);
      else callback(toServiceError(answer.error, md));
    });
  };
}

/**
 * A server stream, served by any primary node (`impl` decides how it stays
 * consistent); a STANDBY secondary relays a primary node's stream, a
 * FAILED_OVER one refuses it. An error after the first message ends the
 * stream with that error: the caller starts over.
 */
export function streamHandler<Req, Res>(
  ctx: NodeContext,
  forwarder: GrpcForwarder,
  method: grpc.MethodDefinition<Req, Res>,
  impl: (request: Req, timeoutMs: number) => AsyncIterable<Res>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    let headersSent = false;
    const sendHeaders = (md: grpc.Metadata = responseMetadata(ctx)) => {
      if (!headersSent) call.sendMetadata(md);
      headersSent = true;
    };
    const run = async () => {
      if ((call.request as unknown) === UNDECODABLE_REQUEST) throw undecodable();
      if (ctx.regionRole === 'secondary') {
        servedBySecondary(ctx, false);
        const md = forwardMetadata(first(call.metadata, 'authorization'), nextHop(ctx, hopsOf(call.metadata)));
        for (const address of ctx.primaryAddresses) if (await forwarder.relayStream(method, call, address, md, sendHeaders)) return;
        throw new ApiError(Code.UNAVAILABLE, 'PRIMARY_UNREACHABLE', 'the primary region did not answer; retry');
      }
      for await (const item of impl(call.request, timeLeft(deadlineOf(call)))) {
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
      if (classify(e).internal) ctx.logger.error({ err: e, method: call.getPath() }, 'stream failed');
      const md = responseMetadata(ctx);
      sendHeaders(md);
      call.emit('error', toServiceError(e, md));
    });
  };
}
