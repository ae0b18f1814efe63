// The installed launcher: bin/keyraft runs the compiled CLI (make build puts
// it in dist/), exits 1 with one `error:` line and no stack when no node
// answers, and 2 on a usage error.

import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { deadAddress } from '../client/fake-server.js';
import { ROOT } from '../root.js';

const BIN = join(ROOT, 'bin', 'keyraft');
const BUILT = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));

function keyraft(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(BIN, args, { timeout: 20_000, env: { ...process.env, KEYRAFT_ENDPOINTS: '' } }, (e, out, err) => {
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : -1, out, err });
    });
  });
}

t.test('package.json names the launcher, which is executable', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  // Other launchers (the node daemon) may sit beside it.
  t.equal(pkg.bin?.['keyraft'], 'bin/keyraft');
  t.doesNotThrow(() => accessSync(BIN, constants.X_OK));
  t.match(readFileSync(BIN, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

t.test('the launcher end to end', { skip: BUILT ? false : 'dist/ is not built (make build)', timeout: 30_000 }, async (t) => {
  const help = await keyraft(['--help']);
  t.equal(help.code, 0);
  t.match(help.out, /Usage: keyraft/);
  const usage = await keyraft(['secret', 'show', '--name', 'x']);
  t.equal(usage.code, 2);
  t.match(usage.err, /--vault-name/);
  const down = await keyraft(['--endpoints', await deadAddress(), '--timeout', '3000', 'vault', 'list']);
  t.equal(down.code, 1);
  t.match(down.err, /^error: UNAVAILABLE: /);
  t.equal(down.err.trim().split('\n').length, 1, 'one line');
  t.notMatch(down.err, /\n\s+at /, 'no stack trace');
});
