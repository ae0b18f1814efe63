// Raft §5.2 "Leader election": randomized election timeouts, winning with a
// majority, split votes, at most one leader per term, one vote per term.

import t from 'tap';
import { MessageType, ProposalDropped, StateRole, message } from '../../src/raft/index.js';
import { Network, seeded } from './harness.js';

const FIVE = ['a', 'b', 'c', 'd', 'e'];
const ELECTION_TICK = 10;

/** Ticks `id` alone until it stops being a follower; returns how many ticks it took. */
function timeoutOf(seed: number, id: string, preVote = false): number {
  const net = new Network(FIVE, { seed, preVote });
  for (let n = 1; n <= 100; n++) {
    net.tick([id]);
    if (net.role(id) !== StateRole.Follower) return n;
  }
  throw new Error(`${id} never timed out`);
}

t.test('§5.2 a follower that hears nothing within its election timeout becomes a candidate', async (t) => {
  const net = new Network(['a', 'b', 'c'], { seed: 1, preVote: false });
  net.isolate('a');
  let ticks = 0;
  while (net.role('a') === StateRole.Follower) {
    t.equal(net.term('a'), 1, 'no term change while waiting');
    net.tick(['a']);
    ticks++;
    if (ticks > 100) break;
  }
  t.ok(ticks >= ELECTION_TICK && ticks < 2 * ELECTION_TICK, `timed out after ${ticks} ticks, within [electionTick, 2*electionTick)`);
  const st = net.node('a').status();
  t.equal(st.role, StateRole.Candidate);
  t.equal(st.term, 2, 'a candidate increments its term');
  t.equal(st.vote, 'a', 'and votes for itself');
  const votes = net.sent.filter((m) => m.type === MessageType.Vote && m.from === 'a');
  t.same(votes.map((m) => m.to).sort(), ['b', 'c'], 'it asks every other server for its vote');
  t.ok(votes.every((m) => m.term === 2 && m.index === 1 && m.logTerm === 1), 'carrying its term and last log position');
});

t.test('§5.2 election timeouts are randomized per node and determined by the seed', async (t) => {
  for (const seed of [1, 2, 3]) {
    const ticks = FIVE.map((id) => timeoutOf(seed, id));
    t.ok(
      ticks.every((n) => n >= ELECTION_TICK && n < 2 * ELECTION_TICK),
      `seed ${seed}: every timeout ${ticks.join(',')} is in [electionTick, 2*electionTick)`,
    );
    t.ok(new Set(ticks).size > 1, `seed ${seed}: not every node times out at the same tick`);
    t.same(
      FIVE.map((id) => timeoutOf(seed, id)),
      ticks,
      `seed ${seed}: the same seed gives the same timeouts`,
    );
  }
  const bySeed = [1, 2, 3].map((seed) => FIVE.map((id) => timeoutOf(seed, id)).join(','));
  t.ok(new Set(bySeed).size > 1, 'different seeds give different timeouts');
});

t.test('§5.2 a new timeout is drawn for each election, so a candidate does not retry in lockstep', async (t) => {
  const net = new Network(FIVE, { seed: 7, preVote: false });
  net.isolate('a');
  const elections: number[] = [];
  let since = 0;
  for (let n = 0; n < 400 && elections.length < 8; n++) {
    const before = net.term('a');
    net.tick(['a']);
    since++;
    if (net.term('a') !== before) {
      elections.push(since);
      since = 0;
    }
  }
  t.equal(elections.length, 8, 'the isolated candidate keeps starting elections');
  t.ok(elections.every((n) => n >= ELECTION_TICK && n < 2 * ELECTION_TICK), `intervals ${elections.join(',')} in range`);
  t.ok(new Set(elections).size > 1, 'the intervals vary from one election to the next');
});

t.test('§5.2 when every node starts together, the one whose timeout expires first becomes leader', async (t) => {
  for (const seed of [1, 2, 3, 42]) {
    const timeouts = FIVE.map((id) => timeoutOf(seed, id, true));
    const first = Math.min(...timeouts);
    const earliest = FIVE.filter((_, k) => timeouts[k] === first);
    if (earliest.length !== 1) continue; // a tie decides nothing here
    const net = new Network(FIVE, { seed });
    const ticks = net.tickUntil(() => net.leader() !== undefined);
    t.equal(net.leader(), earliest[0], `seed ${seed}: the node with the shortest timeout (${first} ticks) wins`);
    t.equal(ticks, first, `seed ${seed}: it is elected within the tick it timed out`);
    t.equal(net.term(earliest[0]!), 2);
  }
});

t.test('§5.2 a candidate wins with votes from a majority of the servers', async (t) => {
  const net = new Network(FIVE, { seed: 1 });
  net.partition(['a', 'b', 'c'], ['d'], ['e']);
  net.campaign('a');
  t.equal(net.role('a'), StateRole.Leader, 'three of five votes elect a');
  t.equal(net.term('a'), 2);
  for (const id of ['b', 'c']) {
    t.equal(net.node(id).status().lead, 'a', `${id} follows a`);
    t.equal(net.node(id).status().vote, 'a', `${id} voted for a`);
  }
  for (const id of ['d', 'e']) t.equal(net.term(id), 1, `${id}, cut off, knows nothing of it`);
  net.propose('a', 'x');
  t.same(net.peer('c').applied, ['x'], 'the new leader commits with its majority');
});

