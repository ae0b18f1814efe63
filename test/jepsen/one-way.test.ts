// One-way faults (Admin.SetFaults dropOutboundTo) really cut one direction
// only. The leader is made mute: the followers stop hearing it and elect
// another leader, while it still hears them and so learns of the new leader
// and follows it. With a two-way cut it would learn nothing.

import t from 'tap';
import { TestCluster, eventually } from '../integration/cluster.js';

interface Status {
  id: string;
  role: string;
  term: number;
  leader: string;
}

t.setTimeout(300_000);

t.test('a leader that cannot send loses leadership, and still hears who won', async (t) => {
  const cluster = await TestCluster.create();
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const status = (id: string) => cluster.admin<Status>(id, 'nodeStatus', {}, 1000);
  const old = await eventually('a leader', async () => {
    for (const n of cluster.nodes) {
      const s = await status(n.id).catch(() => undefined);
      if (s?.role === 'leader') return s;
    }
    return undefined;
  });
  const others = cluster.nodes.map((n) => n.id).filter((id) => id !== old.id);
  const set = await cluster.admin<{ dropPeers: string[]; dropOutboundTo: string[] }>(old.id, 'setFaults', { dropOutboundTo: others, merge: false });
  t.same({ dropPeers: set.dropPeers, dropOutboundTo: set.dropOutboundTo }, { dropPeers: [], dropOutboundTo: others }, 'SetFaults reports the one-way fault, and no two-way one');

  const next = await eventually('a new leader among the others', async () => {
    for (const id of others) {
      const s = await status(id).catch(() => undefined);
      if (s?.role === 'leader' && s.term > old.term) return s;
    }
    return undefined;
  });
  t.not(next.id, old.id, `the followers, no longer hearing ${old.id}, elected ${next.id}`);
  const heard = await eventually('the old leader to follow the new one', async () => {
    const s = await status(old.id);
    return s.role === 'follower' && s.leader === next.id ? s : undefined;
  });
  t.ok(heard.term >= next.term, `${old.id} still hears the others: it follows ${next.id} in term ${heard.term}`);

  // Still one-way: the new leader cannot get the mute node's acknowledgements, so it stays where it is.
  const s = await status(next.id);
  t.equal(s.role, 'leader', `${next.id} keeps leading`);

  const cleared = await cluster.admin<{ dropPeers: string[]; dropOutboundTo: string[] }>(old.id, 'setFaults', { merge: false });
  t.same({ dropPeers: cleared.dropPeers, dropOutboundTo: cleared.dropOutboundTo }, { dropPeers: [], dropOutboundTo: [] }, 'a replacing SetFaults without lists clears both');
});
