// A data folder remembers which master key wrote it (by fingerprint, never
// the key), so that a node started with another key refuses before it opens,
// and so changes, anything on disk.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP_FILE = 'master-key.fingerprint';

export class WrongKeyError extends Error {
  override name = 'WrongKeyError';
}

/** Records that `fingerprint`'s key wrote this folder (after a master-key rotation). */
export function writeKeyStamp(dataDir: string, fingerprint: string): void {
  writeFileSync(join(dataDir, STAMP_FILE), `${fingerprint}\n`, { mode: 0o600 });
}

export function checkKeyStamp(dataDir: string, fingerprint: string): void {
  const path = join(dataDir, STAMP_FILE);
  if (!existsSync(path)) {
    if (existsSync(join(dataDir, 'db'))) {
      throw new WrongKeyError(`${dataDir} holds data but no ${STAMP_FILE}: refusing to guess which master key wrote it`);
    }
    writeFileSync(path, `${fingerprint}\n`, { mode: 0o600 });
    return;
  }
  const expected = readFileSync(path, 'utf8').trim();
  if (expected !== fingerprint) {
    throw new WrongKeyError(
      `wrong master key: ${dataDir} was written with master key ${expected}, but the key given is ${fingerprint}; nothing was changed`,
    );
  }
}
