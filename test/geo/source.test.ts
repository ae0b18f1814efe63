// The primary side of geo-replication without gRPC: a fake replica, a sink in
// memory and virtual time.

import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { FollowEvent, GeoSnapshotChunk } from '../../src/geo/codec.js';
import { GeoLinkError } from '../../src/geo/link.js';
import type { StateSnapshots } from '../../src/geo/replica-port.js';
import { COALESCE_MS, type FollowSink, GeoSource, HEARTBEAT_MS } from '../../src/geo/source.js';
import { FakeClock, FakeSourceReplica, settle, silent } from './fakes.js';

class Sink implements FollowSink {
  events: FollowEvent[] = [];
  full = false;
  private drainers: (() => void)[] = [];
  private closers: (() => void)[] = [];
  write(e: FollowEvent): boolean {
    this.events.push(e);
    return !this.full;
  }
  drained(): Promise<void> {
    return new Promise((r) => this.drainers.push(r));
  }
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }
  close(): void {
    for (const f of this.closers) f();
  }
  drain(): void {
    this.full = false;
    for (const r of this.drainers.splice(0)) r();
  }
  indexes(i: number): number[] {
    return this.events[i]!.entries.map((e) => e.index);
  }
}

function store(records: [string, Uint8Array][], closed: { n: number }, fail?: Error): StateSnapshots {
  return {
    openStateSnapshot: async () => ({
      meta: { index: 77, term: 5 },
      records: (async function* () {
        for (const r of records) yield r;
        if (fail !== undefined) throw fail;
      })(),
      close: async () => {
        closed.n++;
      },
    }),
  };
}

function setup(opts: { dropped?: Set<string>; records?: [string, Uint8Array][]; snapshotFails?: Error } = {}) {
  const clock = new FakeClock();
  const replica = new FakeSourceReplica();
  const closed = { n: 0 };
  const dropped = opts.dropped ?? new Set<string>();
  const source = new GeoSource({
    nodeId: 'east-1',
    replica,
    store: store(opts.records ?? [], closed, opts.snapshotFails),
    logger: silent,
    isDropped: (id) => dropped.has(id),
    clock,
  });
  return { clock, replica, source, closed, dropped };
}

t.test('streams committed entries in batches with health, then a beat every HEARTBEAT_MS, and stops when the reader goes', async (t) => {
  const { clock, replica, source } = setup();
  replica.append(10, 10, 10);
  const sink = new Sink();
  const done = source.follow(2, 'west-1', sink);
  await settle();
  t.same(replica.retained, [2], 'the log is kept from where the follower starts');
  t.equal(sink.events.length, 1);
  t.same(sink.indexes(0), [2, 3]);
  t.same(sink.events[0]!.health, { node: 'east-1', leader: 'east-1', term: 3, commitIndex: 3, atMs: clock.now() });
  t.equal(sink.events[0]!.appliedAtMs, clock.now());

  await clock.advance(HEARTBEAT_MS - 1);
  t.equal(sink.events.length, 1, 'no beat before HEARTBEAT_MS');
  await clock.advance(1);
  t.equal(sink.events.length, 2, 'a beat');
  t.same(sink.indexes(1), [], 'with no entries');

  replica.append(5);
  await settle();
  t.equal(sink.events.length, 2, 'an apply waits COALESCE_MS for more');
  replica.append(6);
  await clock.advance(COALESCE_MS - 1);
  t.equal(sink.events.length, 2);
  await clock.advance(1);
  t.equal(sink.events.length, 3, 'then what was applied meanwhile goes in one event');
  t.same(sink.indexes(2), [4, 5]);

  replica.leader = '';
  await clock.advance(HEARTBEAT_MS);
  t.equal(sink.events[3]!.health?.leader, '', 'the beat says when this node knows no leader');

  sink.close();
  await done;
  t.equal(replica.events.listenerCount('applied'), 0, 'no listener left behind');
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
});

