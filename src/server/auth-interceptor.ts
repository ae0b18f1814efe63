// The one place where every public RPC is authorized (DESIGN §6): a grpc-js
// server interceptor that authenticates the bearer token from the metadata
// and, once the request arrives, checks the caller's roles for its vault
// (src/app/authorize.ts), before any handler runs. A refusal leaves like
// every other keyraft error: a status with the reason as the message's
// prefix and in the `keyraft-reason` trailer, and the response metadata
// naming the node that refused.

import * as grpc from '@grpc/grpc-js';
import { type AuthDirectory, type Caller, type Refusal, authenticate, permit } from '../app/authorize.js';
import { ApiError, toServiceError } from './errors.js';

export interface AuthInterceptorOptions {
  readonly directory: AuthDirectory;
  /** The cluster's name: the issuer of its tokens. */
  readonly issuer: string;
  readonly nowMs: () => number;
  /** The metadata every response carries (keyraft-node, -region, -mode). */
  readonly responseMetadata: () => grpc.Metadata;
  /** Told of every decision: for the audit log. */
  readonly onDecision?: (decision: { path: string; peer: string; caller: Caller | undefined; refusal: Refusal | undefined }) => void;
}

const CODES = { UNAUTHENTICATED: grpc.status.UNAUTHENTICATED, PERMISSION_DENIED: grpc.status.PERMISSION_DENIED } as const;

export function authInterceptor(opts: AuthInterceptorOptions): grpc.ServerInterceptor {
  return (method, call) => {
    const path = method.path;
    let decided: { rule: Parameters<typeof permit>[0]; caller: Caller | undefined } | undefined;
    let refused = false;
    const end = (error: unknown): void => {
      refused = true;
      const headers = opts.responseMetadata();
      const status = toServiceError(error, headers);
      call.sendMetadata(headers);
      call.sendStatus({ code: status.code!, details: status.details!, metadata: status.metadata! });
    };
    const refuse = (refusal: Refusal): void => {
      opts.onDecision?.({ path, peer: call.getPeer(), caller: decided?.caller, refusal });
      end(new ApiError(CODES[refusal.code], refusal.reason, refusal.message));
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const authorization = metadata.get('authorization')[0];
            authenticate(path, typeof authorization === 'string' ? authorization : undefined, opts.directory, { nowMs: opts.nowMs(), issuer: opts.issuer }).then(
              (result) => {
                if ('code' in result) return refuse(result);
                decided = result;
                nextMetadata(metadata);
              },
              // Not a refusal but our own failure: the caller hears INTERNAL
              // (toServiceError), and the node goes on serving others.
              (e: unknown) => end(e),
            );
          },
          onReceiveMessage: (message, nextMessage) => {
            if (refused || decided === undefined) return;
            const refusal = permit(decided.rule, decided.caller, message);
            if (refusal !== undefined) return refuse(refusal);
            opts.onDecision?.({ path, peer: call.getPeer(), caller: decided.caller, refusal: undefined });
            nextMessage(message);
          },
        }),
    });
  };
}
