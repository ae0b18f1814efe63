// Whether a call may be served at all, in the two steps every front-end
// takes (authorize.ts says why two): from its headers, whether this node
// serves clients yet and who is calling; with its request, whether the
// caller holds a role that allows it on the vault it names. Refusals are
// ApiErrors, which leave like every other error: UNAUTHENTICATED with why
// the token was refused, PERMISSION_DENIED with FORBIDDEN (DESIGN §6),
// UNAVAILABLE with NODE_JOINING.

import { OPEN, type RpcRule, permissionFor } from '../auth/permissions.js';
import { type AuthDirectory, type Caller, type Refusal, VerifiedTokens, authenticate, permit } from './authorize.js';
import { Code } from './codes.js';
import { ApiError } from './errors.js';

export interface GateOptions {
  readonly directory: AuthDirectory;
  /** The cluster's name: the issuer of its tokens. */
  readonly issuer: string;
  readonly nowMs: () => number;
  /**
   * Why this node cannot serve clients yet, if it cannot: a node that joins
   * a region has no state (no token keys either) until its leader's snapshot
   * arrives. Its callers hear UNAVAILABLE NODE_JOINING and try another node.
   */
  readonly notServing?: () => string | undefined;
  /**
   * Resolves once this node has applied what its region had committed when
   * it was called (a ReadIndex). A token signed with a key, or naming a
   * principal, that this node has not applied yet (a follower a little
   * behind, just after the key or the principal was made) is checked again
   * after it: a token that works on one node works on all.
   */
  readonly catchUp?: () => Promise<void>;
}

/** Refusals that a node behind its region could give a good token. */
const STATE_NOT_HERE_YET = new Set(['TOKEN_KEY_UNKNOWN', 'TOKEN_REVOKED']);

/** An authenticated call: the rule of its RPC, and its caller (undefined for an open RPC). */
export interface Admitted {
  readonly rule: RpcRule;
  readonly caller: Caller | undefined;
}

/** An RPC that needs a token and no role: a token good for it is good for any caller. */
const TOKEN_ONLY_PATH = '/keyraft.v1.Cluster/GetStatus';

const refusal = (r: Refusal): ApiError => new ApiError(r.code === 'UNAUTHENTICATED' ? Code.UNAUTHENTICATED : Code.PERMISSION_DENIED, r.reason, r.message);

export class CallGate {
  /** One cache for every front-end of the node: a token verified for one is verified for all. */
  private readonly verified = new VerifiedTokens();
  private catchingUp: Promise<void> | undefined;

  constructor(private readonly opts: GateOptions) {}

  /**
   * Step one, from the headers: who calls `path`, or the refusal. Rejects
   * only on our own failure (not a refusal: the caller hears INTERNAL).
   */
  async authenticate(path: string, authorization: string | undefined): Promise<Admitted | ApiError> {
    const joining = this.opts.notServing?.();
    if (joining !== undefined && permissionFor(path)?.permission !== OPEN) return new ApiError(Code.UNAVAILABLE, 'NODE_JOINING', joining);
    const o = this.opts;
    const check = () => authenticate(path, authorization, o.directory, { nowMs: o.nowMs(), issuer: o.issuer }, this.verified);
    let result = await check();
    if ('code' in result && STATE_NOT_HERE_YET.has(result.reason) && o.catchUp !== undefined) {
      // One catch-up at a time, shared by every call that waits for it: bad tokens cannot multiply ReadIndex rounds.
      this.catchingUp ??= o.catchUp().finally(() => {
        this.catchingUp = undefined;
      });
      const caughtUp = await this.catchingUp.then(
        () => true,
        () => false,
      );
      if (caughtUp) result = await check();
    }
    return 'code' in result ? refusal(result) : result;
  }

  /**
   * Who a bearer token names, checked as for any call that needs one (the
   * managed-identity endpoint's question); throws the refusal.
   */
  async caller(token: string): Promise<Caller> {
    const admitted = await this.authenticate(TOKEN_ONLY_PATH, `Bearer ${token}`);
    if (admitted instanceof ApiError) throw admitted;
    return admitted.caller!;
  }

  /** Step two, with the request: undefined when the caller may make it, else the refusal (FORBIDDEN). */
  permit(admitted: Admitted, request: unknown): ApiError | undefined {
    const r = permit(admitted.rule, admitted.caller, request);
    return r === undefined ? undefined : refusal(r);
  }
}
