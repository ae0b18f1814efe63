// The secondary's follower with a scripted link, a fake replica and virtual
// time: what it follows, ships, pauses, transfers, and proposes.

import { type Logger, pino } from 'pino';
import t, { type Test } from 'tap';
import { type GeoEntry, decodeGeoEntry } from '../../src/geo/codec.js';
import { GeoFollower, LOOP_MS, PENDING_BYTES, PROBE_MS } from '../../src/geo/follower.js';
import { type GeoMeta, initialGeoMeta } from '../../src/geo/geo-state.js';
import { GeoLinkError, type PrimaryPeer } from '../../src/geo/link.js';
import { FakeClock, FakeFollowerReplica, FakeLink, beat, entry, noQuorum, silent } from './fakes.js';

const PRIMARIES: PrimaryPeer[] = ['east-1', 'east-2', 'east-3'].map((id) => ({ id, peer: `${id}:7000` }));
const FAILOVER = 2000;
const FAILBACK = 2000;

function setup(t: Test, opts: { latencyMs?: number; leader?: boolean; logger?: Logger } = {}) {
  const clock = new FakeClock();
  const replica = new FakeFollowerReplica();
  replica.isLeader = opts.leader ?? true;
  const meta: GeoMeta = { ...initialGeoMeta(), cursor: 1 };
  // Mode changes apply to the region's state as the real replica's would.
  replica.onCommit = (data) => {
    const e = decodeGeoEntry(data);
    if (e.kind === 'transition') Object.assign(meta, { mode: e.transition.mode, epoch: e.transition.epoch, manual: e.transition.manual });
  };
  const links: FakeLink[] = [];
  const dropped = new Set<string>();
  const follower = new GeoFollower({
    nodeId: 'west-1',
    replica,
    geo: () => meta,
    primaries: PRIMARIES,
    failoverAfterMs: FAILOVER,
    failbackAfterMs: FAILBACK,
    latencyMs: opts.latencyMs ?? 0,
    isDropped: (id) => dropped.has(id),
    links: (p) => {
      const l = new FakeLink(p);
      links.push(l);
      return l;
    },
    logger: opts.logger ?? silent,
    clock,
  });
  follower.start();
  t.teardown(() => follower.stop());
  const link = (id: string) => links.filter((l) => l.peer.id === id).at(-1)!;
  const proposed = (): GeoEntry[] => replica.proposals.map(decodeGeoEntry);
  const shipped = () => proposed().flatMap((e) => (e.kind === 'shipped' ? [e.shipped.entries.map((x) => x.index)] : []));
  const transitions = () => proposed().flatMap((e) => (e.kind === 'transition' ? [e.transition] : []));
  return { clock, replica, meta, links, link, dropped, follower, proposed, shipped, transitions };
}

t.test('the leader follows a primary node from its cursor and ships what arrives, in batches', async (t) => {
  const { clock, meta, link, shipped, proposed } = setup(t);
  meta.cursor = 5;
  await clock.advance(LOOP_MS);
  const s = link('east-1').last!;
  t.match(s, { fromIndex: 6, follower: 'west-1' }, 'follows from cursor + 1');
  s.emit('data', beat([entry(6), entry(7)]));
  await clock.advance(LOOP_MS);
  t.same(shipped(), [[6, 7]]);
  t.match(proposed()[0], { kind: 'shipped', shipped: { appliedAtMs: 42 } }, 'with the primary time of the last entry');

  s.emit('data', beat(Array.from({ length: 600 }, (_, i) => entry(8 + i, 1))));
  await clock.advance(LOOP_MS);
  t.same(shipped().slice(1).map((b) => b.length), [512, 88], 'at most 512 entries per proposal');

  s.emit('data', beat([entry(608, 700 * 1024), entry(609, 700 * 1024), entry(610, 1)]));
  await clock.advance(LOOP_MS);
  t.same(shipped().slice(3), [[608], [609, 610]], 'and about 1 MiB');
  t.equal(link('east-1').streams.length, 1, 'one stream all along');
});

