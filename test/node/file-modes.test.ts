// restrictFileModes: whatever the process creates afterwards, with no mode of
// its own, is its owner's alone.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restrictFileModes } from '../../src/file-modes.js';

t.test('folders come out 0700 and files 0600', async (t) => {
  const before = process.umask(0o022);
  t.teardown(() => void process.umask(before));
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-modes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  restrictFileModes();
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  writeFileSync(join(dir, 'a', 'b', 'f'), 'x');
  writeFileSync(join(dir, 'g'), 'x', { mode: 0o666 });
  t.equal(statSync(join(dir, 'a')).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, 'a', 'b')).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, 'a', 'b', 'f')).mode & 0o777, 0o600);
  t.equal(statSync(join(dir, 'g')).mode & 0o777, 0o600, 'even a file asked to be 0666');
});
