// The callers of a node's proposals hear once their entry is applied, or why
// it never will be; each waiter settles exactly once, and its outcome is counted.

import t from 'tap';
import { EntryType, type Entry } from '../../src/raft/index.js';
import { ReplicaError } from '../../src/replica/errors.js';
import { ProposalWaiters } from '../../src/replica/proposal-waiters.js';
import { FakeClock } from '../geo/fakes.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([1]) });
const deadline = () => new ReplicaError('DEADLINE_EXCEEDED', 'too late');

function setup() {
  const clock = new FakeClock();
  const outcomes: string[] = [];
  const waiters = new ProposalWaiters(clock, (o) => outcomes.push(o));
  return { clock, outcomes, waiters };
}

const reasonOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof ReplicaError ? e.reason : String(e)));

t.test('an entry applied in the term it was proposed in resolves its waiter with the result, once', async (t) => {
  const { clock, outcomes, waiters } = setup();
  const p = waiters.wait<string>(5, 2, 1000, deadline);
  waiters.applied(entry(4, 2), 'not mine');
  waiters.applied(entry(5, 2), 'mine');
  t.equal(await p, 'mine');
  waiters.failAll(new ReplicaError('SHUTTING_DOWN', 'stop'));
  await clock.advance(2000);
  t.same(outcomes, ['applied'], 'settled once: neither the stop nor the deadline counts again');
  t.equal(clock.pendingTimers, 0, 'its deadline timer is gone');
});

t.test("another term's entry at its index means the proposal was lost", async (t) => {
  const { outcomes, waiters } = setup();
  const p = waiters.wait(5, 2, 1000, deadline);
  waiters.applied(entry(5, 3), 'a later leader wrote here');
  t.equal(await reasonOf(p), 'PROPOSAL_LOST');
  t.same(outcomes, ['PROPOSAL_LOST']);
});

t.test('a waiter fails with the deadline error when its time is up, and not before', async (t) => {
  const { clock, waiters } = setup();
  const p = reasonOf(waiters.wait(5, 2, 1000, deadline));
  await clock.advance(999);
  waiters.applied(entry(4, 2), undefined);
  await clock.advance(1);
  t.equal(await p, 'DEADLINE_EXCEEDED');
});

t.test('failUpTo fails the waiters at or below the index and keeps the rest', async (t) => {
  const { outcomes, waiters } = setup();
  const low = reasonOf(waiters.wait(3, 1, 1000, deadline));
  const at = reasonOf(waiters.wait(4, 1, 1000, deadline));
  const high = waiters.wait<string>(5, 1, 1000, deadline);
  waiters.failUpTo(4, new ReplicaError('UNKNOWN_OUTCOME', 'snapshot'));
  t.equal(await low, 'UNKNOWN_OUTCOME');
  t.equal(await at, 'UNKNOWN_OUTCOME');
  waiters.applied(entry(5, 1), 'kept');
  t.equal(await high, 'kept');
  t.same(outcomes, ['UNKNOWN_OUTCOME', 'UNKNOWN_OUTCOME', 'applied']);
});
