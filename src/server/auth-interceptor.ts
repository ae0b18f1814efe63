// Where every RPC of the client port is authorized (DESIGN §6): a grpc-js
// server interceptor that takes the application layer's two steps
// (src/app/gate.ts) as gRPC presents a call: the bearer token from the
// metadata, and, once the request arrives, the caller's roles for its vault,
// before any handler runs. A refusal leaves like every other keyraft error:
// a status with the reason as the message's prefix and in the
// `keyraft-reason` trailer, and the response metadata naming the node that
// refused. Every call, refused or served, is told to onComplete with its
// caller and status when it ends: the audit log.

import * as grpc from '@grpc/grpc-js';
import type { AuditEntry } from '../app/audit-log.js';
import type { Admitted, CallGate } from '../app/gate.js';
import { REASON_KEY, toServiceError } from './errors.js';
import { mark } from '../trace.js';

export interface AuthInterceptorOptions {
  /** The node's gate, which the other front-ends pass through too. */
  readonly gate: CallGate;
  /** The metadata every response carries (keyraft-node, -region, -mode). */
  readonly responseMetadata: () => grpc.Metadata;
  /** Told of every call when it ends, refused or served: for the audit log. */
  readonly onComplete?: (entry: AuditEntry) => void;
}

/**
 * The metadata key under which a handler finds the authenticated principal.
 * Set here and only here: whatever a caller sends under it is removed first.
 */
export const CALLER_KEY = 'keyraft-caller';

export function authInterceptor(opts: AuthInterceptorOptions): grpc.ServerInterceptor {
  return (method, call) => {
    const path = method.path;
    const started = performance.now();
    let decided: Admitted | undefined;
    let request: unknown;
    let refused = false;
    const complete = (status: Pick<grpc.StatusObject, 'code'> & { metadata?: grpc.Metadata | null }): void => {
      const reason = status.metadata?.get(REASON_KEY)[0];
      opts.onComplete?.({
        path,
        peer: call.getPeer(),
        principal: decided?.caller?.principal,
        request,
        vaultField: decided?.rule.vaultField,
        code: status.code,
        reason: typeof reason === 'string' ? reason : undefined,
        elapsedMs: performance.now() - started,
      });
    };
    const end = (error: unknown): void => {
      refused = true;
      const headers = opts.responseMetadata();
      const s = toServiceError(error, headers);
      const status = { code: s.code!, details: s.details!, metadata: s.metadata! };
      complete(status);
      call.sendMetadata(headers);
      call.sendStatus(status);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            mark('rpc');
            const authorization = metadata.get('authorization')[0];
            opts.gate.authenticate(path, typeof authorization === 'string' ? authorization : undefined).then(
              (result) => {
                if (!('rule' in result)) return end(result);
                mark('authenticated');
                decided = result;
                metadata.remove(CALLER_KEY);
                if (result.caller !== undefined) metadata.set(CALLER_KEY, result.caller.principal);
                nextMetadata(metadata);
              },
              // Not a refusal but our own failure: the caller hears INTERNAL
              // (toServiceError), and the node goes on serving others.
              (e: unknown) => end(e),
            );
          },
          onReceiveMessage: (message, nextMessage) => {
            if (refused || decided === undefined) return;
            request ??= message;
            const refusal = opts.gate.permit(decided, message);
            if (refusal !== undefined) return end(refusal);
            nextMessage(message);
          },
        }),
      sendStatus: (status, next) => {
        if (!refused) complete(status);
        next(status);
      },
    });
  };
}
