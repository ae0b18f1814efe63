// The 401 challenge that starts the Azure SDKs' authentication. Read from
// @azure/keyvault-common (keyVaultAuthenticationPolicy.js,
// parseWWWAuthenticate.js):
//
// - The SDK sends its first request with no token and no body, and handles
//   only a 401 carrying WWW-Authenticate.
// - The header is split into pairs on /,? +/ and a pair is kept only if it
//   matches /\w="/ and its name is one of authorization, authorization_url,
//   resource, scope, tenantId, claims, error; the value is what lies between
//   the quotes. So a value must hold no space, and the quotes are required.
// - The token's scope is `resource + "/.default"` (or `scope` without a
//   resource).
// - Unless the client sets disableChallengeResourceVerification, the request
//   URL's hostname must end with "." + the resource's hostname, or the SDK
//   throws. With resource https://kv.localhost, https://myvault.kv.localhost
//   passes; a bare localhost or 127.0.0.1 cannot pass with any resource.
// - `authorization` must parse as a URL; a non-empty path is taken as the
//   tenant id and handed to the credential, which a credential bound to
//   another tenant refuses. An authorization URL without a path gives none.

import type { AzureError } from './errors.js';

/** The hostname every vault lives under: https://{vault}.kv.localhost. */
export const VAULT_DOMAIN = 'kv.localhost';
/** The challenge's resource; the SDK asks its credential for `${KV_RESOURCE}/.default`. */
export const KV_RESOURCE = `https://${VAULT_DOMAIN}`;

/** Characters the SDK's parser would split a value on or cut it at. */
const UNSAFE_IN_VALUE = /[\s",]/;

/** The WWW-Authenticate value; `authorization` is the URL of the token issuer. */
export function wwwAuthenticate(authorization: string, resource: string = KV_RESOURCE): string {
  for (const value of [authorization, resource]) {
    if (UNSAFE_IN_VALUE.test(value) || !URL.canParse(value)) {
      throw new Error(`not a URL the SDK's challenge parser reads back whole: ${JSON.stringify(value)}`);
    }
  }
  return `Bearer authorization="${authorization}", resource="${resource}"`;
}

/** The whole answer to a request without a token: Azure's 401 body and the challenge. */
export function challengeResponse(authorization: string, resource: string = KV_RESOURCE): AzureError {
  return {
    status: 401,
    body: { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
    headers: { 'www-authenticate': wwwAuthenticate(authorization, resource) },
  };
}

/**
 * Whether the SDK, with its default options, accepts `resource` for a
 * request to `requestHostname`: its verifyChallengeResource check.
 */
export function sdkAcceptsResource(requestHostname: string, resource: string = KV_RESOURCE): boolean {
  return requestHostname.endsWith(`.${new URL(resource).hostname}`);
}
