// Online membership (issue 18), on real processes, under a steady client
// workload: the primary region grows from 3 to 5 voters (learners that catch
// up from a snapshot, then promotion) and shrinks back; its leader is
// removed (it hands over first) and replaced by a fresh node with the same
// id; a removed node does not rejoin on its own; the secondary region gets a
// member the same way, which then serves the read-only list through a
// failover and failback. No client request fails, nothing acknowledged is
// lost, and every node ends with the same state.

import t from 'tap';
import { KeyraftClient, KeyraftError, type Member } from '../../src/client/index.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(300_000);

const VAULT = 'members';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('membership changes online in both regions, under load', async (t) => {
  const cluster = await TestCluster.create({
    regions: [
      { name: 'east', nodes: 3 },
      { name: 'west', nodes: 1 },
    ],
    compactEvery: 200,
    failoverAfterMs: 2000,
    failbackAfterMs: 2000,
  });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints('east'), timeoutMs: 8000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: VAULT }).then(() => true), 60_000);

  // The workload: one write and one read at a time, each checked; the SDK's own retries allowed.
  const acknowledged = new Map<string, string>();
  const failures: string[] = [];
  let running = true;
  t.teardown(() => {
    running = false;
  });
  let n = 0;
  const workload = (async () => {
    while (running) {
      const name = `w${n % 50}`;
      const value = `v${n++}`;
      try {
        await client.setSecret({ vault: VAULT, name, value });
        acknowledged.set(name, value);
        const got = await client.getSecret({ vault: VAULT, name });
        if (got.value !== acknowledged.get(name)) failures.push(`read ${name}: ${got.value}, wanted ${acknowledged.get(name)}`);
      } catch (e) {
        failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  })();

  const members = async (region: string) => (await client.listMembers({ region })).members;
  const ids = (ms: Member[], role?: string) => ms.filter((m) => role === undefined || m.role === role).map((m) => m.id).sort();
  const leaderOf = async (region: string) => eventually(`a ${region} leader`, async () => (await client.getStatus({})).regions.find((r) => r.name === region)?.leader || undefined);

  /** member add, start the node with --join, promote it once it has caught up. */
  const grow = async (region: string, id: string) => {
    const node = await cluster.newNode(region, id);
    const added = await client.addMember({ region, id, clientAddress: node.client, peerAddress: node.peer, metricsAddress: node.metrics });
    t.same(ids(added.members, 'learner'), [id], `${id} joins ${region} as a learner`);
    cluster.start(id, cluster.joinArgs(id));
    await eventually(
      `${id} promoted`,
      async () => {
        try {
          return await client.promoteMember({ id });
        } catch (e) {
          if (e instanceof KeyraftError && e.reason === 'LEARNER_NOT_READY') return undefined;
          throw e;
        }
      },
      60_000,
    );
  };

  t.same(ids(await members('east'), 'voter'), ['east-1', 'east-2', 'east-3'], 'the founders are the voters');
  await client.promoteMember({ id: 'east-1' }).then(
    () => t.fail('promoting a voter'),
    (e: KeyraftError) => t.equal(e.reason, 'ALREADY_VOTER', 'a voter is not promoted again'),
  );
  await client.addMember({ region: 'east', id: 'Bad Id', clientAddress: '127.0.0.1:1', peerAddress: '127.0.0.1:2' }).then(
    () => t.fail('a bad id'),
    (e: KeyraftError) => t.equal(e.reason, 'INVALID_MEMBER', 'a bad id is refused'),
  );

  // Grow the primary region from 3 to 5 voters.
  await grow('east', 'east-4');
  await grow('east', 'east-5');
  t.same(ids(await members('east'), 'voter'), ['east-1', 'east-2', 'east-3', 'east-4', 'east-5'], 'five voters');
  const onNew = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [cluster.node('east-5').client], retries: 0 });
  t.teardown(() => onNew.close());
  await client.setSecret({ vault: VAULT, name: 'before-shrink', value: 'kept' });
  t.equal((await onNew.getSecret({ vault: VAULT, name: 'before-shrink' })).value, 'kept', 'a node added online serves reads');

  // Shrink back to 3; a removed node stops by itself, and does not rejoin on its own.
  for (const id of ['east-5', 'east-4']) {
    await client.removeMember({ id });
    t.equal(await Promise.race([cluster.exited(id), sleep(20_000).then(() => 'still running')]), 0, `${id} stops once it applies its removal`);
  }
  t.same(ids(await members('east')), ['east-1', 'east-2', 'east-3'], 'back to three');
  cluster.start('east-4');
  t.equal(await Promise.race([cluster.exited('east-4'), sleep(20_000).then(() => 'still running')]), 1, 'a removed node refuses to start');
  t.match(cluster.log('east-4'), /was removed from its region's membership/, 'and says why');

  // Remove the leader (it hands over first), and replace it with a fresh node of the same id.
  const old = await leaderOf('east');
  await client.removeMember({ id: old });
  t.notOk(ids(await members('east')).includes(old), `${old}, the leader, is removed`);
  t.not(await leaderOf('east'), old, 'another node leads');
  await cluster.exited(old);
  await grow('east', old);
  t.same(ids(await members('east'), 'voter'), ['east-1', 'east-2', 'east-3'], `${old} is back as a fresh voter`);

  // The secondary region: a new member, then a failover it serves in, and the failback.
  await grow('west', 'west-2');
  t.same(ids(await members('west'), 'voter'), ['west-1', 'west-2'], 'the secondary has two voters');
  await client.setSecret({ vault: VAULT, name: 'geo', value: 'shipped' });
  const onWest2 = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [cluster.node('west-2').client], retries: 0 });
  t.teardown(() => onWest2.close());
  await eventually('west-2 has the primary’s writes', async () => ((await onWest2.getSecret({ vault: VAULT, name: 'geo' })).value === 'shipped' ? true : undefined));
  await client.failover({ reason: 'membership test' });
  await eventually('west-2 serves in FAILED_OVER', async () => {
    let mode = '';
    const s = await onWest2.getSecret({ vault: VAULT, name: 'geo' }, { onServedBy: (b) => (mode = b.mode) });
    return mode === 'FAILED_OVER' && s.value === 'shipped' ? true : undefined;
  });
  await onWest2.setSecret({ vault: VAULT, name: 'geo', value: 'no' }).then(
    () => t.fail('a write on a failed-over secondary'),
    (e: KeyraftError) => t.equal(e.reason, 'READ_ONLY_FAILOVER', 'the secondary stays read-only'),
  );
  await client.failback({ reason: 'membership test' });

  running = false;
  await workload;
  t.same(failures, [], `no failed client request in ${n} writes and reads`);
  t.ok(n > 50, `the workload ran (${n} writes)`);

  // Every running node ends with the same state: every acknowledged write, on each.
  for (const node of cluster.nodes.filter((x) => cluster.isRunning(x.id))) {
    const pinned = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [node.client], retries: 3 });
    try {
      await eventually(`${node.id} has every acknowledged write`, async () => {
        for (const [name, value] of acknowledged) if ((await pinned.getSecret({ vault: VAULT, name })).value !== value) return undefined;
        return true;
      });
      t.pass(`${node.id} holds all ${acknowledged.size} acknowledged values`);
    } finally {
      pinned.close();
    }
  }
});
