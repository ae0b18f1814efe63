// The master key file: created owner-only, refused when others can read it,
// and every way it can be wrong gives an operator a message to act on.

import t from 'tap';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MasterKeyError, createMasterKeyFile, loadMasterKey, masterKeyFingerprint } from '../../src/crypto/masterkey.js';

function writeKeyFile(path: string, content: string | Buffer, mode = 0o600): void {
  writeFileSync(path, content, { mode });
  chmodSync(path, mode); // the umask may have trimmed the mode given at creation
}

t.test('createMasterKeyFile writes 32 random bytes, base64, newline-terminated, mode 0600', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'master.key');
  const fp = createMasterKeyFile(path);

  t.equal(statSync(path).mode & 0o777, 0o600, 'mode is exactly 0600');
  const text = readFileSync(path, 'latin1');
  t.match(text, /^[A-Za-z0-9+/]{43}=\n$/, 'one line of base64 for 32 bytes');

  const key = loadMasterKey(path);
  t.ok(Buffer.isBuffer(key));
  t.equal(key.length, 32);
  t.same(key, Buffer.from(text.trim(), 'base64'), 'loads what was written');
  t.equal(fp, masterKeyFingerprint(key), 'returns the fingerprint of the key it wrote');

  const other = join(dir, 'other.key');
  createMasterKeyFile(other);
  t.not(loadMasterKey(other).toString('hex'), key.toString('hex'), 'two files, two different keys');
});

t.test('the mode is 0600 whatever the umask', async (t) => {
  const dir = t.testdir();
  const saved = process.umask();
  t.teardown(() => void process.umask(saved));
  for (const umask of [0o000, 0o022, 0o077, 0o277]) {
    process.umask(umask);
    const path = join(dir, `umask-${umask.toString(8)}.key`);
    createMasterKeyFile(path);
    t.equal(statSync(path).mode & 0o777, 0o600, `umask ${umask.toString(8).padStart(4, '0')}`);
    t.equal(loadMasterKey(path).length, 32);
  }
});

t.test('createMasterKeyFile refuses to overwrite an existing file', async (t) => {
  const dir = t.testdir({ 'master.key': 'precious\n' });
  const path = join(dir, 'master.key');
  t.throws(() => createMasterKeyFile(path), { name: 'MasterKeyError', message: /refusing to overwrite/ });
  t.equal(readFileSync(path, 'utf8'), 'precious\n', 'the existing file is untouched');

  const fresh = join(dir, 'fresh.key');
  createMasterKeyFile(fresh);
  const before = readFileSync(fresh, 'utf8');
  t.throws(() => createMasterKeyFile(fresh), MasterKeyError);
  t.equal(readFileSync(fresh, 'utf8'), before, 'a key file is never replaced');
});

t.test('createMasterKeyFile in a missing directory says so', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'nope', 'master.key');
  t.throws(() => createMasterKeyFile(path), { name: 'MasterKeyError', message: /directory .*nope does not exist/ });
});

t.test('a key file readable or writable by group or others is refused with "chmod 600 <path>"', async (t) => {
  const dir = t.testdir();
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602, 0o610, 0o777]) {
    const path = join(dir, `mode-${mode.toString(8)}.key`);
    writeKeyFile(path, randomBytes(32).toString('base64') + '\n', mode);
    const err = t.throws(() => loadMasterKey(path), MasterKeyError, `mode ${mode.toString(8)}`) as Error;
    t.ok(err.message.includes(`chmod 600 ${path}`), 'tells how to fix it');
    t.ok(err.message.includes(`0${mode.toString(8)}`), 'names the mode found');
  }
  const ro = join(dir, 'owner-read-only.key');
  writeKeyFile(ro, randomBytes(32).toString('base64') + '\n', 0o400);
  t.equal(loadMasterKey(ro).length, 32, 'owner read-only (0400) is fine');
});

t.test('a missing key file gives a clear error', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'absent.key');
  const err = t.throws(() => loadMasterKey(path), MasterKeyError) as Error;
  t.ok(err instanceof Error);
  t.match(err.message, `master key file ${path} does not exist`);
  t.match(err.message, /cannot start without the cluster master key/);
});

