// A node started with a wrong master key (or none) refuses to start with a
// clear message, and leaves its data folder exactly as it was.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KeyraftClient } from '../../src/client/index.js';
import { createMasterKeyFile } from '../../src/crypto/masterkey.js';
import { NodeStore } from '../../src/storage/store.js';
import { TestCluster, eventually } from './cluster.js';
import { ROOT } from '../root.js';

t.setTimeout(360_000);

const ROTATE = join(ROOT, 'dist/scripts/rotate-master-key.js');

/** Every file under dir with its size, mode and content hash. */
function fingerprint(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out.push(`${p} ${s.size} ${s.mode} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

/** A stopped node's vault state records, key → base64 value. */
async function stateRecords(dataDir: string): Promise<Map<string, string>> {
  const store = await NodeStore.open(join(dataDir, 'db'));
  const out = new Map<string, string>();
  for await (const [k, v] of store.stateRecords()) out.set(k, Buffer.from(v).toString('base64'));
  await store.close();
  return out;
}

t.test('a wrong master key is refused before anything on disk changes', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 6000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: 'mkv' }).then(() => true));
  await client.setSecret({ vault: 'mkv', name: 'x', value: 'y' });
  const victim = cluster.nodes[2]!;
  await cluster.stop(victim.id);
  const before = fingerprint(victim.dataDir);
  t.ok(before.length > 3, 'the node has data');

  const wrongKey = join(cluster.dir, 'wrong.key');
  createMasterKeyFile(wrongKey);
  cluster.start(victim.id, ['--master-key', wrongKey]);
  t.not(await cluster.exited(victim.id), 0, 'it exits with an error');
  t.match(cluster.log(victim.id), /wrong master key/, 'and says why');
  t.same(fingerprint(victim.dataDir), before, 'the data folder is unchanged');

  cluster.start(victim.id, ['--master-key', join(cluster.dir, 'missing.key')]);
  t.not(await cluster.exited(victim.id), 0, 'a missing key file is refused too');
  t.same(fingerprint(victim.dataDir), before, 'still unchanged');

  // With the right key it starts and serves what it had.
  cluster.start(victim.id);
  const pinned = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [victim.client], retries: 3, timeoutMs: 5000 });
  t.teardown(() => pinned.close());
  const s = await eventually('the restarted node to serve', () => pinned.getSecret({ vault: 'mkv', name: 'x' }));
  t.equal(s.value, 'y');
});

t.test('rotating the master key re-wraps the data keys only, and the cluster carries on', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 8000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: 'rotate' }).then(() => true), 60_000);
  const written = new Map<string, string>();
  for (let i = 0; i < 10; i++) {
    written.set(`s${i}`, `v${i}`);
    await client.setSecret({ vault: 'rotate', name: `s${i}`, value: `v${i}` });
  }
  const key = await client.createKey({ vault: 'rotate', name: 'k', kty: 'EC' });
  const digest = Buffer.alloc(32, 1);
  const sig = await client.sign({ vault: 'rotate', name: 'k', algorithm: 'ES256', digest });
  await Promise.all(cluster.nodes.map((n) => cluster.stop(n.id)));

  const newKey = join(cluster.dir, 'new.key');
  createMasterKeyFile(newKey);
  const before = await stateRecords(cluster.nodes[0]!.dataDir);
  for (const n of cluster.nodes) {
    const out = execFileSync(process.execPath, [ROTATE, '--data-dir', n.dataDir, '--old-key', cluster.masterKeyFile, '--new-key', newKey], { encoding: 'utf8' });
    t.match(out, /data keys re-wrapped/, `${n.id} rotated`);
  }
  const after = await stateRecords(cluster.nodes[0]!.dataDir);
  const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k));
  t.ok(changed.length > 0 && changed.every((k) => k.startsWith('datakey/')), `only data key records changed: ${changed.join(', ')}`);
  t.equal(after.size, before.size, 'no record added or removed');

  for (const n of cluster.nodes) cluster.start(n.id, ['--master-key', newKey]);
  for (const [name, value] of written) {
    const s = await eventually(`${name} after rotation`, () => client.getSecret({ vault: 'rotate', name }));
    t.equal(s.value, value);
  }
  t.ok((await client.verify({ vault: 'rotate', name: 'k', algorithm: 'ES256', digest, signature: sig.value })).value, 'keys still work');
  t.equal((await client.getKey({ vault: 'rotate', name: 'k' })).properties!.version, key.properties!.version);
  t.equal((await client.setSecret({ vault: 'rotate', name: 'after', value: 'new' })).value, 'new', 'writes go on');

  // The old key no longer opens anything: a node started with it refuses.
  const victim = cluster.nodes[0]!;
  await cluster.stop(victim.id);
  cluster.start(victim.id);
  t.not(await cluster.exited(victim.id), 0, 'the old master key is refused after the rotation');
  t.match(cluster.log(victim.id), /wrong master key/);
});
