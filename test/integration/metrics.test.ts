// Each node's Prometheus metrics, scraped over HTTPS as Prometheus would
// (trusting the cluster CA): the named series exist, and move when a write
// is made (requests, applied index) and when the leader is killed (leader
// changes, term, role).

import t from 'tap';
import { KeyraftClient } from '../../src/client/index.js';
import { TestCluster, eventually } from './cluster.js';
import { scrape, value } from './scrape.js';

t.setTimeout(300_000);

const SET = '/keyraft.v1.Secrets/SetSecret';

t.test('metrics move with a write and with a killed leader', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }] });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 8000 });
  t.teardown(() => client.close());
  await eventually('the first vault', () => client.createVault({ name: 'metrics' }), 60_000);

  const all = async () => Promise.all(cluster.nodes.filter((n) => cluster.isRunning(n.id)).map(async (n) => ({ id: n.id, text: (await scrape(n.metrics, cluster.ca)).body })));
  const sum = (scrapes: { text: string }[], name: string, labels: Record<string, string>) => scrapes.reduce((a, s) => a + (value(s.text, name, labels) ?? 0), 0);

  // A steady cluster first: one leader, known to every node (under load an election may still be settling).
  const before = await eventually('every node to know its leader', async () => {
    const scrapes = await all();
    const steady = scrapes.every((x) => value(x.text, 'keyraft_raft_has_leader') === 1) && scrapes.filter((x) => value(x.text, 'keyraft_raft_role', { role: 'leader' }) === 1).length === 1;
    return steady ? scrapes : undefined;
  });
  for (const s of before) {
    for (const name of ['keyraft_raft_term', 'keyraft_raft_commit_index', 'keyraft_raft_applied_index', 'keyraft_raft_leader_changes_total', 'process_resident_memory_bytes']) {
      t.ok(value(s.text, name) !== undefined, `${s.id} has ${name}`);
    }
    t.ok(value(s.text, 'keyraft_region_mode', { mode: 'SERVING' }) === 1, `${s.id}: its region is SERVING`);
  }
  t.equal(before.filter((s) => value(s.text, 'keyraft_raft_role', { role: 'leader' }) === 1).length, 1, 'one leader');

  // A write: counted by RPC and code where it arrived, and applied everywhere.
  const setsBefore = sum(before, 'keyraft_requests_total', { rpc: SET, code: '0' });
  const proposedBefore = sum(before, 'keyraft_raft_proposals_total', { outcome: 'applied' });
  const syncsBefore = sum(before, 'keyraft_raft_write_seconds_count', { synced: 'true' });
  const readiesBefore = sum(before, 'keyraft_raft_ready_seconds_count', {});
  await client.setSecret({ vault: 'metrics', name: 'a', value: 'x' });
  const after = await all();
  t.ok(sum(after, 'keyraft_requests_total', { rpc: SET, code: '0' }) > setsBefore, 'keyraft_requests_total counts the SetSecret');
  t.ok(sum(after, 'keyraft_request_duration_seconds_count', { rpc: SET }) > 0, 'and its latency');
  t.ok(sum(after, 'keyraft_raft_proposals_total', { outcome: 'applied' }) > proposedBefore, 'keyraft_raft_proposals_total counts its proposal');
  t.ok(sum(after, 'keyraft_raft_write_seconds_count', { synced: 'true' }) > syncsBefore, 'keyraft_raft_write_seconds counts synced writes (fsync)');
  t.ok(sum(after, 'keyraft_raft_ready_seconds_count', {}) > readiesBefore, 'keyraft_raft_ready_seconds counts Ready loops');
  // Reads: each is counted where it was served, by the way it was confirmed (the leader's lease, or a round).
  const reads = (scrapes: { text: string }[]) => sum(scrapes, 'keyraft_raft_reads_total', { way: 'lease' }) + sum(scrapes, 'keyraft_raft_reads_total', { way: 'round' });
  const readsBefore = reads(after);
  await client.getSecret({ vault: 'metrics', name: 'a' });
  await client.getSecret({ vault: 'metrics', name: 'a' });
  t.ok(reads(await all()) >= readsBefore + 2, 'keyraft_raft_reads_total counts the two GetSecrets');
  const appliedBefore = Math.max(...before.map((s) => value(s.text, 'keyraft_raft_applied_index')!));
  await eventually('every node applied the write', async () => ((await all()).every((s) => value(s.text, 'keyraft_raft_applied_index')! > appliedBefore) ? true : undefined));

  // The leader killed: a survivor sees a new leader in a new term.
  const leader = before.find((s) => value(s.text, 'keyraft_raft_role', { role: 'leader' }) === 1)!;
  const termBefore = value(leader.text, 'keyraft_raft_term')!;
  const changesBefore = new Map(before.map((s) => [s.id, value(s.text, 'keyraft_raft_leader_changes_total')!]));
  await cluster.kill(leader.id);
  // The leader changes counter samples the leader every 100 ms: wait for the sample.
  const moved = (x: { id: string; text: string }) => value(x.text, 'keyraft_raft_leader_changes_total')! > changesBefore.get(x.id)!;
  const survivors = await eventually('a new leader, seen by every survivor', async () => {
    const s = await all();
    if (s.some((x) => value(x.text, 'keyraft_raft_role', { role: 'leader' }) === 1) && s.every(moved)) return s;
    // Not yet: what each survivor sees, for the timeout's message.
    const role = (x: { text: string }) => ['leader', 'follower', 'candidate', 'pre-candidate', 'learner'].find((r) => value(x.text, 'keyraft_raft_role', { role: r }) === 1);
    const views = s.map((x) => `${x.id} ${role(x)} in term ${value(x.text, 'keyraft_raft_term')}, leader changes ${changesBefore.get(x.id)} -> ${value(x.text, 'keyraft_raft_leader_changes_total')}`);
    throw new Error(`killed ${leader.id} (term ${termBefore}); ${views.join('; ')}`);
  });
  for (const s of survivors) {
    t.ok(value(s.text, 'keyraft_raft_term')! > termBefore, `${s.id}: the term moved on`);
    t.ok(value(s.text, 'keyraft_raft_leader_changes_total')! > changesBefore.get(s.id)!, `${s.id}: keyraft_raft_leader_changes_total counts the new leader`);
  }

  const other = await scrape(cluster.nodes.find((n) => n.id !== leader.id)!.metrics, cluster.ca, '/nope');
  t.equal(other.status, 404, 'an unknown path is not found');
});