t.test('the reader going away while the stream waits for more applies ends it at once', async (t) => {
  const { clock, replica, source } = setup();
  const sink = new Sink();
  const done = source.follow(1, 'west-1', sink);
  await settle();
  replica.append(5);
  await settle();
  sink.close();
  await done;
  t.same(
    sink.events.map((e) => e.entries.length),
    [0],
    'the entry applied in the wait was not sent',
  );
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
});

t.test('a batch holds at most 256 entries and about 1 MiB, and the next follows without waiting', async (t) => {
  const { clock, replica, source } = setup();
  replica.append(...Array.from({ length: 300 }, () => 1));
  const sink = new Sink();
  const done = source.follow(1, 'west-1', sink);
  await settle();
  t.same(sink.events.map((e) => e.entries.length), [256, 44]);

  replica.append(700 * 1024, 700 * 1024, 10);
  await clock.advance(COALESCE_MS);
  t.same(sink.events.slice(2).map((e) => e.entries.map((x) => x.index)), [[301], [302, 303]], 'one large entry per event when two would pass 1 MiB');
  sink.close();
  await done;
});

t.test('waits for the reader to drain when its buffer is full', async (t) => {
  const { replica, source } = setup();
  replica.append(...Array.from({ length: 600 }, () => 1));
  const sink = new Sink();
  sink.full = true;
  const done = source.follow(1, 'west-1', sink);
  await settle();
  t.equal(sink.events.length, 1, 'one write, then it waits');
  sink.drain();
  await settle();
  t.same(sink.events.map((e) => e.entries.length), [256, 256, 88]);
  sink.close();
  await done;
});

t.test('GEO_SNAPSHOT_NEEDED when the entries asked for were compacted', async (t) => {
  const { replica, source } = setup();
  replica.first = 50;
  replica.append(1);
  const sink = new Sink();
  const err = await source.follow(10, 'west-1', sink).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, GeoLinkError);
  t.match(err, { reason: 'GEO_SNAPSHOT_NEEDED', message: 'GEO_SNAPSHOT_NEEDED: entry 10 was compacted on east-1' });
  t.equal(sink.events.length, 0);
  t.equal(replica.events.listenerCount('applied'), 0);
  const again = source.follow(50, 'west-1', sink);
  await settle();
  t.same(sink.indexes(0), [50], 'from the first kept entry it streams');
  sink.close();
  await again;
});

t.test('a dropped follower gets FAULT_INJECTED, at once or when the fault comes', async (t) => {
  const { clock, replica, source, dropped } = setup();
  replica.append(1);
  const sink = new Sink();
  const done = source.follow(0, 'west-1', sink).catch((e: unknown) => e);
  await settle();
  t.same(sink.indexes(0), [1], 'fromIndex 0 starts at 1');
  dropped.add('west-1');
  await clock.advance(HEARTBEAT_MS);
  t.match(await done, { reason: 'FAULT_INJECTED' });
  t.equal(sink.events.length, 1, 'nothing more sent');
  await t.rejects(source.follow(1, 'west-1', new Sink()), { message: /^FAULT_INJECTED: / });
  t.throws(() => source.probe('west-1', 5), { message: /^FAULT_INJECTED: / });
});

t.test('probe: the role, commit and leader, and the log kept from the cursor on', async (t) => {
  const { replica, source } = setup();
  replica.append(1, 1);
  t.same(source.probe('west-1', 1), { role: 'leader', commitIndex: 2, leader: 'east-1' });
  replica.isLeader = false;
  replica.leader = 'east-2';
  t.same(source.probe('west-1', 2), { role: 'follower', commitIndex: 2, leader: 'east-2' });
  t.same(replica.retained, [2, 3]);
});

