// The leader's read lease: granted by a round that started while leading, for
// its duration from the round's start; never across terms or a membership
// change; and its duration stays inside the time the members refuse to vote.

import t from 'tap';
import { LEASE_SHARE, ReadLease, leaseDurationMs } from '../../src/replica/read-lease.js';

t.test('a confirmed round started by the leader grants the lease from its start', async (t) => {
  const lease = new ReadLease(400);
  t.notOk(lease.holds(3, 0), 'none before any round');
  lease.roundStarted(3, true, 1000);
  t.notOk(lease.holds(3, 1001), 'none while the round is on its way');
  lease.roundConfirmed();
  t.ok(lease.holds(3, 1399), 'holds until its start plus the duration');
  t.notOk(lease.holds(3, 1400), 'and not a millisecond longer');
  t.notOk(lease.holds(4, 1100), 'never for another term');
});

t.test('a round started as a follower grants nothing', async (t) => {
  const lease = new ReadLease(400);
  lease.roundStarted(3, false, 1000);
  lease.roundConfirmed();
  t.notOk(lease.holds(3, 1001));
});

t.test('a membership change revokes the lease, and the round on its way grants nothing', async (t) => {
  const lease = new ReadLease(400);
  lease.roundStarted(3, true, 1000);
  lease.roundConfirmed();
  lease.roundStarted(3, true, 1100);
  lease.revoke();
  t.notOk(lease.holds(3, 1101), 'revoked at once');
  lease.roundConfirmed();
  t.notOk(lease.holds(3, 1102), 'a round that started before the change does not bring it back');
  lease.roundStarted(3, true, 1200);
  lease.roundConfirmed();
  t.ok(lease.holds(3, 1201), 'a round after it does');
});

t.test('renewal is due in the second half of the lease', async (t) => {
  const lease = new ReadLease(400);
  lease.roundStarted(1, true, 0);
  lease.roundConfirmed();
  t.notOk(lease.renewDue(100));
  t.ok(lease.renewDue(201));
});

t.test('the lease is shorter than the members refuse to vote, by the margin', async (t) => {
  // A member's refusal: an election timeout of ticks from a timer that may fire at once, then every tickMs (less 1 ms).
  for (const [tickMs, electionTicks] of [[50, 10], [10, 10], [100, 5], [1, 10]] as const) {
    const refusal = (electionTicks - 1) * (tickMs - 1);
    const d = leaseDurationMs(tickMs, electionTicks);
    t.ok(d <= refusal * LEASE_SHARE, `tick ${tickMs} ms x ${electionTicks}: lease ${d} ms inside ${LEASE_SHARE} of ${refusal} ms`);
    t.ok(d >= 0);
  }
  t.equal(leaseDurationMs(50, 10), 9 * 49 * LEASE_SHARE, 'the default timing: about 397 ms');
});
