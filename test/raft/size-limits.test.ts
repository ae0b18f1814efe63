// Limits in bytes, after etcd's MaxSizePerMsg, MaxCommittedSizePerReady and
// MaxUncommittedEntriesSize: a count of entries is no bound when an entry can
// be 64 KiB. The subtests carry the names of etcd's tests of the same rule.

import t from 'tap';
import { EntryType, MessageType, ProposalDropped, UncommittedLimitExceeded, bootstrapState, type Entry, type Message } from '../../src/raft/index.js';
import { RaftLog } from '../../src/raft/log.js';
import { Inflights } from '../../src/raft/progress.js';
import { electedNetwork } from './harness.js';

const sized = (n: number, fill = 'x'): Uint8Array => new TextEncoder().encode(fill.repeat(n));
const entriesTo = (to: string) => (m: Message) => m.type === MessageType.App && m.to === to && m.entries.length > 0;
const dataBytes = (entries: readonly Entry[]): number => entries.reduce((s, e) => s + e.data.length, 0);

t.test('TestLimitSize: the longest prefix within the limit, and never less than one entry', async (t) => {
  const boot = bootstrapState(['a']);
  const sizes = [100, 100, 100, 500, 0, 0];
  const entries = sizes.map((n, k): Entry => ({ index: 2 + k, term: 1, type: EntryType.Normal, data: sized(n) }));
  const log = new RaftLog(boot.snapshot, entries, 1, 1);
  const lengths = (maxBytes: number) => log.slice(2, 8, maxBytes).length;
  t.equal(lengths(Infinity), 6, 'no limit: everything');
  t.equal(lengths(0), 1, 'a limit below the first entry still yields that entry');
  t.equal(lengths(199), 1);
  t.equal(lengths(200), 2, 'a prefix that fills the limit exactly is kept');
  t.equal(lengths(799), 3);
  t.equal(lengths(800), 6, 'empty entries weigh nothing');
  t.equal(log.slice(5, 8, 1).length, 1, 'an entry larger than the limit travels alone');
});

t.test('TestProgressFlowControl: an append carries at most maxBytesPerMessage of data', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, maxBytesPerMessage: 1000, maxInflight: 3 });
  const a = net.node('a');
  for (let k = 0; k < 5; k++) a.propose(sized(400));
  a.propose(sized(5000));
  a.propose(sized(400));
  net.process('a');
  const first = net.inFlight(entriesTo('b'));
  t.same(
    first.map((m) => m.entries.length),
    [2],
    'the broadcast sends b one append of two 400-byte entries: a third would pass 1000',
  );
  net.deliver((m) => (m.to === 'b' && m.type === MessageType.App) || (m.from === 'b' && m.type === MessageType.AppResp), 2);
  t.same(
    net.inFlight(entriesTo('b')).map((m) => m.entries.map((e) => e.data.length)),
    [[400, 400], [400], [5000]],
    'the ack fills the window of three: 2 + 1 entries (the 5000 bytes would not fit with the fifth), then the large entry alone',
  );
  net.stabilize();
  t.equal(net.peer('b').applied.length, 7, 'everything arrives');
  const appendsToB = net.sent.filter(entriesTo('b'));
  t.ok(
    appendsToB.every((m) => m.entries.length === 1 || dataBytes(m.entries) <= 1000),
    'no append with more than one entry carries more than the limit',
  );
});

t.test('TestInflightsFull: the window fills at maxBytes, softly: the append that crosses it still goes', async (t) => {
  const w = new Inflights(10, 1000);
  w.add(1, 600);
  t.notOk(w.full, '600 of 1000 bytes');
  w.add(2, 600);
  t.ok(w.full, '1200 bytes: full, though only two of ten messages');
  w.freeLE(1);
  t.notOk(w.full, 'the ack of the first frees its bytes');
  w.freeFirstOne();
  w.add(3, 5000);
  t.ok(w.full);
  w.reset();
  t.notOk(w.full);
});

