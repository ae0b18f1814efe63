// Raft §5.4.1 "Election restriction": a voter denies its vote to a candidate
// whose log is less up to date than its own (compare last terms, then lengths).

import t from 'tap';
import {
  DEFAULT_CONFIG,
  EntryType,
  MessageType,
  RawNode,
  StateRole,
  bootstrapState,
  message,
  type Entry,
  type PersistedState,
} from '../../src/raft/index.js';
import { Network, seeded } from './harness.js';

t.test('§5.4.1 a candidate whose log lacks committed entries gets no vote from a server that has them', async (t) => {
  const net = new Network(['a', 'b', 'c'], { seed: 1, preVote: false, checkQuorum: false });
  net.campaign('a');
  net.isolate('c');
  net.propose('a', 'x', 'y');
  t.same(net.peer('b').applied, ['x', 'y'], 'x and y are committed by a and b');
  t.same(net.peer('c').applied, [], 'c missed them');
  net.heal();
  net.stop('a');

  net.campaign('c');
  const answer = net.sent.filter((m) => m.type === MessageType.VoteResp && m.from === 'b' && m.to === 'c');
  t.equal(answer.length, 1);
  t.equal(answer[0]!.reject, true, 'b refuses: its last entry (4, term 2) beats c’s (2, term 2)');
  t.not(net.role('c'), StateRole.Leader, 'c cannot be elected, so it can never drop x and y');
  t.equal(net.node('b').status().vote, '', 'b did not vote in the new term');

  net.campaign('b');
  t.equal(net.role('b'), StateRole.Leader, 'b, whose log is at least as up to date as c’s, gets c’s vote');
  net.propose('b', 'z');
  t.same(net.peer('c').applied, ['x', 'y', 'z'], 'and c catches up from it');
});

t.test('§5.4.1 with PreVote, an out-of-date node fails the pre-election and leaves terms untouched', async (t) => {
  const net = new Network(['a', 'b', 'c'], { seed: 1, checkQuorum: false });
  net.campaign('a');
  net.isolate('c');
  net.propose('a', 'x');
  net.heal();
  net.stop('a');
  net.campaign('c');
  const answer = net.sent.filter((m) => m.type === MessageType.PreVoteResp && m.from === 'b' && m.to === 'c');
  t.same(
    answer.map((m) => m.reject),
    [true],
    'b refuses the pre-vote',
  );
  t.equal(net.term('b'), 2, 'b’s term is unchanged');
  t.equal(net.term('c'), 2, 'c never became a candidate');
  t.equal(net.role('c'), StateRole.PreCandidate, 'c is stuck in the pre-election: it never campaigns for real');
  t.equal(net.node('c').status().vote, 'a', 'its vote of term 2 (for a) is untouched');
});

/** A voter 'v' whose log holds entries 2..5 of term 2 after the bootstrap snapshot. */
function voter(): RawNode {
  const boot = bootstrapState(['v', 'c', 'x']);
  const entries: Entry[] = [2, 3, 4, 5].map((index) => ({ index, term: 2, type: EntryType.Normal, data: new Uint8Array() }));
  const st: PersistedState = { ...boot, hardState: { term: 2, vote: '', commit: 1 }, entries };
  return new RawNode({ ...DEFAULT_CONFIG, id: 'v', random: seeded(5), checkQuorum: false }, st);
}

t.test('§5.4.1 "up to date" compares the last terms first, then the lengths', async (t) => {
  const cases: { lastIndex: number; lastTerm: number; granted: boolean; why: string }[] = [
    { lastIndex: 3, lastTerm: 3, granted: true, why: 'a later last term wins even with a shorter log' },
    { lastIndex: 5, lastTerm: 2, granted: true, why: 'same last term and same length' },
    { lastIndex: 6, lastTerm: 2, granted: true, why: 'same last term and longer' },
    { lastIndex: 4, lastTerm: 2, granted: false, why: 'same last term but shorter' },
    { lastIndex: 9, lastTerm: 1, granted: false, why: 'an earlier last term loses even with a longer log' },
  ];
  for (const c of cases) {
    const v = voter();
    v.step(message({ type: MessageType.Vote, from: 'c', to: 'v', term: 3, index: c.lastIndex, logTerm: c.lastTerm }));
    const rd = v.ready();
    const resp = rd.messages.filter((m) => m.type === MessageType.VoteResp);
    t.equal(resp.length, 1);
    t.equal(resp[0]!.reject, !c.granted, `(${c.lastIndex}, term ${c.lastTerm}): ${c.why}`);
    t.equal(rd.hardState?.vote ?? '', c.granted ? 'c' : '', 'a granted vote is in the hard state to persist before the answer goes out');
    t.equal(rd.hardState?.term, 3, 'either way the voter moves to the candidate’s term');
  }
});
