// The application layer's entry for every front-end: a call names an RPC of
// the public API by its path and brings the request, proto-loader's shape;
// the operation of that path (src/app/operations) runs where the router
// decides, and the answer comes back with the headers naming who served it.
//
// unary() does all a front-end needs for a call: authorize it, run it, and
// audit it once. The gRPC port authorizes and audits in its interceptors
// instead (they see a call before its message is decoded, and admission
// refusals too) and calls serve(), so that each of its calls is still
// authorized and audited exactly once.

import type { AuditEntry } from './audit-log.js';
import { Code } from './codes.js';
import { ApiError, classify } from './errors.js';
import type { Admitted, CallGate } from './gate.js';
import type { Operation } from './operation.js';
import type { Answer, RoutedCall, Router } from './router.js';

/** What a front-end knows of a call besides its path and request. */
export interface CallContext {
  /** The caller's `authorization` header as sent ("Bearer <token>"); passed on if the call is forwarded. */
  readonly authorization?: string;
  /** When the caller stops waiting, in Date.now()'s ms; Infinity for the default (DEFAULT_TIMEOUT_MS). */
  readonly deadlineMs: number;
  /** The caller's address, for the audit log. */
  readonly peer: string;
}

export interface DispatcherOptions {
  /** The operations by RPC path (src/app/operations/index.ts). */
  readonly operations: ReadonlyMap<string, Operation>;
  readonly router: Router;
  readonly gate: CallGate;
  /** Told of every unary() call when it ends, refused or served: the audit log and metrics. */
  readonly onComplete?: (entry: AuditEntry) => void;
}

export class Dispatcher {
  constructor(private readonly opts: DispatcherOptions) {}

  /** Whether `path` names a unary operation of the API. */
  serves(path: string): boolean {
    return this.opts.operations.has(path);
  }

  /**
   * A call of a front-end that does not authorize or audit by itself:
   * authenticated, permitted, routed and run, then audited. Never rejects:
   * a refusal or a failure is an Answer too, whose error classify() reads.
   */
  async unary(path: string, request: unknown, ctx: CallContext): Promise<Answer> {
    const started = performance.now();
    const { authorization, deadlineMs } = ctx;
    let admitted: Admitted | undefined;
    let answer: Answer;
    try {
      const a = await this.opts.gate.authenticate(path, authorization);
      if (a instanceof ApiError) {
        answer = this.opts.router.failed(path, a);
      } else {
        admitted = a;
        const refusal = this.opts.gate.permit(a, request);
        answer = refusal !== undefined ? this.opts.router.failed(path, refusal) : await this.serve({ path, request, deadlineMs, authorization, hops: 0, principal: a.caller?.principal });
      }
    } catch (e) {
      answer = this.opts.router.failed(path, e);
    }
    const failure = answer.ok ? undefined : classify(answer.error);
    this.opts.onComplete?.({
      path,
      peer: ctx.peer,
      principal: admitted?.caller?.principal,
      // As the gRPC port's: a request is only looked at once its caller is known.
      request: admitted === undefined ? undefined : request,
      vaultField: admitted?.rule.vaultField,
      code: failure?.code ?? Code.OK,
      reason: failure?.reason,
      elapsedMs: performance.now() - started,
    });
    return answer;
  }

  /**
   * Routes and runs a call that its front-end has authorized and audits
   * itself (the gRPC port, in its interceptors). Never rejects.
   */
  serve(call: RoutedCall): Promise<Answer> {
    const op = this.opts.operations.get(call.path);
    if (op === undefined) return Promise.resolve(this.opts.router.failed(call.path, new ApiError(Code.UNIMPLEMENTED, 'UNIMPLEMENTED', `${call.path} is not a unary operation of the API`)));
    return this.opts.router.route(op, call);
  }
}