t.test('a stream that ends moves to the next primary node, from the cursor and what is pending', async (t) => {
  const { clock, meta, link, replica } = setup(t);
  await clock.advance(LOOP_MS);
  replica.hold = true;
  link('east-1').last!.emit('data', beat([entry(2), entry(3)]));
  await clock.advance(LOOP_MS);
  link('east-1').last!.emit('data', beat([entry(4)]));
  link('east-1').last!.emit('end');
  await clock.advance(LOOP_MS);
  t.equal(link('east-2').last?.fromIndex, 5, 'after what it holds already');
  link('east-2').last!.emit('error', new Error('14 UNAVAILABLE: connection refused'));
  replica.release();
  meta.cursor = 4;
  await clock.advance(LOOP_MS);
  t.equal(link('east-3').last?.fromIndex, 5);
  link('east-3').last!.emit('end');
  await clock.advance(LOOP_MS);
  t.equal(link('east-1').streams.length, 2, 'round the primary nodes again');
});

t.test('a follower that does not lead follows nothing and probes nobody', async (t) => {
  const { clock, links, replica, proposed } = setup(t, { leader: false });
  await clock.advance(10 * FAILOVER);
  t.same(links.map((l) => [l.streams.length, l.probes.length]), [[0, 0], [0, 0], [0, 0]]);
  t.same(proposed(), [], 'and never fails over');
  t.equal(replica.attempts, 0);
});

t.test('pauses the stream past PENDING_BYTES received and not shipped, resumes once shipped', async (t) => {
  const { clock, link, replica, shipped } = setup(t);
  await clock.advance(LOOP_MS);
  const s = link('east-1').last!;
  replica.hold = true;
  s.emit('data', beat([entry(2, PENDING_BYTES / 2)]));
  t.notOk(s.paused, 'half the budget');
  s.emit('data', beat([entry(3, PENDING_BYTES / 2 + 1)]));
  t.ok(s.paused, 'over the budget');
  await clock.advance(LOOP_MS);
  t.equal(s.resumes, 0, 'still held while the first proposal waits');
  replica.hold = false;
  replica.release();
  await clock.advance(LOOP_MS);
  t.same(shipped(), [[2], [3]]);
  t.notOk(s.paused, 'resumed');
  t.ok(s.resumes >= 1);
});

t.test('drops what is pending when it stops leading, and starts again from the cursor when it leads again', async (t) => {
  const { clock, meta, link, replica, shipped } = setup(t);
  await clock.advance(LOOP_MS);
  const s = link('east-1').last!;
  replica.hold = true;
  s.emit('data', beat([entry(2)]));
  await clock.advance(LOOP_MS);
  s.emit('data', beat([entry(3), entry(4)]));
  replica.isLeader = false;
  await clock.advance(LOOP_MS);
  t.ok(s.cancelled, 'the stream is cancelled');
  replica.release();
  await clock.advance(LOOP_MS);
  t.same(shipped(), [[2]], 'what was pending is not shipped by a follower');
  s.emit('data', beat([entry(5)]));
  replica.isLeader = true;
  meta.cursor = 2;
  await clock.advance(LOOP_MS);
  await clock.advance(LOOP_MS);
  t.same(shipped(), [[2]], 'nor events of the cancelled stream');
  t.equal(link('east-1').last!.fromIndex, 3, 'a new stream from the cursor');
});

t.test('a failed proposal drops what is pending and reopens the stream from the cursor', async (t) => {
  const { clock, meta, link, replica, shipped } = setup(t);
  await clock.advance(LOOP_MS);
  const s = link('east-1').last!;
  replica.failWith = noQuorum();
  s.emit('data', beat([entry(2), entry(3)]));
  await clock.advance(LOOP_MS);
  t.ok(s.cancelled);
  replica.failWith = undefined;
  meta.cursor = 1;
  await clock.advance(LOOP_MS);
  t.equal(link('east-1').streams.length, 2, 'the same primary node again');
  t.equal(link('east-1').last!.fromIndex, 2, 'from the cursor, not what was received');
  t.same(shipped(), []);
});

