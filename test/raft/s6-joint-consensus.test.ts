// Raft §6 "Cluster membership changes" (thesis §4.3): changing several voters
// at once goes through a joint configuration C_old,new in which every
// decision needs a majority of both the old and the new voters.

import t from 'tap';
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  LEAVE_JOINT,
  MessageType,
  ProposalDropped,
  StateRole,
  decodeConfChange,
  type ConfChange,
  type ConfState,
  type Entry,
} from '../../src/raft/index.js';
import { Network, bytes, electedNetwork } from './harness.js';

const FIVE = ['a', 'b', 'c', 'd', 'e'];
const removeAll = (nodes: string[], transition: ConfChangeTransition): ConfChange => ({
  changes: nodes.map((node) => ({ type: ConfChangeType.Remove, node })),
  transition,
});
const shape = (c: ConfState) => ({ voters: c.voters, outgoing: c.votersOutgoing, learners: c.learners, next: c.learnersNext });

t.test('§6 several voter changes at once (transition auto) enter a joint config and leave it by themselves', async (t) => {
  const net = electedNetwork(FIVE, { seed: 1 });
  net.node('a').proposeConfChange(removeAll(['d', 'e'], ConfChangeTransition.Auto));
  net.stabilize();
  for (const id of ['a', 'b', 'c']) {
    t.same(
      net.peer(id).confHistory.map(shape),
      [
        { voters: ['a', 'b', 'c'], outgoing: ['a', 'b', 'c', 'd', 'e'], learners: [], next: [] },
        { voters: ['a', 'b', 'c'], outgoing: [], learners: [], next: [] },
      ],
      `${id} went through C_old,new and on to C_new`,
    );
  }
  t.equal(net.peer('a').confHistory[0]!.autoLeave, true, 'the joint config was marked to be left automatically');
  const confEntries = net.log('a').filter((e) => e.data.startsWith('{'));
  t.equal(confEntries.length, 2, 'the leader itself appended the second (leave) entry');
  t.equal(JSON.parse(confEntries[1]!.data).changes.length, 0, 'an empty change: leave the joint config');
  net.isolate('d');
  net.isolate('e');
  net.propose('a', 'x');
  t.same(net.peer('c').applied, ['x'], 'a, b, c now decide alone');
});

t.test('§6 with an explicit transition the joint config stays until it is left explicitly', async (t) => {
  const net = electedNetwork(FIVE, { seed: 1 });
  net.node('a').proposeConfChange(removeAll(['d', 'e'], ConfChangeTransition.JointExplicit));
  net.stabilize();
  net.tick(undefined, 20);
  const st = net.node('a').status().conf;
  t.same(st.votersOutgoing, FIVE, 'still joint');
  t.equal(st.autoLeave, false);
  t.throws(
    () => net.node('a').proposeConfChange({ changes: [{ type: ConfChangeType.Remove, node: 'c' }], transition: ConfChangeTransition.Auto }),
    ProposalDropped,
    'a simple change is refused in a joint config',
  );
  t.throws(
    () => net.node('a').proposeConfChange(removeAll(['c'], ConfChangeTransition.JointImplicit)),
    /already in a joint config/,
    'so is entering another joint config',
  );
  net.node('a').proposeConfChange(LEAVE_JOINT);
  net.stabilize();
  for (const id of ['a', 'b', 'c']) t.same(net.node(id).status().conf.votersOutgoing, [], `${id} left it`);
});

/** Five voters moved to a joint config whose incoming half is only {a, b}. */
function jointAB(): Network {
  const net = electedNetwork(FIVE, { seed: 2 });
  net.node('a').proposeConfChange(removeAll(['c', 'd', 'e'], ConfChangeTransition.JointExplicit));
  net.stabilize();
  const conf = net.node('a').status().conf;
  if (conf.voters.join() !== 'a,b' || conf.votersOutgoing.length !== 5) throw new Error('not in the expected joint config');
  return net;
}

t.test('§6 in a joint config an entry commits only with a majority of the new voters too', async (t) => {
  const net = jointAB();
  net.isolate('b');
  net.propose('a', 'x');
  for (const id of ['c', 'd', 'e']) t.equal(net.log(id).at(-1)?.data, 'x', `${id} stores x`);
  t.same(net.peer('a').applied, [], 'four of the five old voters hold x, but only one of the two new ones: not committed');
  net.heal();
  net.tick(['a']);
  t.same(net.peer('a').applied, ['x'], 'with b, it commits');
});

t.test('§6 in a joint config an entry commits only with a majority of the old voters too', async (t) => {
  const net = jointAB();
  net.partition(['a', 'b'], ['c', 'd', 'e']);
  net.propose('a', 'x');
  t.equal(net.log('b').at(-1)?.data, 'x');
  t.same(net.peer('a').applied, [], 'both new voters hold x, but only two of the five old ones: not committed');
  net.heal();
  net.tick(['a']);
  t.same(net.peer('a').applied, ['x'], 'with the old majority, it commits');
});

