// What a leader tells its host about its voting followers (followerReplication),
// which the host uses to let appends wait (src/replica/held-appends.ts): only
// a leader answers, and not in a joint configuration nor during a transfer,
// when a commit may need anyone.

import t from 'tap';
import { ConfChangeTransition, ConfChangeType } from '../../src/raft/index.js';
import { electedNetwork } from './harness.js';

t.test('a leader of three: one follower is needed; each one matched and replicating', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'x');
  const view = net.node('a').followerReplication();
  const last = net.node('a').lastIndex;
  t.equal(view?.needed, 1);
  t.same(view?.followers, [
    { id: 'b', match: last, next: last + 1, replicating: true },
    { id: 'c', match: last, next: last + 1, replicating: true },
  ]);
  t.equal(net.node('b').followerReplication(), undefined, 'a follower has nothing to say');
});

t.test('an append in flight shows as next past match', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.cutOneWay('c', 'a');
  net.propose('a', 'x', 'y');
  const last = net.node('a').lastIndex;
  const c = net.node('a').followerReplication()?.followers.find((f) => f.id === 'c');
  t.same(c, { id: 'c', match: last - 2, next: last + 1, replicating: true }, "c's acknowledgements are lost");
});

t.test('five voters need two followers; a learner is not among them', async (t) => {
  const net = electedNetwork(['a', 'b', 'c', 'd', 'e'], { seed: 1 });
  net.addNode('f');
  net.node('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddLearner, node: 'f' }], transition: ConfChangeTransition.Auto });
  net.stabilize();
  const view = net.node('a').followerReplication();
  t.equal(view?.needed, 2);
  t.same(
    view?.followers.map((f) => f.id),
    ['b', 'c', 'd', 'e'],
  );
});

t.test('nothing in a joint configuration, nor while leadership is being transferred', async (t) => {
  const joint = electedNetwork(['a', 'b', 'c', 'd', 'e'], { seed: 1 });
  const removeDE = ['d', 'e'].map((node) => ({ type: ConfChangeType.Remove, node }));
  joint.node('a').proposeConfChange({ changes: removeDE, transition: ConfChangeTransition.JointExplicit });
  joint.stabilize();
  t.equal(joint.node('a').followerReplication(), undefined, 'joint');

  const transfer = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  transfer.cutOneWay('a', 'c');
  transfer.propose('a', 'x');
  transfer.node('a').transferLeadership('c'); // c lags: the transfer waits to catch it up
  t.equal(transfer.node('a').followerReplication(), undefined, 'transferring');
});
