// keyraft.v1.Cluster's principals, tokens and role assignments. Principals
// and assignments are replicated writes like any other (a failed-over
// secondary refuses them with READ_ONLY_FAILOVER); lists and tokens are
// served from the applied state, a failed-over secondary's included, so
// that applications can still get tokens while the primary is down.
// Who may call these is decided before (src/auth/permissions.ts).

import type * as grpc from '@grpc/grpc-js';
import { issueToken } from '../auth/tokens.js';
import { validateRoleAssignment } from '../auth/roles.js';
import { randomHexId } from '../crypto/random.js';
import { ErrorKind, ROLE_ASSIGNMENT_ID_BYTES, VaultError, notFound, quote, validatePrincipalName, validateRequestId, validateRoleAssignmentId } from '../vault/index.js';
import { apiService } from './api.js';
import { type CommandRunner, FAILOVER_READ, type ServiceDeps, expectResult } from './services.js';
import type { VaultApp } from '../app/vault-app.js';

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

export function principalHandlers(deps: ServiceDeps, runner: CommandRunner): grpc.UntypedServiceImplementation {
  const { ctx, router } = deps;
  const methods = apiService('Cluster');
  const state = () => deps.app.state;
  const read = async (timeoutMs: number) => ctx.replica.linearizableRead(timeoutMs);
  const principalWrite = (op: 'deletePrincipal' | 'resetPrincipal') =>
    router.write(methods[op === 'deletePrincipal' ? 'DeletePrincipal' : 'ResetPrincipal']!, async (req: PrincipalRef, timeoutMs, receipt) => {
      const name = validatePrincipalName(req.name);
      const command = op === 'deletePrincipal' ? { op, deletePrincipal: { name } } : { op, resetPrincipal: { name } };
      const result = await runner.run(validateRequestId(req.requestId), command, timeoutMs, receipt);
      return expectResult(result, 'principal').principal;
    });

  return {
    createPrincipal: router.write(methods.CreatePrincipal!, async (req: PrincipalRef, timeoutMs, receipt) => {
      const name = validatePrincipalName(req.name);
      const result = await runner.run(validateRequestId(req.requestId), { op: 'createPrincipal', createPrincipal: { name } }, timeoutMs, receipt);
      return expectResult(result, 'principal').principal;
    }),
    deletePrincipal: principalWrite('deletePrincipal'),
    resetPrincipal: principalWrite('resetPrincipal'),
    listPrincipals: router.read(methods.ListPrincipals!, async (_req: unknown, timeoutMs) => {
      await read(timeoutMs);
      return { principals: state().listPrincipals() };
    }, FAILOVER_READ),
    createToken: router.read(methods.CreateToken!, async (req: { principal: string; ttlMs: number }, timeoutMs) => {
      const name = validatePrincipalName(req.principal);
      await read(timeoutMs);
      return principalToken(deps.app, name, req.ttlMs, deps.issuer);
    }, FAILOVER_READ),
    createRoleAssignment: router.write(
      methods.CreateRoleAssignment!,
      async (req: { principal: string; role: string; scope: string; requestId?: string }, timeoutMs, receipt) => {
        const principal = validatePrincipalName(req.principal);
        const { role, scope } = validateRoleAssignment(req);
        const id = randomHexId(ROLE_ASSIGNMENT_ID_BYTES);
        const command = { op: 'createRoleAssignment' as const, createRoleAssignment: { id, principal, role, scope } };
        const result = await runner.run(validateRequestId(req.requestId), command, timeoutMs, receipt);
        return expectResult(result, 'roleAssignment').roleAssignment;
      },
    ),
    deleteRoleAssignment: router.write(methods.DeleteRoleAssignment!, async (req: { id: string; requestId?: string }, timeoutMs, receipt) => {
      const id = validateRoleAssignmentId(req.id);
      const result = await runner.run(validateRequestId(req.requestId), { op: 'deleteRoleAssignment', deleteRoleAssignment: { id } }, timeoutMs, receipt);
      return expectResult(result, 'roleAssignment').roleAssignment;
    }),
    listRoleAssignments: router.read(methods.ListRoleAssignments!, async (req: { principal?: string }, timeoutMs) => {
      const principal = req.principal ? validatePrincipalName(req.principal) : undefined;
      await read(timeoutMs);
      return { roleAssignments: state().roleAssignments(principal) };
    }, FAILOVER_READ),
  };
}
