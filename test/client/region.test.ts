// The SDK through a failover and a failback, against two regions of fake
// nodes: it learns the cluster from one node, prefers the primary, moves to
// the secondary when the primary goes away or loses quorum, reports a write
// refused during failover at once, and returns to the primary once it is back.

import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { KeyraftClient, KeyraftError } from '../../src/client/index.js';
import { deadAddress } from './fake-server.js';
import { clientOf, EAST, fakeCluster, until, WEST } from './fake-cluster.js';

const read = { vault: 'v1', name: 'db' };
const write = { vault: 'v1', name: 'db', value: 'x' };

async function failure(p: Promise<unknown>): Promise<KeyraftError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof KeyraftError)) throw new Error(`expected a KeyraftError, got ${String(e)}`);
  return e;
}

t.test('given one secondary node, the client learns the cluster and sends calls to the primary', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t);
  const client = clientOf(t, [c.address('west-1')]);
  t.equal(client.topology().source, 'given', 'nothing learned before the first call');
  await client.getSecret(read);
  t.equal(client.lastServedBy?.region, 'east');
  t.equal(client.lastServedBy?.node, 'east-1');
  await client.setSecret(write);
  t.equal(client.lastServedBy?.region, 'east');
  const topo = client.topology();
  t.equal(topo.source, 'discovered');
  t.equal(topo.primaryRegion, 'east');
  t.equal(topo.answeredBy, 'west-1');
  t.same(topo.given, [c.address('west-1')]);
  t.same(
    topo.nodes.map((n) => [n.id, n.region, n.address]),
    [...EAST, ...WEST].map((n) => [n, n.split('-')[0], c.address(n)]),
  );
  t.same(topo.order, [...EAST, ...WEST].map((n) => c.address(n)), 'primary first, then the secondary');
  t.same(topo.coolingDown, []);
  t.equal(c.count('west-1', 'GetStatus'), 1, 'learned once');
  t.equal(c.total(WEST, 'GetSecret') + c.total(WEST, 'SetSecret'), 0, 'no call went through the secondary');
});

t.test('a primary node that goes away is passed over, and the one that answered last stays first', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t);
  const client = clientOf(t, [c.address('east-1'), c.address('west-1')]);
  await client.getSecret(read);
  await c.stop(['east-1']);
  await client.getSecret(read);
  t.equal(client.lastServedBy?.node, 'east-2');
  await new Promise((r) => setTimeout(r, 400));
  const order = client.topology().order;
  t.equal(order[0], c.address('east-2'), 'the last node that answered is tried first');
  t.same(order.slice(3), WEST.map((n) => c.address(n)), 'the secondary stays last');
  await client.getSecret(read);
  t.equal(client.lastServedBy?.node, 'east-2');
  t.equal(c.count('east-1', 'GetSecret'), 1, 'east-1 was tried once, when it went away');
});

t.test('when the primary region goes away, reads land on the secondary and succeed', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t);
  const client = clientOf(t, [c.address('west-2')]);
  await client.getSecret(read);
  t.equal(client.lastServedBy?.region, 'east');
  await c.stop(EAST);
  c.state.westMode = 'FAILED_OVER';
  const started = Date.now();
  const s = await client.getSecret(read);
  t.equal(s.value, 's3cr3t');
  t.equal(client.lastServedBy?.region, 'west');
  t.equal(client.lastServedBy?.mode, 'FAILED_OVER');
  t.ok(Date.now() - started < 2000, `moved over in ${Date.now() - started} ms`);
  const before = c.total(WEST, 'GetSecret');
  for (let i = 0; i < 5; i++) await client.getSecret(read);
  t.equal(c.total(WEST, 'GetSecret') - before, 5, 'each later read took one attempt');
  t.same(client.topology().coolingDown.sort(), EAST.map((n) => c.address(n)).sort(), 'the primary cools down, the secondary does not');
});

t.test('a write refused with READ_ONLY_FAILOVER surfaces at once, and does not mark the node bad', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t);
  const client = clientOf(t, [c.address('west-1')], { retries: 8 });
  await client.getSecret(read);
  await c.stop(EAST);
  c.state.westMode = 'FAILED_OVER';
  await client.getSecret(read);
  const first = client.lastServedBy!.endpoint;
  for (let i = 0; i < 5; i++) {
    // Spread over a cool-down, so that some writes probe the primary first.
    if (i === 2) await new Promise((r) => setTimeout(r, 350));
    const started = Date.now();
    const err = await failure(client.setSecret(write));
    t.equal(err.code, grpc.status.FAILED_PRECONDITION);
    t.equal(err.reason, 'READ_ONLY_FAILOVER');
    t.equal(err.servedBy?.mode, 'FAILED_OVER');
    t.ok(err.attempts <= 2, `write ${i}: ${err.attempts} attempts (at most a probe of the primary, then the refusal)`);
    t.ok(Date.now() - started < 1000, `write ${i}: refused in ${Date.now() - started} ms`);
  }
  t.equal(c.total(WEST, 'SetSecret'), 5, 'one refusal per write: none was retried');
  t.notOk(client.topology().coolingDown.some((a) => WEST.map((n) => c.address(n)).includes(a)), 'no secondary node cools down');
  await client.getSecret(read);
  t.equal(client.lastServedBy?.endpoint, first, 'reads stay on the node that refused the writes');
});

