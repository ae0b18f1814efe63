// The authorization part of the store, under the rules of store.ts: every
// write changes memory and emits its record mutation in one step. Each
// principal's assignments are kept as one frozen, sorted array, replaced
// whole on a change (a handful of writes a day), so the interceptor's lookup
// on every RPC is one Map get and no copy.

import { lower } from './model.js';
import { type PrincipalInfo, type RoleAssignmentInfo, type TokenKeyRecord, GENERATION_COUNTER, compareAssignments } from './model-auth.js';
import type { Mutation } from './records.js';
import {
  decodeCounter,
  decodePrincipal,
  decodeRoleAssignment,
  decodeTokenKey,
  encodeCounter,
  encodePrincipal,
  encodeRoleAssignment,
  encodeTokenKey,
} from './records-auth.js';
import { recordKeys } from './records.js';
import { SortedKeys } from './sorted.js';

export const NO_ASSIGNMENTS: readonly RoleAssignmentInfo[] = Object.freeze([]);

export class AuthStore {
  /** By lower-cased name. */
  readonly principals = new Map<string, PrincipalInfo>();
  readonly principalNames = new SortedKeys();
  readonly assignments = new Map<string, RoleAssignmentInfo>();
  /** By lower-cased principal name, in compareAssignments order; a principal with none has no entry. */
  readonly assignmentsOf = new Map<string, readonly RoleAssignmentInfo[]>();
  /** In install order. */
  readonly tokenKeys = new Map<string, TokenKeyRecord>();
  nextTokenKeySeq = 0;
  /** Above every generation any principal, deleted ones included, has held. */
  nextGeneration = 0;

  constructor(private readonly emit: (m: Mutation) => void) {}

  putPrincipal(rec: PrincipalInfo): void {
    const p = lower(rec.name);
    this.principals.set(p, Object.freeze(rec));
    this.principalNames.insert(p);
    this.emit({ op: 'put', key: recordKeys.principal(p), value: encodePrincipal(rec) });
  }

  /** The principal and every assignment it holds. */
  removePrincipal(p: string): void {
    for (const a of this.assignmentsOf.get(p) ?? NO_ASSIGNMENTS) {
      this.assignments.delete(a.id);
      this.emit({ op: 'del', key: recordKeys.roleAssignment(a.id) });
    }
    this.assignmentsOf.delete(p);
    this.principals.delete(p);
    this.principalNames.delete(p);
    this.emit({ op: 'del', key: recordKeys.principal(p) });
  }

  /** The caller has checked that the principal exists and the id is free. */
  putAssignment(rec: RoleAssignmentInfo): void {
    const p = lower(rec.principal);
    const frozen = Object.freeze(rec);
    this.assignments.set(rec.id, frozen);
    this.assignmentsOf.set(p, Object.freeze([...(this.assignmentsOf.get(p) ?? NO_ASSIGNMENTS), frozen].sort(compareAssignments)));
    this.emit({ op: 'put', key: recordKeys.roleAssignment(rec.id), value: encodeRoleAssignment(rec) });
  }

  removeAssignment(id: string): void {
    const rec = this.assignments.get(id)!;
    const p = lower(rec.principal);
    const rest = this.assignmentsOf.get(p)!.filter((a) => a.id !== id);
    if (rest.length === 0) this.assignmentsOf.delete(p);
    else this.assignmentsOf.set(p, Object.freeze(rest));
    this.assignments.delete(id);
    this.emit({ op: 'del', key: recordKeys.roleAssignment(id) });
  }

  putTokenKey(keyId: string, sealedSeed: Uint8Array): void {
    const rec = { sealedSeed, seq: this.nextTokenKeySeq++ };
    this.tokenKeys.set(keyId, rec);
    this.emit({ op: 'put', key: recordKeys.tokenKey(keyId), value: encodeTokenKey(rec) });
  }

