// The replicated address book of a region (MemberBook) and the cluster map
// every node dials from (ClusterMap): what a conf change writes, what a
// restart reads back, the tombstone of a removed member, and which changes
// the map takes.

import t from 'tap';
import { ConfChangeTransition, ConfChangeType, type ConfState } from '../../src/raft/index.js';
import { MemberBook, addressProblem, encodeMemberContext, isMemberRecord } from '../../src/replica/members.js';
import { handOverTarget, promotionProblem, PROMOTE_SLACK_ENTRIES } from '../../src/replica/membership-plan.js';
import { ClusterMap } from '../../src/transport/cluster-map.js';
import { parseTopology } from '../../src/topology.js';

const conf = (voters: string[], learners: string[] = []): ConfState => ({ voters, votersOutgoing: [], learners, learnersNext: [], autoLeave: false });
const A = { client: '127.0.0.1:7101', peer: '127.0.0.1:7201' };
const D = { client: '127.0.0.1:7104', peer: '127.0.0.1:7204', metrics: '127.0.0.1:7304' };

t.test('a conf change carries a new member’s addresses into records that a restart reads back', async (t) => {
  const book = new MemberBook(new Map([['a', A]]));
  const writes = book.apply({ changes: [{ type: ConfChangeType.AddLearner, node: 'd' }], transition: ConfChangeTransition.Auto, context: encodeMemberContext(D) });
  t.ok(writes.every((w) => isMemberRecord(w.key)), 'only membership records');
  t.same(book.members(conf(['a'], ['d'])).map((m) => [m.id, m.role, m.client, m.metrics]), [['a', 'voter', A.client, undefined], ['d', 'learner', D.client, D.metrics]]);

  const restarted = new MemberBook();
  for (const w of writes) if (w.op === 'put') restarted.load(w.key, w.value);
  t.same(restarted.address('d'), D, 'the address outlives the process');
  t.equal(restarted.address('a'), undefined, 'a founder’s address is the topology’s until a change writes it');
});

t.test('a removed member leaves a tombstone, which adding it again clears', async (t) => {
  const book = new MemberBook(new Map([['d', D]]));
  const removal = book.apply({ changes: [{ type: ConfChangeType.Remove, node: 'd' }], transition: ConfChangeTransition.Auto });
  t.ok(book.isRemoved('d'));
  t.equal(book.address('d'), undefined);
  const restarted = new MemberBook();
  for (const w of removal) if (w.op === 'put') restarted.load(w.key, w.value);
  t.ok(restarted.isRemoved('d'), 'the tombstone is a record too');
  book.apply({ changes: [{ type: ConfChangeType.AddLearner, node: 'd' }], transition: ConfChangeTransition.Auto, context: encodeMemberContext(D) });
  t.notOk(book.isRemoved('d'), 'an operator adding it again clears it');
});

t.test('addresses are host:port', async (t) => {
  t.equal(addressProblem(D), undefined);
  t.match(addressProblem({ client: 'nowhere', peer: D.peer }), /client address/);
  t.match(addressProblem({ client: D.client, peer: D.peer, metrics: 'x' }), /metrics address/);
});

t.test('promotion waits for a learner to catch up; a hand-over goes to the voter with the longest log', async (t) => {
  const view = (progress: [string, number, boolean][], commit: number) => ({
    id: 'a',
    commit,
    conf: conf(['a', 'b', 'c'], ['d']),
    progress: new Map(progress.map(([id, match, isLearner]) => [id, { match, isLearner }])),
  });
  const v = view([['a', 5000, false], ['b', 4990, false], ['c', 5000, false], ['d', 10, false]], 5000);
  t.match(promotionProblem(v, 'd'), /has not caught up/);
  t.equal(promotionProblem(view([['d', 5000 - PROMOTE_SLACK_ENTRIES, true]], 5000), 'd'), undefined);
  t.match(promotionProblem(view([['d', 0, true]], 3), 'd'), /index 0/, 'a learner that acknowledged nothing waits, however short the log');
  t.equal(handOverTarget(v), 'c');
  t.equal(handOverTarget(view([['a', 5000, false], ['b', 4000, false]], 5000)), undefined, 'no voter has the whole commit index');
});

t.test('the cluster map follows a region’s members and ignores an empty report', async (t) => {
  const map = new ClusterMap(parseTopology({ regions: [{ name: 'east', role: 'primary', nodes: [{ id: 'a', ...A }] }, { name: 'west', role: 'secondary', nodes: [{ id: 'w', client: '127.0.0.1:7111', peer: '127.0.0.1:7211' }] }] }));
  const changes: string[] = [];
  map.on('change', (r: string) => changes.push(r));
  map.setMembers('east', []);
  map.setMembers('east', [{ id: 'a', ...A }]);
  t.same(changes, [], 'nothing new, no change');
  map.setMembers('east', [{ id: 'a', ...A }, { id: 'd', ...D, learner: true }, { id: 'x', client: '', peer: '' }]);
  t.same(changes, ['east']);
  t.same(map.region('east')!.nodes.map((n) => n.id), ['a', 'd'], 'a member without an address is left out');
  t.equal(map.find('d')?.region.name, 'east');
  t.equal(map.primary.name, 'east');
});