t.test('GEO_SNAPSHOT_NEEDED switches to a snapshot transfer, proposed part by part', async (t) => {
  const { clock, link, proposed, shipped } = setup(t);
  await clock.advance(LOOP_MS);
  const s = link('east-1').last!;
  s.emit('data', beat([entry(2)]));
  link('east-1').chunks = [
    { index: 900, term: 4, records: [{ key: 'v/a', value: new Uint8Array([1]) }], done: false },
    { index: 900, term: 4, records: [], done: true },
  ];
  s.emit('error', new GeoLinkError('GEO_SNAPSHOT_NEEDED', 'entry 2 was compacted on east-1'));
  const started = clock.now();
  await clock.advance(LOOP_MS);
  t.same(shipped(), [], 'what was pending is dropped');
  const parts = proposed().flatMap((e) => (e.kind === 'snapshotPart' ? [e.snapshotPart] : []));
  t.same(
    parts.map((p) => [p.primaryIndex, p.primaryTerm, p.seq, p.last, p.records.length]),
    [
      [900, 4, 0, false, 1],
      [900, 4, 1, true, 0],
    ],
  );
  t.equal(parts[0]!.transfer, `west-1-${(started + LOOP_MS).toString(36)}`, 'one transfer id for all its parts');
  t.equal(parts[1]!.transfer, parts[0]!.transfer);
  await clock.advance(LOOP_MS);
  t.equal(link('east-1').snapshots, 1, 'one transfer');
  t.equal(link('east-1').streams.length, 2, 'then follows again, from the same node');
});

t.test('GEO_SNAPSHOT_NEEDED is recognised in a plain error message too (as gRPC details)', async (t) => {
  const { clock, link } = setup(t);
  await clock.advance(LOOP_MS);
  link('east-1').chunks = [{ index: 9, term: 1, records: [], done: true }];
  link('east-1').last!.emit('error', new Error('9 FAILED_PRECONDITION: GEO_SNAPSHOT_NEEDED: entry 2 was compacted'));
  await clock.advance(LOOP_MS);
  t.equal(link('east-1').snapshots, 1);
});

t.test('a failed snapshot transfer waits, then tries the next primary node; a lost leadership stops it', async (t) => {
  const { clock, link, replica, proposed } = setup(t);
  await clock.advance(LOOP_MS);
  link('east-1').snapshotError = new Error('14 UNAVAILABLE');
  link('east-2').chunks = [
    { index: 9, term: 1, records: [], done: false },
    { index: 9, term: 1, records: [], done: true },
  ];
  link('east-1').last!.emit('error', new GeoLinkError('GEO_SNAPSHOT_NEEDED', 'x'));
  await clock.advance(LOOP_MS);
  t.equal(link('east-1').snapshots, 1);
  await clock.advance(400);
  t.equal(link('east-2').snapshots, 0, 'not before 500 ms');
  await clock.advance(200);
  t.equal(link('east-2').snapshots, 1, 'the next node');
  t.equal(proposed().length, 2);
  t.equal(link('east-2').streams.length, 0, 'no stream during the transfer');
  await clock.advance(LOOP_MS);
  t.equal(link('east-2').streams.length, 1, 'following again afterwards');
  link('east-2').last!.emit('error', new GeoLinkError('GEO_SNAPSHOT_NEEDED', 'x'));
  replica.hold = true;
  await clock.advance(LOOP_MS);
  replica.isLeader = false;
  replica.hold = false;
  replica.release();
  await clock.advance(LOOP_MS);
  t.equal(proposed().length, 3, 'no part proposed once it no longer leads');
});

t.test('fails over when no primary leader is seen for failoverAfterMs, not while probes find one', async (t) => {
  const { clock, links, meta, transitions } = setup(t);
  await clock.advance(LOOP_MS);
  await clock.advance(3 * FAILOVER);
  t.same(transitions(), [], 'probes see a leader');
  t.ok(links.every((l) => l.probes.length >= (3 * FAILOVER) / PROBE_MS - 1), 'every primary node is probed');
  t.same(links[0]!.probes[0], { follower: 'west-1', cursor: 1 });
  for (const l of links) l.status = { role: 'follower', commitIndex: 10, leader: '' };
  const lost = clock.now();
  await clock.advance(FAILOVER - PROBE_MS);
  t.same(transitions(), [], 'not yet');
  await clock.advance(PROBE_MS + 2 * LOOP_MS);
  const [tr] = transitions();
  t.match(tr, { mode: 'FAILED_OVER', epoch: 1, manual: false, reason: /^no primary leader seen for \d+ ms$/ });
  const unseen = Number(/(\d+) ms/.exec(tr!.reason)![1]);
  t.ok(unseen > FAILOVER && unseen <= FAILOVER + LOOP_MS, `unseen for ${unseen} ms when proposed`);
  t.ok(tr!.atMs - lost <= FAILOVER + LOOP_MS, `proposed ${tr!.atMs - lost} ms after the last leader answered`);
  await clock.advance(10 * LOOP_MS);
  t.equal(transitions().length, 1, 'once');
  t.equal(meta.mode, 'FAILED_OVER');
});