  /** The same seed sealed again (background re-seal): its place in install order stays. */
  resealTokenKey(keyId: string, sealedSeed: Uint8Array): void {
    const rec = this.tokenKeys.get(keyId)!;
    rec.sealedSeed = sealedSeed;
    this.emit({ op: 'put', key: recordKeys.tokenKey(keyId), value: encodeTokenKey(rec) });
  }

  setNextGeneration(value: number): void {
    this.nextGeneration = value;
    this.emit({ op: 'put', key: recordKeys.counter(GENERATION_COUNTER), value: encodeCounter(value) });
  }

  *records(): Generator<[string, Uint8Array]> {
    for (const p of this.principalNames) {
      yield [recordKeys.principal(p), encodePrincipal(this.principals.get(p)!)];
      for (const a of this.assignmentsOf.get(p) ?? NO_ASSIGNMENTS) yield [recordKeys.roleAssignment(a.id), encodeRoleAssignment(a)];
    }
    for (const [id, rec] of this.tokenKeys) yield [recordKeys.tokenKey(id), encodeTokenKey(rec)];
    // Written first with a value of at least 1, and never deleted: 0 means never written.
    if (this.nextGeneration > 0) yield [recordKeys.counter(GENERATION_COUNTER), encodeCounter(this.nextGeneration)];
  }
}

/**
 * Collects the authorization records in any order (in LevelDB's, principals
 * come before assignments, but a snapshot may come in any) and builds them
 * into the store at the end, with the checks a state must pass: no
 * assignment of a missing principal, no principal at or above the next
 * generation (which would let a re-created name accept old tokens).
 */
export class AuthLoader {
  private readonly principals: PrincipalInfo[] = [];
  private readonly assignments: RoleAssignmentInfo[] = [];
  private readonly tokenKeys: { keyId: string; rec: TokenKeyRecord }[] = [];
  private nextGeneration = 0;

  principal(value: Uint8Array): void {
    this.principals.push(decodePrincipal(value));
  }

  roleAssignment(value: Uint8Array): void {
    this.assignments.push(decodeRoleAssignment(value));
  }

  tokenKey(keyId: string, value: Uint8Array): void {
    this.tokenKeys.push({ keyId, rec: decodeTokenKey(value) });
  }

  counter(name: string, value: Uint8Array): void {
    if (name !== GENERATION_COUNTER) throw new Error(`vault state: unknown counter ${JSON.stringify(name)}`);
    this.nextGeneration = decodeCounter(value);
  }

  finish(auth: AuthStore): void {
    for (const rec of this.principals) {
      if (!(rec.generation < this.nextGeneration)) {
        throw new Error(`vault state: principal ${rec.name} holds generation ${rec.generation}, not below the next (${this.nextGeneration})`);
      }
      const p = lower(rec.name);
      auth.principals.set(p, rec);
      auth.principalNames.insert(p);
    }
    auth.nextGeneration = this.nextGeneration;
    const byPrincipal = new Map<string, RoleAssignmentInfo[]>();
    for (const rec of this.assignments) {
      const p = lower(rec.principal);
      if (!auth.principals.has(p)) throw new Error(`vault state: role assignment ${rec.id} of a missing principal ${p}`);
      auth.assignments.set(rec.id, rec);
      const list = byPrincipal.get(p);
      if (list) list.push(rec);
      else byPrincipal.set(p, [rec]);
    }
    for (const [p, list] of byPrincipal) auth.assignmentsOf.set(p, Object.freeze(list.sort(compareAssignments)));
    this.tokenKeys.sort((a, b) => a.rec.seq - b.rec.seq);
    for (const { keyId, rec } of this.tokenKeys) {
      auth.tokenKeys.set(keyId, rec);
      auth.nextTokenKeySeq = rec.seq + 1;
    }
    this.principals.length = 0;
    this.assignments.length = 0;
    this.tokenKeys.length = 0;
  }
}
