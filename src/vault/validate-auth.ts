// Static checks of principals, role assignments and token keys: the server
// calls these before proposing, apply calls them again on every command.
// Roles and scopes are checked by src/auth/roles.ts, which owns them.

import { invalid, quote } from './errors.js';

export const PRINCIPAL_NAME_MAX = 64;
/**
 * ASCII only: names are folded with toLowerCase for uniqueness, which maps
 * some non-ASCII letters onto ASCII ones (the Kelvin sign onto "k"), so a
 * wider alphabet would let one name pass for another.
 */
const PRINCIPAL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._@-]*$/;
const ROLE_ASSIGNMENT_ID = /^[0-9a-f]{32}$/;
/** A JWK thumbprint is 43 base64url characters; room for another id scheme later. */
const TOKEN_KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** Bytes a role assignment id is made of (randomHexId(ROLE_ASSIGNMENT_ID_BYTES)). */
export const ROLE_ASSIGNMENT_ID_BYTES = 16;

export const isPrincipalName = (name: unknown): name is string =>
  typeof name === 'string' && name.length <= PRINCIPAL_NAME_MAX && PRINCIPAL_NAME.test(name);

export function validatePrincipalName(name: unknown): string {
  if (!isPrincipalName(name)) {
    throw invalid(
      'INVALID_NAME',
      `principal name ${quote(name)} must be 1-${PRINCIPAL_NAME_MAX} characters of letters, digits and . _ @ -, starting with a letter or digit`,
    );
  }
  return name;
}

/** An id as the leader makes them: 32 lowercase hex characters. */
export function validateRoleAssignmentId(id: unknown): string {
  if (typeof id !== 'string' || !ROLE_ASSIGNMENT_ID.test(id)) {
    throw invalid('BAD_PARAMETER', `role assignment id ${quote(id)} must be 32 lowercase hexadecimal characters`);
  }
  return id;
}

export function validateTokenKeyId(keyId: unknown): string {
  if (typeof keyId !== 'string' || !TOKEN_KEY_ID.test(keyId)) {
    throw invalid('BAD_PARAMETER', `token key id ${quote(keyId)} must be 1-128 base64url characters`);
  }
  return keyId;
}
