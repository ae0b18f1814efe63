// The peer port trusts only cluster members, each for what it is (issue 17):
// the attacks that once worked are replayed with the credentials an attacker
// could have — none, a certificate of another CA, the operator's where a
// node's is needed, a member's certificate while claiming to be another
// member — and each is refused, no node crashes and nothing changes.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KeyraftClient } from '../../src/client/index.js';
import { ensurePki } from '../../src/ops/pki.js';
import { EntryType, MessageType, message } from '../../src/raft/index.js';
import { encodeBatch } from '../../src/wire/raft-codec.js';
import { channelCredentials, nodeTls, operatorTls } from '../../src/transport/tls.js';
import { encodeCommand } from '../../src/vault/commands.js';
import { TestCluster, eventually } from './cluster.js';
import { sendFrames } from './raft-frames-client.js';

t.setTimeout(360_000);

interface Outcome {
  code: grpc.status;
  details: string;
}

function unary(address: string, credentials: grpc.ChannelCredentials, path: string, request: Buffer): Promise<Outcome> {
  const client = new grpc.Client(address, credentials);
  return new Promise((resolve) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err) => {
      client.close();
      resolve({ code: err?.code ?? grpc.status.OK, details: err?.details ?? '' });
    }),
  );
}

/** A server-streaming call (Geo.Follow): its status once the stream ends. */
function follow(address: string, credentials: grpc.ChannelCredentials, follower: string): Promise<Outcome> {
  const client = new grpc.Client(address, credentials);
  // FollowRequest { from_index = 1, follower = 2 }
  const request = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, follower.length]), Buffer.from(follower)]);
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest('/keyraft.peer.v1.Geo/Follow', (b: Buffer) => b, (b: Buffer) => b, request, new grpc.Metadata(), {
      deadline: Date.now() + 2000,
    });
    let received = 0;
    call.on('data', () => received++);
    call.on('status', (s: grpc.StatusObject) => {
      client.close();
      resolve({ code: received > 0 && s.code === grpc.status.DEADLINE_EXCEEDED ? grpc.status.OK : s.code, details: `${s.details} (${received} events)` });
    });
    call.on('error', () => undefined);
  });
}

