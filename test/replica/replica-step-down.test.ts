// A leader cut off from its region steps down (CheckQuorum) and fails the
// writes it proposed and had not applied at once (NO_QUORUM while it knows no
// leader, UNKNOWN_OUTCOME when it knows another): they wait on nothing it can
// see through, and its callers retry elsewhere with their request ids, rather
// than waiting out their deadlines.

import t from 'tap';
import { ReplicaError } from '../../src/replica/errors.js';
import { eventually } from '../wait.js';
import { followerAnswer, openReplica } from './harness.js';

t.test('a leader that loses its quorum fails its pending writes when it steps down, long before their deadline', async (t) => {
  const { replica } = await openReplica(t, { founders: ['a', 'b', 'c'], tickMs: 10, electionTicks: 5 });
  // b answers as a healthy follower until it is cut off; c is silent throughout.
  let cut = false;
  replica.start({
    send: (messages) => {
      for (const m of messages) {
        const reply = m.to === 'b' && !cut ? followerAnswer('b', m) : undefined;
        if (reply !== undefined) setImmediate(() => replica.step(reply));
      }
    },
    sendSnapshot: () => undefined,
  });
  await eventually('a leads with b', async () => (replica.isLeader && replica.status().commit === replica.status().lastIndex ? true : undefined));
  t.type(await replica.propose(new Uint8Array(8), 5000), 'number', 'a write commits while b answers');

  cut = true;
  const started = Date.now();
  const pending = replica.propose(new Uint8Array(8), 60_000).catch((e: unknown) => e);
  const outcome = await pending;
  t.ok(outcome instanceof ReplicaError && outcome.reason === 'NO_QUORUM', `NO_QUORUM: it knows no leader (${String(outcome)})`);
  t.match((outcome as Error).message, /stopped leading.*may or may not be applied.*request id/);
  t.notOk(replica.isLeader, 'the node no longer leads');
  t.ok(Date.now() - started < 30_000, `failed after ${Date.now() - started} ms, not at its 60 s deadline`);
});
