// Raft §5.4 "Safety", checked on seeded random runs with partitions, crashes,
// compaction, leadership transfers, membership changes and reads: Election
// Safety, Log Matching, Leader Completeness and State Machine Safety
// (Figure 3), plus linearizable ReadIndex (thesis §6.4), and convergence
// once the faults end.

import t from 'tap';
import {
  ConfChangeTransition,
  ConfChangeType,
  ProposalDropped,
  StateRole,
  type ConfChange,
} from '../../src/raft/index.js';
import { Network, bytes, seeded, text } from './harness.js';

const IDS = ['a', 'b', 'c', 'd', 'e'];

interface Violation {
  round: number;
  what: string;
}

interface Stats {
  proposals: number;
  reads: number;
  readsAnswered: number;
  transfers: number;
  confChanges: number;
  compactions: number;
  crashes: number;
  leaders: number;
}

function run(seed: number, rounds: number): { violations: Violation[]; stats: Stats } {
  const rand = seeded(seed ^ 0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const net = new Network(IDS, { seed });
  const violations: Violation[] = [];
  /** index -> "term:payload" of every entry known committed, and the highest term any node had when it was seen. */
  const committed = new Map<number, { k: string; seenInTerm: number }>();
  let maxCommit = 0;
  const reads = new Map<string, { node: string; atLeast: number }>();
  const stats: Stats = { proposals: 0, reads: 0, readsAnswered: 0, transfers: 0, confChanges: 0, compactions: 0, crashes: 0, leaders: 0 };
  let seq = 0;
  let slow: string | undefined;

  const check = (round: number) => {
    const fail = (what: string) => violations.push({ round, what });
    const maxTerm = Math.max(...IDS.map((id) => net.term(id)));
    for (const [term, ids] of net.leaders) if (ids.size > 1) fail(`election safety: term ${term} had leaders ${[...ids]}`);
    for (const id of IDS) {
      const p = net.peer(id);
      if (!p.up) continue;
      const st = p.node.status();
      // Log Matching / State Machine Safety: committed entries agree everywhere.
      for (const e of p.disk.entries) {
        if (e.index > st.commit) break;
        const k = `${e.term}:${text(e.data)}`;
        const known = committed.get(e.index);
        if (known === undefined) committed.set(e.index, { k, seenInTerm: maxTerm });
        else if (known.k !== k) fail(`log matching: ${id} has ${k} at committed ${e.index}, others ${known.k}`);
      }
      maxCommit = Math.max(maxCommit, st.commit);
      // Leader Completeness: a leader of a later term holds every committed entry.
      if (st.role === StateRole.Leader) {
        const snapIndex = p.disk.snapshot.meta.index;
        for (const [index, known] of committed) {
          if (known.seenInTerm >= st.term || index <= snapIndex) continue;
          const e = p.disk.entries[index - snapIndex - 1];
          if (e === undefined || `${e.term}:${text(e.data)}` !== known.k) {
            fail(`leader completeness: ${id}, leader of term ${st.term}, lacks ${index} (${known.k}) committed by term ${known.seenInTerm}`);
          }
        }
      }
      // Reads: answered at an index no lower than any commit known when asked.
      for (const rs of p.readStates.splice(0)) {
        const r = reads.get(text(rs.context));
        if (r === undefined) {
          fail(`read ${text(rs.context)} answered twice or unasked`);
          continue;
        }
        reads.delete(text(rs.context));
        stats.readsAnswered++;
        if (rs.index < r.atLeast) fail(`stale read: ${text(rs.context)} at ${rs.index} < ${r.atLeast}`);
      }
    }
    // State Machine Safety: applied sequences are prefixes of one another.
    const applied = IDS.map((id) => net.peer(id).applied);
    const longest = applied.reduce((x, y) => (y.length > x.length ? y : x));
    for (const [k, a] of applied.entries()) {
      if (!a.every((v, i) => v === longest[i])) fail(`state machine safety: ${IDS[k]} applied a divergent sequence`);
    }
  };

  for (let round = 0; round < rounds; round++) {
    const r = rand();
    const lead = net.leader();
    if (round % 30 === 0) {
      // Sometimes a node's clock stalls for a while (it still gets messages):
      // an isolated leader then keeps believing it leads.
      slow = rand() < 0.4 ? pick(IDS) : undefined;
      net.heal();
      const x = rand();
      if (x < 0.35) net.isolate(pick(IDS));
      else if (x < 0.7) {
        const shuffled = [...IDS].sort(() => rand() - 0.5);
        net.partition(shuffled.slice(0, 2), shuffled.slice(2));
      }
    }
    const down = IDS.filter((id) => !net.peer(id).up);
    if (down.length > 0 && rand() < 0.1) net.restart(pick(down));
    else if (down.length < 2 && rand() < 0.01) {
      net.stop(pick(IDS.filter((id) => net.peer(id).up)));
      stats.crashes++;
    }
    try {
      if (lead !== undefined && r < 0.35) {
        net.node(lead).propose(bytes(`v${seq++}`));
        stats.proposals++;
      } else if (lead !== undefined && r < 0.37) {
        net.node(lead).transferLeadership(pick(IDS));
        stats.transfers++;
      } else if (lead !== undefined && r < 0.4) {
        const conf = net.node(lead).status().conf;
        let cc: ConfChange;
        if (conf.learners.length > 0 && rand() < 0.6) {
          cc = { changes: [{ type: ConfChangeType.AddVoter, node: pick(conf.learners) }], transition: ConfChangeTransition.Auto };
        } else if (conf.voters.length >= 5 && rand() < 0.5) {
          const two = [...conf.voters].sort(() => rand() - 0.5).slice(0, 2);
          cc = { changes: two.map((node) => ({ type: ConfChangeType.AddLearner, node })), transition: ConfChangeTransition.Auto };
        } else if (conf.voters.length >= 4) {
          cc = { changes: [{ type: ConfChangeType.AddLearner, node: pick(conf.voters) }], transition: ConfChangeTransition.Auto };
        } else {
          cc = { changes: [{ type: ConfChangeType.AddVoter, node: pick(IDS) }], transition: ConfChangeTransition.Auto };
        }
        net.node(lead).proposeConfChange(cc);
        stats.confChanges++;
      } else if (r < 0.5) {
        // Reads go to any node, often to one that believes it leads (perhaps a stale leader).
        const leaders = IDS.filter((id) => net.peer(id).up && net.role(id) === StateRole.Leader);
        const id = leaders.length > 0 && rand() < 0.5 ? pick(leaders) : pick(IDS);
        if (net.peer(id).up) {
          const ctx = `r${seq++}`;
          reads.set(ctx, { node: id, atLeast: maxCommit });
          net.node(id).readIndex(bytes(ctx));
          stats.reads++;
        }
      } else if (r < 0.53) {
        const id = pick(IDS);
        const p = net.peer(id);
        if (p.up && p.appliedIndex > p.disk.snapshot.meta.index) {
          net.compact(id);
          stats.compactions++;
        }
      }
    } catch (e) {
      if (!(e instanceof ProposalDropped)) throw e;
    }
    net.tick(IDS.filter((id) => id !== slow && net.peer(id).up));
    check(round);
  }
  // Liveness, once every fault is gone: a leader is elected and every node
  // ends up with the same state machine, including a fresh write.
  net.heal();
  for (const id of IDS) if (!net.peer(id).up) net.restart(id);
  const converged = () => IDS.every((id) => net.peer(id).applied.at(-1) === 'final') && new Set(IDS.map((id) => net.peer(id).applied.length)).size === 1;
  for (let k = 0; k < 300 && !converged(); k++) {
    const lead = net.leader();
    if (lead !== undefined && !net.peer(lead).applied.includes('final')) {
      try {
        net.node(lead).propose(bytes('final'));
      } catch (e) {
        if (!(e instanceof ProposalDropped)) throw e;
      }
    }
    net.tick();
  }
  if (!converged()) violations.push({ round: rounds, what: 'liveness: the healed cluster did not converge' });
  check(rounds);
  stats.leaders = net.leaders.size;
  return { violations, stats };
}

t.test('§5.4 safety properties hold on random runs with faults', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { violations, stats } = run(seed, 400);
    t.same(violations.slice(0, 3), [], `seed ${seed}: no violation (${JSON.stringify(stats)})`);
    t.ok(stats.readsAnswered > 0 && stats.leaders > 1 && stats.confChanges > 0, `seed ${seed}: the run exercised the core`);
  }
});
