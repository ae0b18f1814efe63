// How many versions one secret or one key may hold. The leader stamps the
// cap its topology sets into each command that adds versions, so that every
// replica, in either region, applies the same cap whatever its own topology
// says during a change of it.
//
// The ceiling is what makes every object the vault accepts restorable: a
// BackupSecret or BackupKey blob of MAX_VERSIONS versions of the largest kind
// (a 25 KiB value with 15 tags of 256 + 256 characters that JSON escapes to
// six bytes each, about 82 KB a version) is about 12.3 MB, inside one client
// message (CLIENT_MESSAGE_BYTES, 16 MiB); test/server/backup-size.test.ts
// builds that backup and checks it. One message rather than a streamed backup:
// the restore is one Raft entry either way, and the unary BackupSecret and
// RestoreSecret stay what clients and the CLI already call.

import { invalid, precondition, quote } from './errors.js';

export const MAX_VERSIONS = 150;

export interface VersionLimits {
  readonly maxVersionsPerSecret: number;
  readonly maxVersionsPerKey: number;
}

export const DEFAULT_VERSION_LIMITS: VersionLimits = { maxVersionsPerSecret: MAX_VERSIONS, maxVersionsPerKey: MAX_VERSIONS };

/** A command's stamped cap: 1..MAX_VERSIONS; 0 (left out) is MAX_VERSIONS. */
export function versionCap(stamped: unknown): number {
  if (stamped === undefined || stamped === null || stamped === 0) return MAX_VERSIONS;
  if (!Number.isInteger(stamped) || (stamped as number) < 1 || (stamped as number) > MAX_VERSIONS) {
    throw invalid('BAD_PARAMETER', `max_versions must be 1-${MAX_VERSIONS}, got ${quote(stamped)}`);
  }
  return stamped as number;
}

/** Refuses `adding` more versions to an object that holds `held`. */
export function checkVersionRoom(kind: 'secret' | 'key', name: string, held: number, adding: number, cap: number): void {
  if (held + adding <= cap) return;
  throw precondition(
    'TOO_MANY_VERSIONS',
    held === 0
      ? `a ${kind} holds at most ${cap} versions; ${quote(name)} would hold ${adding}`
      : `${kind} ${quote(name)} already holds ${held} versions, the most one may hold (${cap}); delete and purge it to start again`,
  );
}
