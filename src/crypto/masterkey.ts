// The cluster master key: 32 random bytes, stored base64 in a file only its
// owner can read. Every node of both regions loads the same key at start; it
// never travels in the Raft log, it only wraps the data keys that do (see
// envelope.ts).
//
// File format: the base64 of the 32 bytes, one line, newline-terminated.

import { closeSync, fchmodSync, fstatSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { type KeyObject, createHmac, randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

export const MASTER_KEY_BYTES = 32;

/** Anything wrong with the master key or its file; the message is meant for an operator. */
export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

// Generous for 44 base64 characters and a line ending; a bound keeps a
// misconfigured path (a log file, a device) from being read whole.
const MAX_FILE_BYTES = 1024;

const FINGERPRINT_LABEL = 'keyraft master key fingerprint';

/**
 * A short id of a master key for logs and for telling two keys apart. HMAC
 * keyed by the key itself, truncated to 64 bits: reveals nothing about the
 * key, and two different keys collide only by chance.
 */
export function masterKeyFingerprint(key: Uint8Array | KeyObject): string {
  return createHmac('sha256', key).update(FINGERPRINT_LABEL, 'utf8').digest('hex').slice(0, 16);
}

/**
 * Creates a new master key file at `path` (mode 0600) and returns the new
 * key's fingerprint. Refuses to overwrite an existing file: replacing the
 * master key of a cluster by accident makes its data unreadable.
 */
export function createMasterKeyFile(path: string): string {
  let fd: number;
  try {
    // 'wx' is O_CREAT|O_EXCL: no race with another creator, no following a
    // planted symlink, and the mode is set at creation, so the key is never
    // readable by others even for an instant.
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') {
      throw new MasterKeyError(`refusing to overwrite the existing master key file ${path}`);
    }
    if (code === 'ENOENT') {
      throw new MasterKeyError(`cannot create master key file ${path}: directory ${dirname(path)} does not exist`);
    }
    throw new MasterKeyError(`cannot create master key file ${path}: ${errMessage(err)}`);
  }

  const key = randomBytes(MASTER_KEY_BYTES);
  // Buffer.alloc, not Buffer.from(string): small Buffer.from results share
  // Node's allocation pool with unrelated data, and this one gets zeroed.
  const text = Buffer.alloc(44 + 1);
  let fingerprint: string;
  let fdOpen = true;
  try {
    fingerprint = masterKeyFingerprint(key);
    text.write(key.toString('base64') + '\n', 'latin1');
    // The umask can only remove bits from 0600, but a umask that removes the
    // owner's own bits would leave a key file its owner cannot read back.
    fchmodSync(fd, 0o600);
    let off = 0;
    while (off < text.length) off += writeSync(fd, text, off, text.length - off);
    fsyncSync(fd);
    fdOpen = false;
    closeSync(fd);
  } catch (err) {
    // A half-written key file would be refused (or worse, loaded) later.
    if (fdOpen) try { closeSync(fd); } catch { /* the unlink below matters more */ }
    try { unlinkSync(path); } catch { /* nothing left to clean */ }
    throw new MasterKeyError(`cannot write master key file ${path}: ${errMessage(err)}`);
  } finally {
    key.fill(0);
    text.fill(0);
  }
  syncDirectory(dirname(path));
  return fingerprint;
}

/**
 * Reads the master key from `path`. Throws MasterKeyError with an operator's
 * message when the file is missing, unreadable, open to group or others, or
 * does not hold exactly 32 bytes in base64. The error never quotes the file.
 */
export function loadMasterKey(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      throw new MasterKeyError(`master key file ${path} does not exist: a node cannot start without the cluster master key`);
    }
    if (code === 'EACCES') {
      throw new MasterKeyError(`cannot read master key file ${path}: permission denied`);
    }
    throw new MasterKeyError(`cannot open master key file ${path}: ${errMessage(err)}`);
  }

  const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
  try {
    // fstat on the open descriptor checks the file actually read, not
    // whatever the path points to a moment later.
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new MasterKeyError(`master key file ${path} is not a regular file`);
    }
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new MasterKeyError(
        `master key file ${path} is accessible to group or others (mode ${mode}); ` +
          `it must be readable by its owner only: chmod 600 ${path}`,
      );
    }
    if (st.size > MAX_FILE_BYTES) {
      throw new MasterKeyError(
        `master key file ${path} is ${st.size} bytes long: expected ${MASTER_KEY_BYTES} bytes in base64 on one line`,
      );
    }
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_FILE_BYTES) {
        throw new MasterKeyError(`master key file ${path} is longer than ${MAX_FILE_BYTES} bytes`);
      }
    }
    return parseKeyText(path, buf.toString('latin1', 0, n));
  } finally {
    buf.fill(0);
    closeSync(fd);
  }
}

function parseKeyText(path: string, raw: string): Buffer {
  const text = raw.trim();
  if (text.length === 0) {
    throw new MasterKeyError(`master key file ${path} is empty: expected ${MASTER_KEY_BYTES} bytes in base64`);
  }
  // Node's base64 decoder skips characters it does not know; checking the
  // alphabet first turns a mangled file into an error instead of a
  // different key.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    throw new MasterKeyError(`master key file ${path} does not hold base64 text: expected ${MASTER_KEY_BYTES} bytes in base64`);
  }
  const decodedLength = Buffer.byteLength(text, 'base64');
  if (decodedLength !== MASTER_KEY_BYTES) {
    throw new MasterKeyError(
      `master key file ${path} holds ${decodedLength} bytes once decoded: a master key is exactly ${MASTER_KEY_BYTES} bytes`,
    );
  }
  const key = Buffer.alloc(MASTER_KEY_BYTES);
  key.write(text, 'base64');
  return key;
}

// Makes the new directory entry durable along with the file's contents, so
// that a crash right after `make cluster` does not lose the key file.
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the file itself is synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
