// The authorization command handlers, under the rules of apply.ts: every
// check before the first write, nothing but the command and the state as
// input. The token key arrives made and sealed on the leader; apply only
// records it. Roles and scopes are checked by src/auth/roles.ts, the one
// place that knows them.

import { validateRoleAssignment } from '../auth/roles.js';
import { type Body, type Handler, optional } from './apply-common.js';
import type { CreatePrincipal, CreateRoleAssignment, DeleteRoleAssignment, InstallTokenKey, PrincipalRefCommand } from './commands.js';
import { alreadyExists, invalid, notFound, precondition, quote } from './errors.js';
import { keptBytes, lower } from './model.js';
import type { PrincipalInfo, RoleAssignmentInfo } from './model-auth.js';
import { type AuthStore, NO_ASSIGNMENTS } from './store-auth.js';
import { validatePrincipalName, validateRoleAssignmentId, validateTokenKeyId } from './validate-auth.js';

/** Bounds the state, and each principal's listing and snapshot share. */
export const MAX_PRINCIPALS = 10_000;
/** Azure allows 4,000 per subscription; the interceptor scans a principal's on every RPC. */
export const MAX_ROLE_ASSIGNMENTS = 20_000;
export const MAX_ROLE_ASSIGNMENTS_PER_PRINCIPAL = 256;
/** Every key is tried for the key id a token names: a short list, retired keys removed by rotation. */
export const MAX_TOKEN_KEYS = 16;
/** A seed sealed by the envelope is 69 bytes; room for another sealing format. */
export const MAX_SEALED_TOKEN_SEED_BYTES = 256;
const TOKEN_SEED_BYTES = 32;
/** The next generation grows by at most one per command from here, far below 2^53. */
export const MAX_START_GENERATION = 2 ** 32;

const principalView = (p: PrincipalInfo): PrincipalInfo => ({ name: p.name, generation: p.generation, createdMs: p.createdMs });
const assignmentView = (a: RoleAssignmentInfo): RoleAssignmentInfo => ({ ...a });

function principalOf(auth: AuthStore, name: unknown): PrincipalInfo {
  const p = auth.principals.get(lower(validatePrincipalName(name)));
  if (!p) throw notFound('PRINCIPAL_NOT_FOUND', `principal ${quote(name)} does not exist`);
  return p;
}

function startGeneration(g: unknown): number {
  if (!Number.isSafeInteger(g) || (g as number) < 0 || (g as number) > MAX_START_GENERATION) {
    throw invalid('BAD_PARAMETER', `generation must be an integer from 0 to ${MAX_START_GENERATION}, got ${quote(g)}`);
  }
  return g as number;
}

/**
 * The id is the public key's thumbprint, so an id already installed is the
 * same key: it stays as first installed (its sealing is random, so the bytes
 * of a second proposal differ) and in its place in the install order.
 */
const installTokenKey: Handler = (store, body) => {
  const b = body as Partial<InstallTokenKey>;
  const keyId = validateTokenKeyId(b.keyId);
  const sealed = b.sealedSeed;
  // Sealing adds to the seed: a value no longer than the seed cannot be one sealed, and may be one in the clear.
  if (!(sealed instanceof Uint8Array) || sealed.byteLength <= TOKEN_SEED_BYTES || sealed.byteLength > MAX_SEALED_TOKEN_SEED_BYTES) {
    throw invalid('BAD_PARAMETER', `a sealed token key seed is ${TOKEN_SEED_BYTES + 1}-${MAX_SEALED_TOKEN_SEED_BYTES} bytes`);
  }
  const auth = store.auth;
  if (auth.tokenKeys.has(keyId)) return { kind: 'none' };
  if (auth.tokenKeys.size >= MAX_TOKEN_KEYS) {
    throw precondition('TOO_MANY_TOKEN_KEYS', `the cluster already has ${MAX_TOKEN_KEYS} token keys; retire one first`);
  }
  auth.putTokenKey(keyId, keptBytes(sealed));
  return { kind: 'none' };
};

/**
 * A new principal starts at the next generation no principal has held: a
 * name deleted and created again must not accept the tokens of the
 * principal it replaces, which carry one of that principal's generations.
 */
