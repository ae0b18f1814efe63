// Thesis §6.4 "Processing read-only queries more efficiently" (ReadIndex): a
// read is served at the commit index the leader had when it arrived, once a
// heartbeat round acknowledged by a quorum proves it was still the leader,
// and only once the leader has committed an entry of its own term.

import t from 'tap';
import { MessageType, StateRole, type Message, type ReadState } from '../../src/raft/index.js';
import { Network, bytes, electedNetwork, text } from './harness.js';

const readsOf = (net: Network, id: string, ctx: string): ReadState[] =>
  net.peer(id).readStates.filter((r) => text(r.context) === ctx);
const beatWith = (ctx: string) => (m: Message) => m.type === MessageType.Heartbeat && m.context !== undefined && text(m.context) === ctx;

t.test('§6.4 the leader answers a read only after a quorum acknowledged a heartbeat sent after it', async (t) => {
  const net = electedNetwork(['a', 'b', 'c', 'd', 'e'], { seed: 1 });
  net.propose('a', 'x');
  const commit = net.node('a').status().commit;
  net.node('a').readIndex(bytes('r1'));
  net.process('a');
  t.same(readsOf(net, 'a', 'r1'), [], 'no answer before the heartbeat round');
  t.equal(net.inFlight(beatWith('r1')).length, 4, 'a heartbeat carrying the read goes to every follower');

  // b answers: with a, two of five. Not enough.
  net.deliver((m) => (m.to === 'b' && beatWith('r1')(m)) || (m.from === 'b' && m.type === MessageType.HeartbeatResp));
  t.same(readsOf(net, 'a', 'r1'), [], 'two of five acknowledgements do not make a quorum');
  // c answers: three of five.
  net.deliver((m) => (m.to === 'c' && beatWith('r1')(m)) || (m.from === 'c' && m.type === MessageType.HeartbeatResp));
  const reads = readsOf(net, 'a', 'r1');
  t.equal(reads.length, 1, 'a quorum acknowledged: the read is answered');
  t.equal(reads[0]!.index, commit, 'at the commit index the leader had when the read arrived');
  net.stabilize();
  t.equal(readsOf(net, 'a', 'r1').length, 1, 'later acknowledgements do not answer it twice');
});

t.test('§6.4 reads queued before a confirmed one are answered with it', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.cutLinks(['a'], ['b', 'c']);
  net.node('a').readIndex(bytes('r1'));
  net.process('a');
  net.propose('a', 'x'); // not committed: cut off
  net.node('a').readIndex(bytes('r2'));
  net.process('a');
  t.same(net.peer('a').readStates, [], 'nothing answered while cut off');
  net.heal();
  net.tick(['a']); // the heartbeat carries r2, the latest read
  t.same(
    net.peer('a').readStates.map((r) => [text(r.context), r.index]),
    [
      ['r1', 2],
      ['r2', 2],
    ],
    'both are answered, each at the commit index it saw on arrival',
  );
});

t.test('§6.4 a new leader answers reads only once it has committed an entry of its term', async (t) => {
  const net = new Network(['a', 'b', 'c'], { seed: 1 });
  net.node('a').campaign();
  // The election completes, but the acknowledgements of a's first entry are held back.
  net.deliver((m) => m.type !== MessageType.AppResp);
  t.equal(net.role('a'), StateRole.Leader);
  t.equal(net.node('a').status().commit, 1, 'its no-op of term 2 is not committed yet');
  net.node('a').readIndex(bytes('r1'));
  net.process('a');
  t.equal(net.inFlight(beatWith('r1')).length, 0, 'the read waits: no heartbeat round for it yet');
  net.node('a').tick();
  net.deliver((m) => m.type !== MessageType.AppResp);
  t.ok(
    net.delivered.some((m) => m.type === MessageType.HeartbeatResp && m.to === 'a'),
    'heartbeats were acknowledged',
  );
  t.same(readsOf(net, 'a', 'r1'), [], 'yet the read is not answered');
  net.stabilize(); // the held acknowledgements arrive: the no-op commits
  const reads = readsOf(net, 'a', 'r1');
  t.equal(reads.length, 1, 'then the read is answered');
  t.equal(reads[0]!.index, 2, 'at the index of the entry of its term');
  t.ok(
    net.sent.some(beatWith('r1')),
    'after a heartbeat round of its own',
  );
});

t.test('§6.4 a follower’s read is forwarded to the leader and answered back', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'x', 'y');
  net.node('c').readIndex(bytes('rc'));
  net.stabilize();
  const fwd = net.sent.filter((m) => m.type === MessageType.ReadIndex);
  t.same(
    fwd.map((m) => [m.from, m.to]),
    [['c', 'a']],
    'c forwards the read to its leader',
  );
  t.ok(net.sent.some(beatWith('rc')), 'the leader confirms its leadership with a heartbeat round');
  const resp = net.sent.filter((m) => m.type === MessageType.ReadIndexResp);
  t.same(
    resp.map((m) => [m.from, m.to, m.index]),
    [['a', 'c', 4]],
    'and answers c with its commit index',
  );
  t.same(
    readsOf(net, 'c', 'rc').map((r) => r.index),
    [4],
    'c gets a read state at index 4',
  );
  t.same(readsOf(net, 'a', 'rc'), [], 'the leader keeps none for itself');
  t.ok(net.peer('c').appliedIndex >= 4, 'and c has applied that far, so it can serve the read');
});

t.test('§6.4 a follower without a leader drops the read', async (t) => {
  const net = new Network(['a', 'b', 'c'], { seed: 1 });
  net.node('b').readIndex(bytes('rb'));
  net.stabilize();
  t.notOk(net.sent.some((m) => m.type === MessageType.ReadIndex), 'nothing is forwarded');
  t.same(net.peer('b').readStates, []);
});

t.test('§6.4 a partitioned old leader does not answer a read', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 5 });
  net.propose('a', 'x');
  net.isolate('a');
  net.node('a').readIndex(bytes('stale'));
  net.process('a');
  // The majority elects a new leader and writes y.
  net.tickUntil(() => ['b', 'c'].some((id) => net.role(id) === StateRole.Leader), ['b', 'c']);
  net.propose(net.leader()!, 'y');
  t.equal(net.role('a'), StateRole.Leader, 'a still believes it leads (it has not ticked)');
  t.same(readsOf(net, 'a', 'stale'), [], 'but it cannot answer: no quorum acknowledges it');
  net.tick(['a'], 30);
  t.equal(net.role('a'), StateRole.Follower, 'CheckQuorum makes it step down');
  t.same(readsOf(net, 'a', 'stale'), [], 'the read was never answered (it would have missed y)');
  net.heal();
  net.tick(undefined, 3);
  t.same(readsOf(net, 'a', 'stale'), [], 'nor after the partition heals');
});

t.test('§6.4 a single-voter leader answers at once', async (t) => {
  const net = new Network(['a'], { seed: 1 });
  net.campaign('a');
  net.propose('a', 'x');
  net.node('a').readIndex(bytes('r'));
  net.process('a');
  t.same(
    readsOf(net, 'a', 'r').map((r) => r.index),
    [3],
  );
});
