// Connection limits and timeouts on every port (issue 19), on a real
// three-node cluster with short settings: connections that never complete
// TLS, that complete it and send nothing, and that speak HTTP/2 but answer
// no ping are all closed by the node, which is back to the open files it had
// before; a connection past the port's limit is closed when accepted while
// connections already open keep working; calls beyond a connection's stream
// limit wait for a free stream. Ordinary clients and peers keep working
// throughout.

import t from 'tap';
import { connect as http2Connect } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { KeyraftClient } from '../../src/client/index.js';
import { operatorTls } from '../../src/transport/tls.js';
import { TestCluster, eventually } from './cluster.js';
import { type IdleConnection, type IdleKind, openFiles, openIdle } from './raw-connections.js';
import { scrape, value } from './scrape.js';

t.setTimeout(300_000);

const LIMITS = {
  clientMaxConnections: 40,
  peerMaxConnections: 40,
  maxConcurrentStreams: 4,
  handshakeTimeoutMs: 2000,
  idleTimeoutMs: 3000,
  keepaliveTimeMs: 1000,
  keepaliveTimeoutMs: 1000,
};

const HEALTH = '/grpc.health.v1.Health/';
const identity = (b: Buffer) => b;

/** Health.Check on a raw client (no token needed): its status code. */
function check(client: grpc.Client, timeoutMs = 5000): Promise<grpc.status> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(`${HEALTH}Check`, identity, identity, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err) =>
      resolve(err?.code ?? grpc.status.OK),
    ),
  );
}

/** A Health.Watch stream, open once its first answer arrived; it stays open until cancelled. */
async function watch(client: grpc.Client): Promise<grpc.ClientReadableStream<Buffer>> {
  const call = client.makeServerStreamRequest(`${HEALTH}Watch`, identity, identity, Buffer.alloc(0), new grpc.Metadata(), {});
  call.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    call.once('data', () => resolve());
    call.once('status', (s: grpc.StatusObject) => reject(new Error(`the watch ended: ${s.details}`)));
  });
  return call;
}

