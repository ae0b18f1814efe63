// The two carriages of PrimaryLink: in memory (a follower reading a
// GeoSource directly, under virtual time) and gRPC (its error mapping and
// stream wrapper; no network here).

import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { decodeGeoEntry, type FollowEvent } from '../../src/geo/codec.js';
import { GeoFollower, LOOP_MS } from '../../src/geo/follower.js';
import { initialGeoMeta } from '../../src/geo/geo-state.js';
import { GrpcFollowStream, GrpcPrimaryLink, grpcPrimaryLinks, toLinkError } from '../../src/geo/grpc-link.js';
import { GeoLinkError, isSnapshotNeeded } from '../../src/geo/link.js';
import { MemoryFollowStream, memoryLink } from '../../src/geo/memory-link.js';
import { GeoSource, HEARTBEAT_MS } from '../../src/geo/source.js';
import { FakeClock, FakeFollowerReplica, FakeSourceReplica, settle, silent } from './fakes.js';

const event = (n: number): FollowEvent => ({ entries: [{ index: n, term: 1, type: 0, data: new Uint8Array(1) }], health: null, appliedAtMs: n });

t.test('MemoryFollowStream: events on a later turn, in order; pause holds them and backpressures the writer', async (t) => {
  const clock = new FakeClock();
  const s = new MemoryFollowStream(clock);
  const got: number[] = [];
  s.on('data', (e: FollowEvent) => got.push(e.appliedAtMs));
  t.ok(s.write(event(1)));
  t.same(got, [], 'not within the write');
  await settle();
  t.same(got, [1]);
  s.pause();
  t.notOk(s.write(event(2)), 'a paused reader says wait');
  let drained = false;
  void s.drained().then(() => (drained = true));
  await settle();
  t.same(got, [1], 'held while paused');
  t.notOk(drained);
  s.resume();
  s.resume();
  await settle();
  t.same(got, [1, 2]);
  t.ok(drained, 'drained on resume');
  await s.drained();

  let ended = 0;
  let closed = 0;
  s.on('end', () => ended++);
  s.onClose(() => closed++);
  s.write(event(3));
  s.finish();
  s.write(event(4));
  await settle();
  t.same(got, [1, 2, 3], 'nothing after the end');
  t.equal(ended, 1);
  t.equal(closed, 1, 'the writer hears the stream is over');
  s.onClose(() => closed++);
  t.equal(closed, 2, 'at once when already closed');
  await s.drained();
});

t.test('MemoryFollowStream: cancel drops what is queued, wakes a waiting writer, and reports neither end nor error', async (t) => {
  const clock = new FakeClock();
  const s = new MemoryFollowStream(clock);
  const seen: string[] = [];
  s.on('data', () => seen.push('data'));
  s.on('end', () => seen.push('end'));
  s.on('error', () => seen.push('error'));
  s.pause();
  s.write(event(1));
  const waiting = s.drained();
  s.cancel();
  s.cancel();
  await waiting;
  s.finish(new Error('late'));
  await settle();
  t.same(seen, []);

  const f = new MemoryFollowStream(clock);
  f.on('error', (e: Error) => seen.push(e.message));
  f.finish(new GeoLinkError('GEO_SNAPSHOT_NEEDED', 'x'));
  await settle();
  t.same(seen, ['GEO_SNAPSHOT_NEEDED: x']);
});

function region() {
  const clock = new FakeClock();
  const primary = new FakeSourceReplica();
  let up = true;
  const source = new GeoSource({
    nodeId: 'east-1',
    replica: primary,
    store: {
      openStateSnapshot: async () => ({
        meta: { index: primary.commitIndex, term: 3 },
        records: (async function* (): AsyncGenerator<[string, Uint8Array]> {
          yield ['v/a', new Uint8Array([1])];
        })(),
        close: async () => {},
      }),
    },
    logger: silent,
    isDropped: () => false,
    clock,
  });
  const replica = new FakeFollowerReplica();
  const meta = { ...initialGeoMeta() };
  replica.onCommit = (data) => {
    const e = decodeGeoEntry(data);
    if (e.kind === 'shipped') meta.cursor = e.shipped.entries.at(-1)!.index;
    if (e.kind === 'snapshotPart' && e.snapshotPart.last) meta.cursor = e.snapshotPart.primaryIndex;
    if (e.kind === 'transition') Object.assign(meta, { mode: e.transition.mode, epoch: e.transition.epoch });
  };
  const follower = new GeoFollower({
    nodeId: 'west-1',
    replica,
    geo: () => meta,
    primaries: [{ id: 'east-1', peer: 'memory' }],
    failoverAfterMs: 2000,
    failbackAfterMs: 2000,
    latencyMs: 0,
    isDropped: () => false,
    links: () => memoryLink(() => (up ? source : undefined), clock),
    logger: silent,
    clock,
  });
  return { clock, primary, source, replica, meta, follower, setUp: (u: boolean) => (up = u) };
}

