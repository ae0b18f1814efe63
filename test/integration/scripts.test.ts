// The local-cluster tools as a person uses them: scripts/cluster-up.sh (what
// `make cluster` runs) brings up two regions and exits, the keyraft CLI sets
// and shows a secret, kill-node.sh takes a node down and the cluster keeps
// serving, partition.sh/heal.sh cut and restore traffic, a snapshot saved
// with the CLI comes back in a new cluster by restore-cluster.sh, and
// cluster-stop.sh ends it all. Ports come from a generated topology, so nothing else is disturbed.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMasterKeyFile, loadMasterKey, masterKeyFingerprint } from '../../src/crypto/masterkey.js';
import { freePort } from './cluster.js';
import { eventually } from '../wait.js';
import { ROOT } from '../root.js';

t.setTimeout(450_000);


function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number; out: string; err: string }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      // Where this long test spends its time, in the log of every run.
      t.comment(`${[cmd, ...args].join(' ')}: exit ${code} after ${Date.now() - started} ms`);
      resolve({ code, out: String(stdout), err: String(stderr) });
    });
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}

t.test('cluster-up, the CLI, kill-node, partition and cluster-stop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-scripts-'));
  const regions: { name: string; role: string; latencyMs: number; nodes: { id: string; client: string; peer: string }[] }[] = [];
  for (const name of ['east', 'west']) {
    const nodes = [];
    for (let i = 1; i <= 3; i++) nodes.push({ id: `${name}-${i}`, client: `127.0.0.1:${await freePort()}`, peer: `127.0.0.1:${await freePort()}` });
    regions.push({ name, role: name === 'east' ? 'primary' : 'secondary', latencyMs: 0, nodes });
  }
  const topology = join(dir, 'topology.json');
  writeFileSync(topology, JSON.stringify({ name: 'scripts-test', regions, failoverAfterMs: 3000, failbackAfterMs: 3000 }));
  // cluster-up.sh makes the PKI under the data folder; the CLI is pointed at its CA as a person would.
  const env = { KEYRAFT_TOPOLOGY: topology, KEYRAFT_CLUSTER_DATA: join(dir, 'data'), KEYRAFT_CA: join(dir, 'data', 'pki', 'ca.crt') };
  t.teardown(async () => {
    await run('scripts/cluster-stop.sh', [], env);
    for (const r of regions) await run('scripts/kill-region.sh', [r.name], env);
    rmSync(dir, { recursive: true, force: true });
  });
  const east = regions[0]!.nodes.map((n) => n.client).join(',');
  // The administrator's token that cluster-up.sh wrote, passed as a person would.
  const tokenFile = join(dir, 'data', 'admin.token');
  const cli = (...args: string[]) => run('bin/keyraft', ['--endpoints', east, ...args], { ...env, KEYRAFT_TOKEN: readFileSync(tokenFile, 'utf8').trim() }, 30_000);

  const started = Date.now();
  const up = await run('scripts/cluster-up.sh', [], env, 70_000);
  t.equal(up.code, 0, `cluster-up exits 0 ${up.err}`);
  if (up.code !== 0) {
    // Which node did not come up, and why: the data folder goes with the teardown.
    for (const r of regions) for (const n of r.nodes) t.comment(`${n.id}: ${readLog(join(dir, 'data', n.id, 'node.log')).slice(-1500)}`);
  }
  t.ok(Date.now() - started < 60_000, `up in ${Date.now() - started} ms`);
  t.match(up.out, /6\/6 nodes up, 2\/2 regions with a leader/);
  for (const r of regions) for (const n of r.nodes) t.match(up.out, n.client, `prints ${n.id}'s endpoint`);
  t.match(up.out, /east-1.*(leader|follower)/, 'prints the status table');
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'the administrator token is readable by its owner only');
  const anonymous = await run('bin/keyraft', ['--endpoints', east, 'vault', 'list'], env, 30_000);
  t.not(anonymous.code, 0, 'without a token, the CLI is refused');
  // TOKEN_MISSING; or, where a local cluster of this checkout left its token file, that token is another cluster's.
  t.match(anonymous.err, /TOKEN_(MISSING|KEY_UNKNOWN)/);

  t.equal((await cli('vault', 'create', '--name', 'demo')).code, 0);
  const set = await cli('secret', 'set', '--vault-name', 'demo', '--name', 'greeting', '--value', 'hello world');
  t.equal(set.code, 0, set.err);
  const show = await cli('secret', 'show', '--vault-name', 'demo', '--name', 'greeting', '--output', 'json');
  t.equal(show.code, 0, show.err);
  t.equal(JSON.parse(show.out).value, 'hello world');

  const kill = await run('scripts/kill-node.sh', ['east-1'], env);
  t.match(kill.out, /killed east-1/);
  t.equal((await cli('secret', 'set', '--vault-name', 'demo', '--name', 'greeting', '--value', 'after kill')).code, 0, 'writes after kill-node');
  const after = await cli('secret', 'show', '--vault-name', 'demo', '--name', 'greeting', '--output', 'json');
  t.equal(JSON.parse(after.out).value, 'after kill', 'reads after kill-node');
  t.match((await run('scripts/start-node.sh', ['east-1'], env)).out, /started east-1/);
  // start-node.sh returns once the process runs; east-1 is back in its region
  // when it follows the leader and has applied what the leader committed.
  await eventually(
    'east-1 back in its region',
    async () => {
      const status = JSON.parse((await cli('cluster', 'status', '--output', 'json')).out) as { nodes: { id: string; role: string; leader: string; appliedIndex: number; commitIndex: number }[] };
      const east1 = status.nodes.find((n) => n.id === 'east-1');
      const leader = status.nodes.find((n) => n.id === east1?.leader);
      return east1?.role === 'leader' || (east1?.role === 'follower' && leader !== undefined && east1.appliedIndex >= leader.commitIndex) ? true : undefined;
    },
    60_000,
    200,
  );

  // Cut east-2 and east-3 apart: with east-1 back the region keeps a majority.
  t.equal((await run('scripts/partition.sh', ['east-2', 'east-3'], env)).code, 0);
  t.equal((await cli('secret', 'set', '--vault-name', 'demo', '--name', 'p', '--value', 'during partition')).code, 0, 'writes during a partition');
  t.equal((await run('scripts/heal.sh', [], env)).code, 0);

  // A rolling restart of the primary region: one node at a time, the leader last, each caught up before the next.
  const leaderBefore = JSON.parse((await cli('cluster', 'status', '--output', 'json')).out).regions[0].leader as string;
  const rolling = await run('scripts/rolling-restart.sh', ['east'], env, 120_000);
  t.equal(rolling.code, 0, `rolling-restart exits 0 ${rolling.err}`);
  const restarted = [...rolling.out.matchAll(/^== (\S+)$/gm)].map((m) => m[1]);
  t.same([...restarted].sort(), ['east-1', 'east-2', 'east-3'], 'every east node restarted once');
  t.equal(restarted[2], leaderBefore, 'the leader last');
  t.equal((rolling.out.match(/caught up/g) ?? []).length, 3, 'each waited for until caught up');
  t.comment(rolling.out.trim().split('\n').pop() ?? '');
  const afterRolling = await cli('secret', 'show', '--vault-name', 'demo', '--name', 'p', '--output', 'json');
  t.equal(JSON.parse(afterRolling.out).value, 'during partition', 'nothing lost');
  t.equal((await cli('secret', 'set', '--vault-name', 'demo', '--name', 'p', '--value', 'after rolling')).code, 0, 'writes after the rolling restart');

  // Membership, online: east grows by a node, east-2 is replaced by a fresh one, and the new node is taken out again.
  const members = async () =>
    (JSON.parse((await cli('cluster', 'member', 'list', '--region', 'east', '--output', 'json')).out) as { members: { id: string; role: string }[] }).members
      .map((m) => `${m.id}:${m.role}`)
      .sort();
  const added = await run('scripts/add-node.sh', ['east'], env, 120_000);
  t.equal(added.code, 0, `add-node exits 0 ${added.err}`);
  t.match(added.out, /east-4 is a voter of east/);
  t.same(await members(), ['east-1:voter', 'east-2:voter', 'east-3:voter', 'east-4:voter'], 'four voters');
  const replaced = await run('scripts/replace-node.sh', ['east-2'], env, 120_000);
  t.equal(replaced.code, 0, `replace-node exits 0 ${replaced.err}`);
  t.match(replaced.out, /replaced east-2 in \d+ ms/);
  t.comment(replaced.out.trim().split('\n').pop() ?? '');
  t.same(await members(), ['east-1:voter', 'east-2:voter', 'east-3:voter', 'east-4:voter'], 'a fresh east-2 is a voter again');
  const removed = await run('scripts/remove-node.sh', ['east-4'], env, 60_000);
  t.equal(removed.code, 0, `remove-node exits 0 ${removed.err}`);
  t.same(await members(), ['east-1:voter', 'east-2:voter', 'east-3:voter'], 'back to three');
  const again = await run('scripts/start-node.sh', ['east-4'], env);
  t.not(again.code, 0, 'a removed node is not started again');
  t.match(again.err, /was removed/);
  const afterMembership = await cli('secret', 'show', '--vault-name', 'demo', '--name', 'p', '--output', 'json');
  t.equal(JSON.parse(afterMembership.out).value, 'after rolling', 'nothing lost through the membership changes');

  // rotate-master-key.sh while the cluster serves: the new key installed as
  // master.key, the old one kept as master.key.previous (both 0600), every
  // node restarted with both, the data keys rewrapped, and no node needing
  // the old key at the end.
  const masterKey = join(dir, 'data', 'master.key');
  const oldFp = masterKeyFingerprint(loadMasterKey(masterKey));
  const newKey = join(dir, 'new.key');
  const newFp = createMasterKeyFile(newKey);
  const rotated = await run('scripts/rotate-master-key.sh', [newKey], env, 300_000);
  t.equal(rotated.code, 0, `rotate-master-key exits 0 ${rotated.err}`);
  t.match(rotated.out, new RegExp(`installed master key ${newFp}`));
  t.equal((rotated.out.match(/caught up/g) ?? []).length, 6, 'every node restarted and caught up');
  t.match(rotated.out, /data keys rewrapped under master key/);
  t.match(rotated.out, new RegExp(`every node now needs only master key ${newFp}`));
  t.equal(masterKeyFingerprint(loadMasterKey(masterKey)), newFp, 'master.key is the new key');
  t.equal(masterKeyFingerprint(loadMasterKey(`${masterKey}.previous`)), oldFp, 'master.key.previous the old one');
  for (const f of [masterKey, `${masterKey}.previous`]) t.equal(statSync(f).mode & 0o777, 0o600, `${f} is 0600`);

  const status = await cli('cluster', 'status', '--output', 'json');
  t.equal(status.code, 0);
  const nodes = (JSON.parse(status.out) as { nodes: { id: string; masterKeyFingerprint: string; previousMasterKeyNeeded?: boolean }[] }).nodes;
  t.same(
    nodes.map((n) => [n.id, n.masterKeyFingerprint, n.previousMasterKeyNeeded ?? false]),
    regions.flatMap((r) => r.nodes.map((n) => [n.id, newFp, false])),
    'every node on the new key, needing the old one no more',
  );
  const afterRotation = await cli('secret', 'show', '--vault-name', 'demo', '--name', 'p', '--output', 'json');
  t.equal(JSON.parse(afterRotation.out).value, 'after rolling', 'what was written before still reads');

  // Backup and restore: restore-cluster.sh refuses while the cluster runs and over its data; --force starts a new one from the file.
  const snapshot = join(dir, 'backup.snap');
  const save = await cli('cluster', 'snapshot', 'save', snapshot);
  t.equal(save.code, 0, save.err);
  t.match(save.out, /Records/, 'prints a summary table');
  const busy = await run('scripts/restore-cluster.sh', [snapshot], env);
  t.equal(busy.code, 1);
  t.match(busy.err, /still running/, 'refuses while the cluster runs');

  const stop = await run('scripts/cluster-stop.sh', [], env);
  t.equal(stop.code, 0);
  t.match(stop.out, /stopped west-3/);

  const inTheWay = await run('scripts/restore-cluster.sh', [snapshot], env);
  t.equal(inTheWay.code, 1);
  t.match(inTheWay.err, /not empty/, 'refuses over the old data without --force');
  const restored = await run('scripts/restore-cluster.sh', [snapshot, '--force'], env, 90_000);
  t.equal(restored.code, 0, `restore-cluster exits 0 ${restored.err}`);
  t.match(restored.out, /6\/6 nodes up, 2\/2 regions with a leader/);
  const restoredValue = await cli('secret', 'show', '--vault-name', 'demo', '--name', 'p', '--output', 'json');
  t.equal(JSON.parse(restoredValue.out).value, 'after rolling', 'the new cluster has the snapshot\'s state');
  t.equal((await run('scripts/cluster-stop.sh', [], env)).code, 0);
});
