// The shapes of the replicated authorization state: principals, their role
// assignments, and the token-signing keys. Records are frozen and replaced
// whole, never changed in place, so queries hand them out without a copy:
// the auth interceptor reads a principal and its assignments on every RPC.

/** The cluster counter that makes every new principal's generation one never held before. */
export const GENERATION_COUNTER = 'principal-generation';

export interface PrincipalInfo {
  /** As first created; lookups go by the lower-cased name. */
  readonly name: string;
  /** Tokens carry it; a reset bumps it, which voids the tokens issued before. */
  readonly generation: number;
  readonly createdMs: number;
}

export interface RoleAssignmentInfo {
  readonly id: string;
  /** The principal's name as it was created. */
  readonly principal: string;
  /** The exact built-in role name. */
  readonly role: string;
  /** "/" or "/vaults/<lower-cased vault name>". */
  readonly scope: string;
  readonly createdMs: number;
}

export interface TokenKeyInfo {
  keyId: string;
  sealedSeed: Uint8Array;
}

export interface TokenKeyRecord {
  sealedSeed: Uint8Array;
  /** Install order; the highest is the newest, the one to sign with. */
  seq: number;
}

/**
 * The seal context of a token key's seed: the AAD binds the sealed seed to
 * its id, so a log entry cannot pair one key's seed with another's id.
 */
export const tokenKeySealContext = (keyId: string): string => `tokenkey/${keyId}`;

/** The order of a principal's assignments, so that states loaded in any record order list them alike. */
export function compareAssignments(a: RoleAssignmentInfo, b: RoleAssignmentInfo): number {
  if (a.role !== b.role) return a.role < b.role ? -1 : 1;
  if (a.scope !== b.scope) return a.scope < b.scope ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
