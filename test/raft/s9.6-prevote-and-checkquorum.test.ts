// Thesis §9.6 "Preventing disruptions when a server rejoins the cluster":
// PreVote, and the leader lease that goes with CheckQuorum (thesis §6.2: a
// leader that cannot reach a quorum for an election timeout steps down).

import t from 'tap';
import { MessageType, StateRole } from '../../src/raft/index.js';
import { electedNetwork } from './harness.js';

const ELECTION_TICK = 10;

t.test('§9.6 PreVote: a partitioned node does not raise its term, and on rejoining does not disrupt the leader', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 2 });
  net.isolate('c');
  net.tick(undefined, 10 * ELECTION_TICK);
  t.equal(net.role('a'), StateRole.Leader, 'the majority side keeps its leader');
  t.equal(net.term('c'), 2, 'c kept its term through all its failed pre-elections');
  t.ok(
    net.sent.some((m) => m.from === 'c' && m.type === MessageType.PreVote),
    'c did try: it sent pre-votes',
  );
  t.notOk(
    net.sent.some((m) => m.from === 'c' && m.type === MessageType.Vote),
    'but never a real vote request',
  );
  net.propose('a', 'during');

  net.heal();
  net.tick(undefined, 3 * ELECTION_TICK);
  t.equal(net.role('a'), StateRole.Leader, 'a is still the leader');
  t.equal(net.term('a'), 2, 'in the same term');
  t.same([...net.leaders.keys()], [2], 'there was only ever one leader term');
  t.equal(net.node('c').status().lead, 'a', 'c follows a again');
  t.same(net.peer('c').applied, ['during'], 'and catches up');
});

t.test('§9.6 without PreVote, the same rejoining node forces the leader out (what PreVote prevents)', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 2, preVote: false });
  net.isolate('c');
  net.tick(undefined, 10 * ELECTION_TICK);
  t.ok(net.term('c') > 2, `c’s term ran up to ${net.term('c')}`);
  net.heal();
  net.tick(undefined, 3 * ELECTION_TICK);
  t.ok(net.term('a') > 2, 'the cluster had to move to c’s higher term');
  t.ok([...net.leaders.keys()].some((term) => term > 2), 'and elect a new leader');
});

t.test('§9.6 CheckQuorum: a leader cut off from its quorum steps down within an election timeout of its last check', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.tick(undefined, 5 * ELECTION_TICK);
  t.equal(net.role('a'), StateRole.Leader, 'a connected leader stays leader');
  net.isolate('a');
  let ticks = 0;
  while (net.role('a') === StateRole.Leader && ticks < 100) {
    net.tick(['a']);
    ticks++;
  }
  t.equal(net.role('a'), StateRole.Follower, 'the isolated leader stepped down');
  // The check runs every electionTick ticks; the first one after the cut may
  // still see answers from before it, the next cannot.
  t.ok(ticks <= 2 * ELECTION_TICK, `after ${ticks} ticks (at most two check periods)`);
  t.equal(net.term('a'), 2, 'stepping down does not change the term');
  t.equal(net.node('a').status().lead, '', 'it knows no leader');
});

t.test('§9.6 without CheckQuorum an isolated leader would believe it leads forever', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, checkQuorum: false });
  net.isolate('a');
  net.tick(['a'], 10 * ELECTION_TICK);
  t.equal(net.role('a'), StateRole.Leader);
});

t.test('§9.6 a follower that heard from its leader within the election timeout ignores vote requests', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, preVote: false });
  net.tick(undefined, 2); // heartbeats: b and c heard from a just now
  net.campaign('c'); // c disrupts: a real election in term 3
  t.equal(net.term('c'), 3);
  t.notOk(
    net.sent.some((m) => m.type === MessageType.VoteResp && m.to === 'c'),
    'neither the leader nor b answers the request',
  );
  t.equal(net.term('b'), 2, 'b did not move to term 3');
  t.equal(net.node('b').status().vote, 'a', 'nor give away its vote');
  t.equal(net.role('a'), StateRole.Leader, 'the leader is undisturbed');
  t.equal(net.term('a'), 2);
});

t.test('§9.6 without the lease (no CheckQuorum) the same request does disrupt', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, preVote: false, checkQuorum: false });
  net.tick(undefined, 2);
  net.campaign('c');
  t.equal(net.term('b'), 3, 'b moved to term 3');
  t.not(net.role('a'), StateRole.Leader, 'and the leader was deposed');
});

t.test('§9.6 once the lease has run out, a follower answers vote requests again', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.stop('a');
  // b and c stop hearing from a; the first to time out must get the other's vote.
  const ticks = net.tickUntil(() => net.leader() !== undefined);
  const lead = net.leader()!;
  t.ok(['b', 'c'].includes(lead), `${lead} is elected`);
  t.ok(ticks >= ELECTION_TICK, `no sooner than the lease allows (${ticks} ticks)`);
  t.equal(net.term(lead), 3);
});

t.test('§9.6 with quietAfterStart a restarted follower ignores vote requests for an election timeout, then answers', async (t) => {
  // It may have acknowledged the leader's heartbeat just before it crashed, and a read lease counts on that acknowledgement.
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, preVote: false });
  net.tick(undefined, 2);
  net.stop('a');
  net.stop('b');
  net.restart('b', { quietAfterStart: true });
  net.campaign('c');
  t.notOk(
    net.sent.some((m) => m.type === MessageType.VoteResp && m.from === 'b' && m.to === 'c'),
    'b, just restarted, does not answer c',
  );
  t.equal(net.term('b'), 2, 'nor move to its term');
  net.tick(['b'], ELECTION_TICK - 1);
  net.campaign('c');
  t.notOk(net.sent.some((m) => m.type === MessageType.VoteResp && m.from === 'b' && m.to === 'c'), 'still quiet one tick short of an election timeout');
  net.tick(['b'], 1);
  net.campaign('c');
  t.ok(net.sent.some((m) => m.type === MessageType.VoteResp && m.from === 'b' && m.to === 'c' && !m.reject), 'then it votes');
  t.equal(net.role('c'), StateRole.Leader);
});

t.test('§9.6 without quietAfterStart the restarted follower votes at once', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, preVote: false });
  net.tick(undefined, 2);
  net.stop('a');
  net.stop('b');
  net.restart('b');
  net.campaign('c');
  t.equal(net.role('c'), StateRole.Leader, 'c is elected with the vote of b');
});
