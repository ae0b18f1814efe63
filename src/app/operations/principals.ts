// keyraft.v1.Cluster's principals, tokens and role assignments. Principals
// and assignments are replicated writes like any other (a failed-over
// secondary refuses them with READ_ONLY_FAILOVER); lists and tokens are
// served from the applied state, a failed-over secondary's included, so
// that applications can still get tokens while the primary is down.
// Who may call these is decided before (src/auth/permissions.ts).

import { issueToken } from '../../auth/tokens.js';
import { validateRoleAssignment } from '../../auth/roles.js';
import { randomHexId } from '../../crypto/random.js';
import { ErrorKind, ROLE_ASSIGNMENT_ID_BYTES, VaultError, notFound, quote, validatePrincipalName, validateRequestId, validateRoleAssignmentId } from '../../vault/index.js';
import { type CommandRunner, expectResult } from '../command-runner.js';
import type { AppDeps } from '../deps.js';
import { FAILOVER_READ, type OperationTable, read, write } from '../operation.js';
import type { VaultApp } from '../vault-app.js';

/** A token for the named principal, signed with the newest token key; what CreateToken and Admin.IssueToken answer. */
export async function principalToken(
  app: VaultApp,
  name: string,
  ttlMs: number,
  issuer: string,
): Promise<{ token: string; principal: string; expiresAtMs: number; tokenId: string }> {
  // The key first: bootstrap installs it after the admin principal, so
  // "no such principal" is never said of one that is about to exist.
  const key = app.directory.tokenKeys()[0];
  if (key === undefined) throw new VaultError(ErrorKind.Unavailable, 'TOKEN_KEY_MISSING', 'the cluster has no token key yet; the primary leader makes one');
  const principal = app.state.principal(name);
  if (principal === undefined) throw notFound('PRINCIPAL_NOT_FOUND', `principal ${quote(name)} does not exist`);
  const t = await issueToken({ principal: principal.name, generation: principal.generation, ttlMs, nowMs: Date.now(), key, issuer });
  return { token: t.token, principal: principal.name, expiresAtMs: t.expiresAtMs, tokenId: t.tokenId };
}

interface PrincipalRef {
  name: string;
  requestId?: string;
}

export function principalOperations(deps: AppDeps, runner: CommandRunner): OperationTable {
  const { ctx } = deps;
  const state = () => deps.app.state;
  const linearize = async (timeoutMs: number) => ctx.replica.linearizableRead(timeoutMs);
  const principalWrite = (op: 'deletePrincipal' | 'resetPrincipal') =>
    write(async (req: PrincipalRef, timeoutMs, receipt) => {
      const name = validatePrincipalName(req.name);
      const command = op === 'deletePrincipal' ? { op, deletePrincipal: { name } } : { op, resetPrincipal: { name } };
      const result = await runner.run(validateRequestId(req.requestId), command, timeoutMs, receipt);
      return expectResult(result, 'principal').principal;
    });

  return {
    CreatePrincipal: write(async (req: PrincipalRef, timeoutMs, receipt) => {
      const name = validatePrincipalName(req.name);
      const result = await runner.run(validateRequestId(req.requestId), { op: 'createPrincipal', createPrincipal: { name } }, timeoutMs, receipt);
      return expectResult(result, 'principal').principal;
    }),
    DeletePrincipal: principalWrite('deletePrincipal'),
    ResetPrincipal: principalWrite('resetPrincipal'),
    ListPrincipals: read(async (_req: unknown, timeoutMs) => {
      await linearize(timeoutMs);
      return { principals: state().listPrincipals() };
    }, FAILOVER_READ),
    CreateToken: read(async (req: { principal: string; ttlMs: number }, timeoutMs) => {
      const name = validatePrincipalName(req.principal);
      await linearize(timeoutMs);
      return principalToken(deps.app, name, req.ttlMs, deps.issuer);
    }, FAILOVER_READ),
    CreateRoleAssignment: write(async (req: { principal: string; role: string; scope: string; requestId?: string }, timeoutMs, receipt) => {
      const principal = validatePrincipalName(req.principal);
      const { role, scope } = validateRoleAssignment(req);
      const id = randomHexId(ROLE_ASSIGNMENT_ID_BYTES);
      const command = { op: 'createRoleAssignment' as const, createRoleAssignment: { id, principal, role, scope } };
      const result = await runner.run(validateRequestId(req.requestId), command, timeoutMs, receipt);
      return expectResult(result, 'roleAssignment').roleAssignment;
    }),
    DeleteRoleAssignment: write(async (req: { id: string; requestId?: string }, timeoutMs, receipt) => {
      const id = validateRoleAssignmentId(req.id);
      const result = await runner.run(validateRequestId(req.requestId), { op: 'deleteRoleAssignment', deleteRoleAssignment: { id } }, timeoutMs, receipt);
      return expectResult(result, 'roleAssignment').roleAssignment;
    }),
    ListRoleAssignments: read(async (req: { principal?: string }, timeoutMs) => {
      const principal = req.principal ? validatePrincipalName(req.principal) : undefined;
      await linearize(timeoutMs);
      return { roleAssignments: state().roleAssignments(principal) };
    }, FAILOVER_READ),
  };
}
