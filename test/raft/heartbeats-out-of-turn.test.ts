// A host busy with a large Ready takes the heartbeats made meanwhile and sends
// them at once (RawNode.takeHeartbeats): a leader's heartbeat needs nothing
// persisted, and held back it would wait for the whole Ready.

import t from 'tap';
import { MessageType } from '../../src/raft/index.js';
import { bytes, electedNetwork } from './harness.js';

t.test('heartbeats made while a Ready is outstanding can be taken alone; the rest waits for the next Ready', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  const a = net.node('a');
  a.propose(bytes('x'));
  const rd = a.ready();
  t.ok(
    rd.messages.some((m) => m.type === MessageType.App),
    'the outstanding Ready carries the appends',
  );
  a.tick(); // heartbeatTick is 1: a heartbeat to each follower
  a.propose(bytes('y'));
  const beats = a.takeHeartbeats();
  t.same(
    beats.map((m) => [m.type, m.to]).sort(),
    [
      [MessageType.Heartbeat, 'b'],
      [MessageType.Heartbeat, 'c'],
    ],
  );
  t.same(a.takeHeartbeats(), [], 'taken once');
  net.handle('a', rd);
  const next = a.ready();
  t.notOk(
    next.messages.some((m) => m.type === MessageType.Heartbeat),
    'the next Ready does not send them again',
  );
  t.ok(
    next.entries.some((e) => new TextDecoder().decode(e.data) === 'y'),
    'and still carries what else happened meanwhile',
  );
  net.handle('a', next);
  for (const m of beats) net.queue.push(m);
  net.stabilize();
  for (const id of net.ids) t.same(net.peer(id).applied, ['x', 'y'], `${id} applied both`);
});