t.test('§6 in a joint config an election needs a majority of both halves', async (t) => {
  const net = jointAB();
  net.stop('a');
  const mark = net.sent.length;
  net.tick(undefined, 100);
  t.equal(net.leader(), undefined, 'without a, {a, b} has no majority: nobody is elected, though b..e are four of five old voters');
  const votes = net.sent.slice(mark).filter((m) => m.type === MessageType.PreVoteResp && !m.reject);
  t.ok(votes.length > 0, 'pre-votes were granted, to no avail');
  net.restart('a');
  net.tickUntil(() => net.leader() !== undefined);
  const lead = net.leader()!;
  const term = net.term(lead);
  const granted = net.sent
    .filter((m) => m.type === MessageType.VoteResp && m.to === lead && m.term === term && !m.reject)
    .map((m) => m.from);
  t.ok(granted.includes('a') || lead === 'a', `once a is back, ${lead} is elected with a’s vote`);
  t.ok(granted.includes('b') || lead === 'b', 'and b’s: both new voters');
});

t.test('§6 a read in a joint config needs acknowledgements from both halves', async (t) => {
  const net = jointAB();
  net.isolate('b');
  net.node('a').readIndex(bytes('r'));
  net.stabilize();
  t.same(net.peer('a').readStates, [], 'c, d, e acknowledging is not enough');
  net.heal();
  net.tick(['a']);
  t.equal(net.peer('a').readStates.length, 1, 'b’s acknowledgement completes it');
});

t.test('§6 demoting voters through a joint config: they vote until it is left, then become learners', async (t) => {
  const net = electedNetwork(['a', 'b', 'c', 'd'], { seed: 1 });
  net.node('a').proposeConfChange({
    changes: [
      { type: ConfChangeType.AddLearner, node: 'c' },
      { type: ConfChangeType.AddLearner, node: 'd' },
    ],
    transition: ConfChangeTransition.Auto,
  });
  net.stabilize();
  t.same(
    net.peer('a').confHistory.map(shape),
    [
      { voters: ['a', 'b'], outgoing: ['a', 'b', 'c', 'd'], learners: [], next: ['c', 'd'] },
      { voters: ['a', 'b'], outgoing: [], learners: ['c', 'd'], next: [] },
    ],
    'c and d were voters of the outgoing half, then learners',
  );
  net.isolate('c');
  net.isolate('d');
  net.propose('a', 'x');
  t.same(net.peer('b').applied, ['x'], 'a and b decide alone');
  net.heal();
  net.tick(undefined, 2);
  t.same(net.peer('d').applied, ['x'], 'the learners still get the log');
});

t.test('§6 the leader, removed through a joint config, leads it and steps down when it is left', async (t) => {
  const net = electedNetwork(['a', 'b', 'c', 'd'], { seed: 1 });
  net.node('a').proposeConfChange(removeAll(['a', 'd'], ConfChangeTransition.Auto));
  net.stabilize();
  t.same(net.node('b').status().conf.voters, ['b', 'c'], 'the final config is {b, c}');
  t.same(net.node('b').status().conf.votersOutgoing, [], 'left automatically, by a while still the leader');
  t.equal(net.role('a'), StateRole.Follower, 'a stepped down');
  net.tickUntil(() => net.leader() !== undefined);
  t.ok(['b', 'c'].includes(net.leader()!));
  net.propose(net.leader()!, 'x');
  t.same(net.peer('c').applied, ['x']);
});

t.test('§6 two voter changes never bypass the joint config', async (t) => {
  // Auto with more than one change always goes through C_old,new: the
  // one-at-a-time rule (which would refuse two voter changes in a simple
  // change) cannot be bypassed.
  const net = electedNetwork(FIVE, { seed: 1 });
  net.node('a').proposeConfChange(removeAll(['d', 'e'], ConfChangeTransition.Auto));
  net.process('a');
  t.throws(() => net.node('a').proposeConfChange(removeAll(['c'], ConfChangeTransition.Auto)), /pending/, 'a second change waits');
  net.stabilize();
  t.ok(
    net.peer('b').confHistory.some((c) => c.votersOutgoing.length > 0),
    'b went through a joint config',
  );
});

t.test('§6 if the leader fails inside an auto-leave joint config, the next leader leaves it', async (t) => {
  const net = electedNetwork(FIVE, { seed: 3 });
  // The leave entry a proposes by itself never leaves a.
  const isLeave = (e: Entry) => e.type === EntryType.ConfChange && decodeConfChange(e.data).changes.length === 0;
  net.dropIf((m) => m.from === 'a' && m.type === MessageType.App && m.entries.some(isLeave));
  net.node('a').proposeConfChange(removeAll(['d', 'e'], ConfChangeTransition.Auto));
  net.stabilize();
  t.same(net.node('b').status().conf.votersOutgoing, FIVE, 'b applied the joint config');
  t.equal(net.node('a').status().conf.votersOutgoing.length, 5, 'a too, and proposed to leave it, in vain');
  net.stop('a');
  net.heal();
  // Any voter of the joint config may win (even d or e, of the old half only);
  // whoever does leaves the joint config without being asked.
  net.tickUntil(() => ['b', 'c'].every((id) => net.node(id).status().conf.votersOutgoing.length === 0));
  net.tickUntil(() => ['b', 'c'].includes(net.leader() ?? ''));
  for (const id of ['b', 'c']) {
    t.same(net.node(id).status().conf.votersOutgoing, [], `${id} left the joint config`);
    t.same(net.node(id).status().conf.voters, ['a', 'b', 'c'], `${id}: C_new is {a, b, c}`);
  }
});
