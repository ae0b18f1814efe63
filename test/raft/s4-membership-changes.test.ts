// Thesis chapter 4 "Cluster membership changes", one server at a time (§4.1):
// learners that catch up before they vote (§4.2.1), promotion, removal,
// including of the leader itself (§4.2.2), and one pending change at a time.

import t from 'tap';
import {
  ConfChangeTransition,
  ConfChangeType,
  MessageType,
  ProposalDropped,
  StateRole,
  type ConfChange,
} from '../../src/raft/index.js';
import { Network, bytes, electedNetwork, text } from './harness.js';

const change = (type: ConfChangeType, node: string): ConfChange => ({
  changes: [{ type, node }],
  transition: ConfChangeTransition.Auto,
});
const addLearner = (node: string) => change(ConfChangeType.AddLearner, node);
const addVoter = (node: string) => change(ConfChangeType.AddVoter, node);
const remove = (node: string) => change(ConfChangeType.Remove, node);

/** a, b, c with a leading, and d added as a learner that has caught up. */
function withLearner() {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'x');
  net.node('a').proposeConfChange(addLearner('d'));
  net.stabilize();
  net.addNode('d');
  net.tickUntil(() => net.peer('d').applied.length === 1);
  return net;
}

t.test('§4.2.1 a learner added to the cluster receives the log', async (t) => {
  const net = withLearner();
  for (const id of ['a', 'b', 'c']) {
    t.same(net.node(id).status().conf.learners, ['d'], `${id} knows d as a learner`);
    t.same(net.node(id).status().conf.voters, ['a', 'b', 'c'], `${id}: the voters are unchanged`);
  }
  t.ok(
    net.sent.some((m) => m.type === MessageType.Snap && m.to === 'd'),
    'd, which started empty, was sent a snapshot first',
  );
  t.same(net.peer('d').applied, ['x'], 'd has the data');
  t.same(net.node('d').status().conf.learners, ['d'], 'and knows itself a learner');
  t.equal(net.node('a').status().progress.get('d')?.isLearner, true);
  net.propose('a', 'y');
  t.same(net.peer('d').applied, ['x', 'y'], 'new entries reach it too');
});

t.test('§4.2.1 a learner never campaigns and is never asked for its vote', async (t) => {
  const net = withLearner();
  net.isolate('d');
  const mark = net.sent.length;
  net.tick(['d'], 100);
  t.equal(net.role('d'), StateRole.Follower, 'd stays a follower');
  t.equal(net.term('d'), 2, 'its term never moves');
  t.notOk(
    net.sent.slice(mark).some((m) => m.from === 'd'),
    'it sends nothing at all',
  );
  net.heal();

  // An election among the voters does not involve d.
  const mark2 = net.sent.length;
  net.stop('a');
  net.tickUntil(() => net.leader() !== undefined);
  t.ok(['b', 'c'].includes(net.leader()!), 'a voter is elected');
  t.notOk(
    net.sent.slice(mark2).some((m) => (m.type === MessageType.Vote || m.type === MessageType.PreVote) && m.to === 'd'),
    'no vote request went to d',
  );
});

t.test('§4.2.1 a learner’s acknowledgements do not count toward commitment or reads', async (t) => {
  const net = withLearner();
  net.cutLinks(['a'], ['b', 'c']);
  net.propose('a', 'y');
  t.equal(net.log('d').at(-1)?.data, 'y', 'd stores y');
  t.equal(net.node('a').status().progress.get('d')?.match, net.node('a').status().lastIndex, 'and the leader knows it');
  t.same(net.peer('a').applied, ['x'], 'yet a and d together commit nothing');
  net.node('a').readIndex(bytes('r'));
  net.stabilize();
  t.same(net.peer('a').readStates, [], 'nor confirm a read');
  net.heal();
  net.tick(['a']);
  t.same(net.peer('a').applied, ['x', 'y'], 'with a voter back, y commits');
  t.same(
    net.peer('a').readStates.map((r) => text(r.context)),
    ['r'],
    'and the read is answered',
  );
});

t.test('§4.2.1 leadership cannot be transferred to a learner', async (t) => {
  const net = withLearner();
  net.node('a').transferLeadership('d');
  net.stabilize();
  t.equal(net.node('a').status().leadTransferee, '');
  t.notOk(net.sent.some((m) => m.type === MessageType.TimeoutNow));
  t.equal(net.role('a'), StateRole.Leader);
});