t.test('the peer port refuses strangers, impostors and members out of their role', async (t) => {
  const cluster = await TestCluster.create({
    regions: [
      { name: 'east', nodes: 3 },
      { name: 'west', nodes: 1 },
    ],
  });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const strangerDir = mkdtempSync(join(tmpdir(), 'keyraft-stranger-'));
  t.teardown(() => rmSync(strangerDir, { recursive: true, force: true }));
  // Another CA, with certificates that name the cluster's own nodes and operator.
  await ensurePki(strangerDir, [{ id: 'east-2', hosts: [] }]);

  const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints('east'), timeoutMs: 8000 });
  t.teardown(() => client.close());
  await eventually('the cluster to take writes', () => client.createVault({ name: 'real' }).then(() => true));
  const east1 = cluster.node('east-1').peer;
  const as = {
    nobody: grpc.credentials.createSsl(cluster.ca),
    stranger: channelCredentials(nodeTls(strangerDir, 'east-2')),
    strangerOperator: channelCredentials(operatorTls(strangerDir)),
    operator: cluster.operator(),
    east2: channelCredentials(nodeTls(cluster.pkiDir, 'east-2')),
    west1: channelCredentials(nodeTls(cluster.pkiDir, 'west-1')),
  };
  const status = Buffer.alloc(0);

  for (const [who, creds] of [
    ['no client certificate', as.nobody],
    ['a certificate of another CA', as.stranger],
    ["another CA's operator", as.strangerOperator],
  ] as const) {
    const r = await unary(east1, creds, '/keyraft.peer.v1.Admin/NodeStatus', status);
    t.equal(r.code, grpc.status.UNAVAILABLE, `${who}: no TLS session, no call (${r.details})`);
  }
  t.equal((await unary(east1, as.operator, '/keyraft.peer.v1.Admin/NodeStatus', status)).code, grpc.status.OK, 'the operator reads a node status');
  t.equal((await unary(east1, as.east2, '/keyraft.peer.v1.Admin/NodeStatus', status)).code, grpc.status.OK, 'so does a member');

  // The forged AppendEntries of the finding: an entry that creates a vault,
  // claimed to come from the leader by a member that is not the leader, at a
  // term high enough to be believed.
  const leader = (await client.getStatus({})).regions.find((r) => r.name === 'east')!.leader;
  const impostor = ['east-2', 'east-3'].find((id) => id !== leader) ?? 'east-2';
  const target = ['east-1', 'east-2', 'east-3'].find((id) => id !== leader && id !== impostor)!;
  const entry = { term: 1000, index: 1, type: EntryType.Normal, data: encodeCommand({ requestId: '', timeMs: Date.now(), op: 'createVault', createVault: { name: 'forged', softDeleteRetentionDays: 7, purgeProtection: false } }) };
  const forged = encodeBatch([message({ type: MessageType.App, from: leader, to: target, term: 1000, index: 0, logTerm: 0, commit: 1, entries: [entry] })]);
  const targetPeer = cluster.node(target).peer;
  const r1 = await sendFrames(targetPeer, target, nodeTls(cluster.pkiDir, impostor), [forged]);
  t.match(r1.refusal, /^FORBIDDEN: /, `${impostor} claiming to be ${leader}: ${r1.refusal}`);
  t.ok(r1.closed, 'and the connection is closed');
  const r2 = await sendFrames(targetPeer, target, operatorTls(cluster.pkiDir), [forged]);
  t.match(r2.refusal, /^FORBIDDEN: .*for cluster nodes, not the operator/, `the operator sending Raft frames: ${r2.refusal}`);
  const r3 = await sendFrames(targetPeer, target, nodeTls(cluster.pkiDir, 'west-1'), [encodeBatch([message({ type: MessageType.Heartbeat, from: 'west-1', to: target, term: 1000 })])]);
  t.match(r3.refusal, /^FORBIDDEN: node west-1 is not in region east/, `a node of another region sending Raft frames: ${r3.refusal}`);
  for (const [who, tls] of [
    ['no client certificate', { ca: cluster.ca }],
    ['a certificate of another CA', { ...nodeTls(strangerDir, 'east-2'), ca: cluster.ca }],
  ] as const) {
    const r = await sendFrames(targetPeer, target, tls, [forged]);
    t.ok(r.closed && r.refusal === undefined, `${who}: no TLS session, no frames`);
  }

  // Geo: only the secondary's nodes, each under its own name.
  t.equal((await follow(east1, as.west1, 'evil')).code, grpc.status.PERMISSION_DENIED, 'Geo.Follow for a name that is not the caller');
  t.equal((await follow(east1, as.east2, 'east-2')).code, grpc.status.PERMISSION_DENIED, 'Geo.Follow by a primary node');
  t.equal((await follow(east1, as.operator, 'west-1')).code, grpc.status.PERMISSION_DENIED, 'Geo.Follow by the operator');
  const own = await follow(east1, as.west1, 'west-1');
  t.not(own.code, grpc.status.PERMISSION_DENIED, `Geo.Follow by west-1 as itself reaches the service (${grpc.status[own.code]}: ${own.details})`);

  // Admin: fault injection and leadership transfer are the operator's.
  // Faults { drop_peers = 1 }: drop east-3.
  const dropEast3 = Buffer.concat([Buffer.from([0x0a, 6]), Buffer.from('east-3')]);
  const denied = await unary(east1, as.east2, '/keyraft.peer.v1.Admin/SetFaults', dropEast3);
  t.equal(denied.code, grpc.status.PERMISSION_DENIED, `SetFaults by a member: ${denied.details}`);
  const transfer = Buffer.concat([Buffer.from([0x0a, 6]), Buffer.from(impostor)]);
  t.equal((await unary(cluster.node(leader).peer, as.east2, '/keyraft.peer.v1.Admin/TransferLeadership', transfer)).code, grpc.status.PERMISSION_DENIED, 'TransferLeadership by a member');
  const allowed = await unary(east1, as.operator, '/keyraft.peer.v1.Admin/SetFaults', Buffer.alloc(0));
  t.equal(allowed.code, grpc.status.OK, `SetFaults by the operator (clearing faults): ${allowed.details}`);

  // Nothing changed and nobody fell over.
  for (const n of cluster.nodes) t.ok(cluster.isRunning(n.id), `${n.id} is running`);
  const names = (await client.listVaults({})).vaults.map((v) => v.name);
  t.same(names, ['real'], 'the forged vault is nowhere');
  t.equal((await client.getStatus({})).regions.find((r) => r.name === 'east')!.leader, leader, 'the leader is still the leader');
  t.notMatch(cluster.nodes.map((n) => cluster.log(n.id)).join('\n'), /"level":60/, 'nothing fatal was logged');
  t.match(cluster.log(target), /refused a peer call/, 'the refusals are logged');
});
