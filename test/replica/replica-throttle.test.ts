// A leader whose uncommitted tail is full refuses writes as THROTTLED, which
// a client hears as RESOURCE_EXHAUSTED with a retry-after-ms trailer, and
// takes them again once the tail has committed.

import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { ReplicaError } from '../../src/replica/errors.js';
import { REASON_KEY, RETRY_AFTER_KEY, toServiceError } from '../../src/server/errors.js';
import { singleLeader } from './harness.js';

t.test('a proposal past maxUncommittedBytes is refused as THROTTLED, with a suggested delay', async (t) => {
  const replica = await singleLeader(t, { maxUncommittedBytes: 150 });

  // Both in one turn: the first cannot have committed when the second comes.
  const first = replica.propose(new Uint8Array(100), 5000);
  let refusal: unknown;
  try {
    await replica.propose(new Uint8Array(100), 5000);
  } catch (e) {
    refusal = e;
  }
  t.ok(refusal instanceof ReplicaError && refusal.reason === 'THROTTLED', 'the second write is refused as THROTTLED');
  t.equal((refusal as ReplicaError).retryAfterMs, 40, 'with a suggested wait of four ticks');
  const status = toServiceError(refusal, new grpc.Metadata());
  t.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
  t.same(status.metadata?.get(REASON_KEY), ['THROTTLED']);
  t.same(status.metadata?.get(RETRY_AFTER_KEY), ['40']);
  t.match(status.details, /^THROTTLED: .*100 bytes are waiting to commit/);

  t.type(await first, 'number', 'the accepted write is applied');
  t.type(await replica.propose(new Uint8Array(100), 5000), 'number', 'once it committed, writes are taken again');
});