t.test('a key file that is not 32 bytes once decoded is refused, without quoting it', async (t) => {
  const dir = t.testdir();
  const cases: Array<[string, string, RegExp]> = [
    ['short', randomBytes(16).toString('base64') + '\n', /holds 16 bytes once decoded: a master key is exactly 32 bytes/],
    ['long', randomBytes(64).toString('base64') + '\n', /holds 64 bytes once decoded/],
    ['31', randomBytes(31).toString('base64') + '\n', /holds 31 bytes once decoded/],
    ['33', randomBytes(33).toString('base64') + '\n', /holds 33 bytes once decoded/],
    ['empty', '', /is empty/],
    ['blank', '\n\n', /is empty/],
    ['hex', randomBytes(32).toString('hex') + '\n', /holds 48 bytes once decoded/],
    ['garbage', 'this is not a key!\n', /does not hold base64 text/],
    ['two-lines', randomBytes(16).toString('base64') + '\n' + randomBytes(16).toString('base64') + '\n', /does not hold base64 text/],
  ];
  for (const [name, content, message] of cases) {
    const path = join(dir, `${name}.key`);
    writeKeyFile(path, content);
    const err = t.throws(() => loadMasterKey(path), MasterKeyError, name) as Error;
    t.match(err.message, message, name);
    t.ok(err.message.includes(path), `${name}: names the file`);
    const body = content.trim();
    if (body.length > 0) t.notOk(err.message.includes(body), `${name}: does not quote the content`);
  }

  const huge = join(dir, 'huge.key');
  writeKeyFile(huge, Buffer.alloc(1 << 20, 0x41));
  t.throws(() => loadMasterKey(huge), { name: 'MasterKeyError', message: /1048576 bytes long/ }, 'a huge file is not read whole');
});

t.test('a directory in place of the key file is refused', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'master.key');
  mkdirSync(path, { mode: 0o700 });
  t.throws(() => loadMasterKey(path), { name: 'MasterKeyError', message: /not a regular file/ });
});

t.test('line endings and padding variations of the same key load the same key', async (t) => {
  const dir = t.testdir();
  const key = randomBytes(32);
  const b64 = key.toString('base64');
  for (const [name, content] of [
    ['lf', b64 + '\n'],
    ['crlf', b64 + '\r\n'],
    ['none', b64],
    ['unpadded', b64.replace(/=+$/, '') + '\n'],
    ['base64url', key.toString('base64url') + '\n'],
  ] as const) {
    const path = join(dir, `${name}.key`);
    writeKeyFile(path, content);
    t.same(loadMasterKey(path), key, name);
  }
});

t.test('the fingerprint is short, stable, distinct per key, and not the key', async (t) => {
  const a = randomBytes(32);
  const b = Buffer.from(a);
  b[31]! ^= 1;
  const fa = masterKeyFingerprint(a);
  t.match(fa, /^[0-9a-f]{16}$/);
  t.equal(masterKeyFingerprint(Buffer.from(a)), fa, 'deterministic');
  t.equal(masterKeyFingerprint(new Uint8Array(a)), fa, 'same for a plain Uint8Array');
  t.not(masterKeyFingerprint(b), fa, 'one bit of difference, another fingerprint');
  t.notOk(a.toString('hex').includes(fa), 'not a piece of the key');
  // Known answer, computed with `openssl dgst -sha256 -mac HMAC` over the
  // label with an all-zero key: scripts can print the same fingerprint.
  t.equal(masterKeyFingerprint(Buffer.alloc(32)), 'ecd6d8323f894732');
});

t.test('other file-system failures name the path and the cause', async (t) => {
  const dir = t.testdir({ 'plain-file': 'x' });
  const under = join(dir, 'plain-file', 'master.key'); // a path through a regular file: ENOTDIR
  t.throws(() => createMasterKeyFile(under), { name: 'MasterKeyError', message: /cannot create master key file .*ENOTDIR/ });
  t.throws(() => loadMasterKey(under), { name: 'MasterKeyError', message: /cannot open master key file .*ENOTDIR/ });
});
