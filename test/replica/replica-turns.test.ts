// A large apply batch does not hold the event loop: the replica applies it
// in slices and lets the loop turn between them, so that ticks and peer
// messages get through. Shown by order of events, never by timing.

import t from 'tap';
import { singleLeader } from './harness.js';

t.test('a batch of committed entries is applied over several turns of the event loop', async (t) => {
  const replica = await singleLeader(t);
  const order: string[] = [];
  let marked = false;
  // 300 KiB in one Ready: a few slices of 64 KiB.
  const writes = Array.from({ length: 300 }, (_, i) =>
    replica.propose(new Uint8Array(1024), 5000).then(() => {
      order.push(`w${i}`);
      if (marked) return;
      marked = true;
      setImmediate(() => order.push('next turn'));
    }),
  );
  await Promise.all(writes);
  const turn = order.indexOf('next turn');
  t.ok(turn > 0 && turn < order.length - 1, `the loop turned while the batch was being applied (after ${turn} of 300 writes)`);
  // The marker queues behind the next slice's own turn: two slices of 64 KiB.
  t.ok(turn <= 128, 'within two slices of 64 KiB');
  t.same(
    order.filter((e) => e !== 'next turn'),
    writes.map((_, i) => `w${i}`),
    'the writes were answered in log order',
  );
});
