// Raft §5.3 "Log replication": the leader appends, replicates and commits;
// followers with conflicting entries are brought in line, and the optimized
// back-off of §5.3 (the follower names a term and an index) skips whole terms.

import t from 'tap';
import { MessageType, ProposalDropped, StateRole, type Message } from '../../src/raft/index.js';
import { Network, bytes, electedNetwork } from './harness.js';

t.test('§5.3 the leader replicates entries to every follower and commits them', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'x', 'y', 'z');
  for (const id of net.ids) {
    t.same(net.peer(id).applied, ['x', 'y', 'z'], `${id} applied x, y, z in order`);
    t.equal(net.node(id).status().commit, 5, `${id} knows index 5 is committed`);
  }
  t.same(net.log('b'), net.log('a'), 'b’s persisted log is the leader’s');
  t.same(net.log('c'), net.log('a'), 'c’s persisted log is the leader’s');
  t.same(
    net.log('a').map((e) => [e.index, e.term]),
    [
      [2, 2],
      [3, 2],
      [4, 2],
      [5, 2],
    ],
    'the leader’s first entry of term 2 (the no-op) then the proposals',
  );
});

t.test('§5.3 an entry is committed once a majority stored it; laggards get it later', async (t) => {
  const net = electedNetwork(['a', 'b', 'c', 'd', 'e'], { seed: 1 });
  net.stop('d');
  net.stop('e');
  net.propose('a', 'x');
  for (const id of ['a', 'b', 'c']) t.same(net.peer(id).applied, ['x'], `${id} applied x with 3 of 5`);
  net.restart('d');
  net.restart('e');
  net.tick(undefined, 2);
  t.same(net.peer('d').applied, ['x'], 'd catches up after its restart');
  t.same(net.peer('e').applied, ['x'], 'e too');
});

t.test('§5.3 with only a minority, the leader appends but does not commit', async (t) => {
  const net = electedNetwork(['a', 'b', 'c', 'd', 'e'], { seed: 1 });
  net.partition(['a', 'b'], ['c', 'd', 'e']);
  net.propose('a', 'x');
  t.equal(net.node('a').status().lastIndex, 3, 'x is in the leader’s log');
  t.equal(net.node('a').status().commit, 2, 'but not committed');
  t.same(net.peer('a').applied, [], 'nor applied');
  t.same(net.peer('b').applied, [], 'b holds it but cannot apply it either');
  t.equal(net.log('b').length, 2, 'b does hold it');
});

t.test('§5.3 only the leader takes proposals', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  t.throws(() => net.node('b').propose(bytes('x')), ProposalDropped, 'a follower refuses');
});

t.test('§5.3 a follower’s conflicting suffix is overwritten by the leader’s log, on disk too', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'base');
  net.isolate('a');
  net.propose('a', 'stale1', 'stale2', 'stale3'); // term 2, never committed
  t.same(
    net.log('a').slice(-3).map((e) => e.data),
    ['stale1', 'stale2', 'stale3'],
  );
  net.tickUntil(() => net.leader() !== undefined && net.leader() !== 'a', ['b', 'c']);
  const lead = net.leader()!;
  net.propose(lead, 'new1', 'new2');
  net.heal();
  net.tick(undefined, 3);
  t.equal(net.role('a'), StateRole.Follower, 'a stepped down on hearing of the new term');
  t.same(net.log('a'), net.log(lead), 'a’s persisted log is now exactly the new leader’s');
  t.notOk(
    net.log('a').some((e) => e.data.startsWith('stale')),
    'the uncommitted stale entries are gone',
  );
  for (const id of net.ids) t.same(net.peer(id).applied, ['base', 'new1', 'new2'], `${id} applied the same values`);
});

/** Append traffic from the leader to `to` and back. */
const appTraffic = (leader: string, to: string) => (m: Message) =>
  (m.type === MessageType.App && m.from === leader && m.to === to) || (m.type === MessageType.AppResp && m.from === to && m.to === leader);