t.test('a follower and a source in memory: the secondary keeps up, beats keep it standing by, a lost primary fails it over', async (t) => {
  const { clock, primary, meta, follower, setUp } = region();
  primary.append(1, 1, 1);
  follower.start();
  t.teardown(() => follower.stop());
  await clock.advance(2 * LOOP_MS);
  t.equal(meta.cursor, 3, 'caught up with what was committed (from the bootstrap index on)');
  primary.append(1, 1);
  await clock.advance(LOOP_MS);
  t.equal(meta.cursor, 5, 'and with what follows');
  await clock.advance(5000);
  t.equal(meta.mode, 'STANDBY', 'beats and probes show a live primary');
  t.equal(follower.primaryCommitSeen, 5);
  t.ok(primary.retained.includes(6), 'the probes keep the log from the cursor');
  setUp(false);
  follower.setPrimaries([{ id: 'east-1', peer: 'memory-2' }]);
  await clock.advance(2000 + 3 * LOOP_MS + HEARTBEAT_MS);
  t.equal(meta.mode, 'FAILED_OVER', 'no primary: failed over');
});

t.test('a follower and a source in memory: a compacted primary log is replaced by a snapshot transfer', async (t) => {
  const { clock, primary, meta, follower, replica } = region();
  primary.first = 40;
  primary.append(1, 1);
  follower.start();
  t.teardown(() => follower.stop());
  await clock.advance(3 * LOOP_MS);
  const kinds = replica.proposals.map((p) => decodeGeoEntry(p).kind);
  t.same(kinds, ['snapshotPart'], 'one part');
  t.equal(meta.cursor, 41, 'at the snapshot index (the primary commit)');
  primary.append(1);
  await clock.advance(2 * LOOP_MS);
  t.equal(meta.cursor, 42, 'and following the log after it');
});

t.test('memoryLink to a node that is down: follow fails, probe and snapshot reject; close cancels open streams', async (t) => {
  const { clock, source, setUp } = region();
  setUp(false);
  const link = memoryLink(() => undefined, clock);
  const errors: Error[] = [];
  link.follow(1, 'west-1').on('error', (e) => errors.push(e));
  await settle();
  t.match(errors, [{ reason: 'UNAVAILABLE' }]);
  await t.rejects(link.probe('west-1', 1, 300), { message: /^UNAVAILABLE/ });
  await t.rejects(link.snapshot('west-1')[Symbol.asyncIterator]().next(), { message: /^UNAVAILABLE/ });

  const up = memoryLink(() => source, clock);
  t.same(await up.probe('west-1', 1, 300), { role: 'leader', commitIndex: 0, leader: 'east-1' });
  const s = up.follow(1, 'west-1');
  const seen: string[] = [];
  s.on('data', () => seen.push('data')).on('end', () => seen.push('end'));
  await settle();
  up.close();
  await clock.advance(HEARTBEAT_MS * 2);
  t.same(seen, ['data'], 'a beat, then nothing after close');
});

t.test('gRPC errors: a known reason in the details becomes a GeoLinkError', async (t) => {
  const svc = (details: string) => Object.assign(new Error(`9 FAILED_PRECONDITION: ${details}`), { code: 9, details });
  const e = toLinkError(svc('GEO_SNAPSHOT_NEEDED: entry 5 was compacted on east-1'));
  t.type(e, GeoLinkError);
  t.match(e, { reason: 'GEO_SNAPSHOT_NEEDED', message: 'GEO_SNAPSHOT_NEEDED: entry 5 was compacted on east-1' });
  t.ok(isSnapshotNeeded(e));
  t.match(toLinkError(svc('FAULT_INJECTED: dropped')), { reason: 'FAULT_INJECTED' });
  const other = svc('NOT_LEADER: x');
  t.equal(toLinkError(other), other, 'an unknown reason passes as it is');
  const plain = new Error('boom');
  t.equal(toLinkError(plain), plain);
  t.notOk(isSnapshotNeeded(plain));
  t.notOk(isSnapshotNeeded(new GeoLinkError('FAULT_INJECTED', 'GEO_SNAPSHOT_NEEDED in the text')), 'a typed error goes by its reason');
});

t.test('GrpcFollowStream passes data and end, maps errors, and forwards flow control', async (t) => {
  const calls: string[] = [];
  const call = Object.assign(new EventEmitter(), {
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
    cancel: () => calls.push('cancel'),
  });
  const s = new GrpcFollowStream(call as unknown as grpc.ClientReadableStream<FollowEvent>);
  const seen: unknown[] = [];
  s.on('data', (e) => seen.push(e.appliedAtMs))
    .on('error', (e) => seen.push(e))
    .on('end', () => seen.push('end'));
  call.emit('data', event(3));
  call.emit('error', Object.assign(new Error('9 FAILED_PRECONDITION: GEO_SNAPSHOT_NEEDED: entry 2'), { details: 'GEO_SNAPSHOT_NEEDED: entry 2' }));
  call.emit('end');
  t.equal(seen[0], 3);
  t.match(seen[1], { reason: 'GEO_SNAPSHOT_NEEDED' });
  t.equal(seen[2], 'end');
  s.pause();
  s.resume();
  s.cancel();
  t.same(calls, ['pause', 'resume', 'cancel']);
});

t.test('grpcPrimaryLinks makes a link per primary node with its credentials; nothing connects until called', async (t) => {
  const asked: string[] = [];
  const link = grpcPrimaryLinks((id) => {
    asked.push(id);
    return grpc.credentials.createInsecure();
  })({ id: 'east-1', peer: '127.0.0.1:1' });
  t.type(link, GrpcPrimaryLink);
  t.same(asked, ['east-1']);
  link.close();
});
