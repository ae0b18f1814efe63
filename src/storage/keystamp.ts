// A data folder remembers which master key wrote it (by fingerprint, never
// the key), so that a node started with another key refuses before it opens,
// and so changes, anything on disk. During a master-key rotation a node
// holds the new key and the previous one: either stamp is accepted, and the
// node rewrites the stamp to the new key once none of its data needs the
// previous one (readStamp tells whether that is still to do).

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP_FILE = 'master-key.fingerprint';

export class WrongKeyError extends Error {
  override name = 'WrongKeyError';
}

/** Records that `fingerprint`'s key wrote this folder (after a master-key rotation). */
export function writeKeyStamp(dataDir: string, fingerprint: string): void {
  // Through a rename: a crash mid-write must not leave a stamp that names no key.
  const tmp = join(dataDir, `${STAMP_FILE}.tmp`);
  writeFileSync(tmp, `${fingerprint}\n`, { mode: 0o600 });
  renameSync(tmp, join(dataDir, STAMP_FILE));
}

/** The fingerprint the folder is stamped with, or undefined if it has none. */
export function readKeyStamp(dataDir: string): string | undefined {
  const path = join(dataDir, STAMP_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

/**
 * Refuses a folder written under a key other than `fingerprint` (or
 * `previous`, the previous master key of a rotation in progress); stamps a
 * new, empty folder with `fingerprint`.
 */
export function checkKeyStamp(dataDir: string, fingerprint: string, previous?: string): void {
  const path = join(dataDir, STAMP_FILE);
  if (!existsSync(path)) {
    if (existsSync(join(dataDir, 'db'))) {
      throw new WrongKeyError(`${dataDir} holds data but no ${STAMP_FILE}: refusing to guess which master key wrote it`);
    }
    writeFileSync(path, `${fingerprint}\n`, { mode: 0o600 });
    return;
  }
  const expected = readFileSync(path, 'utf8').trim();
  if (expected === fingerprint || expected === previous) return;
  const given = previous === undefined ? `the key given is ${fingerprint}` : `the keys given are ${fingerprint} and previous ${previous}`;
  const hint = previous === undefined ? ' (if a master-key rotation has not reached this node yet, give it the previous master key too)' : '';
  throw new WrongKeyError(`wrong master key: ${dataDir} was written with master key ${expected}, but ${given}${hint}; nothing was changed`);
}
