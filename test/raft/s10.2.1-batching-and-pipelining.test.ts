// Thesis §10.2.1 "Batching and pipelining": proposals made between two Ready
// batches go out together; appends are pipelined up to maxInflight per
// follower. And §5.3: the leader retries until every follower has the log,
// even when all the appends in its window were lost.

import t from 'tap';
import { MessageType, type Message, type Ready } from '../../src/raft/index.js';
import { bytes, electedNetwork } from './harness.js';

const appTo = (to: string) => (m: Message) => m.type === MessageType.App && m.to === to;
/** Appends that carry entries: the ones the in-flight window counts. */
const entriesTo = (to: string) => (m: Message) => appTo(to)(m) && m.entries.length > 0;
const notB = (m: Message) => m.from !== 'b' && m.to !== 'b';

t.test('§10.2.1 proposals made between two ready() calls go out in one append per follower', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  const a = net.node('a');
  a.propose(bytes('x'));
  a.propose(bytes('y'));
  a.propose(bytes('z'), bytes('w'));
  const rd = a.ready();
  t.same(
    rd.entries.map((e) => e.index),
    [3, 4, 5, 6],
    'the four entries are persisted in one batch',
  );
  for (const to of ['b', 'c']) {
    const apps = rd.messages.filter(appTo(to));
    t.equal(apps.length, 1, `one append to ${to}`);
    t.same(
      apps[0]!.entries.map((e) => new TextDecoder().decode(e.data)),
      ['x', 'y', 'z', 'w'],
      `carrying all four entries`,
    );
  }
  net.handle('a', rd);
  net.stabilize();
  for (const id of net.ids) t.same(net.peer(id).applied, ['x', 'y', 'z', 'w']);
});

t.test('§10.2.1 an append carries at most maxEntriesPerMsg entries; the rest is pipelined on the first ack', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, maxEntriesPerMsg: 3 });
  const a = net.node('a');
  for (let k = 0; k < 7; k++) a.propose(bytes(`v${k}`));
  net.process('a');
  t.same(
    net.inFlight(appTo('b')).map((m) => m.entries.map((e) => e.index)),
    [[3, 4, 5]],
    'the broadcast sends b one append, capped at three entries',
  );
  // b answers it; the leader then fills the window without waiting for more acks.
  net.deliver((m) => (m.to === 'b' && m.type === MessageType.App) || (m.from === 'b' && m.type === MessageType.AppResp), 2);
  t.same(
    net.inFlight(entriesTo('b')).map((m) => [m.index, m.entries.map((e) => e.index)]),
    [
      [5, [6, 7, 8]],
      [8, [9]],
    ],
    'the ack releases the remaining four entries as 3 + 1, back to back',
  );
  net.stabilize();
  t.equal(net.peer('b').applied.length, 7);
});

t.test('§10.2.1 with maxInflight = 2, at most two appends are in flight to a follower that does not answer', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, maxInflight: 2 });
  const a = net.node('a');
  for (let k = 0; k < 5; k++) {
    a.propose(bytes(`v${k}`));
    net.deliver(notB); // c answers at once; b's traffic stays in flight
  }
  t.same(net.peer('c').applied, ['v0', 'v1', 'v2', 'v3', 'v4'], 'c has everything: the window is per follower');
  let inflight = net.inFlight(entriesTo('b'));
  t.equal(inflight.length, 2, 'only two appends with entries went to b');
  t.same(
    inflight.map((m) => m.entries.map((e) => e.index)),
    [[3], [4]],
    'carrying v0 and v1',
  );
  t.equal(net.node('a').status().progress.get('b')?.state, 'replicate');

  // b gets the first append and answers it: one slot frees, one more append goes out.
  let first = true;
  net.deliver((m) => {
    if (m.type === MessageType.App && m.to === 'b') {
      if (!first) return false;
      first = false;
      return true;
    }
    return m.from === 'b' && m.type === MessageType.AppResp;
  });
  inflight = net.inFlight(entriesTo('b'));
  t.equal(inflight.length, 2, 'again two in flight');
  t.same(
    inflight.map((m) => m.entries.map((e) => e.index)),
    [[4], [5, 6, 7]],
    'the new one carries everything b still lacks (v2..v4)',
  );
  net.stabilize();
  t.same(net.peer('b').applied, ['v0', 'v1', 'v2', 'v3', 'v4'], 'b catches up');
  t.equal(net.inFlight(appTo('b')).length, 0);
});

t.test('§10.2.1 while the window is full, heartbeats still flow but no append is added', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, maxInflight: 1 });
  const a = net.node('a');
  a.propose(bytes('v0'));
  net.deliver(notB);
  a.propose(bytes('v1'));
  net.deliver(notB);
  t.equal(net.inFlight(appTo('b')).length, 1, 'one append in flight');
  a.tick();
  net.process('a');
  t.equal(net.inFlight((m) => m.type === MessageType.Heartbeat && m.to === 'b').length, 1, 'a heartbeat went to b');
  t.equal(net.inFlight(appTo('b')).length, 1, 'still one append');
  net.stabilize();
  t.same(net.peer('b').applied, ['v0', 'v1']);
});

