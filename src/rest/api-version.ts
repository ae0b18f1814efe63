// The `api-version` every Key Vault data-plane request carries. The JS SDKs
// send the name percent-encoded (`api%2Dversion`, from the URL template
// "{?api%2Dversion}" in each package's api/operations.js), and append a plain
// `api-version` to a nextLink that has none (api/keyVaultContext.js);
// URLSearchParams decodes names, so both read the same.
//
// keyraft serves one shape for every version: the ones the SDKs send differ
// in operations keyraft does not have (attestation, release policies,
// certificates), not in the shapes of those it has. So any version from 7.0
// on is accepted, newer unknown ones included (an SDK that starts sending
// the next version keeps working); older ones (2015-06-01, 2016-10-01) and
// anything that is not a version are refused, as Key Vault refuses them.

import { badParameter } from './errors.js';

/** 7.0 ... 7.6, 7.6-preview.2, and newer 7.x. */
const NUMBERED = /^7\.(\d+)(-preview(\.\d+)?)?$/;
/** 2025-07-01, 2026-04-01, and newer dates, with or without -preview. */
const DATED = /^(\d{4}-\d{2}-\d{2})(-preview(\.\d+)?)?$/;
/** The first version named by a date, after 7.6. Earlier dates are the versions before 7.0. */
const FIRST_DATED = '2025-07-01';
/** The newest version we know the SDKs send; what an error suggests. */
export const NEWEST_KNOWN_VERSION = '2026-04-01';

function isSupported(version: string): boolean {
  if (NUMBERED.test(version)) return true;
  const dated = DATED.exec(version);
  // ISO dates of one shape compare as strings.
  return dated !== null && dated[1]! >= FIRST_DATED;
}

/**
 * The request's api-version, from its query string (with or without the
 * leading '?'). Throws BadParameter when it is missing, given twice with
 * different values, or not a version keyraft serves.
 */
export function readApiVersion(query: string | URLSearchParams): string {
  const params = typeof query === 'string' ? new URLSearchParams(query) : query;
  const given = new Set(params.getAll('api-version'));
  if (given.size === 0) throw badParameter('The api-version query parameter is missing.');
  if (given.size > 1) throw badParameter('The api-version query parameter is given more than once, with different values.');
  const version = [...given][0]!;
  if (!isSupported(version)) {
    // Escaped and cut short: the text is the client's, and goes into logs.
    const shown = JSON.stringify(version.slice(0, 64)).slice(1, -1);
    throw badParameter(`The specified version (${shown}) is not recognized. Consider using the latest supported version (${NEWEST_KNOWN_VERSION}).`);
  }
  return version;
}
