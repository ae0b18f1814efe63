// A node that comes back after the others compacted the log it needs catches
// up from a snapshot streamed out of the leader's LevelDB.

import t from 'tap';
import { KeyraftClient } from '../../src/client/index.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(300_000);

t.test('a restarted node catches up from a snapshot when its log was compacted', async (t) => {
  // Compact every 20 entries, so that 150 writes leave the stopped node far behind the log.
  const cluster = await TestCluster.create({ compactEvery: 20 });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 6000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: 'snap' }).then(() => true));
  const status = await client.getStatus({});
  const lagging = status.nodes.find((n) => n.role === 'follower')!.id;
  await cluster.kill(lagging);

  const written = new Map<string, string>();
  for (let i = 0; i < 150; i++) {
    const value = `v${i}-${'x'.repeat(200)}`;
    await client.setSecret({ vault: 'snap', name: `secret-${i % 60}`, value });
    written.set(`secret-${i % 60}`, value);
  }
  cluster.start(lagging);
  const pinned = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [cluster.node(lagging).client], retries: 0, timeoutMs: 3000 });
  t.teardown(() => pinned.close());
  await eventually(
    `${lagging} to catch up`,
    async () => {
      const s = await pinned.getStatus({});
      const leader = s.nodes.find((n) => n.role === 'leader');
      const self = s.nodes.find((n) => n.id === lagging)!;
      return leader !== undefined && self.appliedIndex >= leader.commitIndex ? true : undefined;
    },
    30_000,
  );
  // Logs travel through a pipe to the test: give them a moment.
  const installed = await eventually('the install in the log', async () => (/installed snapshot/.test(cluster.log(lagging)) ? true : undefined), 5000).catch(() => false);
  t.ok(installed, `${lagging} installed a snapshot`);
  const othersLog = () => cluster.nodes.filter((n) => n.id !== lagging).map((n) => cluster.log(n.id)).join('\n');
  const sent = await eventually('the send in the log', async () => (/sent snapshot/.test(othersLog()) ? true : undefined), 5000).catch(() => false);
  t.ok(sent, 'the leader streamed it');
  let wrong = 0;
  for (const [name, value] of written) {
    const s = await pinned.getSecret({ vault: 'snap', name });
    if (s.value !== value) wrong++;
  }
  t.equal(wrong, 0, `${lagging} serves every secret written while it was down`);
  // And it keeps up with new writes after the snapshot.
  const after = await client.setSecret({ vault: 'snap', name: 'after', value: 'later' });
  const seen = await eventually('the new write on the caught-up node', async () => {
    const s = await pinned.getSecret({ vault: 'snap', name: 'after' });
    return s.properties?.version === after.properties?.version ? s.value : undefined;
  });
  t.equal(seen, 'later');
});
