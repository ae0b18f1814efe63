// A write or read that runs out of time says why: DEADLINE_EXCEEDED while
// the region has a leader (the caller's time ran out, and a write may still
// be applied), NO_QUORUM only when no leader is known. Clients take
// NO_QUORUM to mean this node cannot serve now, and try another.

import t from 'tap';
import { ReplicaError } from '../../src/replica/errors.js';
import type { NodeStore } from '../../src/storage/store.js';
import { openReplica, singleLeader } from './harness.js';

t.test('a write that misses its deadline on a leader: DEADLINE_EXCEEDED, and the leader goes on', async (t) => {
  let slowDisk = false;
  const replica = await singleLeader(t, {}, (store: NodeStore) => {
    const write = store.write.bind(store);
    store.write = async (ops, sync) => {
      if (slowDisk) await new Promise((r) => setTimeout(r, 300));
      return write(ops, sync);
    };
  });
  slowDisk = true;
  const late = await replica.propose(new Uint8Array(8), 50).catch((e: unknown) => e);
  t.ok(late instanceof ReplicaError && late.reason === 'DEADLINE_EXCEEDED', `DEADLINE_EXCEEDED (${String(late)})`);
  t.match((late as Error).message, /may still be applied/);
  slowDisk = false;
  t.type(await replica.propose(new Uint8Array(8), 5000), 'number', 'the leader goes on taking writes');
});

t.test('a read on a node that knows no leader: NO_QUORUM', async (t) => {
  const { replica } = await openReplica(t, { founders: ['a', 'b', 'c'], tickMs: 10_000, electionTicks: 10 });
  replica.start({ send: () => undefined, sendSnapshot: () => undefined });
  const refused = await replica.linearizableRead(50).catch((e: unknown) => e);
  t.ok(refused instanceof ReplicaError && refused.reason === 'NO_QUORUM', `NO_QUORUM (${String(refused)})`);
});
