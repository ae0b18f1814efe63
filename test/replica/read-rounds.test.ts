// Linearizable reads in rounds: reads that arrive together, or while a round
// is in flight, share the next one; a read is served only by a round that
// started after it arrived, and only once that round's index is applied.

import t from 'tap';
import { realClock } from '../../src/replica/env.js';
import { ReadRounds } from '../../src/replica/read-rounds.js';

function setup() {
  const rounds: string[] = [];
  const r = new ReadRounds(realClock, 'p', (ctx) => rounds.push(new TextDecoder().decode(ctx)));
  const ctx = (i: number) => new TextEncoder().encode(rounds[i]!);
  return { r, rounds, ctx };
}

/** Settled state of a promise, without waiting for it. */
async function state(p: Promise<void>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(() => (s = 'resolved'), () => (s = 'rejected'));
  await new Promise((res) => setImmediate(res));
  return s;
}

const timeout = () => new Error('timed out');
/** Rounds start once the current turn of the event loop has run its I/O callbacks. */
const turn = () => new Promise((res) => setImmediate(res));

t.test('reads that arrive in the same turn share one round', async (t) => {
  const { r, rounds, ctx } = setup();
  const reads = [r.wait(1000, timeout), r.wait(1000, timeout), r.wait(1000, timeout)];
  t.equal(rounds.length, 0, 'no round before the turn ends');
  await turn();
  t.equal(rounds.length, 1, 'one round for the three');
  r.confirm(ctx(0), 4);
  r.applied(4);
  for (const read of reads) t.equal(await state(read), 'resolved');
  await turn();
  t.equal(rounds.length, 1, 'no round without reads');
});

t.test('a burst of reads costs one round while one is in flight', async (t) => {
  const { r, rounds, ctx } = setup();
  const first = r.wait(1000, timeout);
  await turn();
  const burst = [r.wait(1000, timeout), r.wait(1000, timeout), r.wait(1000, timeout)];
  await turn();
  t.equal(rounds.length, 1, 'only the first read started a round');
  r.confirm(ctx(0), 5);
  await turn();
  t.equal(rounds.length, 2, 'the reads that waited start the next round together');
  r.applied(5);
  t.equal(await state(first), 'resolved');
  for (const b of burst) t.equal(await state(b), 'pending', 'a read that arrived during round 1 is not served by it');
  r.confirm(ctx(1), 7);
  r.applied(6);
  for (const b of burst) t.equal(await state(b), 'pending', 'not before its index is applied');
  r.applied(7);
  for (const b of burst) t.equal(await state(b), 'resolved');
  await turn();
  t.equal(rounds.length, 2, 'no round without reads');
});

t.test('an answer to another context is ignored', async (t) => {
  const { r, rounds } = setup();
  const read = r.wait(1000, timeout);
  await turn();
  r.confirm(new TextEncoder().encode('p:99'), 1);
  r.confirm(new TextEncoder().encode('other:1'), 1);
  r.applied(10);
  t.equal(await state(read), 'pending');
  t.equal(rounds.length, 1);
});

t.test('a round never answered is retried with its reads', async (t) => {
  const { r, rounds, ctx } = setup();
  const read = r.wait(1000, timeout);
  await turn();
  r.retryStale(Date.now(), 60_000);
  await turn();
  t.equal(rounds.length, 1, 'a young round is left alone');
  r.retryStale(Date.now() + 1000, 500);
  await turn();
  t.equal(rounds.length, 2, 'a stale round is sent again under a new context');
  r.confirm(ctx(0), 3);
  r.applied(3);
  t.equal(await state(read), 'pending', 'the abandoned round no longer serves');
  r.confirm(ctx(1), 3);
  r.applied(3);
  t.equal(await state(read), 'resolved');
});

t.test('timeouts and failAll reject, wherever the read waits', async (t) => {
  const { r, ctx } = setup();
  const late = r.wait(10, timeout);
  await t.rejects(late, /timed out/);
  const confirmedNotApplied = r.wait(1000, timeout);
  r.confirm(ctx(0), 1); // the timed-out read's round, empty now
  await turn();
  r.confirm(ctx(1), 50);
  const inFlight = r.wait(1000, timeout);
  await turn();
  const queued = r.wait(1000, timeout);
  r.failAll(new Error('closing'));
  await t.rejects(confirmedNotApplied, /closing/);
  await t.rejects(queued, /closing/);
  await t.rejects(inFlight, /closing/);
  r.applied(100); // nothing left to resolve twice
});

t.test('renew starts a round with no read waiting, once, and the round confirms', async (t) => {
  const { r, rounds, ctx } = setup();
  r.renew();
  r.renew();
  await turn();
  t.equal(rounds.length, 1, 'one round for two renewals');
  r.renew();
  await turn();
  t.equal(rounds.length, 1, 'none while one is on its way');
  t.equal(r.confirm(ctx(0), 3), true, 'the round in flight is the current one');
  t.equal(r.confirm(ctx(0), 3), false, 'a repeated answer is not');
  await turn();
  t.equal(rounds.length, 1, 'no round after it without reads');
});

t.test('a read served at an index waits until that index is applied, or times out', async (t) => {
  const { r } = setup();
  const served = r.waitApplied(9, 1000, timeout);
  r.applied(8);
  t.equal(await state(served), 'pending', 'not before index 9 is applied');
  r.applied(9);
  t.equal(await state(served), 'resolved');
  const late = r.waitApplied(12, 20, timeout).then(
    () => 'resolved',
    (e: Error) => e.message,
  );
  t.equal(await late, 'timed out', 'its deadline ends it');
});