t.test('§5.2 a candidate without a majority is not elected and keeps its term', async (t) => {
  const net = new Network(FIVE, { seed: 1, preVote: false });
  net.partition(['a', 'b'], ['c'], ['d'], ['e']);
  net.campaign('a');
  t.equal(net.role('a'), StateRole.Candidate, 'two of five votes are not enough');
  t.equal(net.term('a'), 2);
  t.notOk(net.leaders.has(2), 'nobody leads term 2');
  t.throws(() => net.node('a').propose(new Uint8Array([1])), ProposalDropped, 'a candidate takes no proposals');
  net.heal();
  net.tickUntil(() => net.leader() !== undefined);
  t.ok(net.term(net.leader()!) >= 3, 'after the partition heals, a later election succeeds');
});

t.test('§5.2 a candidate that hears from a leader of its term returns to follower', async (t) => {
  const net = new Network(FIVE, { seed: 1, preVote: false });
  net.partition(['a', 'b', 'c'], ['d']);
  net.campaign('a');
  net.campaign('d');
  t.equal(net.role('d'), StateRole.Candidate);
  t.equal(net.term('d'), 2, 'd campaigns in the same term a won');
  net.heal();
  net.tick(['a']); // a heartbeat
  const st = net.node('d').status();
  t.equal(st.role, StateRole.Follower, 'the heartbeat of term 2 makes the candidate a follower');
  t.equal(st.lead, 'a');
  t.equal(st.term, 2);
  t.equal(net.role('a'), StateRole.Leader, 'the leader is undisturbed');
});

t.test('§5.2 a split vote elects nobody; a later election with a fresh timeout does', async (t) => {
  const net = new Network(['a', 'b', 'c', 'd'], { seed: 3, preVote: false });
  net.cutLinks(['a'], ['d']);
  net.cutLinks(['c'], ['b']);
  net.node('a').campaign();
  net.node('c').campaign();
  net.stabilize();
  t.equal(net.role('a'), StateRole.Candidate, 'a has a and b: two of four');
  t.equal(net.role('c'), StateRole.Candidate, 'c has c and d: two of four');
  t.equal(net.term('a'), 2);
  t.equal(net.term('c'), 2);
  t.notOk(net.leaders.has(2), 'no leader in term 2');
  net.heal();
  net.tickUntil(() => net.leader() !== undefined);
  const lead = net.leader()!;
  t.ok(net.term(lead) >= 3, `${lead} is elected in a later term`);
  t.notOk(net.leaders.has(2), 'still nobody ever led term 2');
});

t.test('§5.2 each server votes for at most one candidate per term, and remembers it across a crash', async (t) => {
  const net = new Network(['a', 'b', 'c'], { seed: 1, preVote: false, checkQuorum: false });
  net.cutLinks(['a'], ['c']);
  net.node('a').campaign();
  net.node('c').campaign();
  net.stabilize();
  const fromB = net.sent.filter((m) => m.type === MessageType.VoteResp && m.from === 'b');
  t.same(
    fromB.map((m) => [m.to, m.term, m.reject]),
    [
      ['a', 2, false],
      ['c', 2, true],
    ],
    'b grants the first request of term 2 and refuses the second',
  );
  t.equal(net.role('a'), StateRole.Leader);
  t.equal(net.role('c'), StateRole.Candidate);

  // b crashes and comes back: its vote of term 2 is on disk.
  net.stop('b');
  net.restart('b');
  t.equal(net.node('b').status().vote, 'a', 'the vote was persisted');
  t.equal(net.node('b').status().lead, '', 'b restarts knowing no leader');
  const sentBefore = net.sent.length;
  net.node('b').step(message({ type: MessageType.Vote, from: 'c', to: 'b', term: 2, index: 2, logTerm: 2 }));
  net.node('b').step(message({ type: MessageType.Vote, from: 'a', to: 'b', term: 2, index: 2, logTerm: 2 }));
  net.process('b');
  const answers = net.sent.slice(sentBefore).filter((m) => m.type === MessageType.VoteResp);
  t.same(
    answers.map((m) => [m.to, m.reject]),
    [
      ['c', true],
      ['a', false],
    ],
    'after the restart b still refuses c and re-grants a (a repeated request)',
  );
});

t.test('§5.2 at most one leader per term, under random partitions, crashes and proposals', async (t) => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    const rand = seeded(seed);
    const net = new Network(FIVE, { seed });
    const pick = () => FIVE[Math.floor(rand() * FIVE.length)]!;
    let proposed = 0;
    for (let round = 0; round < 300; round++) {
      const r = rand();
      if (round % 25 === 0) {
        net.heal();
        if (r < 0.4) net.isolate(pick());
        else if (r < 0.8) {
          const shuffled = [...FIVE].sort(() => rand() - 0.5);
          net.partition(shuffled.slice(0, 2), shuffled.slice(2));
        }
      }
      if (rand() < 0.01) {
        const id = pick();
        net.stop(id);
        net.restart(id);
      }
      const lead = net.leader();
      if (lead !== undefined && rand() < 0.3) {
        try {
          net.node(lead).propose(new TextEncoder().encode(`v${proposed++}`));
        } catch (e) {
          if (!(e instanceof ProposalDropped)) throw e;
        }
      }
      net.tick();
    }
    const terms = [...net.leaders.entries()].filter(([, ids]) => ids.size > 1);
    t.same(terms, [], `seed ${seed}: no term had two leaders (${net.leaders.size} terms with a leader)`);
    t.ok(net.leaders.size >= 2, `seed ${seed}: the run went through several leaders`);
    // State machine safety follows: applied sequences are prefixes of one another.
    const applied = FIVE.map((id) => net.peer(id).applied).sort((x, y) => y.length - x.length);
    const longest = applied[0]!;
    t.ok(
      applied.every((a) => a.every((v, k) => v === longest[k])),
      `seed ${seed}: every node applied a prefix of the same sequence (${longest.length} values)`,
    );
  }
});
