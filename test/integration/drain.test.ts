// SIGTERM drains a node: a leader hands leadership to a caught-up follower
// before it stops, so the region keeps a leader and writes barely pause.

import t from 'tap';
import { KeyraftClient } from '../../src/client/index.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(300_000);

t.test('a leader stopped with SIGTERM transfers leadership first', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 6000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: 'drain' }).then(() => true));
  await client.setSecret({ vault: 'drain', name: 'before', value: 'x' });
  const leader = (await client.getStatus({})).regions[0]!.leader;
  const stopped = Date.now();
  await cluster.stop(leader);
  t.equal(await cluster.exited(leader), 0, 'it exits cleanly');
  t.match(cluster.log(leader), /transferring leadership before stopping/);
  const survivor = cluster.nodes.find((n) => n.id !== leader)!;
  const pinned = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [survivor.client], retries: 0, timeoutMs: 2000 });
  t.teardown(() => pinned.close());
  const next = await eventually('a new leader', async () => {
    const l = (await pinned.getStatus({})).regions[0]!.leader;
    return l !== '' && l !== leader ? l : undefined;
  });
  t.not(next, leader);
  // Handing over takes a heartbeat or two; an election would take a timeout more.
  t.ok(Date.now() - stopped < 4000, `leadership moved to ${next} in ${Date.now() - stopped} ms`);
  t.equal((await client.getSecret({ vault: 'drain', name: 'before' })).value, 'x');
  t.ok((await client.setSecret({ vault: 'drain', name: 'after', value: 'y' })).properties?.version, 'writes go on');
});