t.test('a stall of this node is not the primary\'s silence: it judges again only after reading', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const { clock, links, transitions } = setup(t, { logger });
  await clock.advance(LOOP_MS);
  await clock.advance(FAILOVER);
  // The loop's timer comes due before the probes' answers are read, as after a real stall.
  clock.freeze(3 * FAILOVER);
  await clock.advance(FAILOVER);
  t.same(transitions(), [], 'no failover from a healthy primary');
  t.match(lines, [{ msg: /^this node was stalled/, stalledMs: 3 * FAILOVER - LOOP_MS }]);
  for (const l of links) l.status = { role: 'follower', commitIndex: 10, leader: '' };
  await clock.advance(FAILOVER + PROBE_MS + 2 * LOOP_MS);
  t.match(transitions(), [{ mode: 'FAILED_OVER', reason: /^no primary leader seen for \d+ ms$/ }], 'and a failover once no leader answers');
});

t.test('a probed follower that names its leader counts as seeing the primary, as a beat does', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const { clock, links, transitions } = setup(t, { logger });
  // The primary's leader is paused: it answers nothing, and its followers still name it (or already a new one).
  links[0]!.status = undefined;
  for (const l of links.slice(1)) l.status = { role: 'follower', commitIndex: 10, leader: 'east-1' };
  await clock.advance(LOOP_MS);
  await clock.advance(3 * FAILOVER);
  t.same(transitions(), [], 'no failover while a follower names a leader');
  for (const l of links.slice(1)) l.status = { role: 'follower', commitIndex: 10, leader: '' };
  await clock.advance(FAILOVER + PROBE_MS + 2 * LOOP_MS);
  t.match(transitions(), [{ mode: 'FAILED_OVER' }], 'and a failover once none does');
  t.match(
    lines.find((l) => l.msg === 'no primary leader seen: what the primary nodes last said'),
    {
      probes: { 'east-1': /^UNAVAILABLE \(\d+ ms ago\)$/, 'east-2': /^follower, leader none, commit 10 \(\d+ ms ago\)$/, 'east-3': /^follower, leader none/ },
      stream: 'no event yet',
    },
    'the failover is logged with what each primary node last answered',
  );
});

t.test('a stream beat with a leader counts as seeing the primary; failback once stable for failbackAfterMs and caught up', async (t) => {
  const { clock, links, link, meta, transitions, follower } = setup(t);
  for (const l of links) l.status = undefined; // probes unanswered
  await clock.advance(LOOP_MS); // leads; the primary goes unseen for a while
  await clock.advance(1500);
  Object.assign(meta, { mode: 'FAILED_OVER', epoch: 1, cursor: 50 });
  const s = link('east-1').last!;
  const first = clock.now();
  while (clock.now() - first < FAILBACK + 400) {
    s.emit('data', beat([], 'east-1', 200));
    await clock.advance(200);
  }
  t.same(transitions(), [], 'stable long enough, but 150 entries behind');
  t.equal(follower.primaryCommitSeen, 200);
  meta.cursor = 200 - 64;
  s.emit('data', beat([], 'east-1', 200));
  await clock.advance(LOOP_MS);
  t.match(transitions(), [{ mode: 'STANDBY', epoch: 1, manual: false, reason: /^primary leader stable for \d+ ms and caught up at 136$/ }]);
});

t.test('no failback before the primary leader is stable for failbackAfterMs', async (t) => {
  const { clock, links, link, meta, transitions } = setup(t);
  for (const l of links) l.status = undefined;
  await clock.advance(LOOP_MS);
  await clock.advance(1500);
  Object.assign(meta, { mode: 'FAILED_OVER', epoch: 1, cursor: 200 });
  const s = link('east-1').last!;
  const first = clock.now();
  while (clock.now() - first < FAILBACK - 200) {
    s.emit('data', beat([], 'east-1', 200));
    await clock.advance(200);
  }
  t.same(transitions(), [], `caught up, stable for ${clock.now() - first} ms`);
  s.emit('data', beat([], 'east-1', 200));
  await clock.advance(200);
  s.emit('data', beat([], 'east-1', 200));
  await clock.advance(LOOP_MS);
  t.match(transitions(), [{ mode: 'STANDBY' }], 'then it fails back');
});