t.test('§4.1 a caught-up learner is promoted to voter, and then counts', async (t) => {
  const net = withLearner();
  net.node('a').proposeConfChange(addVoter('d'));
  net.stabilize();
  for (const id of ['a', 'b', 'c', 'd']) {
    t.same(net.node(id).status().conf.voters, ['a', 'b', 'c', 'd'], `${id}: d is a voter`);
    t.same(net.node(id).status().conf.learners, [], `${id}: no learners left`);
  }
  // Four voters: a majority is three.
  net.partition(['a', 'b'], ['c', 'd']);
  net.propose('a', 'y');
  t.same(net.peer('a').applied, ['x'], 'two of four no longer commit');
  net.heal();
  net.partition(['a', 'b', 'd'], ['c']);
  net.tick(['a']);
  t.same(net.peer('a').applied, ['x', 'y'], 'a, b and d do');
  net.heal();
  net.node('a').transferLeadership('d');
  net.stabilize();
  t.equal(net.role('d'), StateRole.Leader, 'd can now lead');
});

t.test('§4.1 removing a follower: the rest commit without it and it stays quiet', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.node('a').proposeConfChange(remove('c'));
  net.stabilize();
  for (const id of ['a', 'b', 'c']) t.same(net.node(id).status().conf.voters, ['a', 'b'], `${id} applied the removal`);
  t.notOk(net.node('a').status().progress.has('c'), 'the leader no longer tracks c');
  const mark = net.sent.length;
  net.tick(undefined, 30);
  t.notOk(
    net.sent.slice(mark).some((m) => m.to === 'c' || m.from === 'c'),
    'nobody talks to c, and c, no longer a voter, never campaigns',
  );
  net.isolate('c');
  net.propose('a', 'y');
  t.same(net.peer('b').applied, ['y'], 'a and b are a majority of the new configuration');
});

t.test('§4.2.2 removing the leader: it steps down once the removal is applied, and the others elect a leader', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.node('a').proposeConfChange(remove('a'));
  net.stabilize();
  t.equal(net.role('a'), StateRole.Follower, 'a stepped down');
  for (const id of ['b', 'c']) t.same(net.node(id).status().conf.voters, ['b', 'c'], `${id} applied the removal`);
  t.throws(() => net.node('a').propose(bytes('late')), ProposalDropped);
  const mark = net.sent.length;
  net.tickUntil(() => net.leader() !== undefined);
  const lead = net.leader()!;
  t.ok(['b', 'c'].includes(lead), `${lead} is elected`);
  t.notOk(
    net.sent.slice(mark).some((m) => m.from === 'a' && (m.type === MessageType.PreVote || m.type === MessageType.Vote)),
    'a never campaigns',
  );
  net.propose(lead, 'y');
  t.same(net.peer('b').applied, ['y']);
  t.same(net.peer('c').applied, ['y']);
  t.same(net.peer('a').applied, [], 'a is out of the group');
});

t.test('§4.1 one change at a time: a second conf change is refused while the first is pending', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  const a = net.node('a');
  a.proposeConfChange(addLearner('d'));
  t.throws(() => a.proposeConfChange(addLearner('e')), ProposalDropped, 'refused before the first is applied');
  t.throws(() => a.proposeConfChange(addLearner('e')), /pending/);
  a.propose(bytes('ordinary')); // ordinary proposals still go through
  net.stabilize();
  a.proposeConfChange(addLearner('e'));
  net.stabilize();
  t.same(a.status().conf.learners, ['d', 'e'], 'once applied, the next change is accepted');
  t.same(net.peer('b').applied, ['ordinary']);
});

t.test('§4.1 a new leader takes no conf change while one may sit unapplied in its log', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, checkQuorum: false });
  net.node('a').proposeConfChange(addLearner('d'));
  net.deliver((m) => m.type !== MessageType.AppResp); // b and c store it; a never learns
  net.queue = [];
  t.same(net.node('b').status().conf.learners, [], 'the change is not committed');
  net.stop('a');
  net.node('b').campaign();
  net.deliver((m) => m.type !== MessageType.AppResp); // b wins; its first entry is not yet committed
  t.equal(net.role('b'), StateRole.Leader);
  t.throws(() => net.node('b').proposeConfChange(addLearner('e')), /pending/, 'b refuses another change for now');
  net.stabilize(); // b's entry of term 3 commits, and the inherited change with it
  t.same(net.node('b').status().conf.learners, ['d'], 'the inherited change is applied');
  net.node('b').proposeConfChange(addLearner('e'));
  net.stabilize();
  t.same(net.node('c').status().conf.learners, ['d', 'e'], 'then the next one is accepted');
});