t.test('after failback calls return to the primary, which restarted on the same ports', { timeout: 20_000 }, async (t) => {
  const c = await fakeCluster(t);
  const client = clientOf(t, [c.address('west-1'), c.address('west-2')]);
  await client.getSecret(read);
  const eastAddresses = EAST.map((n) => c.address(n));
  await c.stop(EAST);
  c.state.westMode = 'FAILED_OVER';
  await client.getSecret(read);
  t.equal(client.lastServedBy?.region, 'west');
  await c.start(EAST);
  t.same(EAST.map((n) => c.address(n)), eastAddresses, 'the same ports');
  c.state.westMode = 'STANDBY';
  // The primary's cool-down, then grpc-js's reconnection backoff (2 s at most), bound how long this takes.
  const back = await until(
    8000,
    async () => {
      await client.getSecret(read);
      return client.lastServedBy!.region;
    },
    (region) => region === 'east',
  );
  t.ok(back.ok, `reads back on the primary after ${back.tookMs} ms`);
  await client.setSecret(write);
  t.equal(client.lastServedBy?.region, 'east', 'and writes');
  t.equal(client.topology().order[0], client.lastServedBy?.endpoint);
});

t.test('a primary node cut off from its region does not keep calls from the rest of it', { timeout: 15_000 }, async (t) => {
  // east-1 is alone on its side of a partition: it knows no leader and says
  // NO_QUORUM, while east-2 and east-3 hold the quorum. That answer cools
  // east-1 alone: the call goes on to the others.
  const c = await fakeCluster(t, { westForwards: false });
  c.state.isolated.add('east-1');
  const client = clientOf(t, EAST.map((n) => c.address(n)));
  await client.getSecret(read);
  t.equal(c.count('east-1', 'GetSecret'), 1, 'east-1 said NO_QUORUM');
  t.match(client.lastServedBy?.node, /^east-[23]$/, 'and the same call was served by the majority');
  for (let i = 0; i < 3; i++) await client.getSecret(read);
  t.equal(c.count('east-1', 'GetSecret'), 1, 'east-1 cools down meanwhile');
});

t.test('a primary without quorum cools down as a whole once each of its nodes has said so, until a probe finds it has quorum again', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t);
  const client = clientOf(t, EAST.map((n) => c.address(n)));
  await client.getSecret(read);
  const before = c.total(EAST, 'GetSecret');
  c.state.eastQuorum = false;
  c.state.westMode = 'FAILED_OVER';
  await client.getSecret(read);
  t.equal(client.lastServedBy?.region, 'west', 'the secondary, learned from GetStatus though never given');
  await client.getSecret(read);
  t.equal(c.total(EAST, 'GetSecret') - before, 3, 'one NO_QUORUM answer from each primary node (each speaks only for itself), then none');
  // Past the cool-down a probe asks east for its status, not a call: calls stay on west while east has no quorum.
  await new Promise((r) => setTimeout(r, 400));
  for (let i = 0; i < 3; i++) await client.getSecret(read);
  t.equal(client.lastServedBy?.region, 'west');
  t.equal(c.total(EAST, 'GetSecret') - before, 3, 'no call went to east');
  t.ok(c.total(EAST, 'GetStatus') >= 1, 'east was probed');
  c.state.eastQuorum = true;
  c.state.westMode = 'STANDBY';
  const back = await until(
    3000,
    async () => {
      await client.getSecret(read);
      return client.lastServedBy!.region;
    },
    (region) => region === 'east',
  );
  t.ok(back.ok, `back on east ${back.tookMs} ms after it regained quorum`);
});