t.test('idle and silent connections are closed by the timeouts, the limit refuses one more, streams wait for a free one', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }], connections: LIMITS });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const node = cluster.node('east-1');
  const pid = cluster.pid('east-1');
  const sdk = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 8000 });
  t.teardown(() => sdk.close());
  await eventually('the first vault', () => sdk.createVault({ name: 'conns' }), 60_000);
  const refusedCount = async (port: string, reason: string) => value((await scrape(node.metrics, cluster.ca)).body, 'keyraft_connections_refused_total', { port, reason }) ?? 0;
  const operator = operatorTls(cluster.pkiDir);
  const idle: IdleConnection[] = [];
  t.teardown(() => idle.forEach((c) => c.destroy()));
  const open = (address: string, kind: IdleKind, n: number, tls = { ca: cluster.ca }) => {
    const opened = Array.from({ length: n }, () => openIdle(address, kind, tls));
    idle.push(...opened);
    return opened;
  };

  await t.test('connections that do nothing are closed, and the open files return to their level', async (t) => {
    const timeoutsBefore = { client: await refusedCount('client', 'handshake_timeout'), peer: await refusedCount('peer', 'handshake_timeout') };
    const filesBefore = openFiles(pid);
    const peerTls = { ca: operator.ca, cert: operator.cert, key: operator.key };
    const held = [
      ...open(node.client, 'tcp', 20),
      ...open(node.client, 'tls', 3),
      ...open(node.client, 'h2', 2),
      ...open(node.peer, 'tcp', 5),
      ...open(node.peer, 'tls', 2, peerTls),
      ...open(node.peer, 'h2', 1, peerTls),
      ...open(node.metrics, 'tcp', 3),
      ...open(node.metrics, 'tls', 2),
    ];
    let peak = filesBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, openFiles(pid))), 20);
    const allClosed = Promise.all(held.map((c) => c.closed));
    const closedByNode = await Promise.race([allClosed.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 60_000))]);
    clearInterval(sampler);
    t.ok(closedByNode, `the node closed all ${held.length} connections`);
    // The same slack as below: the node's own connections come and go meanwhile.
    t.ok(peak >= filesBefore + held.length - 3, `the node held them (open files ${filesBefore} -> ${peak})`);
    t.ok((await refusedCount('client', 'handshake_timeout')) - timeoutsBefore.client >= 23, 'the client port closed the 23 that sent no HTTP/2 by its handshake timeout');
    t.ok((await refusedCount('peer', 'handshake_timeout')) - timeoutsBefore.peer >= 7, 'and the peer port its 7');
    t.ok((await refusedCount('metrics', 'handshake_timeout')) >= 3, 'and the metrics port the 3 that sent nothing');
    // A little slack: the node's own reconnections and LevelDB's files come and go.
    const settled = await eventually(`open files back to about ${filesBefore}`, async () => {
      const n = openFiles(pid);
      return n <= filesBefore + 3 ? n : undefined;
    });
    t.pass(`open files ${filesBefore} -> ${peak} -> ${settled}`);
    await sdk.setSecret({ vault: 'conns', name: 'after-idle', value: 'x' });
    t.pass('a write through the cluster (Raft between the peers) still succeeds');
  });

  await t.test('a connection past the limit is closed when accepted; open connections keep working', async (t) => {
    const existing = new grpc.Client(node.client, cluster.clientCredentials());
    t.teardown(() => existing.close());
    const stream = await watch(existing);
    t.teardown(() => stream.cancel());
    const limitBefore = await refusedCount('client', 'limit');
    // With the SDK's, the other nodes' and this one, these are more than the port takes.
    const flood = open(node.client, 'tcp', LIMITS.clientMaxConnections);
    await Promise.race(flood.map((c) => c.closed));
    t.equal(await check(existing), grpc.status.OK, 'while the port is full, a call on a connection already open succeeds');
    t.ok((await refusedCount('client', 'limit')) > limitBefore, 'the connections past the limit were closed for it');
    await Promise.all(flood.map((c) => c.closed));
    const fresh = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: [node.client], timeoutMs: 8000, regionAware: false });
    t.teardown(() => fresh.close());
    t.equal((await fresh.getVault({ name: 'conns' })).name, 'conns', 'once the flood is closed, a new client connects');
  });

  await t.test('calls beyond the streams of one connection wait for a free stream', async (t) => {
    const busy = new grpc.Client(node.client, cluster.clientCredentials());
    t.teardown(() => busy.close());
    const streams: grpc.ClientReadableStream<Buffer>[] = [];
    for (let i = 0; i < LIMITS.maxConcurrentStreams; i++) streams.push(await watch(busy));
    t.teardown(() => streams.forEach((s) => s.cancel()));
    t.equal(await check(busy, 1500), grpc.status.DEADLINE_EXCEEDED, `a call beyond ${LIMITS.maxConcurrentStreams} streams is held back until its deadline`);
    const other = new grpc.Client(node.client, cluster.clientCredentials());
    t.teardown(() => other.close());
    t.equal(await check(other), grpc.status.OK, 'the same call on another connection succeeds');
    streams.pop()!.cancel();
    t.equal(await check(busy), grpc.status.OK, 'once a stream is free, the call goes through on the first connection');
  });

  await t.test('the node answers pings at any rate: no GOAWAY too_many_pings', async (t) => {
    const session = http2Connect(`https://${node.client}`, { ca: cluster.ca, checkServerIdentity: () => undefined });
    t.teardown(() => session.destroy());
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    session.on('error', () => undefined);
    await new Promise((resolve) => session.once('connect', resolve));
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
    t.notOk(goaway, '20 pings back to back, each answered, and no GOAWAY');
    t.notOk(session.closed, 'the connection is still open');
  });
});