t.test('snapshot: the vault records in chunks at the snapshot index, without the region membership', async (t) => {
  const big = new Uint8Array(40 * 1024);
  const records: [string, Uint8Array][] = [
    ['member/east-1', new Uint8Array(3)],
    ['v/a', big],
    ['v/b', big],
    ['v/c', new Uint8Array(1)],
  ];
  const { source, closed } = setup({ records });
  const chunks: GeoSnapshotChunk[] = [];
  for await (const c of source.snapshot('west-1')) chunks.push(c);
  t.same(chunks.map((c) => c.records.map((r) => r.key)), [['v/a', 'v/b'], ['v/c']]);
  t.same(chunks.map((c) => [c.index, c.term, c.done]), [[77, 5, false], [77, 5, true]]);
  t.equal(closed.n, 1, 'the state view is closed');

  const partial = source.snapshot('west-1');
  await partial.next();
  await partial.return(undefined);
  t.equal(closed.n, 2, 'closed too when the reader stops early');
});

/** A grpc.ServerWritableStream as far as register() uses it. */
class FakeCall extends EventEmitter {
  written: unknown[] = [];
  ended = false;
  destroyed: Error | undefined;
  full = false;
  constructor(readonly request: object) {
    super();
  }
  write(m: unknown): boolean {
    this.written.push(m);
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
  destroy(e: Error): void {
    this.destroyed = e;
  }
}

function registered(source: GeoSource) {
  let impl: Record<string, (call: FakeCall) => void> = {};
  const server = { addService: (_def: unknown, i: typeof impl) => (impl = i) } as unknown as grpc.Server;
  source.register(server);
  return impl;
}

t.test('the gRPC adapter: entries and beats written to the call, reasons as status codes', async (t) => {
  const { clock, replica, source } = setup();
  replica.append(1, 1);
  const impl = registered(source);
  const call = new FakeCall({ fromIndex: '1', follower: 'west-1' });
  call.full = true;
  impl.follow!(call);
  await settle();
  t.equal(call.written.length, 1);
  call.full = false;
  call.emit('drain');
  await settle();
  replica.append(1);
  await clock.advance(COALESCE_MS);
  t.equal(call.written.length, 2, 'continues after drain');
  call.emit('cancelled');
  await settle();
  t.equal(replica.events.listenerCount('applied'), 0, 'a cancelled call ends the loop');

  replica.first = 10;
  const errors: unknown[] = [];
  const late = new FakeCall({ fromIndex: 2, follower: 'west-1' });
  late.on('error', (e) => errors.push(e));
  impl.follow!(late);
  await settle();
  t.same(errors, [{ code: 9, details: 'GEO_SNAPSHOT_NEEDED: entry 2 was compacted on east-1' }], 'FAILED_PRECONDITION with the reason in the details');

  const broken = new FakeCall({ fromIndex: 10, follower: 'west-1' });
  replica.committedEntries = () => {
    throw new Error('disk on fire');
  };
  impl.follow!(broken);
  await settle();
  t.match(broken.destroyed, { message: 'disk on fire' }, 'any other failure destroys the call');
});

t.test('the gRPC adapter: snapshot chunks written, then end; a failure as GEO_SNAPSHOT_FAILED', async (t) => {
  const { source } = setup({ records: [['v/a', new Uint8Array(70 * 1024)], ['v/b', new Uint8Array(1)]] });
  const impl = registered(source);
  const call = new FakeCall({ follower: 'west-1' });
  call.full = true;
  impl.snapshot!(call);
  await settle();
  t.equal(call.written.length, 1, 'waits for drain');
  call.full = false;
  call.emit('drain');
  await settle();
  t.equal(call.written.length, 2);
  t.ok(call.ended);

  const failing = setup({ records: [['v/a', new Uint8Array(1)]], snapshotFails: new Error('io') });
  const errors: unknown[] = [];
  const bad = new FakeCall({ follower: 'west-1' });
  bad.on('error', (e) => errors.push(e));
  registered(failing.source).snapshot!(bad);
  await settle();
  t.same(errors, [{ code: 14, details: 'GEO_SNAPSHOT_FAILED: io' }]);
  t.notOk(bad.ended);
  t.equal(failing.closed.n, 1);
});
