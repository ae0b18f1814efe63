// No acknowledged write is lost: clients write concurrently while nodes are
// killed with SIGKILL and restarted; afterwards every acknowledged SetSecret
// reads back with its exact value and version from every node, and every
// node's applied state on disk is identical.

import t, { type Test } from 'tap';
import { KeyraftClient } from '../../src/client/index.js';
import { NodeStore } from '../../src/storage/store.js';
import { join } from 'node:path';
import { TestCluster, atLeast, eventually } from './cluster.js';

t.setTimeout(360_000);

interface Acked {
  name: string;
  version: string;
  value: string;
}

const VAULT = 'durable';

async function leaderOf(client: KeyraftClient): Promise<string> {
  return eventually('a leader', async () => {
    const s = await client.getStatus({});
    return s.regions[0]?.leader || undefined;
  });
}

/** Writers that keep setting secrets until told to stop; only acknowledged writes are recorded. */
function startWriters(client: KeyraftClient, writers: number) {
  const acked: Acked[] = [];
  let failed = 0;
  let running = true;
  const loops = Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; running; i++) {
      const name = `s-${w}-${i % 5}`;
      const value = `value-${w}-${i}-${Math.random().toString(36).slice(2)}`;
      try {
        const s = await client.setSecret({ vault: VAULT, name, value });
        acked.push({ name, version: s.properties!.version, value });
      } catch {
        failed++;
      }
    }
  });
  return {
    acked,
    failed: () => failed,
    /** Waits until `n` more writes are acknowledged. */
    progress: (n: number) => atLeast('acknowledged writes', () => acked.length, acked.length + n),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function settle(cluster: TestCluster): Promise<number> {
  // Every node applied the same index, as each node reports it.
  return eventually(
    'every node applied the same index',
    async () => {
      const indexes = await Promise.all(
        cluster.nodes.map(async (n) => {
          const c = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [n.client], retries: 0, timeoutMs: 2000 });
          try {
            const s = await c.getStatus({});
            return s.nodes.find((x) => x.id === n.id)!.appliedIndex;
          } finally {
            c.close();
          }
        }),
      );
      return indexes.every((i) => i === indexes[0]) ? indexes[0] : undefined;
    },
    30_000,
    200,
  );
}

async function verify(t: Test, cluster: TestCluster, acked: Acked[]): Promise<void> {
  t.ok(acked.length > 20, `${acked.length} writes acknowledged`);
  await settle(cluster);
  for (const n of cluster.nodes) {
    const c = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [n.client], retries: 2, timeoutMs: 5000 });
    let mismatches = 0;
    try {
      for (const a of acked) {
        const s = await c.getSecret({ vault: VAULT, name: a.name, version: a.version });
        if (s.value !== a.value) mismatches++;
      }
    } finally {
      c.close();
    }
    t.equal(mismatches, 0, `${n.id} returns every acknowledged version with its value`);
  }
  // The applied state on disk, node by node. The followers stop first: a
  // leader stopped with them would hand its leadership over (drain), and the
  // new leader's first entry could commit on two nodes before the third
  // stops, leaving applied indexes one apart over the same records.
  const status = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: cluster.endpoints(), retries: 2, timeoutMs: 5000 });
  const leader = await leaderOf(status).finally(() => status.close());
  await Promise.all(cluster.nodes.filter((n) => n.id !== leader).map((n) => cluster.stop(n.id)));
  await cluster.stop(leader);
  const states: string[] = [];
  for (const n of cluster.nodes) {
    const store = await NodeStore.open(join(n.dataDir, 'db'));
    const records: string[] = [];
    for await (const [k, v] of store.stateRecords()) records.push(`${k}=${Buffer.from(v).toString('base64')}`);
    const raft = await store.loadRaft();
    states.push(`${raft!.applied.index}\n${records.join('\n')}`);
    await store.close();
  }
  t.ok(states.every((s) => s === states[0]), 'every node holds the same applied state');
}

t.test('kill -9 of the leader under concurrent writes loses nothing acknowledged', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 6000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: VAULT }).then(() => true));
  const writers = startWriters(client, 4);
  await writers.progress(15);
  const leader = await leaderOf(client);
  await cluster.kill(leader);
  await new Promise((r) => setTimeout(r, 2000));
  cluster.start(leader);
  // Acknowledged after the restart: the killed leader's term is over and writes go on.
  await writers.progress(10);
  await writers.stop();
  t.comment(`${writers.acked.length} acknowledged, ${writers.failed()} failed (killed ${leader})`);
  await verify(t, cluster, writers.acked);
});

t.test('a follower, then two nodes in turn, killed under writes: nothing lost', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 6000 });
  t.teardown(() => client.close());
  await eventually('the vault', () => client.createVault({ name: VAULT }).then(() => true));
  const writers = startWriters(client, 3);
  const leader = await leaderOf(client);
  const followers = cluster.nodes.map((n) => n.id).filter((id) => id !== leader);
  await writers.progress(10);
  await cluster.kill(followers[0]!);
  await new Promise((r) => setTimeout(r, 1000));
  cluster.start(followers[0]!);
  for (const id of [followers[1]!, leader]) {
    // Writes go on between the kills, so each kill lands on a working cluster.
    await writers.progress(10);
    await cluster.kill(id);
    await new Promise((r) => setTimeout(r, 1500));
    cluster.start(id);
  }
  await writers.progress(10);
  await writers.stop();
  t.comment(`${writers.acked.length} acknowledged, ${writers.failed()} failed`);
  await verify(t, cluster, writers.acked);
});
