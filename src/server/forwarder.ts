// Calls sent on to another node's client port over gRPC: the transport's
// part of routing (src/app/router.ts decides where). A forwarded call
// carries the caller's `authorization` header, so that the node there
// authenticates and authorizes the caller again, and `keyraft-hops`, which
// bounds how often a call is passed on. The answer comes back with the
// headers naming the node that served it.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ApiError, THROTTLED, ThrottledError } from '../app/errors.js';
import type { ResponseHeaders } from '../app/node-context.js';
import type { Answer, ForwardedCall, Forwarder } from '../app/router.js';
import { CLIENT_MESSAGE_LIMITS } from '../client-port.js';
import { apiClient } from './api.js';
import { REASON_KEY, RETRY_AFTER_KEY } from './errors.js';

export const HOPS_KEY = 'keyraft-hops';

/** The public API's methods by path, as a client sends them. */
const METHODS: ReadonlyMap<string, grpc.MethodDefinition<unknown, unknown>> = new Map(
  (['Vaults', 'Secrets', 'Keys', 'Cluster'] as const).flatMap((name) => Object.values(apiClient(name).service).map((m) => [m.path, m])),
);

/** The metadata of a call forwarded with `hops` (this node's forwarding counted). */
export function forwardMetadata(authorization: string | undefined, hops: number): grpc.Metadata {
  const md = new grpc.Metadata();
  if (authorization !== undefined) md.set('authorization', authorization);
  md.set(HOPS_KEY, String(hops));
  return md;
}

/** The response headers in metadata: every keyraft-* entry but the reason, which belongs to the error. */
function headersOf(md: grpc.Metadata): ResponseHeaders {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(md.getMap())) if (key.startsWith('keyraft-') && key !== REASON_KEY && typeof value === 'string') headers[key] = value;
  return headers;
}

/** A keyraft error status, back in the form classify() reads, so that it leaves here as it left there. */
function relayedError(err: grpc.ServiceError): ApiError {
  const reason = String(err.metadata.get(REASON_KEY)[0]);
  const details = err.details ?? '';
  const message = details.startsWith(`${reason}: `) ? details.slice(reason.length + 2) : details;
  const retryAfter = err.metadata.get(RETRY_AFTER_KEY)[0];
  if (reason === THROTTLED && retryAfter !== undefined) return new ThrottledError(Number(retryAfter), message);
  return new ApiError(err.code, reason, message);
}

export class GrpcForwarder implements Forwarder {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly ctx: { channelCredentials(): grpc.ChannelCredentials; readonly logger: Logger }) {}

  forward(address: string, call: ForwardedCall): Promise<Answer | { unreachable: string }> {
    const method = METHODS.get(call.path);
    if (method === undefined) throw new Error(`${call.path} is not a method of the public API`);
    return new Promise((resolve) => {
      let metadata: grpc.Metadata | undefined;
      const md = forwardMetadata(call.authorization, call.hops);
      const c = this.client(address).makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, call.request, md, { deadline: call.deadlineMs }, (err, response) => {
        if (err === null) resolve({ ok: true, response, headers: metadata === undefined ? {} : headersOf(metadata) });
        // A keyraft answer carries a reason; anything else means nobody answered.
        // A refusal without headers (trailers only) names its node in the trailers.
        else if (err.metadata.get(REASON_KEY).length > 0) resolve({ ok: false, error: relayedError(err), headers: headersOf(metadata ?? err.metadata) });
        else resolve({ unreachable: `${address}: ${err.details || err.message}` });
      });
      c.on('metadata', (m: grpc.Metadata) => {
        metadata = m;
      });
    });
  }

  /**
   * Relays the stream `address` answers with, and its metadata. False when
   * it gave no keyraft answer at all (unreachable): another may.
   */
  relayStream<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    call: grpc.ServerWritableStream<Req, Res>,
    address: string,
    md: grpc.Metadata,
    sendHeaders: (md: grpc.Metadata) => void,
  ): Promise<boolean> {
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

  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  private client(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new grpc.Client(address, this.ctx.channelCredentials(), { ...CLIENT_MESSAGE_LIMITS, 'grpc.enable_channelz': 0 });
      this.clients.set(address, client);
    }
    return client;
  }
}
