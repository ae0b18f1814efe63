// The failover detector as pure bookkeeping: observations at given times in,
// a mode change (or none) out.

import t from 'tap';
import { CAUGHT_UP_SLACK, FailoverDetector, STABLE_GAP_MS } from '../../src/geo/detector.js';
import { type GeoMeta, initialGeoMeta } from '../../src/geo/geo-state.js';

const FAILOVER = 2000;
const FAILBACK = 3000;
const standby = (over: Partial<GeoMeta> = {}): GeoMeta => ({ ...initialGeoMeta(), epoch: 4, ...over });
const failedOver = (over: Partial<GeoMeta> = {}): GeoMeta => standby({ mode: 'FAILED_OVER', epoch: 5, cursor: 100, ...over });
const detector = () => new FailoverDetector({ failoverAfterMs: FAILOVER, failbackAfterMs: FAILBACK });

/** A primary leader seen every `every` ms from `from` to `to` (inclusive), at commit index `commit`. */
function seeLeader(d: FailoverDetector, from: number, to: number, every = 100, commit = 100): void {
  for (let now = from; now <= to; now += every) d.observe(true, commit, now);
}

t.test('fails over after failoverAfterMs without a primary leader, and not before', async (t) => {
  const d = detector();
  d.startWatching(10_000);
  t.equal(d.decide(standby(), 10_000 + FAILOVER), undefined, 'exactly failoverAfterMs: not yet');
  d.observe(false, 50, 11_000);
  t.equal(d.decide(standby(), 10_000 + FAILOVER), undefined, 'a primary without a leader does not count as seen, nor hasten it');
  t.same(d.decide(standby(), 10_000 + FAILOVER + 1), { mode: 'FAILED_OVER', epoch: 5, reason: `no primary leader seen for ${FAILOVER + 1} ms` });
  t.equal(d.primaryCommitSeen, 50, 'the commit index of a leaderless primary is still recorded');
});

t.test('no failover while a primary leader is seen', async (t) => {
  const d = detector();
  d.startWatching(0);
  for (let now = 0; now <= 60_000; now += FAILOVER) {
    d.observe(true, now, now);
    t.equal(d.decide(standby(), now + FAILOVER), undefined, `seen at ${now}, judged at ${now + FAILOVER}`);
  }
  t.ok(d.decide(standby(), 60_000 + FAILOVER + 1), 'and it fails over once the sightings stop');
});

t.test('a sighting of a primary leader tells how long none was seen before it', async (t) => {
  const d = detector();
  d.startWatching(0);
  t.equal(d.observe(true, 1, 100), undefined, 'the first sighting ends no gap');
  t.equal(d.observe(true, 1, 300), 200, 'beats 200 ms apart');
  t.equal(d.observe(false, 1, 900), undefined, 'a primary without a leader ends no gap');
  t.equal(d.observe(true, 2, 1_450), 1_150, 'a leader again after an election: the gap since the last leader seen');
});

t.test('a new leader of the secondary gives the primary a full failover period', async (t) => {
  const d = detector();
  d.startWatching(0);
  t.ok(d.decide(standby(), 50_000), 'long unseen');
  d.startWatching(50_000);
  t.equal(d.decide(standby(), 50_000 + FAILOVER), undefined, 'reset by startWatching');
  t.ok(d.decide(standby(), 50_000 + FAILOVER + 1));
});

t.test('only a STANDBY region fails over, only a FAILED_OVER one fails back', async (t) => {
  const d = detector();
  d.startWatching(0);
  t.equal(d.decide(failedOver(), 100_000), undefined, 'already failed over: no second failover');
  seeLeader(d, 100_000, 100_000 + FAILBACK);
  t.equal(d.decide(standby(), 100_000 + FAILBACK), undefined, 'STANDBY with a stable primary: nothing to do');
});

t.test('fails back only after a stable leader for failbackAfterMs and caught up within the slack', async (t) => {
  const d = detector();
  d.startWatching(0);
  d.observe(true, 100, 10_000); // first sighting after a long gap: the stable run starts here
  seeLeader(d, 10_100, 10_000 + FAILBACK - 100);
  t.equal(d.decide(failedOver(), 10_000 + FAILBACK - 1), undefined, 'stable for 1 ms less than failbackAfterMs');
  d.observe(true, 100, 10_000 + FAILBACK);
  t.same(d.decide(failedOver(), 10_000 + FAILBACK), {
    mode: 'STANDBY',
    epoch: 5,
    reason: `primary leader stable for ${FAILBACK} ms and caught up at 100`,
  });
  d.observe(true, 100 + CAUGHT_UP_SLACK + 1, 10_000 + FAILBACK + 10);
  t.equal(d.decide(failedOver(), 10_000 + FAILBACK + 10), undefined, 'the primary is ahead by more than the slack');
  t.ok(d.decide(failedOver({ cursor: 101 }), 10_000 + FAILBACK + 10), 'within the slack again once the cursor moves');
  t.equal(d.primaryCommitSeen, 100 + CAUGHT_UP_SLACK + 1);
  d.observe(true, 5, 10_000 + FAILBACK + 20);
  t.equal(d.primaryCommitSeen, 100 + CAUGHT_UP_SLACK + 1, 'the highest commit seen never goes back');
});