t.test('TestMsgAppFlowControlFull: a follower that does not answer gets at most maxInflightBytes (and one append) ahead', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, maxInflightBytes: 1000, maxBytesPerMessage: 400 });
  const a = net.node('a');
  const notB = (m: Message) => m.from !== 'b' && m.to !== 'b';
  for (let k = 0; k < 10; k++) {
    a.propose(sized(300, String(k)));
    net.deliver(notB);
  }
  t.equal(net.peer('c').applied.length, 10, 'c, which answers, has everything');
  t.same(
    net.inFlight(entriesTo('b')).map((m) => dataBytes(m.entries)),
    [300, 300, 300, 300],
    'b has four appends in flight: 900 bytes is under the limit, so the fourth goes, and then no more',
  );
  net.stabilize();
  t.equal(net.peer('b').applied.length, 10, 'once b answers, the rest follows');
});

t.test('TestCommitPagination: a Ready hands out at most maxCommittedBytesPerReady of committed data', async (t) => {
  const net = electedNetwork(['a'], { seed: 1, maxCommittedBytesPerReady: 100 });
  const a = net.node('a');
  for (let k = 0; k < 4; k++) a.propose(sized(40, String(k)));
  a.propose(sized(300, '4'));
  a.propose(sized(40, '5'));
  const batches: number[][] = [];
  while (a.hasReady()) {
    const rd = a.ready();
    if (rd.committedEntries.length > 0) batches.push(rd.committedEntries.map((e) => e.data.length));
    net.handle('a', rd);
  }
  t.same(batches, [[40, 40], [40, 40], [300], [40]], 'two 40-byte entries per Ready; the 300-byte one alone');
  t.same(
    net.peer('a').applied.map((s) => s[0]),
    ['0', '1', '2', '3', '4', '5'],
    'all applied, in order',
  );
});

t.test('TestUncommittedEntryLimit: the leader refuses data past maxUncommittedBytes until its tail commits', async (t) => {
  const limit = 64;
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, maxUncommittedBytes: limit });
  const a = net.node('a');
  for (let k = 0; k < limit / 8; k++) a.propose(sized(8));
  const refused = t.throws(() => a.propose(sized(8)), UncommittedLimitExceeded, 'one byte past the limit is refused') as unknown;
  t.ok(refused instanceof ProposalDropped, 'a refusal is a kind of dropped proposal');
  t.match((refused as Error).message, /64 bytes are waiting to commit; 8 more would pass the limit of 64/);
  a.propose(new Uint8Array());
  t.pass('an empty proposal is always accepted');

  net.stabilize();
  t.equal(net.peer('b').applied.length, limit / 8, 'the accepted writes commit; the refused one never entered the log');
  for (let k = 0; k < limit / 8; k++) a.propose(sized(8));
  t.pass('once committed, the whole limit is free again: the accounting is exact');
  net.stabilize();

  a.propose(sized(4 * limit));
  t.pass('a proposal larger than the limit is accepted when nothing waits to commit');
  t.throws(() => a.propose(sized(1)), UncommittedLimitExceeded, 'but nothing more until it commits');
  net.stabilize();
  a.propose(sized(1));
  t.pass('after which proposals are taken again');
});

t.test('TestUncommittedEntryLimit: a new leader starts from zero; the tail it inherits does not count', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, maxUncommittedBytes: 64 });
  // Nothing commits from here on: acknowledgements are lost.
  net.dropIf((m) => m.type === MessageType.AppResp);
  for (let k = 0; k < 8; k++) net.node('a').propose(sized(8));
  net.stabilize();
  t.equal(net.log('b').length, 9, 'b holds the 64 uncommitted bytes too');
  net.isolate('a');
  net.tickUntil(() => net.leader() !== 'a', ['b', 'c']);
  const id = net.leader()!;
  t.equal(net.node(id).status().commit, 2, 'the inherited tail is still uncommitted');
  const leader = net.node(id);
  for (let k = 0; k < 8; k++) leader.propose(sized(8));
  t.throws(() => leader.propose(sized(8)), UncommittedLimitExceeded, "the new leader counts only the 64 bytes of its own term's entries");
});
