// A new cluster's first authorization state, made by the primary region's
// leader: a data key, an `admin` principal holding Cluster Administrator and
// Key Vault Administrator at "/", and the token key. Until the token key
// exists no token can be checked, so no one can call the client port: the
// operator gets the first token from Admin.IssueToken (its certificate is
// the root of trust), and the administrator makes every other principal.
//
// The token key is installed last, and bootstrap runs while there is none:
// a leader that dies half-way leaves a state that the next leader completes
// (what exists already is taken as done), and nothing can have changed it
// in between, since nobody could authenticate.

import { generateTokenKey, tokenKeyId, tokenKeySeed } from '../auth/tokens.js';
import type { Envelope } from '../crypto/envelope.js';
import { randomHexId } from '../crypto/random.js';
import { ROLE_ASSIGNMENT_ID_BYTES, VaultError, tokenKeySealContext } from '../vault/index.js';
import type { CommandRunner } from './command-runner.js';
import type { VaultApp } from './vault-app.js';

export const ADMIN_PRINCIPAL = 'admin';
export const ADMIN_ROLES = ['Cluster Administrator', 'Key Vault Administrator'] as const;

/** Whether the state still needs bootstrapping: it has no token key. */
export const needsBootstrap = (app: VaultApp): boolean => app.directory.tokenKeys().length === 0;

/** Runs `write`; a result that says it exists already counts as done. */
async function once(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (e) {
    if (!(e instanceof VaultError && e.reason.endsWith('_ALREADY_EXISTS'))) throw e;
  }
}

/** Makes the first authorization state; to be called on the primary's leader while needsBootstrap. */
export async function bootstrapAuth(runner: CommandRunner, envelope: Envelope, timeoutMs: number): Promise<void> {
  await runner.ensureDataKey(timeoutMs);
  await once(() => runner.run('', { op: 'createPrincipal', createPrincipal: { name: ADMIN_PRINCIPAL } }, timeoutMs, undefined));
  for (const role of ADMIN_ROLES) {
    const assignment = { id: randomHexId(ROLE_ASSIGNMENT_ID_BYTES), principal: ADMIN_PRINCIPAL, role, scope: '/' };
    await once(() => runner.run('', { op: 'createRoleAssignment', createRoleAssignment: assignment }, timeoutMs, undefined));
  }
  const key = generateTokenKey();
  const keyId = await tokenKeyId(key);
  const seed = tokenKeySeed(key);
  const sealedSeed = envelope.seal(seed, tokenKeySealContext(keyId));
  seed.fill(0);
  await runner.run('', { op: 'installTokenKey', installTokenKey: { keyId, sealedSeed } }, timeoutMs, undefined);
}
