// Admission control's bookkeeping (src/server/admission.ts): calls start up to
// the node's and the connection's limits, wait in arrival order up to the
// queues' bounds, and are refused beyond them; an ending call (running or
// waiting, however it ends, and only once) makes room for the next; the
// refusals of a burst are told to come back one turn apart.

import t from 'tap';
import { Admission, MAX_RETRY_AFTER_MS, type Refusal, type Ticket } from '../../src/server/admission.js';

const LIMITS = { nodeCalls: 3, nodeQueue: 3, connectionCalls: 2, connectionQueue: 2, retryAfterMs: 100 };

/** Admits a call and records when it starts. */
function caller(a: Admission, started: string[]) {
  return (conn: string, id: string): Ticket | Refusal => a.admit(conn, () => started.push(id));
}

const ticket = (x: Ticket | Refusal): Ticket => {
  if ('limit' in x) throw new Error(`refused by the ${x.limit} limit`);
  return x;
};

t.test('a connection runs up to its limit, then waits, then is refused', async (t) => {
  const a = new Admission(LIMITS);
  const started: string[] = [];
  const admit = caller(a, started);
  const c1 = ticket(admit('A', 'a1'));
  ticket(admit('A', 'a2'));
  ticket(admit('A', 'a3'));
  ticket(admit('A', 'a4'));
  t.same(started, ['a1', 'a2'], 'two run, two wait');
  t.match(admit('A', 'a5'), { limit: 'connection', retryAfterMs: 100 }, 'its queue is full: refused, naming the limit');
  t.same(a.load, { running: 2, waiting: 2, connections: 1 });
  c1.release();
  t.same(started, ['a1', 'a2', 'a3'], 'the first waiting call starts when one ends');
  c1.release();
  t.same(started, ['a1', 'a2', 'a3'], 'a second release of the same call changes nothing');
  t.same(a.load, { running: 2, waiting: 1, connections: 1 });
});

t.test('a relay connection (another node forwarding its clients) is bounded by the node limits alone', async (t) => {
  const a = new Admission(LIMITS);
  const started: string[] = [];
  for (const id of ['r1', 'r2', 'r3', 'r4', 'r5', 'r6']) ticket(a.admit('node', () => started.push(id), true));
  t.same(started, ['r1', 'r2', 'r3'], 'it runs the node\'s three calls, past a client connection\'s two');
  t.same(a.load, { running: 3, waiting: 3, connections: 1 });
  t.match(a.admit('node', () => started.push('r7'), true), { limit: 'node' }, 'and is refused by the node\'s queue, not a connection\'s');
  t.match(a.admit('client', () => started.push('c1')), { limit: 'node' }, 'a client behind it is bounded by the same node limits');
});

t.test('the node limit binds across connections; waiting calls start in arrival order, each when its connection has room', async (t) => {
  const a = new Admission(LIMITS);
  const started: string[] = [];
  const admit = caller(a, started);
  const a1 = ticket(admit('A', 'a1'));
  const a2 = ticket(admit('A', 'a2'));
  const b1 = ticket(admit('B', 'b1'));
  t.same(started, ['a1', 'a2', 'b1']);
  ticket(admit('A', 'a3'));
  ticket(admit('B', 'b2'));
  ticket(admit('C', 'c1'));
  t.match(admit('D', 'd1'), { limit: 'node' }, 'the node queue is full: a new connection is refused too');
  b1.release();
  t.same(started.slice(3), ['b2'], 'a3 cannot start (A has two running): b2 goes before c1 only because it came first');
  a1.release();
  t.same(started.slice(3), ['b2', 'a3']);
  a2.release();
  t.same(started.slice(3), ['b2', 'a3', 'c1']);
  t.same(a.load, { running: 3, waiting: 0, connections: 3 });
});

t.test('a call that ends while waiting only leaves the queue; idle connections are forgotten', async (t) => {
  const a = new Admission(LIMITS);
  const started: string[] = [];
  const admit = caller(a, started);
  const a1 = ticket(admit('A', 'a1'));
  const a2 = ticket(admit('A', 'a2'));
  const a3 = ticket(admit('A', 'a3'));
  ticket(admit('A', 'a4'));
  a3.release();
  t.same(a.load, { running: 2, waiting: 1, connections: 1 });
  a1.release();
  t.same(started, ['a1', 'a2', 'a4'], 'the cancelled call never starts');
  a2.release();
  t.same(a.load, { running: 1, waiting: 0, connections: 1 });
  a.admit('B', () => undefined);
  t.equal(a.load.connections, 2);
  for (const x of [a2, a1, a3]) x.release();
  t.equal(a.load.running, 2, 'releases of ended calls do not free slots twice');
});

t.test('a call that ends inside its own start leaves the queue consistent', async (t) => {
  const a = new Admission({ nodeCalls: 1, nodeQueue: 5, connectionCalls: 1, connectionQueue: 5, retryAfterMs: 100 });
  const order: string[] = [];
  const first = ticket(a.admit('A', () => order.push('first')));
  const tickets: Ticket[] = [];
  for (const id of ['x', 'y', 'z']) {
    const i = tickets.length;
    tickets.push(ticket(a.admit('A', () => {
      order.push(id);
      // x and y end at once (a refusal further down the chain, say).
      if (id !== 'z') tickets[i]!.release();
    })));
  }
  first.release();
  t.same(order, ['first', 'x', 'y', 'z'], 'each waiting call started once, in order');
  t.same(a.load, { running: 1, waiting: 0, connections: 1 });
});

t.test('the refusals of a burst book turns one slot-time apart, from retryAfterMs on, and never beyond the maximum', async (t) => {
  const clock = { now: 0 };
  const a = new Admission({ nodeCalls: 2, nodeQueue: 2, connectionCalls: 2, connectionQueue: 1, retryAfterMs: 100 }, () => clock.now);
  const wait = (conn: string) => (a.admit(conn, () => undefined) as Refusal).retryAfterMs;
  // Calls that ran 40 ms each: with 2 slots, one frees every 20 ms.
  const first = ticket(a.admit('A', () => undefined));
  clock.now = 40;
  first.release();
  ticket(a.admit('A', () => undefined));
  ticket(a.admit('A', () => undefined));
  ticket(a.admit('A', () => undefined));
  t.same([wait('A'), wait('A'), wait('A')], [100, 120, 140], "the connection's refusals, a turn apart");
  ticket(a.admit('B', () => undefined));
  t.same([wait('C'), wait('D')], [100, 120], "the node's refusals book the node's turns");
  clock.now = 1000;
  t.equal(wait('A'), 100, 'once the booked turns are past, back to retryAfterMs');
  const b = new Admission({ nodeCalls: 1, nodeQueue: 1, connectionCalls: 1, connectionQueue: 1, retryAfterMs: 100 }, () => clock.now);
  const slow = ticket(b.admit('A', () => undefined));
  clock.now += 60_000;
  slow.release();
  ticket(b.admit('A', () => undefined));
  ticket(b.admit('A', () => undefined));
  const waits = Array.from({ length: 3 }, () => (b.admit('A', () => undefined) as Refusal).retryAfterMs);
  t.same(waits, [100, MAX_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS], 'calls that run a minute: no wait is longer than the maximum');
});