t.test('§4.1 invalid single changes are refused', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  const a = net.node('a');
  t.throws(() => a.proposeConfChange({ changes: [{ type: ConfChangeType.Remove, node: '' }], transition: ConfChangeTransition.Auto }), ProposalDropped);
  t.throws(() => a.proposeConfChange({ changes: [], transition: ConfChangeTransition.Auto }), ProposalDropped, 'leaving a joint config when not in one');
  t.throws(() => net.node('b').proposeConfChange(addLearner('d')), ProposalDropped, 'a follower takes no conf change');
});

t.test('§4.2.1 a learner that joined through a snapshot comes back as a learner after a crash', async (t) => {
  const net = withLearner();
  net.propose('a', 'y');
  net.stop('d');
  net.restart('d');
  t.same(net.node('d').status().conf.learners, ['d'], 'its membership is rebuilt from its snapshot and log');
  t.same(net.peer('d').applied, ['x', 'y']);
  net.propose('a', 'z');
  t.same(net.peer('d').applied, ['x', 'y', 'z'], 'and it keeps receiving the log');
  net.isolate('d');
  net.tick(['d'], 50);
  t.equal(net.role('d'), StateRole.Follower, 'still never campaigns');
});

t.test('§4.1 growing a single-node cluster: the new voter catches up and then counts', async (t) => {
  const net = new Network(['a'], { seed: 1 });
  net.campaign('a');
  net.propose('a', 'x');
  t.same(net.peer('a').applied, ['x'], 'a alone commits at once');
  net.node('a').proposeConfChange(addVoter('b'));
  net.stabilize();
  t.same(net.node('a').status().conf.voters, ['a', 'b'], 'the change commits on a alone (the old config)');
  net.propose('a', 'y');
  t.same(net.peer('a').applied, ['x'], 'now y needs b, which does not exist yet');
  net.addNode('b');
  net.tick(undefined, 3);
  t.same(net.peer('b').applied, ['x', 'y'], 'b joins, catches up');
  t.same(net.peer('a').applied, ['x', 'y'], 'and y commits');
  t.same(net.node('b').status().conf.voters, ['a', 'b']);
});

t.test('§4.1 removing a voter lowers the quorum: an entry waiting for it commits once the removal is applied', async (t) => {
  const net = electedNetwork(['a', 'b'], { seed: 1, maxEntriesPerMsg: 1 });
  const a = net.node('a');
  a.proposeConfChange(remove('b'));
  a.propose(bytes('x'));
  // b stores and acknowledges the removal, but never receives x.
  net.dropIf((m) => m.type === MessageType.App && m.to === 'b' && m.entries.some((e) => text(e.data) === 'x'));
  net.stabilize();
  t.same(a.status().conf.voters, ['a'], 'the removal committed with b and was applied');
  t.same(net.peer('a').applied, ['x'], 'x, which b never got, then committed on a alone');
  t.equal(a.status().commit, a.status().lastIndex);
});

t.test('§4.2.1 a node joining after the leader compacted gets a snapshot that already names it', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'x');
  net.node('a').proposeConfChange(addLearner('d'));
  net.stabilize();
  const snap = net.compact('a');
  t.same(snap.meta.conf.learners, ['d'], 'the host’s snapshot carries the new membership');
  net.addNode('d');
  net.tickUntil(() => net.peer('d').applied.length === 1);
  const sent = net.sent.filter((m) => m.type === MessageType.Snap && m.to === 'd');
  t.same(
    sent.map((m) => m.snapshot?.meta.index),
    [snap.meta.index],
    'd got that snapshot',
  );
  t.same(net.peer('d').confHistory.map((c) => c.learners), [['d']], 'and knew itself a learner from the start');
  t.same(net.peer('d').applied, ['x'], 'its state machine came from the snapshot data');
});
