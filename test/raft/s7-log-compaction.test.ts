// Raft §7 "Log compaction" (thesis chapter 5): the host snapshots its state
// machine and the core drops the log up to it; a follower that needs
// compacted entries gets the snapshot instead (InstallSnapshot), then the
// entries after it; a restarted node rebuilds from snapshot + entries.

import t from 'tap';
import { MessageType, StateRole } from '../../src/raft/index.js';
import { electedNetwork } from './harness.js';

t.test('§7 compact() drops the log up to the snapshot and keeps what follows', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'v1', 'v2', 'v3');
  const snap = net.compact('a');
  t.equal(snap.meta.index, 5);
  t.equal(snap.meta.term, 2);
  const st = net.node('a').status();
  t.equal(st.firstIndex, 6, 'the log now starts after the snapshot');
  t.equal(st.lastIndex, 5);
  net.propose('a', 'v4');
  t.equal(net.node('a').status().lastIndex, 6);
  for (const id of net.ids) t.same(net.peer(id).applied, ['v1', 'v2', 'v3', 'v4'], `${id} unaffected`);
});

t.test('§7 a follower behind the compaction point receives the snapshot, installs it, then catches up with entries', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.isolate('c');
  for (let k = 1; k <= 10; k++) net.propose('a', `v${k}`);
  const snap = net.compact('a');
  t.equal(snap.meta.index, 12);
  net.propose('a', 'v11', 'v12'); // entries after the snapshot
  t.equal(net.node('a').status().firstIndex, 13);

  const mark = net.sent.length;
  net.heal();
  net.tick(undefined, 3);
  const toC = net.sent.slice(mark).filter((m) => m.to === 'c' && (m.type === MessageType.Snap || m.type === MessageType.App));
  const snapAt = toC.findIndex((m) => m.type === MessageType.Snap);
  t.ok(snapAt >= 0, 'the leader sent c a snapshot');
  t.equal(toC[snapAt]!.snapshot?.meta.index, 12, 'the one at its compaction point');
  t.ok(
    toC.slice(snapAt + 1).some((m) => m.type === MessageType.App && m.index === 12 && m.entries.length === 2),
    'then the entries after it, following index 12',
  );
  t.same(net.peer('c').disk.snapshot.meta.index, 12, 'c persisted the snapshot (Ready.snapshot)');
  t.same(
    net.log('c').map((e) => e.index),
    [13, 14],
    'and holds only the entries after it',
  );
  t.same(
    net.peer('c').applied,
    ['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10', 'v11', 'v12'],
    'its state machine came from the snapshot, then the two entries',
  );
  const st = net.node('c').status();
  t.equal(st.commit, 14);
  t.equal(st.firstIndex, 13);
  t.equal(net.node('a').status().progress.get('c')?.state, 'replicate', 'the leader replicates to c normally again');
  net.propose('a', 'v13');
  t.same(net.peer('c').applied.at(-1), 'v13');
});

t.test('§7 a follower that still has the entries is sent entries, not the snapshot', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'v1');
  net.compact('a'); // at 3, which c holds
  net.isolate('c');
  net.propose('a', 'v2', 'v3');
  net.heal();
  net.tick(undefined, 3);
  t.notOk(net.sent.some((m) => m.type === MessageType.Snap), 'no snapshot sent');
  t.same(net.peer('c').applied, ['v1', 'v2', 'v3'], 'c caught up from the entries after the compaction point');
  t.equal(net.peer('c').disk.snapshot.meta.index, 1, 'c’s own snapshot is still the bootstrap one');
});

t.test('§7 a failed snapshot send is retried', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.isolate('c');
  net.propose('a', 'v1', 'v2');
  net.compact('a');
  net.heal();
  let dropped = 0;
  net.dropIf((m) => m.type === MessageType.Snap && dropped++ < 1);
  net.tick(undefined, 5);
  t.equal(net.sent.filter((m) => m.type === MessageType.Snap).length, 2, 'the lost snapshot was sent again');
  t.same(net.peer('c').applied, ['v1', 'v2'], 'and c installed the second');
});

t.test('§7 a restarted node comes back from its persisted snapshot and entries', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'v1', 'v2', 'v3');
  net.compact('b');
  net.propose('a', 'v4', 'v5');
  const before = net.node('b').status();
  t.equal(net.peer('b').disk.snapshot.meta.index, 5);
  t.same(
    net.log('b').map((e) => e.index),
    [6, 7],
  );

  net.stop('b');
  const p = net.restart('b');
  const after = net.node('b').status();
  t.equal(after.term, before.term, 'term from the hard state');
  t.equal(after.vote, before.vote, 'vote from the hard state');
  t.equal(after.commit, before.commit, 'commit from the hard state');
  t.equal(after.firstIndex, 6, 'the log starts after the snapshot');
  t.equal(after.lastIndex, 7, 'with the persisted entries');
  t.same(after.conf.voters, ['a', 'b', 'c'], 'membership from the snapshot');
  t.same(p.applied, ['v1', 'v2', 'v3', 'v4', 'v5'], 'the state machine: snapshot, then committed entries re-applied');
  t.equal(p.appliedIndex, 7);
  t.equal(after.role, StateRole.Follower);

  net.propose('a', 'v6');
  t.same(net.peer('b').applied.at(-1), 'v6', 'and it carries on');
});

t.test('§7 a restarted leader that compacted keeps serving laggards with its snapshot', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.isolate('c');
  net.propose('a', 'v1', 'v2');
  net.compact('a');
  net.compact('b');
  net.stop('a');
  net.restart('a');
  net.heal();
  net.tickUntil(() => net.leader() !== undefined && net.peer('c').applied.length === 2, undefined, 100);
  t.same(net.peer('c').applied, ['v1', 'v2'], 'c got the data through a snapshot from whichever leader');
  t.ok(net.sent.some((m) => m.type === MessageType.Snap && m.to === 'c'));
});
