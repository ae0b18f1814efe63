// Raft §5.4.2 "Committing entries from previous terms": a leader commits by
// counting replicas only entries of its own term; older entries commit with
// them. The scenario is the paper's Figure 8, with indexes shifted by the
// bootstrap snapshot (1) and the first leader's no-op (2).

import t from 'tap';
import { MessageType, StateRole } from '../../src/raft/index.js';
import { Network } from './harness.js';

const FIVE = ['a', 'b', 'c', 'd', 'e'];

/** Campaigns until `id` wins or gives up after a few elections. */
function elect(net: Network, id: string): void {
  for (let k = 0; k < 4 && net.role(id) !== StateRole.Leader; k++) net.campaign(id);
  if (net.role(id) !== StateRole.Leader) throw new Error(`${id} was not elected`);
}

/**
 * Figure 8 (a)–(c): a leads term 2 and gets x (index 3) only to b; e leads
 * term 3 with its own entry at index 3 that nobody gets; a comes back, leads
 * term 4 and replicates x to c and d, but its term-4 entry (index 4) reaches
 * nobody. Entries go one per message so that they can be told apart.
 */
function figure8(): Network {
  const net = new Network(FIVE, { seed: 8, preVote: false, checkQuorum: false, maxEntriesPerMsg: 1 });
  net.campaign('a');
  net.partition(['a', 'b'], ['c', 'd', 'e']);
  net.propose('a', 'x'); // (3, term 2) on a and b
  net.stop('a');
  net.heal();

  net.dropIf((m) => m.from === 'e' && m.type === MessageType.App);
  elect(net, 'e'); // votes of c and d: b's log is longer
  if (net.term('e') !== 3) throw new Error('e should lead term 3');
  net.stop('e'); // its no-op (3, term 3) is on its disk only
  net.heal();

  net.restart('a');
  // a's entry of term 4 is lost on the way to anyone that would store it.
  net.dropIf(
    (m) =>
      m.from === 'a' && m.type === MessageType.App && m.entries.some((e) => e.index === 4) && net.node(m.to).status().lastIndex >= 3,
  );
  elect(net, 'a');
  if (net.term('a') !== 4) throw new Error('a should lead term 4');
  return net;
}

t.test('§5.4.2 (Figure 8) a leader does not commit an entry of an earlier term just because a majority stores it', async (t) => {
  const net = figure8();
  const st = net.node('a').status();
  t.same(
    net.log('a').map((e) => [e.index, e.term]),
    [
      [2, 2],
      [3, 2],
      [4, 4],
    ],
    'a: x at (3, term 2), then its no-op of term 4',
  );
  for (const id of ['b', 'c', 'd']) t.same(net.log(id).at(-1), { index: 3, term: 2, data: 'x' }, `${id} stores x`);
  t.equal(st.progress.get('c')?.match, 3, 'the leader knows c stores x');
  t.equal(st.progress.get('d')?.match, 3, 'and d');
  t.equal(st.commit, 2, 'x is on four of five servers, yet a does not commit it');
  for (const id of FIVE) t.notOk(net.peer(id).applied.includes('x'), `${id} did not apply x`);

  // Figure 8 (d): and rightly so. a crashes; e, whose last entry is of term
  // 3, can win and overwrite x everywhere.
  net.stop('a');
  net.heal();
  net.restart('e');
  elect(net, 'e');
  t.equal(net.term('e'), 5, 'e is elected in term 5 by b, c and d: (3, term 3) is more up to date than (3, term 2)');
  net.tick(['e'], 2);
  for (const id of ['b', 'c', 'd', 'e']) {
    t.same(net.log(id).map((e) => [e.index, e.term]), [
      [2, 2],
      [3, 3],
      [4, 5],
    ], `${id}'s x was replaced by e's entry of term 3`);
    t.equal(net.node(id).status().commit, 4, `${id} committed up to e's entry of term 5`);
    t.notOk(net.peer(id).applied.includes('x'), `${id} never applied x`);
  }
});

t.test('§5.4.2 (Figure 8 e) once an entry of the current term is on a majority, it commits and the older ones with it', async (t) => {
  const net = figure8();
  t.equal(net.node('a').status().commit, 2);
  net.heal(); // a's entry of term 4 can now get through
  net.tick(['a'], 2);
  const st = net.node('a').status();
  t.equal(st.commit, 4, 'index 4 (term 4) is committed, and index 3 (x, term 2) with it');
  for (const id of ['a', 'b', 'c', 'd']) t.same(net.peer(id).applied, ['x'], `${id} applied x`);

  // Now e can no longer win: a majority holds an entry of term 4.
  net.stop('a');
  net.restart('e');
  for (let k = 0; k < 3; k++) net.campaign('e');
  t.not(net.role('e'), StateRole.Leader, 'e cannot be elected any more');
  const refusals = net.sent.filter((m) => m.type === MessageType.VoteResp && m.to === 'e' && m.term > 4);
  t.ok(refusals.length > 0 && refusals.every((m) => m.reject), 'b, c and d refuse their votes to e');
});