t.test('§5.3 fast back-off: the follower’s rejection carries a hint and the leader skips a whole term at a time', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 4 });
  // a, leader of term 2, is cut off and appends 30 entries nobody else gets.
  net.isolate('a');
  for (let k = 0; k < 30; k++) net.propose('a', `stale${k}`);
  t.equal(net.node('a').status().lastIndex, 32);
  // b and c elect a leader of term 3 and commit 30 entries of their own.
  net.tickUntil(() => ['b', 'c'].some((id) => net.role(id) === StateRole.Leader), ['b', 'c']);
  let lead = net.leader()!;
  for (let k = 0; k < 30; k++) net.propose(lead, `fresh${k}`);
  // A later leader (term 4) starts with a long log: it first probes a at its end.
  net.stop(lead);
  net.restart(lead);
  net.tickUntil(() => ['b', 'c'].some((id) => net.role(id) === StateRole.Leader), ['b', 'c']);
  lead = net.leader()!;
  const leadStatus = net.node(lead).status();
  t.equal(leadStatus.term, 4);
  t.equal(leadStatus.lastIndex, 34, 'the new leader’s log: no-ops of terms 3 and 4 and 30 entries');

  const mark = net.sent.length;
  net.heal();
  net.tickUntil(() => net.node('a').status().lastIndex === 34 && net.node('a').status().commit === 34);
  const traffic = net.sent.slice(mark).filter(appTraffic(lead, 'a'));
  const rejects = traffic.filter((m) => m.type === MessageType.AppResp && m.reject);
  t.ok(rejects.length >= 1, 'a rejected the leader’s first probe');
  const first = rejects[0]!;
  t.equal(first.rejectHint, 32, 'the hint is a’s last index (its log is shorter than the probe)');
  t.equal(first.logTerm, 2, 'with the term of that entry');
  const appends = traffic.filter((m) => m.type === MessageType.App);
  t.ok(rejects.length <= 1, `one rejection is enough (got ${rejects.length})`);
  t.ok(appends.length <= 4, `the match point was found in a few appends (${appends.length}), not one per entry`);
  const retry = appends[1];
  t.equal(retry?.index, 2, 'after the rejection the leader jumped straight to index 2, the last entry of term ≤ 2 in its log');
  t.equal(retry?.entries.length, 32, 'and sent everything after it in one append');
  t.same(net.log('a'), net.log(lead), 'a now holds the leader’s log');
  t.same(net.peer('a').applied, net.peer(lead).applied);
  t.notOk(net.peer('a').applied.some((v) => v.startsWith('stale')));
});

t.test('§5.3 the follower’s hint skips its own entries of a term the leader never had', async (t) => {
  const net = new Network(['a', 'b', 'c', 'd', 'e'], { seed: 4, checkQuorum: false });
  net.campaign('a');
  net.propose('a', 'p'); // index 3, term 2, committed everywhere
  // a (term 2) appends 30 entries that only c gets.
  net.partition(['a', 'c'], ['b', 'd', 'e']);
  for (let k = 0; k < 30; k++) net.propose('a', `a${k}`);
  // b wins term 3 with d and e, but its appends never leave it.
  net.dropIf((m) => m.from === 'b' && m.type === MessageType.App);
  net.campaign('b');
  t.equal(net.role('b'), StateRole.Leader);
  t.equal(net.term('b'), 3);
  for (let k = 0; k < 30; k++) net.propose('b', `b${k}`);
  t.same(net.log('b').slice(2).map((e) => e.term), new Array(31).fill(3), 'b holds 4..34 of term 3 that nobody else has');
  // a wins term 4 with c, d, e: its log ends at (33, term 2), theirs at (3, term 2) or the same.
  net.heal();
  net.isolate('b');
  net.tick(['a']); // a's heartbeats of term 2 meet term 3: a steps down
  t.equal(net.role('a'), StateRole.Follower);
  for (let k = 0; k < 3 && net.role('a') !== StateRole.Leader; k++) net.campaign('a');
  t.equal(net.role('a'), StateRole.Leader);
  t.equal(net.term('a'), 4);

  const mark = net.sent.length;
  net.heal();
  net.tickUntil(() => net.node('b').status().commit === 34, ['a', 'b']);
  const traffic = net.sent.slice(mark).filter(appTraffic('a', 'b'));
  const rejects = traffic.filter((m) => m.type === MessageType.AppResp && m.reject);
  t.equal(rejects.length, 1, 'one rejection');
  t.equal(rejects[0]!.index, 33, 'of the probe at a’s last entry of term 2');
  t.equal(rejects[0]!.rejectHint, 3, 'b skipped its 31 entries of term 3 (a term the probe says the leader lacks there) in one go');
  t.equal(rejects[0]!.logTerm, 2);
  const appends = traffic.filter((m) => m.type === MessageType.App);
  t.ok(appends.length <= 3, `${appends.length} appends in all`);
  t.equal(appends[1]?.index, 3, 'the second append follows index 3');
  t.same(net.log('b'), net.log('a'), 'b’s term-3 entries are gone; it holds a’s log');
  t.same(net.peer('b').applied, net.peer('a').applied);
});

t.test('§5.3 heartbeats tell followers what is committed, never past what they hold', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.cutOneWay('a', 'c');
  net.propose('a', 'x');
  net.heal();
  net.tick(['a']);
  const beats = net.sent.filter((m) => m.type === MessageType.Heartbeat && m.from === 'a');
  const last = (to: string) => beats.filter((m) => m.to === to).at(-1)!;
  t.equal(last('b').commit, 3, 'b holds index 3: it is told 3 is committed');
  t.equal(last('c').commit, 2, 'c does not hold it yet: it is told only 2');
  t.same(net.peer('c').applied, ['x'], 'c then receives the entry and applies it');
});
