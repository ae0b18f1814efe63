// The audit log's lines for calls that admission control refused: one per
// method and caller with how many there were, not one per call, so that a
// flood of refusals neither fills the disk nor costs the node per call.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/app/audit-log.js';

const SET = '/keyraft.v1.Secrets/SetSecret';
const GET = '/keyraft.v1.Secrets/GetSecret';

t.test('refusals are written as counts per method and caller', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'audit.log');
  const audit = new AuditLog(file, { node: 'n1', region: 'east' });
  for (let i = 0; i < 1000; i++) audit.recordThrottled(SET, 'ipv4:127.0.0.1:5000');
  for (let i = 0; i < 3; i++) audit.recordThrottled(GET, 'ipv4:127.0.0.1:5000');
  audit.recordThrottled(SET, 'ipv4:127.0.0.1:6000');
  // Written a second later, as a running node does.
  await new Promise((r) => setTimeout(r, 1200));
  audit.recordThrottled(SET, 'ipv4:127.0.0.1:5000');
  audit.close();
  await new Promise((r) => setTimeout(r, 50));
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(
    lines.map((l) => [l.rpc, l.caller, l.count, l.code, l.reason]),
    [
      [SET, 'ipv4:127.0.0.1:5000', 1000, 8, 'THROTTLED'],
      [GET, 'ipv4:127.0.0.1:5000', 3, 8, 'THROTTLED'],
      [SET, 'ipv4:127.0.0.1:6000', 1, 8, 'THROTTLED'],
      // The one after the first second, written when the log closed.
      [SET, 'ipv4:127.0.0.1:5000', 1, 8, 'THROTTLED'],
    ],
    'one line per method and caller each second, with the count',
  );
  t.ok(lines.every((l) => l.node === 'n1' && l.region === 'east' && l.principal === null), 'with the node, and no caller identity: none was checked');
});
