// Thesis §3.10 "Leadership transfer extension": the leader brings the target
// up to date, then sends it TimeoutNow so that it campaigns at once (past
// PreVote and the lease); proposals wait meanwhile; a transfer that does not
// finish within an election timeout is abandoned.

import t from 'tap';
import { MessageType, ProposalDropped, StateRole } from '../../src/raft/index.js';
import { bytes, electedNetwork } from './harness.js';

const ELECTION_TICK = 10;

t.test('§3.10 a caught-up target gets TimeoutNow at once and becomes leader', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'x');
  const mark = net.sent.length;
  net.node('a').transferLeadership('b');
  net.stabilize();
  const kinds = net.sent.slice(mark).filter((m) => m.type === MessageType.TimeoutNow);
  t.same(
    kinds.map((m) => [m.from, m.to]),
    [['a', 'b']],
    'a sends b TimeoutNow',
  );
  t.equal(net.role('b'), StateRole.Leader, 'b is the leader');
  t.equal(net.term('b'), 3, 'of the next term');
  t.equal(net.role('a'), StateRole.Follower, 'a follows it');
  t.notOk(
    net.sent.slice(mark).some((m) => m.type === MessageType.PreVote),
    'b skipped the pre-vote',
  );
  t.ok(
    net.sent.slice(mark).some((m) => m.type === MessageType.VoteResp && m.from === 'c' && m.to === 'b' && !m.reject),
    'and c, though within its lease from a, voted for b',
  );
  net.propose('b', 'y');
  for (const id of net.ids) t.same(net.peer(id).applied, ['x', 'y']);
});

t.test('§3.10 a lagging target is caught up first, then gets TimeoutNow', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.isolate('c');
  net.propose('a', 'x', 'y', 'z');
  net.heal();
  const mark = net.sent.length;
  net.node('a').transferLeadership('c');
  net.process('a');
  t.notOk(
    net.inFlight((m) => m.type === MessageType.TimeoutNow).length,
    'no TimeoutNow while c lacks entries',
  );
  t.equal(net.node('a').status().leadTransferee, 'c');
  t.throws(() => net.node('a').propose(bytes('w')), ProposalDropped, 'proposals are refused during the transfer');
  t.throws(
    () => net.node('a').propose(bytes('w')),
    /leadership is moving to c/,
    'the reason names the transfer',
  );
  net.stabilize();
  const after = net.sent.slice(mark).filter((m) => m.to === 'c' || m.from === 'c');
  const timeoutAt = after.findIndex((m) => m.type === MessageType.TimeoutNow);
  const caughtUpAt = after.findIndex((m) => m.type === MessageType.AppResp && m.from === 'c' && !m.reject && m.index === 5);
  t.ok(caughtUpAt >= 0, 'c acknowledged the leader’s whole log');
  t.ok(timeoutAt > caughtUpAt, 'TimeoutNow came only after that');
  t.equal(net.role('c'), StateRole.Leader, 'c is the leader');
  t.same(net.peer('c').applied, ['x', 'y', 'z'], 'with everything committed before');
  net.propose('c', 'w');
  for (const id of net.ids) t.same(net.peer(id).applied, ['x', 'y', 'z', 'w']);
});

t.test('§3.10 a transfer to an unreachable node is abandoned after an election timeout', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.tick(undefined, 3);
  net.isolate('c');
  net.node('a').transferLeadership('c');
  net.stabilize();
  t.equal(net.node('a').status().leadTransferee, 'c');
  let ticks = 0;
  while (net.node('a').status().leadTransferee !== '' && ticks < 50) {
    t.throws(() => net.node('a').propose(bytes('w')), ProposalDropped);
    net.tick(['a', 'b']);
    ticks++;
  }
  t.equal(ticks, ELECTION_TICK, 'the transfer is given up after exactly one election timeout');
  t.equal(net.role('a'), StateRole.Leader, 'a is still the leader (b keeps its quorum)');
  // Its TimeoutNow may still reach c and let it past every lease: a read lease of this term no longer holds.
  t.equal(net.node('a').transferAsked, true, 'a remembers for the rest of its term that a transfer was asked');
  t.equal(net.term('a'), 2);
  net.propose('a', 'w');
  t.same(net.peer('b').applied, ['w'], 'and it takes proposals again');
});

t.test('§3.10 a transfer asked of a follower is forwarded to the leader', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  t.equal(net.node('a').transferAsked, false, 'no transfer asked yet in this term');
  net.node('c').transferLeadership('c');
  net.stabilize();
  t.ok(
    net.sent.some((m) => m.type === MessageType.TransferLeader && m.from === 'c' && m.to === 'a'),
    'c forwards the request to a',
  );
  t.equal(net.role('c'), StateRole.Leader);
  t.equal(net.node('c').transferAsked, false, 'a new leader starts its term with none asked');
});

t.test('§3.10 a transfer to the leader itself or to a node outside the configuration is ignored', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  for (const to of ['a', 'zz']) {
    net.node('a').transferLeadership(to);
    net.stabilize();
    t.equal(net.node('a').status().leadTransferee, '', `transfer to ${to} ignored`);
  }
  t.equal(net.role('a'), StateRole.Leader);
  net.propose('a', 'x');
  t.same(net.peer('c').applied, ['x']);
});
