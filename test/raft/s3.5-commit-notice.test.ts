// Thesis §3.5: the leader "includes [the commit] index in future AppendEntries
// RPCs (including heartbeats) so that the other servers eventually find out".
// Without broadcastCommit (keyraft's setting), a commit is not announced by
// an empty append of its own: the next append or heartbeat carries it, except
// for a configuration change, which goes out at once.

import t from 'tap';
import { ConfChangeTransition, ConfChangeType, MessageType, type Message } from '../../src/raft/index.js';
import { Network, bytes, electedNetwork, text } from './harness.js';

const lazy = (ids: string[]): Network => electedNetwork(ids, { seed: 1, broadcastCommit: false });
const emptyAppend = (m: Message) => m.type === MessageType.App && m.entries.length === 0;

t.test('§3.5 a commit sends no append of its own; the next heartbeat carries it', async (t) => {
  const net = lazy(['a', 'b', 'c']);
  const mark = net.sent.length;
  net.propose('a', 'x');
  t.same(net.peer('a').applied, ['x'], 'the leader commits and applies');
  t.notOk(net.sent.slice(mark).some((m) => m.from === 'a' && emptyAppend(m)), 'no empty append announces the commit');
  for (const id of ['b', 'c']) t.same(net.peer(id).applied, [], `${id} holds x but does not know it is committed`);
  net.tick(['a']);
  for (const id of ['b', 'c']) t.same(net.peer(id).applied, ['x'], `${id} applies x after one heartbeat`);
});

t.test('§3.5 the next append carries the commit of the entries before it', async (t) => {
  const net = lazy(['a', 'b', 'c']);
  net.propose('a', 'x');
  net.propose('a', 'y');
  for (const id of ['b', 'c']) t.same(net.peer(id).applied, ['x'], `${id} learned x's commit from y's append`);
  t.same(net.peer('a').applied, ['x', 'y']);
});

t.test('§3.5 with broadcastCommit, followers apply as soon as the network settles (etcd)', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, broadcastCommit: true });
  const mark = net.sent.length;
  net.propose('a', 'x');
  t.ok(net.sent.slice(mark).some((m) => m.from === 'a' && emptyAppend(m) && m.commit > 0), 'an empty append announces the commit');
  for (const id of ['b', 'c']) t.same(net.peer(id).applied, ['x']);
});

t.test('§3.5 a committed configuration change is announced at once: a removed follower applies its own removal', async (t) => {
  const net = lazy(['a', 'b', 'c']);
  net.node('a').proposeConfChange({ changes: [{ type: ConfChangeType.Remove, node: 'c' }], transition: ConfChangeTransition.Auto });
  net.stabilize();
  for (const id of ['a', 'b', 'c']) t.same(net.node(id).status().conf.voters, ['a', 'b'], `${id} applied the removal without a heartbeat`);
});

t.test('§6.4 a follower read is not held back: its round carries the commit index it must apply up to', async (t) => {
  const net = lazy(['a', 'b', 'c']);
  net.propose('a', 'x');
  t.same(net.peer('b').applied, [], 'b does not know x is committed');
  net.node('b').readIndex(bytes('r1'));
  net.stabilize();
  const reads = net.peer('b').readStates.filter((r) => text(r.context) === 'r1');
  t.equal(reads.length, 1, 'the read is answered');
  t.equal(reads[0]!.index, net.node('a').status().commit, "at the leader's commit index");
  t.same(net.peer('b').applied, ['x'], 'and b applied up to it with no tick');
});