t.test('a STANDBY secondary that cannot reach the primary is retried, within bounds, until it fails over', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t);
  // Retries are many (the 3 s deadline bounds the call) so that the failover surely comes first.
  const client = clientOf(t, [c.address('west-1')], { retries: 60 });
  await client.getSecret(read);
  await c.stop(EAST);
  // West fails over once it has answered PRIMARY_UNREACHABLE, however long
  // that takes on a loaded machine: then the call must have retried.
  const answered = c.total(WEST, 'GetSecret');
  const failover = setInterval(() => {
    if (c.total(WEST, 'GetSecret') === answered) return;
    c.state.westMode = 'FAILED_OVER';
    clearInterval(failover);
  }, 5);
  t.teardown(() => clearInterval(failover));
  await client.getSecret(read);
  t.equal(client.lastServedBy?.mode, 'FAILED_OVER');
  t.ok(c.total(WEST, 'GetSecret') >= 2, 'PRIMARY_UNREACHABLE was retried');

  c.state.westMode = 'STANDBY';
  const bounded = clientOf(t, [c.address('west-1')], { retries: 4 });
  const started = Date.now();
  const err = await failure(bounded.getSecret(read));
  t.equal(err.code, grpc.status.UNAVAILABLE);
  t.ok(err.attempts <= 5, `${err.attempts} attempts`);
  t.ok(Date.now() - started < 3500, `gave up in ${Date.now() - started} ms`);
});

t.test('when GetStatus fails the given endpoints are used as they are', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t, { statusBroken: true });
  const client = clientOf(t, [c.address('west-1')]);
  await client.getSecret(read);
  t.equal(client.lastServedBy?.node, 'west-1', 'a STANDBY secondary forwards: the client works all the same');
  const topo = client.topology();
  t.equal(topo.source, 'given');
  t.same(topo.nodes, []);
  t.same(topo.order, [c.address('west-1')]);
  t.equal(topo.primaryRegion, '', 'a STANDBY node says it is not the primary, not which one is');
});

t.test('when nothing answers, a call ends by its bounds', { timeout: 15_000 }, async (t) => {
  const client = clientOf(t, [await deadAddress(), await deadAddress()], { retries: 3, timeoutMs: 2000 });
  const started = Date.now();
  const err = await failure(client.getSecret(read));
  t.equal(err.code, grpc.status.UNAVAILABLE);
  t.ok(err.attempts <= 4, `${err.attempts} attempts`);
  t.ok(Date.now() - started < 2500, `gave up in ${Date.now() - started} ms`);
  t.equal(client.topology().source, 'given');
});

t.test('regionAware: false tries the given endpoints in order and never asks for the topology', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t);
  const client = clientOf(t, [c.address('west-1'), c.address('east-1')], { regionAware: false });
  await client.getSecret(read);
  t.equal(client.lastServedBy?.node, 'west-1');
  t.equal(c.total([...EAST, ...WEST], 'GetStatus'), 0);
  t.equal(client.topology().source, 'given');
});

t.test('the topology is learned again every discoveryIntervalMs', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t, { hidden: new Set(['east-2', 'east-3']) });
  const client = clientOf(t, [c.address('west-1')], { discoveryIntervalMs: 200 });
  await client.getSecret(read);
  t.same(client.topology().nodes.map((n) => n.id), ['east-1', 'west-1', 'west-2']);
  c.state.hidden.clear();
  const learned = await until(
    5000,
    async () => {
      await client.getSecret(read);
      return client.topology().nodes.length;
    },
    (n) => n === 5,
  );
  t.ok(learned.ok, `the new nodes learned after ${learned.tookMs} ms`);
});

t.test('the topology is learned again after a run of failures', { timeout: 15_000 }, async (t) => {
  const c = await fakeCluster(t, { hidden: new Set(['east-2', 'east-3']) });
  const client = clientOf(t, [c.address('west-1')], { discoveryIntervalMs: 600_000, retries: 100 });
  await client.getSecret(read);
  // east-1 goes; the others, now in the topology, serve, but west cannot reach them.
  await c.stop(['east-1']);
  c.state.hidden.clear();
  c.state.westForwards = false;
  // Discoveries are at least a second apart, however many failures.
  await new Promise((r) => setTimeout(r, 1100));
  await client.getSecret(read);
  t.match(client.lastServedBy?.node, /^east-[23]$/, 'served by a node the client learned of meanwhile');
  t.equal(c.count('west-1', 'GetStatus'), 2, 'learned again once');
});

t.test('options are checked', async (t) => {
  t.throws(() => new KeyraftClient({ endpoints: ['127.0.0.1:1'], discoveryIntervalMs: 0 }), { name: 'KeyraftError', reason: 'INVALID_OPTION' });
  const client = new KeyraftClient({ endpoints: ['127.0.0.1:1'] });
  t.same(client.topology().order, ['127.0.0.1:1']);
  client.close();
});
