// The read lease in the host loop: once a round confirmed this leader, reads
// are answered without a round of their own until the lease runs out; not
// after a leadership transfer was asked for, and never with leaseReads off.

import t, { type Test } from 'tap';
import type { Message } from '../../src/raft/index.js';
import { MessageType } from '../../src/raft/index.js';
import type { Replica } from '../../src/replica/replica.js';
import { eventually } from '../wait.js';
import { followerAnswer, openReplica } from './harness.js';

/** Replica a leading a, b, c: b answers, c is silent. Counts the read rounds: heartbeats with a context not seen before. */
async function leader(t: Test, leaseReads: boolean): Promise<{ replica: Replica; rounds: () => number }> {
  const { replica } = await openReplica(t, { founders: ['a', 'b', 'c'], tickMs: 50, electionTicks: 10, options: { leaseReads } });
  const contexts = new Set<string>();
  replica.start({
    send: (messages: readonly Message[]) => {
      for (const m of messages) {
        if (m.type === MessageType.Heartbeat && m.context !== undefined && m.context.length > 0) contexts.add(Buffer.from(m.context).toString('hex'));
        const reply = m.to === 'b' ? followerAnswer('b', m) : undefined;
        if (reply !== undefined) setImmediate(() => replica.step(reply));
      }
    },
    sendSnapshot: () => undefined,
  });
  await eventually('a leads with b', async () => (replica.isLeader && replica.status().commit === replica.status().lastIndex ? true : undefined));
  return { replica, rounds: () => contexts.size };
}

const read = (r: Replica) => r.linearizableRead(5000);

t.test('under the lease, reads need no round; once it ran out, a read starts one', async (t) => {
  const { replica, rounds } = await leader(t, true);
  await read(replica);
  t.equal(rounds(), 1, 'the first read takes a round, which grants the lease');
  await Promise.all([read(replica), read(replica), read(replica)]);
  t.equal(rounds(), 1, 'the next reads are answered under the lease (about 397 ms)');
  await new Promise((res) => setTimeout(res, 450));
  await read(replica);
  t.equal(rounds(), 2, 'after it ran out, a read waits for a round again');
});

t.test('after a leadership transfer was asked for, every read takes a round again', async (t) => {
  const { replica, rounds } = await leader(t, true);
  await read(replica);
  replica.transferLeadership('c'); // c never answers: the transfer stays pending, then is abandoned
  await read(replica);
  t.equal(rounds(), 2, 'a read right after the request takes a round');
  await new Promise((res) => setTimeout(res, 600));
  t.ok(replica.isLeader, 'a still leads once the transfer was abandoned');
  await read(replica);
  await read(replica);
  t.equal(rounds(), 4, 'and for the rest of its term, its TimeoutNow being perhaps still on its way');
});

t.test('with leaseReads off, every read takes a round', async (t) => {
  const { replica, rounds } = await leader(t, false);
  await read(replica);
  await read(replica);
  await read(replica);
  t.equal(rounds(), 3);
});
