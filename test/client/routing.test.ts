// Routing's choices, with a clock the test holds: the primary first (the node
// that answered last ahead), what failed behind, whole regions cooled when
// their last node fails, and regions brought back only by a probe.

import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { KeyraftError, type ServedBy } from '../../src/client/index.js';
import { learnedFromStatus, Routing, type RoutingOptions } from '../../src/client/routing.js';
import type { ClusterStatus } from '../../src/client/types.js';

const E = ['e:1', 'e:2', 'e:3'];
const W = ['w:1', 'w:2'];
const COOL = 1000;

function status(): ClusterStatus {
  const node = (address: string): Record<string, unknown> => ({
    id: `${address[0] === 'e' ? 'east' : 'west'}-${address.slice(2)}`,
    region: address[0] === 'e' ? 'east' : 'west',
    clientAddress: address,
  });
  return {
    nodes: [...E, ...W].map(node),
    regions: [
      { name: 'east', role: 'primary', mode: 'SERVING', leader: 'east-1' },
      { name: 'west', role: 'secondary', mode: 'STANDBY', leader: 'west-1' },
    ],
    answeredBy: 'west-1',
  } as unknown as ClusterStatus;
}

function routing(o: Partial<RoutingOptions> = {}): Routing {
  const r = new Routing({ given: ['w:1', 'x:9'], cooldownMs: COOL, regionAware: true, discoveryIntervalMs: 30_000, ...o });
  if (o.regionAware !== false) r.learn(status(), 0);
  return r;
}

function by(endpoint: string, mode: string): ServedBy {
  const region = endpoint[0] === 'e' ? 'east' : 'west';
  return { endpoint, node: '', region, mode, metadata: {} };
}

function err(code: grpc.status, reason: string, servedBy?: ServedBy): KeyraftError {
  return new KeyraftError(code, reason, 'x', servedBy);
}

const unreachable = err(grpc.status.UNAVAILABLE, 'UNAVAILABLE');

t.test('a GetStatus answer is usable only with one primary and a dialable node', async (t) => {
  t.ok(learnedFromStatus(status(), 1));
  const s = status();
  s.nodes[0]!.clientAddress = '';
  s.nodes[1]!.clientAddress = 'not an address';
  t.same(learnedFromStatus(s, 1)?.nodes.map((n) => n.address), ['e:3', ...W], 'nodes that cannot be dialled are left out');
  t.equal(learnedFromStatus({ ...status(), regions: [] }, 1), undefined, 'no primary');
  t.equal(learnedFromStatus({ ...status(), nodes: [] }, 1), undefined, 'no node');
});

t.test('the primary first, then the secondary, then given endpoints the cluster does not name', async (t) => {
  const r = routing();
  t.same(r.order(0), [...E, ...W, 'x:9']);
  r.succeeded('e:3', by('e:3', 'SERVING'));
  r.succeeded('w:2', by('w:2', 'STANDBY'));
  t.same(r.order(0), ['e:3', 'e:1', 'e:2', 'w:2', 'w:1', 'x:9'], 'in each region, the node that answered last first');
  t.equal(r.snapshot(0).primaryRegion, 'east');
});

t.test('a node that fails to answer cools down alone, and is back after its cool-down', async (t) => {
  const r = routing();
  r.failed('e:1', unreachable, 0);
  t.same(r.order(10), ['e:2', 'e:3', ...W, 'x:9', 'e:1']);
  t.same(r.regionsToProbe(10), []);
  t.same(r.order(COOL), [...E, ...W, 'x:9']);
});

t.test('NO_QUORUM cools the node that said it, not its region; the last of them cools the region, which comes back only when a probe finds it serving', async (t) => {
  const r = routing();
  const noQuorum = (a: string) => err(grpc.status.UNAVAILABLE, 'NO_QUORUM', by(a, 'NO_QUORUM'));
  r.failed('e:2', noQuorum('e:2'), 0);
  t.same(r.order(10), ['e:1', 'e:3', ...W, 'x:9', 'e:2'], 'a node alone on its side of a partition speaks for itself');
  r.failed('e:1', err(grpc.status.UNAVAILABLE, 'LEADER_UNREACHABLE', by('e:1', 'SERVING')), 0);
  t.same(r.regionsToProbe(2 * COOL), [], 'so does one that cannot reach its leader');
  r.failed('e:3', noQuorum('e:3'), 0);
  t.same(r.order(10), [...W, 'x:9', ...E], 'the last: the region cools');
  t.same(r.snapshot(10).coolingDown, E);
  t.same(r.regionsToProbe(10), []);
  t.same(r.order(COOL + 1), [...W, 'x:9', ...E], 'still behind after its cool-down');
  t.same(r.regionsToProbe(COOL + 1), ['east'], 'awaiting a probe');
  r.regionStillDown('east', COOL + 1);
  t.same(r.regionsToProbe(COOL + 2), []);
  r.regionBack('east', 'e:3');
  t.same(r.order(COOL + 2), ['e:3', 'e:1', 'e:2', ...W, 'x:9'], 'back, the node the probe found serving first');
});

