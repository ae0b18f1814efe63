// A follower that is sent a snapshot it does not install clears the records it
// staged for it, and that clearing takes every state generation but the one
// in use, the next one included. A second snapshot, arriving while the first
// is being cleared, stages its records under that same next generation: it
// must wait for the clearing, or records it wrote are deleted under it and
// it installs a state with holes (one CI run saw a secondary node, its geo
// cursor among the lost records, stop following the primary's log).

import t from 'tap';
import { MessageType, message, type Message } from '../../src/raft/index.js';
import { openReplica } from './harness.js';

const conf = { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
const snapshotAt = (index: number): Message =>
  message({ type: MessageType.Snap, from: 'b', to: 'a', term: 2, snapshot: { meta: { index, term: 2, conf }, data: new Uint8Array() } });

async function* records(prefix: string, n: number): AsyncGenerator<[string, Uint8Array]> {
  for (let i = 0; i < n; i++) yield [`${prefix}/${String(i).padStart(5, '0')}`, new Uint8Array([1])];
}

t.test('a snapshot received while a refused one is cleared keeps every record', async (t) => {
  // Ticks too slow to campaign: `a` stays a follower of `b` throughout.
  const { replica, store } = await openReplica(t, { founders: ['a', 'b', 'c'], tickMs: 1000, electionTicks: 60 });
  replica.start({ send: () => undefined, sendSnapshot: () => undefined });

  t.equal(await replica.receiveSnapshot(snapshotAt(100), records('first', 10)), true, 'a first snapshot installs');
  // Older than what is installed: the core ignores it, once its records are staged.
  const refused = replica.receiveSnapshot(snapshotAt(50), records('stale', 50_000));
  // The next snapshot is offered on every turn until it is taken: the first
  // turn that it is not turned away at once is the one the refused snapshot's
  // clearing began in.
  let next: Promise<boolean> | undefined;
  for (let turn = 0; next === undefined && turn < 100_000; turn++) {
    const offered = replica.receiveSnapshot(snapshotAt(200), records('second', 3000));
    let turnedAway = false;
    void offered.then((installed) => (turnedAway = !installed));
    await new Promise((r) => setImmediate(r));
    if (!turnedAway) next = offered;
  }
  t.equal(await refused, false, 'the stale snapshot is not installed');
  t.ok(next !== undefined, 'the next snapshot was taken while the stale one was cleared');
  t.equal(await next, true, 'and installs');

  const keys: string[] = [];
  for await (const [key] of store.stateRecords()) keys.push(key);
  t.equal(keys.filter((k) => k.startsWith('second/')).length, 3000, 'with every record it was sent');
  t.equal(keys.length, 3000, 'and nothing else');
});
