// Thesis §10.2.1 "Batching and pipelining": proposals made between two Ready
// batches go out together; appends are pipelined up to maxInflight per
// follower. And §5.3: the leader retries until every follower has the log,
// even when all the appends in its window were lost.

import t from 'tap';
import { MessageType, type Message } from '../../src/raft/index.js';
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
