// The decision every front-end asks before any work: who is calling (the
// bearer token, checked against the replicated principals and token keys),
// and whether the permission table lets that principal call this RPC on
// this vault. Two steps, because a gRPC interceptor sees the metadata (the
// token) before the message (the vault): authenticate, then permit. Pure:
// the clock, the issuer and the replicated state come in as arguments.

import { AUTHENTICATED, OPEN, type RoleAssignment, type RpcRule, type TokenKey, TokenError, type VerifiedToken, allows, permissionFor, verifyToken } from '../auth/index.js';

/** What authorization reads of the replicated state. */
export interface AuthDirectory {
  principal(name: string): { readonly name: string; readonly generation: number } | undefined;
  roleAssignments(principal: string): readonly RoleAssignment[];
  /** The opened token keys, newest first: a new array whenever they change (VerifiedTokens relies on it). */
  tokenKeys(): readonly TokenKey[];
}

/**
 * Tokens whose signature and claims were checked, so that a client's every
 * call does not pay for an Ed25519 verification again: 100-250 µs on this
 * machine, a large share of a cheap call. An entry lasts until its token
 * expires, and all go when the token keys change. Only the signature is
 * remembered: the principal and its generation are looked up on every call.
 */
export class VerifiedTokens {
  private keys: readonly TokenKey[] | undefined;
  private readonly entries = new Map<string, VerifiedToken>();

  /** Tokens are at most 4 KB: a few MB at worst. */
  constructor(private readonly max = 1024) {}

  get(token: string, keys: readonly TokenKey[], nowMs: number): VerifiedToken | undefined {
    if (keys !== this.keys) return undefined;
    const v = this.entries.get(token);
    if (v !== undefined && nowMs >= v.expiresAtMs) this.entries.delete(token);
    return v !== undefined && nowMs < v.expiresAtMs ? v : undefined;
  }

  set(token: string, keys: readonly TokenKey[], verified: VerifiedToken): void {
    if (keys !== this.keys) {
      this.entries.clear();
      this.keys = keys;
    }
    // The oldest entry makes room: a Map iterates in insertion order.
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, verified);
  }
}

export interface Caller {
  readonly principal: string;
  readonly assignments: readonly RoleAssignment[];
  /** The token's id, for the audit log. */
  readonly tokenId: string;
  /** When the token expires (the managed-identity endpoint tells the SDK). */
  readonly expiresAtMs: number;
}

export interface Refusal {
  readonly code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED';
  /** The machine-readable reason (DESIGN §4): FORBIDDEN, or why the token was refused. */
  readonly reason: string;
  readonly message: string;
}

const unauthenticated = (reason: string, message: string): Refusal => ({ code: 'UNAUTHENTICATED', reason, message });
const forbidden = (message: string): Refusal => ({ code: 'PERMISSION_DENIED', reason: 'FORBIDDEN', message });

/** The token of an `authorization: Bearer <token>` header; undefined when there is none of that form. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? '');
  return match?.[1];
}

/**
 * The rule for `path`, and who calls it: a Refusal when the path is
 * unknown, or the rule needs a token and the one given (if any) does not
 * name a principal that exists at the generation it was issued for. Open
 * paths need no token and have no caller.
 */
export async function authenticate(
  path: string,
  authorization: string | undefined,
  directory: AuthDirectory,
  clock: { nowMs: number; issuer: string },
  verified?: VerifiedTokens,
): Promise<{ rule: RpcRule; caller: Caller | undefined } | Refusal> {
  const rule = permissionFor(path);
  if (rule === undefined) return forbidden(`${path} is not a method of this API`);
  if (rule.permission === OPEN) return { rule, caller: undefined };
  const token = bearerToken(authorization);
  if (token === undefined) return unauthenticated('TOKEN_MISSING', 'this call needs an `authorization: Bearer <token>` header');
  try {
    const keys = directory.tokenKeys();
    let claims = verified?.get(token, keys, clock.nowMs);
    if (claims === undefined) {
      claims = await verifyToken(token, { keys, nowMs: clock.nowMs, issuer: clock.issuer });
      verified?.set(token, keys, claims);
    }
    const principal = directory.principal(claims.principal);
    if (principal === undefined) return unauthenticated('TOKEN_REVOKED', `principal ${claims.principal} does not exist`);
    if (principal.generation !== claims.generation) return unauthenticated('TOKEN_REVOKED', `principal ${principal.name} was reset after this token was issued`);
    return { rule, caller: { principal: principal.name, assignments: directory.roleAssignments(principal.name), tokenId: claims.tokenId, expiresAtMs: claims.expiresAtMs } };
  } catch (e) {
    if (e instanceof TokenError) return unauthenticated(e.reason, e.message);
    throw e;
  }
}

/** Whether `caller` may make this call with this request; a Refusal (FORBIDDEN) when not. */
export function permit(rule: RpcRule, caller: Caller | undefined, request: unknown): Refusal | undefined {
  if (rule.permission === OPEN || rule.permission === AUTHENTICATED) return undefined;
  if (caller === undefined) return unauthenticated('TOKEN_MISSING', 'this call needs a token');
  const vault = rule.vaultOf(request);
  if (allows(caller.assignments, rule.permission, vault)) return undefined;
  const where = vault === undefined ? 'on the cluster' : `on vault ${vault}`;
  return forbidden(`principal ${caller.principal} has no role that grants ${rule.permission} ${where}`);
}
