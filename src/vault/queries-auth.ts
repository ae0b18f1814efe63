// Reads of the authorization state, for the auth interceptor (on every RPC)
// and the principal and role-assignment RPCs. No copies of records: they are
// frozen and replaced whole on change (store-auth.ts). A name that is not a
// valid principal name finds nothing, without folding its case first (see
// isPrincipalName).

import { lower } from './model.js';
import type { PrincipalInfo, RoleAssignmentInfo, TokenKeyInfo } from './model-auth.js';
import type { Store } from './store.js';
import { NO_ASSIGNMENTS } from './store-auth.js';
import { isPrincipalName } from './validate-auth.js';

export const principal = (store: Store, name: string): PrincipalInfo | undefined =>
  isPrincipalName(name) ? store.auth.principals.get(lower(name)) : undefined;

export function listPrincipals(store: Store): PrincipalInfo[] {
  const auth = store.auth;
  return [...auth.principalNames].map((p) => auth.principals.get(p)!);
}

/** One principal's, or every one's by principal name; each principal's by role, scope, then id. */
export function roleAssignments(store: Store, principalName?: string): readonly RoleAssignmentInfo[] {
  const auth = store.auth;
  if (principalName !== undefined) {
    return isPrincipalName(principalName) ? (auth.assignmentsOf.get(lower(principalName)) ?? NO_ASSIGNMENTS) : NO_ASSIGNMENTS;
  }
  const out: RoleAssignmentInfo[] = [];
  for (const p of auth.principalNames) out.push(...(auth.assignmentsOf.get(p) ?? NO_ASSIGNMENTS));
  return out;
}

/** Newest first; the seeds are copies, still sealed. */
export function tokenKeys(store: Store): TokenKeyInfo[] {
  const out: TokenKeyInfo[] = [];
  for (const [keyId, r] of store.auth.tokenKeys) out.push({ keyId, sealedSeed: new Uint8Array(r.sealedSeed) });
  return out.reverse();
}