t.test('the last node of a region to fail cools the region', async (t) => {
  const r = routing();
  r.failed('e:1', unreachable, 0);
  r.failed('e:2', unreachable, 0);
  t.same(r.regionsToProbe(2 * COOL), [], 'one node is left: no region cool-down');
  r.failed('e:3', unreachable, 0);
  t.same(r.regionsToProbe(2 * COOL), ['east']);
});

t.test('PRIMARY_UNREACHABLE marks nothing: the secondary that said it will serve once it fails over', async (t) => {
  const r = routing();
  r.discoveryStarted(0);
  const said = err(grpc.status.UNAVAILABLE, 'PRIMARY_UNREACHABLE', by('w:1', 'STANDBY'));
  r.failed('w:1', said, 0);
  t.same(r.snapshot(10).coolingDown, []);
  t.same(r.order(10), [...E, ...W, 'x:9'], 'whether the primary serves is for the client to find out');
  r.failed('w:2', said, 10);
  r.failed('w:1', said, 20);
  t.ok(r.discoveryDue(1000), 'but it is a failure: a run of them has the topology learned again');
});

t.test('READ_ONLY_FAILOVER marks nothing and counts as no failure', async (t) => {
  const r = routing();
  r.discoveryStarted(0);
  for (let i = 0; i < 5; i++) r.failed('w:1', err(grpc.status.FAILED_PRECONDITION, 'READ_ONLY_FAILOVER', by('w:1', 'FAILED_OVER')), 10);
  t.same(r.snapshot(20).coolingDown, []);
  t.notOk(r.discoveryDue(5000), 'no run of failures');
});

t.test('a success of a node without quorum (GetStatus) does not bring its region back', async (t) => {
  const r = routing();
  for (const a of E) r.failed(a, err(grpc.status.UNAVAILABLE, 'NO_QUORUM', by(a, 'NO_QUORUM')), 0);
  r.succeeded('e:1', by('e:1', 'NO_QUORUM'));
  t.same(r.snapshot(10).coolingDown, E);
  t.same(r.regionsToProbe(2 * COOL), ['east'], 'the region still awaits a probe');
  r.succeeded('e:1', by('e:1', 'SERVING'));
  t.same(r.snapshot(10).coolingDown, ['e:2', 'e:3'], 'the region is back; the nodes that said NO_QUORUM cool down on their own');
  t.same(r.regionsToProbe(2 * COOL), []);
});

t.test('a call walks the ready endpoints it tried least, even with no cool-down', async (t) => {
  const r = routing({ cooldownMs: 0 });
  const tries = new Map<string, number>();
  const seen: string[] = [];
  for (let i = 0; i < 7; i++) {
    const a = r.pick(tries, 0);
    seen.push(a);
    tries.set(a, (tries.get(a) ?? 0) + 1);
    r.failed(a, unreachable, 0);
  }
  t.same(seen, [...E, ...W, 'x:9', 'e:1']);
});

t.test('discovery: due at first, then every interval, and sooner after a run of failures', async (t) => {
  const r = new Routing({ given: E, cooldownMs: COOL, regionAware: true, discoveryIntervalMs: 30_000 });
  t.ok(r.discoveryDue(0));
  r.discoveryStarted(0);
  t.notOk(r.discoveryDue(1));
  t.ok(r.discoveryDue(30_000));
  for (let i = 0; i < 3; i++) r.failed('e:1', unreachable, 10);
  t.notOk(r.discoveryDue(500), 'at most one a second');
  t.ok(r.discoveryDue(1000));
  r.discoveryFailed(1000);
  t.ok(r.discoveryDue(6000), 'a failed discovery is tried again soon');
});

t.test('not region-aware: the given order, a cool-down per endpoint, no discovery', async (t) => {
  const r = routing({ regionAware: false, given: ['w:1', 'e:1', 'e:2'] });
  t.notOk(r.discoveryDue(0));
  t.same(r.order(0), ['w:1', 'e:1', 'e:2']);
  r.failed('e:1', err(grpc.status.UNAVAILABLE, 'NO_QUORUM', by('e:1', 'NO_QUORUM')), 0);
  t.same(r.order(10), ['w:1', 'e:2', 'e:1']);
  t.same(r.regionsToProbe(5 * COOL), []);
});
