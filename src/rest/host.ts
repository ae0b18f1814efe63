// Which vault a request is for, and where its ids point: the Host header
// (DESIGN §7). A vault is https://{vault}.kv.localhost[:port], as Azure's is
// https://{vault}.vault.azure.net; a host that names no vault (localhost, an
// IP address: what a client that cannot resolve *.kv.localhost uses) is
// served the topology's default vault. The label is passed on as given (the
// vault rules, case included, are the application layer's), lowercased
// because host names are compared without regard to case.

import { isIP } from 'node:net';
import { VAULT_DOMAIN } from './challenge.js';
import { badParameter } from './errors.js';

export interface Addressed {
  vault: string;
  /** https://{host as sent}: every id and nextLink of the answer is on it (routes.ts ResponseContext.origin). */
  origin: string;
}

/** A DNS name or an IPv6 address in brackets, then an optional port: nothing else is put into an id. */
const HOST = /^(?<name>[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;
const VAULT_SUFFIX = `.${VAULT_DOMAIN}`;

/** The vault and origin of a request sent to `host` (its Host header); BadParameter for a host that is neither. */
export function addressOf(host: string | undefined, defaultVault: string): Addressed {
  if (host === undefined || host === '') throw badParameter('The request has no Host header: send it to https://{vault}.kv.localhost.');
  const lower = host.toLowerCase();
  const name = HOST.exec(lower)?.groups?.['name'];
  // Escaped and cut short: the text is the client's.
  const shown = JSON.stringify(host.slice(0, 64));
  if (name === undefined) throw badParameter(`The host ${shown} is not a host name.`);
  const origin = `https://${lower}`;
  const bare = name.startsWith('[') ? name.slice(1, -1) : name;
  if (bare === 'localhost' || isIP(bare) !== 0) return { vault: defaultVault, origin };
  const label = name.endsWith(VAULT_SUFFIX) ? name.slice(0, -VAULT_SUFFIX.length) : '';
  if (label !== '' && !label.includes('.')) return { vault: label, origin };
  throw badParameter(`The host ${shown} names no vault: use https://{vault}${VAULT_SUFFIX}, or localhost for the default vault (${defaultVault}).`);
}