t.test('a mode change that does not commit is retried on a later loop', async (t) => {
  const { clock, links, replica, transitions } = setup(t);
  for (const l of links) l.status = undefined;
  replica.failWith = noQuorum();
  await clock.advance(FAILOVER + 3 * LOOP_MS);
  const tries = replica.attempts;
  t.ok(tries >= 1, 'tried');
  await clock.advance(2 * LOOP_MS);
  t.ok(replica.attempts > tries, 'and tried again');
  replica.failWith = undefined;
  await clock.advance(LOOP_MS);
  t.match(transitions(), [{ mode: 'FAILED_OVER' }]);
});

t.test('manual failover (held) and failback through proposals', async (t) => {
  const { meta, transitions, follower } = setup(t);
  meta.epoch = 3;
  t.equal(await follower.manualTransition('FAILED_OVER', 'drill'), meta);
  meta.mode = 'FAILED_OVER';
  meta.epoch = 4;
  await follower.manualTransition('FAILED_OVER', '');
  await follower.manualTransition('STANDBY', '');
  t.match(transitions(), [
    { mode: 'FAILED_OVER', epoch: 4, reason: 'manual: drill', manual: true },
    { mode: 'FAILED_OVER', epoch: 4, reason: 'manual: operator request', manual: true },
    { mode: 'STANDBY', epoch: 4, reason: 'manual: operator request', manual: true },
  ]);
});

t.test('a manual change that does not commit rejects', async (t) => {
  const { replica, follower } = setup(t);
  replica.failWith = noQuorum();
  await t.rejects(follower.manualTransition('FAILED_OVER', 'x'), { name: 'ReplicaError' });
});

t.test('dropped primary nodes are skipped for streams and probes, and an event from one ends its stream', async (t) => {
  const { clock, link, dropped, shipped } = setup(t);
  dropped.add('east-1');
  await clock.advance(LOOP_MS);
  t.equal(link('east-1').streams.length, 0);
  const s = link('east-2').last!;
  t.ok(s, 'follows east-2');
  await clock.advance(PROBE_MS);
  t.equal(link('east-1').probes.length, 0, 'no probe of a dropped node');
  t.ok(link('east-2').probes.length > 0);
  dropped.add('east-2');
  dropped.add('east-3');
  s.emit('data', beat([entry(2)]));
  await clock.advance(LOOP_MS);
  t.same(shipped(), [], 'an event from a node dropped meanwhile is ignored');
  // A partition breaks a stream: reading on past a dropped event would leave a gap in what is shipped.
  t.ok(s.cancelled, 'and its stream is ended');
  await clock.advance(5 * LOOP_MS);
  t.equal(link('east-3').streams.length, 0, 'every node dropped: no stream');
  dropped.delete('east-3');
  await clock.advance(LOOP_MS);
  t.equal(link('east-3').last?.fromIndex, 2, 'once one is reachable, a new stream resumes after the cursor, the dropped entry included');
});

t.test('a simulated distance delays each event by latencyMs', async (t) => {
  const { clock, link, shipped } = setup(t, { latencyMs: 250 });
  await clock.advance(LOOP_MS);
  link('east-1').last!.emit('data', beat([entry(2)]));
  await clock.advance(200);
  t.same(shipped(), []);
  await clock.advance(150);
  t.same(shipped(), [[2]]);
});

t.test('a new primary membership replaces the links; the same one keeps them; stop closes them', async (t) => {
  const { clock, links, link, follower } = setup(t);
  await clock.advance(LOOP_MS);
  const s = link('east-1').last!;
  follower.setPrimaries(PRIMARIES.map((p) => ({ ...p })));
  t.equal(links.length, 3, 'the same members: nothing changes');
  t.notOk(s.cancelled);
  follower.setPrimaries([...PRIMARIES, { id: 'east-4', peer: 'east-4:7000' }]);
  t.ok(s.cancelled, 'the stream is closed');
  t.ok(links.slice(0, 3).every((l) => l.closed), 'the old links are closed');
  t.equal(links.length, 7);
  await clock.advance(LOOP_MS);
  t.equal(link('east-1').streams.length, 1, 'a stream on the new link');
  const current = link('east-1').last!;
  follower.stop();
  t.ok(current.cancelled);
  t.ok(links.slice(3).every((l) => l.closed));
  const streams = links.reduce((n, l) => n + l.streams.length, 0);
  await clock.advance(10 * LOOP_MS);
  t.equal(links.reduce((n, l) => n + l.streams.length, 0), streams, 'no loop after stop');
});
