// A managed-identity token endpoint on the gateway's port, so that
// @azure/identity's ManagedIdentityCredential and DefaultAzureCredential get
// a keyraft token with nothing but environment variables, as Lowkey Vault
// offers. Read from @azure/identity 4.14.1, which hands managed identity to
// @azure/msal-node 7.2.3 (ManagedIdentitySources/AppService.mjs,
// BaseManagedIdentitySource.mjs):
//
// - With IDENTITY_ENDPOINT and IDENTITY_HEADER set (and no
//   IDENTITY_SERVER_THUMBPRINT, which would make it Service Fabric), it takes
//   the App Service form: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01
//   &resource={scope less "/.default"} with header X-IDENTITY-HEADER:
//   {IDENTITY_HEADER}. A user-assigned identity adds client_id, mi_res_id
//   or object_id.
// - It reads access_token, expires_on (Unix seconds, a number or a string of
//   one; App Service writes a string), resource and token_type; an answer
//   with `error` or `message` is a failure, whose `message` it shows. Only
//   404 and 410 are retried.
// - The source and its variables are read once per process (static in
//   ManagedIdentityClient).
//
// Security: anyone who reaches the port may ask. So the endpoint hands out
// nothing the caller does not already hold: IDENTITY_HEADER is itself a
// keyraft token (`keyraft token create`), checked as the application layer
// checks a bearer token, and answered as access_token with its own expiry.
// The environment variables are the whole configuration:
//   IDENTITY_ENDPOINT=https://127.0.0.1:7401/metadata/identity/oauth2/token
//   IDENTITY_HEADER=<a keyraft token>
// The token leaves only for the vault resource (https://kv.localhost and its
// hosts): a credential asked for another service's scope is refused, not
// given a keyraft token to send elsewhere. Client, resource and object ids
// of user-assigned identities are ignored: the token names its principal.
// The IMDS form (no secret header, "Metadata: true"; @azure/identity's last
// resort, on 169.254.169.254 or AZURE_POD_IDENTITY_AUTHORITY_HOST) carries
// nothing to check, so it is refused with a message that says what to set:
// answering it would give a token to anyone who can connect.

import type { IncomingHttpHeaders } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { VAULT_DOMAIN } from './challenge.js';
import type { KeyraftFailure } from './errors.js';

/** The path IMDS and App Service endpoints share. */
export const IDENTITY_PATH = '/metadata/identity/oauth2/token';
/** The App Service version msal-node sends; later dated versions are accepted too. */
export const IDENTITY_API_VERSION = '2019-08-01';

/**
 * Checks a keyraft token as the application layer would for a call (its
 * signature, expiry and principal); rejects when it is not good, with an
 * error `failureOf` classifies (UNAUTHENTICATED for a bad token).
 */
export type VerifyToken = (token: string) => Promise<{ expiresAtMs: number }>;

/** What the endpoint answers: the status and the JSON body. */
export interface IdentityAnswer {
  status: number;
  body: Record<string, string | number>;
  headers: Record<string, string>;
}

/** App Service's error body, with an OAuth error code: msal-node shows `message` and fails on `error`. */
function refused(status: number, error: string, message: string, headers: Record<string, string> = {}): IdentityAnswer {
  return { status, body: { statusCode: status, error, message }, headers };
}

const badRequest = (message: string) => refused(400, 'invalid_request', message);

const DATED_VERSION = /^\d{4}-\d{2}-\d{2}$/;

/** Whether `resource` is keyraft's: https://kv.localhost or a vault under it, with or without "/" or "/.default". */
function isVaultResource(resource: string): boolean {
  let url: URL;
  try {
    url = new URL(resource.replace(/\/(\.default)?$/, ''));
  } catch {
    return false;
  }
  const host = url.hostname;
  return url.protocol === 'https:' && url.pathname === '/' && url.search === '' && (host === VAULT_DOMAIN || host.endsWith(`.${VAULT_DOMAIN}`));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The answer to a request for IDENTITY_PATH. */
export async function identityAnswer(
  method: string,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  verify: VerifyToken,
  failureOf: (e: unknown) => KeyraftFailure,
): Promise<IdentityAnswer> {
  if (method !== 'GET') return refused(405, 'invalid_request', 'The token endpoint takes GET.', { allow: 'GET' });
  const token = header(headers, 'x-identity-header');
  if (token === undefined || token === '') {
    if (header(headers, 'metadata') === 'true') {
      return badRequest(
        'keyraft answers the App Service form of managed identity only: set IDENTITY_ENDPOINT to this URL and IDENTITY_HEADER to a keyraft token (keyraft token create). The IMDS form carries no secret, and keyraft gives no token to whoever can connect.',
      );
    }
    return badRequest('The X-IDENTITY-HEADER header is required: set IDENTITY_HEADER to a keyraft token (keyraft token create).');
  }
  const version = query.get('api-version');
  if (version === null || !DATED_VERSION.test(version) || version < IDENTITY_API_VERSION) {
    return badRequest(`api-version must be ${IDENTITY_API_VERSION} or later.`);
  }
  const resource = query.get('resource');
  if (resource === null || resource === '') return badRequest('The resource query parameter is required.');
  if (!isVaultResource(resource)) {
    // Cut short: the text is the client's.
    return badRequest(`keyraft's tokens are for its vaults (resource https://${VAULT_DOMAIN}), not for ${JSON.stringify(resource.slice(0, 128))}.`);
  }
  let expiresAtMs: number;
  try {
    ({ expiresAtMs } = await verify(token));
  } catch (e) {
    const failure = failureOf(e);
    if (failure.code === grpc.status.UNAUTHENTICATED) return refused(401, 'invalid_token', `IDENTITY_HEADER is not a valid keyraft token: ${failure.message}`);
    if (failure.code === grpc.status.UNAVAILABLE) return refused(503, 'temporarily_unavailable', failure.message);
    return refused(500, 'server_error', 'internal error');
  }
  return {
    status: 200,
    body: { access_token: token, expires_on: String(Math.floor(expiresAtMs / 1000)), resource, token_type: 'Bearer' },
    headers: {},
  };
}
