// The application layer's entry for every front-end: a call names an RPC of
// the public API by its path and brings the request; the operation of that
// path (src/app/operations) runs where the router decides.

import { Code } from './codes.js';
import { ApiError } from './errors.js';
import type { Operation } from './operation.js';
import type { Answer, RoutedCall, Router } from './router.js';

export class Dispatcher {
  constructor(
    private readonly operations: ReadonlyMap<string, Operation>,
    private readonly router: Router,
  ) {}

  /** Whether `path` names a unary operation of the API. */
  serves(path: string): boolean {
    return this.operations.has(path);
  }

  /**
   * Routes and runs a call that its front-end has authorized and audits
   * itself (the gRPC port, in its interceptors). Never rejects.
   */
  serve(call: RoutedCall): Promise<Answer> {
    const op = this.operations.get(call.path);
    if (op === undefined) return Promise.resolve(this.router.failed(call.path, new ApiError(Code.UNIMPLEMENTED, 'UNIMPLEMENTED', `${call.path} is not a unary operation of the API`)));
    return this.router.route(op, call);
  }
}
