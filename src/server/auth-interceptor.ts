// The one place where every public RPC is authorized (DESIGN §6): a grpc-js
// server interceptor that authenticates the bearer token from the metadata
// and, once the request arrives, checks the caller's roles for its vault
// (src/app/authorize.ts), before any handler runs. A refusal leaves like
// every other keyraft error: a status with the reason as the message's
// prefix and in the `keyraft-reason` trailer, and the response metadata
// naming the node that refused. Every call, refused or served, is told to
// onComplete with its caller and status when it ends: the audit log.

import * as grpc from '@grpc/grpc-js';
import { type AuthDirectory, type Caller, type Refusal, VerifiedTokens, authenticate, permit } from '../app/authorize.js';
import { OPEN, permissionFor } from '../auth/permissions.js';
import type { AuditEntry } from '../app/audit-log.js';
import { ApiError } from '../app/errors.js';
import { REASON_KEY, toServiceError } from './errors.js';

export interface AuthInterceptorOptions {
  readonly directory: AuthDirectory;
  /** The cluster's name: the issuer of its tokens. */
  readonly issuer: string;
  readonly nowMs: () => number;
  /** The metadata every response carries (keyraft-node, -region, -mode). */
  readonly responseMetadata: () => grpc.Metadata;
  /** Told of every call when it ends, refused or served: for the audit log. */
  readonly onComplete?: (entry: AuditEntry) => void;
  /**
   * Why this node cannot serve clients yet, if it cannot: a node that joins
   * a region has no state (no token keys either) until its leader's snapshot
   * arrives. Its callers hear UNAVAILABLE NODE_JOINING and try another node.
   */
  readonly notServing?: () => string | undefined;
}

/**
 * The metadata key under which a handler finds the authenticated principal.
 * Set here and only here: whatever a caller sends under it is removed first.
 */
export const CALLER_KEY = 'keyraft-caller';

const CODES = { UNAUTHENTICATED: grpc.status.UNAUTHENTICATED, PERMISSION_DENIED: grpc.status.PERMISSION_DENIED } as const;

export function authInterceptor(opts: AuthInterceptorOptions): grpc.ServerInterceptor {
  const verified = new VerifiedTokens();
  return (method, call) => {
    const path = method.path;
    const started = performance.now();
    let decided: { rule: Parameters<typeof permit>[0]; caller: Caller | undefined } | undefined;
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
    const refuse = (refusal: Refusal): void => end(new ApiError(CODES[refusal.code], refusal.reason, refusal.message));
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const joining = opts.notServing?.();
            if (joining !== undefined && permissionFor(path)?.permission !== OPEN) return end(new ApiError(grpc.status.UNAVAILABLE, 'NODE_JOINING', joining));
            const authorization = metadata.get('authorization')[0];
            authenticate(path, typeof authorization === 'string' ? authorization : undefined, opts.directory, { nowMs: opts.nowMs(), issuer: opts.issuer }, verified).then(
              (result) => {
                if ('code' in result) return refuse(result);
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
            const refusal = permit(decided.rule, decided.caller, message);
            if (refusal !== undefined) return refuse(refusal);
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