const createPrincipal: Handler = (store, body, timeMs) => {
  const b = body as Partial<CreatePrincipal>;
  const name = validatePrincipalName(b.name);
  const least = optional(b.generation, startGeneration) ?? 0;
  const auth = store.auth;
  const existing = auth.principals.get(lower(name));
  if (existing) throw alreadyExists('PRINCIPAL_ALREADY_EXISTS', `principal ${quote(existing.name)} already exists`);
  if (auth.principals.size >= MAX_PRINCIPALS) {
    throw precondition('TOO_MANY_PRINCIPALS', `the cluster already has ${MAX_PRINCIPALS} principals; delete some first`);
  }
  const rec: PrincipalInfo = { name, generation: Math.max(least, auth.nextGeneration), createdMs: timeMs };
  auth.putPrincipal(rec);
  auth.setNextGeneration(rec.generation + 1);
  return { kind: 'principal', principal: principalView(rec) };
};

/** Answers the principal as it was. */
const deletePrincipal: Handler = (store, body) => {
  const p = principalOf(store.auth, (body as Partial<PrincipalRefCommand>).name);
  store.auth.removePrincipal(lower(p.name));
  return { kind: 'principal', principal: principalView(p) };
};

const resetPrincipal: Handler = (store, body) => {
  const auth = store.auth;
  const p = principalOf(auth, (body as Partial<PrincipalRefCommand>).name);
  const rec: PrincipalInfo = { ...p, generation: p.generation + 1 };
  auth.putPrincipal(rec);
  if (rec.generation >= auth.nextGeneration) auth.setNextGeneration(rec.generation + 1);
  return { kind: 'principal', principal: principalView(rec) };
};

const createRoleAssignment: Handler = (store, body, timeMs) => {
  const b = body as Partial<CreateRoleAssignment>;
  const id = validateRoleAssignmentId(b.id);
  const { role, scope } = validateRoleAssignment({ role: b.role, scope: b.scope });
  const auth = store.auth;
  const p = principalOf(auth, b.principal);
  if (auth.assignments.has(id)) throw alreadyExists('ROLE_ASSIGNMENT_ALREADY_EXISTS', `role assignment ${id} already exists`);
  const held = auth.assignmentsOf.get(lower(p.name)) ?? NO_ASSIGNMENTS;
  const same = held.find((a) => a.role === role && a.scope === scope);
  if (same) {
    throw alreadyExists(
      'ROLE_ASSIGNMENT_ALREADY_EXISTS',
      `principal ${quote(p.name)} already holds role ${quote(role)} at scope ${quote(scope)} (assignment ${same.id})`,
    );
  }
  if (held.length >= MAX_ROLE_ASSIGNMENTS_PER_PRINCIPAL) {
    throw precondition(
      'TOO_MANY_ROLE_ASSIGNMENTS',
      `principal ${quote(p.name)} already holds ${MAX_ROLE_ASSIGNMENTS_PER_PRINCIPAL} role assignments; delete some first`,
    );
  }
  if (auth.assignments.size >= MAX_ROLE_ASSIGNMENTS) {
    throw precondition('TOO_MANY_ROLE_ASSIGNMENTS', `the cluster already has ${MAX_ROLE_ASSIGNMENTS} role assignments; delete some first`);
  }
  const rec: RoleAssignmentInfo = { id, principal: p.name, role, scope, createdMs: timeMs };
  auth.putAssignment(rec);
  return { kind: 'roleAssignment', roleAssignment: assignmentView(rec) };
};

/** Answers the assignment as it was. */
const deleteRoleAssignment: Handler = (store, body) => {
  const id = validateRoleAssignmentId((body as Partial<DeleteRoleAssignment>).id);
  const rec = store.auth.assignments.get(id);
  if (!rec) throw notFound('ROLE_ASSIGNMENT_NOT_FOUND', `role assignment ${id} does not exist`);
  store.auth.removeAssignment(id);
  return { kind: 'roleAssignment', roleAssignment: assignmentView(rec) };
};

export const authHandlers: Record<string, Handler> = {
  installTokenKey,
  createPrincipal,
  deletePrincipal,
  resetPrincipal,
  createRoleAssignment,
  deleteRoleAssignment,
};

/**
 * What a request id is bound to, for the auth operations (undefined for
 * others). A role assignment's id is not part of it: the leader draws a new
 * one for each attempt, and a client's retry must still be seen as one.
 */
export function authFingerprint(op: string, body: Body): string | undefined {
  const s = (x: unknown) => (typeof x === 'string' ? x.toLowerCase() : '');
  switch (op) {
    case 'installTokenKey':
      return `${op}:${typeof body.keyId === 'string' ? body.keyId : ''}`;
    case 'createPrincipal':
    case 'deletePrincipal':
    case 'resetPrincipal':
      return `${op}:${s(body.name)}`;
    case 'createRoleAssignment':
      return `${op}:${s(body.principal)}/${s(body.role)}/${s(body.scope)}`;
    case 'deleteRoleAssignment':
      return `${op}:${s(body.id)}`;
    default:
      return undefined;
  }
}