t.test('no failback once the leader is unseen for STABLE_GAP_MS, however long it was stable', async (t) => {
  const d = detector();
  d.startWatching(0);
  seeLeader(d, 10_000, 20_000);
  t.ok(d.decide(failedOver(), 20_000 + STABLE_GAP_MS - 1), 'last seen just under the gap ago');
  t.equal(d.decide(failedOver(), 20_000 + STABLE_GAP_MS), undefined, 'last seen the gap ago: not now');
});

t.test('never an automatic failback from a manual failover', async (t) => {
  const d = detector();
  d.startWatching(0);
  seeLeader(d, 10_000, 30_000);
  t.equal(d.decide(failedOver({ manual: true }), 30_000), undefined);
  t.ok(d.decide(failedOver({ manual: false }), 30_000), 'the same history fails back from an automatic one');
});

t.test('a gap longer than STABLE_GAP_MS restarts the stable run', async (t) => {
  const d = detector();
  d.startWatching(0);
  seeLeader(d, 10_000, 12_000);
  d.observe(true, 100, 12_000 + STABLE_GAP_MS + 1); // the gap: the run starts again here
  const restart = 12_000 + STABLE_GAP_MS + 1;
  seeLeader(d, restart + 100, restart + FAILBACK - 100);
  t.equal(d.decide(failedOver(), restart + FAILBACK - 100), undefined, 'stable for 5+ s overall, but not since the gap');
  d.observe(true, 100, restart + FAILBACK);
  t.ok(d.decide(failedOver(), restart + FAILBACK), 'failbackAfterMs after the gap');

  const e = detector();
  e.startWatching(0);
  seeLeader(e, 10_000, 12_000);
  e.observe(true, 100, 12_000 + STABLE_GAP_MS); // a gap of exactly STABLE_GAP_MS does not break the run
  t.ok(e.decide(failedOver(), 10_000 + FAILBACK), 'a gap of exactly STABLE_GAP_MS keeps the run');
});

// A node that becomes the secondary's leader while the region is FAILED_OVER
// has seen nothing of the primary yet: it waits for a stable run of its own
// sightings and for a commit index before it fails back (it used to fail back
// at once, judging by a run "since" 0 and a commit of 0).
t.test('a new secondary leader does not fail back before it has seen a stable primary', async (t) => {
  const d = detector();
  d.startWatching(1_000_000);
  t.equal(d.decide(failedOver(), 1_000_000), undefined, 'at once');
  d.observe(true, 100, 1_000_100);
  t.equal(d.decide(failedOver(), 1_000_100), undefined, 'after one sighting');
  seeLeader(d, 1_000_200, 1_000_100 + FAILBACK);
  t.equal(d.decide(failedOver(), 1_000_100 + FAILBACK)?.mode, 'STANDBY', 'after its own stable run of failbackAfterMs');
});

t.test('a node that leads again judges by what it sees in its new term, not by its old sightings', async (t) => {
  const d = detector();
  d.startWatching(0);
  seeLeader(d, 0, FAILBACK);
  t.equal(d.decide(failedOver(), FAILBACK)?.mode, 'STANDBY', 'a stable run in its first term');
  d.startWatching(FAILBACK + 5000);
  d.observe(true, 100, FAILBACK + 5100);
  t.equal(d.decide(failedOver(), FAILBACK + 5100), undefined, 'the old run does not count');
});

// Seen once in 54 nemesis runs: every process of both regions stalled 6.6 s,
// and the secondary failed over from a healthy primary, judging before it had
// read the answers that waited in its sockets.
t.test("this node's own stalls are not the primary's silence", async (t) => {
  const LOOP = 100;
  const d = detector();
  d.startWatching(0);
  for (let now = 0; now <= 1_000; now += LOOP) t.equal(d.tick(now, LOOP), 0, `on time at ${now}`);
  d.observe(true, 100, 1_000);
  t.equal(d.tick(1_190, LOOP), 0, 'late by less than a period: the ordinary lag of a busy loop');
  t.equal(d.tick(8_000, LOOP), 6_710, 'late by 6,710 ms: stalled');
  t.equal(d.decide(standby(), 8_000), undefined, 'after a stall longer than failoverAfterMs');
  // Awake since the sighting: 190 ms to the tick before the stall, and the period of the late tick.
  t.equal(d.decide(standby(), 8_000 + FAILOVER - 290), undefined, 'exactly failoverAfterMs of time awake: not yet');
  t.same(d.decide(standby(), 8_000 + FAILOVER - 289), { mode: 'FAILED_OVER', epoch: 5, reason: `no primary leader seen for ${FAILOVER + 1} ms (and 6710 ms stalled)` });

  d.observe(true, 100, 9_000);
  t.equal(d.decide(standby(), 9_000 + FAILOVER), undefined, 'a sighting: the stall is behind it');
  t.same(d.decide(standby(), 9_000 + FAILOVER + 1)?.reason, `no primary leader seen for ${FAILOVER + 1} ms`, 'and a silence after it counts in full');

  d.tick(20_000, LOOP);
  d.startWatching(20_000);
  t.ok(d.decide(standby(), 20_000 + FAILOVER + 1), 'a new term of leadership starts with no stall counted');
});
