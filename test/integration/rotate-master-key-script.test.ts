// scripts/rotate-master-key.sh on a local cluster that cluster-up.sh started,
// as a person runs it: the new key installed as master.key, the old one kept
// as master.key.previous (both 0600), every node restarted with both, the
// data keys rewrapped, and no node needing the old key at the end; what was
// written before still reads. Ports come from a generated topology.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMasterKeyFile, loadMasterKey, masterKeyFingerprint } from '../../src/crypto/masterkey.js';
import { freePort } from './cluster.js';

t.setTimeout(450_000);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, out: String(stdout), err: String(stderr) });
    });
  });
}

t.test('rotate-master-key.sh rotates the local cluster while it serves', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-rotate-'));
  const regions: { name: string; role: string; latencyMs: number; nodes: { id: string; client: string; peer: string }[] }[] = [];
  for (const [name, count] of [['east', 3], ['west', 2]] as const) {
    const nodes = [];
    for (let i = 1; i <= count; i++) nodes.push({ id: `${name}-${i}`, client: `127.0.0.1:${await freePort()}`, peer: `127.0.0.1:${await freePort()}` });
    regions.push({ name, role: name === 'east' ? 'primary' : 'secondary', latencyMs: 0, nodes });
  }
  const topology = join(dir, 'topology.json');
  writeFileSync(topology, JSON.stringify({ name: 'rotate-test', regions, failoverAfterMs: 3000, failbackAfterMs: 3000 }));
  const data = join(dir, 'data');
  const env = { KEYRAFT_TOPOLOGY: topology, KEYRAFT_CLUSTER_DATA: data, KEYRAFT_CA: join(data, 'pki', 'ca.crt') };
  t.teardown(async () => {
    await run('scripts/cluster-stop.sh', [], env);
    for (const r of regions) await run('scripts/kill-region.sh', [r.name], env);
    rmSync(dir, { recursive: true, force: true });
  });
  const all = regions.flatMap((r) => r.nodes.map((n) => n.client)).join(',');
  const cli = (...args: string[]) => run('bin/keyraft', ['--endpoints', all, ...args], { ...env, KEYRAFT_TOKEN: readFileSync(join(data, 'admin.token'), 'utf8').trim() }, 30_000);

  const up = await run('scripts/cluster-up.sh', [], env, 70_000);
  t.equal(up.code, 0, `cluster-up exits 0 ${up.err}`);
  t.equal((await cli('vault', 'create', '--name', 'demo')).code, 0);
  t.equal((await cli('secret', 'set', '--vault-name', 'demo', '--name', 'before', '--value', 'kept')).code, 0);

  const masterKey = join(data, 'master.key');
  const oldFp = masterKeyFingerprint(loadMasterKey(masterKey));
  const newKey = join(dir, 'new.key');
  const newFp = createMasterKeyFile(newKey);

  const rotated = await run('scripts/rotate-master-key.sh', [newKey], env, 300_000);
  t.equal(rotated.code, 0, `rotate-master-key exits 0 ${rotated.err}`);
  t.match(rotated.out, new RegExp(`installed master key ${newFp}`));
  t.equal((rotated.out.match(/caught up/g) ?? []).length, 5, 'every node restarted and caught up');
  t.match(rotated.out, /data keys rewrapped under master key/);
  t.match(rotated.out, new RegExp(`every node now needs only master key ${newFp}`));

  t.equal(masterKeyFingerprint(loadMasterKey(masterKey)), newFp, 'master.key is the new key');
  t.equal(masterKeyFingerprint(loadMasterKey(`${masterKey}.previous`)), oldFp, 'master.key.previous the old one');
  for (const f of [masterKey, `${masterKey}.previous`]) t.equal(statSync(f).mode & 0o777, 0o600, `${f} is 0600`);

  const status = JSON.parse((await cli('cluster', 'status', '--output', 'json')).out) as { nodes: { id: string; masterKeyFingerprint: string; previousMasterKeyNeeded?: boolean }[] };
  t.same(status.nodes.map((n) => [n.id, n.masterKeyFingerprint, n.previousMasterKeyNeeded ?? false]), regions.flatMap((r) => r.nodes.map((n) => [n.id, newFp, false])), 'every node on the new key, needing the old one no more');
  const show = await cli('secret', 'show', '--vault-name', 'demo', '--name', 'before', '--output', 'json');
  t.equal(JSON.parse(show.out).value, 'kept', 'what was written before still reads');
  t.equal((await cli('secret', 'set', '--vault-name', 'demo', '--name', 'after', '--value', 'new')).code, 0, 'and writes go on');
});
