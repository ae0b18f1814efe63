// A node started with a wrong master key (or none) refuses to start with a
// clear message, and leaves its data folder exactly as it was.

import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KeyraftClient } from '../../src/client/index.js';
import { createMasterKeyFile } from '../../src/crypto/masterkey.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(60_000);

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

t.test('a wrong master key is refused before anything on disk changes', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ endpoints: cluster.endpoints(), timeoutMs: 6000 });
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
  const pinned = new KeyraftClient({ endpoints: [victim.client], retries: 3, timeoutMs: 5000 });
  t.teardown(() => pinned.close());
  const s = await eventually('the restarted node to serve', () => pinned.getSecret({ vault: 'mkv', name: 'x' }));
  t.equal(s.value, 'y');
});