t.test('§5.3 an entry whose acknowledgement was lost still commits: the heartbeat answer draws an append without entries', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  const a = net.node('a');
  net.stop('c');
  let dropAck = true;
  net.dropIf((m) => {
    if (!dropAck || m.from !== 'b' || m.type !== MessageType.AppResp) return false;
    dropAck = false;
    return true;
  });
  net.propose('a', 'v');
  const v = a.status().lastIndex;
  t.equal(net.peer('b').node.status().lastIndex, v, 'b stored v');
  t.ok(a.status().commit < v, 'but its answer was lost: v waits to commit');
  net.tickUntil(() => a.status().commit === v, ['a', 'b']);
  t.same(net.peer('b').applied, ['v']);
});

t.test('§5.3 a follower whose appends were all lost catches up once it answers again (the leader retries indefinitely)', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1, maxInflight: 2 });
  net.cutLinks(['a'], ['b']);
  for (let k = 0; k < 4; k++) net.propose('a', `v${k}`); // four appends to b, lost
  t.same(net.peer('c').applied, ['v0', 'v1', 'v2', 'v3']);
  t.same(net.peer('b').applied, []);
  const pr = net.node('a')['raft'].progress.get('b')!;
  t.equal(pr.state, 'replicate');
  t.ok(pr.inflights.full, 'the leader’s window to b is full of lost appends');
  net.heal();
  net.tick(undefined, 5); // heartbeats, answered by b
  t.same(net.peer('b').applied, ['v0', 'v1', 'v2', 'v3'], 'b has caught up');
  t.equal(net.node('a').status().progress.get('b')?.match, 6);
});

/**
 * A leader that takes its next Ready while its own write is in flight
 * (asynchronous storage writes): the Ready's messages went out, its entries
 * did not reach the leader's disk yet. Returns the Ready.
 */
function sendWithoutWriting(net: ReturnType<typeof electedNetwork>, id: string): Ready {
  const rd = net.node(id).ready();
  for (const m of rd.messages) {
    net.sent.push(m);
    net.queue.push(m);
  }
  net.node(id).advance(true);
  return rd;
}

/** Steps every queued message to `id` into it, without processing its Readies. */
function stepAllTo(net: ReturnType<typeof electedNetwork>, id: string): void {
  const mine = net.queue.filter((m) => m.to === id);
  net.queue = net.queue.filter((m) => m.to !== id);
  for (const m of mine) net.node(id).step(m);
}

t.test('§10.2.1 with its own write in flight, a leader commits and applies from two followers’ copies', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  const a = net.node('a');
  a.propose(bytes('x'));
  const rd = sendWithoutWriting(net, 'a');
  t.same(rd.entries.map((e) => e.index), [3], 'the entry is handed out to persist once');
  t.notOk(a.hasReady(), 'and not again while its write is in flight');
  net.deliver((m) => m.to !== 'a');
  stepAllTo(net, 'a');
  t.equal(a.committed, 3, 'b and c are a quorum');
  t.equal(a.persistedIndex, 2, 'though the leader’s own copy is not on its disk');
  const next = a.ready();
  t.same(next.committedEntries.map((e) => e.index), [3], 'the entry is handed out for applying');
  t.same(next.entries, [], 'nothing more to persist');
  a.advance(true);
  t.equal(a.status().progress.get('a')?.match, 2, 'the leader does not count its own copy yet');
  a.persisted(3, rd.entries[0]!.term);
  t.equal(a.status().progress.get('a')?.match, 3, 'and counts it once the write is done');
});

t.test('§10.2.1 a leader never counts its own copy before its write is done: with one follower, the commit waits for the disk', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  const a = net.node('a');
  net.isolate('c');
  a.propose(bytes('x'));
  const rd = sendWithoutWriting(net, 'a');
  net.deliver((m) => m.to === 'b');
  stepAllTo(net, 'a');
  t.equal(net.node('b').lastIndex, 3, 'b has the entry');
  t.equal(a.committed, 2, 'b alone is not a quorum while the leader’s copy may still be lost');
  a.persisted(3, rd.entries[0]!.term);
  t.equal(a.committed, 3, 'the leader’s copy on disk makes two of three');
});

t.test('§10.2.1 a write that ends after its leader lost the entries to a new leader does not mark the new ones persisted', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  const a = net.node('a');
  net.isolate('a');
  a.propose(bytes('lost'));
  const rd = sendWithoutWriting(net, 'a');
  const lost = rd.entries[0]!;
  net.tickUntil(() => net.leader() !== undefined && net.leader() !== 'a', ['b', 'c']);
  const lead = net.leader()!;
  net.propose(lead, 'kept');
  net.heal();
  // The new leader reaches a, which answers, until its append replaces the
  // entry a is still writing; a's Readies after that are not taken.
  for (let k = 0; k < 50 && a.termAt(lost.index) === lost.term; k++) {
    net.node(lead).tick();
    net.process(lead);
    stepAllTo(net, 'a');
    if (a.termAt(lost.index) !== lost.term) break;
    net.process('a');
    net.deliver((m) => m.to !== 'a');
  }
  t.not(a.termAt(lost.index), lost.term, 'a took the new leader’s entry in place of its own');
  const before = a.persistedIndex;
  t.ok(before < lost.index, 'and has not written it yet');
  a.persisted(lost.index, lost.term);
  t.equal(a.persistedIndex, before, 'the old write’s (index, term) no longer names what the log holds');
});
