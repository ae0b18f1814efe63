// A message from a peer never crashes a node (issue 17). A forged append
// reply that acknowledged an index past the leader's log went through the
// transport's checks and broke the core's invariant "progress matches beyond
// the leader's log": the leader threw on its next tick and exited. Here a real
// Replica (real store, a scripted peer) leads a three-node group, is handed
// such messages, refuses them with a warning, and keeps leading.

import { pino } from 'pino';
import t, { type Test } from 'tap';
import { MessageType, message, type Message } from '../../src/raft/index.js';
import type { Replica } from '../../src/replica/replica.js';
import { wireMessageProblem } from '../../src/transport/peer-service.js';
import { eventually } from '../wait.js';
import { followerAnswer, openReplica } from './harness.js';

interface Logged {
  level: number;
  msg: string;
  from?: string;
  type?: string;
  problem?: string;
}

const WARN = 40;

/**
 * Replica `a` of the group a, b, c. `b` is scripted to answer every message
 * as a healthy follower would; `c` is silent. So `a` can win and keep a quorum.
 */
async function leaderOfThree(t: Test): Promise<{ replica: Replica; logged: Logged[]; heartbeats: () => number }> {
  const logged: Logged[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as Logged) });
  const { replica } = await openReplica(t, { founders: ['a', 'b', 'c'], tickMs: 10, electionTicks: 5, logger });
  let heartbeats = 0;
  replica.start({
    send: (messages) => {
      for (const m of messages) {
        if (m.to === 'b' && m.type === MessageType.Heartbeat) heartbeats++;
        const reply = m.to === 'b' ? followerAnswer('b', m) : undefined;
        if (reply !== undefined) setImmediate(() => replica.step(reply));
      }
    },
    sendSnapshot: () => undefined,
  });
  await eventually('a leads with b', async () => (replica.isLeader && replica.status().commit === replica.status().lastIndex ? true : undefined));
  return { replica, logged, heartbeats: () => heartbeats };
}

/** Ticks go on: the leader keeps sending heartbeats, through at least two CheckQuorum rounds. */
async function keepsTicking(heartbeats: () => number): Promise<void> {
  const from = heartbeats();
  await eventually('ten more heartbeats', async () => (heartbeats() >= from + 10 ? true : undefined));
}

const refusals = (logged: Logged[]) => logged.filter((l) => l.level === WARN && l.msg === 'refused a peer message');

t.test('a leader refuses an append reply that acknowledges entries past its log, and keeps leading', async (t) => {
  const { replica, logged, heartbeats } = await leaderOfThree(t);
  const before = replica.status();
  const forged = message({ type: MessageType.AppResp, from: 'b', to: 'a', term: before.term, index: before.lastIndex + 1000 });
  t.equal(wireMessageProblem(forged, 'a', new Set(['b', 'c'])), undefined, 'the transport lets it through: only the replica can refuse it');

  t.doesNotThrow(() => replica.step(forged), 'stepping it does not throw');
  await keepsTicking(heartbeats);

  const after = replica.status();
  t.ok(replica.isLeader, 'still the leader');
  t.equal(after.term, before.term, 'of the same term');
  t.equal(after.lastIndex, before.lastIndex, 'its log unchanged');
  t.equal(after.commit, before.commit, 'its commit unchanged');
  t.ok((after.progress.get('b')?.match ?? 0) <= after.lastIndex, "b's progress within the leader's log");
  t.equal(refusals(logged).length, 1, 'one message refused: none of the honest ones');
  t.match(refusals(logged), [{ from: 'b', type: MessageType.AppResp, problem: /acknowledges index 10\d\d, past our last index/ }], 'the refusal is logged at warn');

  t.ok(typeof (await replica.propose(new Uint8Array([1]), 10_000)) === 'number', 'and it still commits writes');
});

t.test('a leader refuses an impossible snapshot, on either stream, and keeps leading', async (t) => {
  const { replica, logged, heartbeats } = await leaderOfThree(t);
  const before = replica.status();
  // A later term, so that the core would step down and install it; a
  // membership where a learner also votes, which the core asserts against.
  const snapshot = {
    meta: { index: before.lastIndex + 10, term: before.term, conf: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: ['c'], learnersNext: [], autoLeave: false } },
    data: new Uint8Array(),
  };
  const snap = message({ type: MessageType.Snap, from: 'b', to: 'a', term: before.term + 1, snapshot });
  t.equal(wireMessageProblem(snap, 'a', new Set(['b', 'c'])), undefined, 'the transport lets it through');

  let recordsRead = 0;
  async function* records(): AsyncGenerator<[string, Uint8Array]> {
    recordsRead++;
    yield ['vault/x', new Uint8Array([1])];
  }
  t.equal(await replica.receiveSnapshot(snap, records()), false, 'not installed');
  t.equal(recordsRead, 0, 'refused before its records were written');
  // On the Raft stream, even a possible snapshot is refused: the replica
  // installs only what came with its records.
  replica.step({ ...snap, snapshot: { ...snapshot, meta: { ...snapshot.meta, conf: { ...snapshot.meta.conf, learners: [] } } } });
  await keepsTicking(heartbeats);

  const after = replica.status();
  t.ok(replica.isLeader, 'still the leader');
  t.equal(after.term, before.term, 'of the same term');
  t.equal(after.lastIndex, before.lastIndex, 'its log unchanged');
  t.equal(refusals(logged).length, 2, 'two messages refused: none of the honest ones');
  t.match(
    refusals(logged),
    [
      { from: 'b', type: MessageType.Snap, problem: /learner c is also a voter/ },
      { from: 'b', type: MessageType.Snap, problem: /a snapshot outside the snapshot stream/ },
    ],
    'both refusals are logged at warn',
  );
});
