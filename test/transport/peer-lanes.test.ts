// Raft traffic between two real transports over TLS: appends travel on a
// connection of their own, so a heartbeat sent after a large append reaches the
// follower before the append has finished crossing (etcd's rafthttp keeps
// MsgApp apart for the same reason). On one shared connection the heartbeat would
// wait behind every byte of the append, longer than an election timeout on a
// loaded machine for an entry of the size of the largest backup.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { ensurePki } from '../../src/ops/pki.js';
import { EntryType, type Message, MessageType, message } from '../../src/raft/index.js';
import { DEFAULT_CONNECTION_LIMITS, GrpcPort, grpcServerOptions } from '../../src/transport/connections.js';
import type { PeerAccessOptions } from '../../src/transport/peer-access.js';
import { channelCredentials, nodeTls } from '../../src/transport/tls.js';
import { PEER_CHANNEL_OPTIONS, PeerTransport, type SnapshotSource, type TransportHost } from '../../src/transport/transport.js';
import { freePort } from '../integration/cluster.js';
import { eventually } from '../wait.js';

t.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), 'keyraft-lanes-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
await ensurePki(dir, [
  { id: 'n1', hosts: ['127.0.0.1'] },
  { id: 'n2', hosts: ['127.0.0.1'] },
]);
const logger = pino({ level: 'silent' });
// Only snapshots read the store, and none is sent here.
const noSnapshots: SnapshotSource = { openStateSnapshot: () => Promise.reject(new Error('no snapshots in this test')) };
const access: PeerAccessOptions = { regionOf: () => 'r', selfRegion: 'r', secondaryRegions: new Set(), logger };

/** n2's peer port, stepping what arrives into a host that records it. */
async function follower(t: Test, stepped: Message[], removal: (id: string) => number | undefined = () => undefined) {
  const tls = nodeTls(dir, 'n2');
  const transport = new PeerTransport({ id: 'n2', peers: new Map([['n1', 'unused']]), snapshots: noSnapshots, logger, faultInjection: false, tls, credentials: () => channelCredentials(tls), access, removal });
  const host: TransportHost = {
    step: (m) => stepped.push(m),
    reportUnreachable: () => undefined,
    reportSnapshot: () => undefined,
    receiveSnapshot: () => Promise.resolve(false),
  };
  transport.attach(host);
  const server = new grpc.Server({ ...PEER_CHANNEL_OPTIONS, ...grpcServerOptions(DEFAULT_CONNECTION_LIMITS) });
  transport.register(server);
  const address = `127.0.0.1:${await freePort()}`;
  const port = await GrpcPort.open(server, { port: 'peer', address, tls, limits: DEFAULT_CONNECTION_LIMITS, logger, protocols: new Map([transport.framesProtocol]) });
  t.teardown(() => {
    transport.close();
    port.close();
    server.forceShutdown();
  });
  return address;
}

t.test('a heartbeat sent after a 12 MiB append arrives before it', async (t) => {
  const stepped: Message[] = [];
  const address = await follower(t, stepped);
  const tls = nodeTls(dir, 'n1');
  const leader = new PeerTransport({ id: 'n1', peers: new Map([['n2', address]]), snapshots: noSnapshots, logger, faultInjection: false, tls, credentials: (id) => channelCredentials(tls, id), access, removal: () => undefined });
  t.teardown(() => leader.close());

  // The connections open before anything is timed, as they are on a running node.
  leader.send([message({ type: MessageType.Heartbeat, from: 'n1', to: 'n2', term: 1 })]);
  await eventually('the first heartbeat', async () => (stepped.length === 1 ? true : undefined), 30_000, 5);

  const entry = { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(12 * 1024 * 1024).fill(7) };
  leader.send([message({ type: MessageType.App, from: 'n1', to: 'n2', term: 1, entries: [entry] })]);
  leader.send([message({ type: MessageType.Heartbeat, from: 'n1', to: 'n2', term: 1, commit: 1 })]);
  await eventually('the append and the second heartbeat', async () => (stepped.length === 3 ? true : undefined), 30_000, 5);
  t.same(
    stepped.slice(1).map((m) => m.type),
    [MessageType.Heartbeat, MessageType.App],
    'the second heartbeat overtook the append',
  );
  t.equal(stepped.find((m) => m.type === MessageType.App)?.entries[0]?.data.length, entry.data.length, 'and the append arrived whole');
});

t.test('a closed transport opens no connection again: a stopping node must not be kept alive by its last sends', async (t) => {
  const stepped: Message[] = [];
  const address = await follower(t, stepped);
  const tls = nodeTls(dir, 'n1');
  const leader = new PeerTransport({ id: 'n1', peers: new Map([['n2', address]]), snapshots: noSnapshots, logger, faultInjection: false, tls, credentials: (id) => channelCredentials(tls, id), access, removal: () => undefined });
  leader.send([message({ type: MessageType.Heartbeat, from: 'n1', to: 'n2', term: 1 })]);
  await eventually('the heartbeat', async () => (stepped.length === 1 ? true : undefined), 30_000, 5);
  leader.close();
  leader.send([message({ type: MessageType.Heartbeat, from: 'n1', to: 'n2', term: 1, commit: 1 })]);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(stepped.length, 1, 'nothing sent after close arrives');
});

t.test('a removed node is told so, with the index the refusing peer has applied, on an old connection and on a new one', async (t) => {
  const stepped: Message[] = [];
  let removedAt: number | undefined;
  const address = await follower(t, stepped, (id) => (id === 'n1' ? removedAt : undefined));
  const tls = nodeTls(dir, 'n1');
  const removed = new PeerTransport({ id: 'n1', peers: new Map([['n2', address]]), snapshots: noSnapshots, logger, faultInjection: false, tls, credentials: (id) => channelCredentials(tls, id), access, removal: () => undefined });
  t.teardown(() => removed.close());
  const told: [string, number][] = [];
  removed.events.on('removed', (by: string, appliedIndex: number) => told.push([by, appliedIndex]));

  const heartbeat = () => removed.send([message({ type: MessageType.Heartbeat, from: 'n1', to: 'n2', term: 1 })]);
  heartbeat();
  await eventually('the heartbeat of a member', async () => (stepped.length === 1 ? true : undefined), 30_000, 5);
  t.same(told, [], 'a member is not told it was removed');

  removedAt = 42;
  heartbeat();
  await eventually('the refusal on the connection opened before the removal', async () => (told.length === 1 ? true : undefined), 30_000, 5);
  // The refused connection closed; the next send, after the backoff, opens another.
  await eventually('the refusal of a new connection', async () => (heartbeat(), told.length === 2 ? true : undefined), 30_000, 50);
  t.same(told, [['n2', 42], ['n2', 42]], 'both times by n2, which has applied up to index 42');
  t.equal(stepped.length, 1, "and none of the removed node's messages was stepped");
});
