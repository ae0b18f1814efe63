// A node given garbage on either port — random bytes, truncated frames,
// undecodable or wrong messages — answers with an error or closes the
// connection, and keeps serving.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { message } from '../../src/raft/index.js';
import { MessageType } from '../../src/raft/index.js';
import { encodeBatch } from '../../src/wire/raft-codec.js';
import { channelCredentials, nodeTls } from '../../src/transport/tls.js';
import { TestCluster, eventually } from './cluster.js';
import { sendFrames } from './raft-frames-client.js';

t.setTimeout(300_000);

const Health = grpc.makeGenericClientConstructor(healthService, 'Health');

function healthCheck(address: string, credentials: grpc.ChannelCredentials): Promise<string> {
  const client = new Health(address, credentials);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (x: object) => Buffer.from(healthService.Check!.requestSerialize(x)),
      (b: Buffer) => healthService.Check!.responseDeserialize(b) as { status: string },
      { service: '' },
      new grpc.Metadata(),
      { deadline: Date.now() + 2000 },
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(String(res?.status));
      },
    );
  });
}

/** Sends raw bytes to a TCP port; resolves once the server closes or after a while. */
function sendRaw(address: string, bytes: Buffer): Promise<void> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect(Number(port), host!, () => socket.end(bytes));
    socket.on('data', () => undefined);
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    setTimeout(() => {
      socket.destroy();
      resolve();
    }, 2000);
  });
}

/** Calls a method with hand-made request bytes; resolves with the status code. */
function callWithBytes(address: string, path: string, bytes: Buffer, credentials: grpc.ChannelCredentials): Promise<{ code: number; details: string }> {
  const client = new grpc.Client(address, credentials);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new grpc.Metadata(),
      { deadline: Date.now() + 3000 },
      (err) => {
        client.close();
        resolve({ code: err?.code ?? 0, details: err?.details ?? '' });
      },
    );
  });
}

t.test('garbage on the client and peer ports never takes a node down', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }] });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const node = cluster.node('east-1');
  // With the administrator's token, so that the garbage gets past authorization to the decoders.
  const tls = cluster.clientCredentials();
  // Health probes carry no token.
  const probe = grpc.credentials.createSsl(cluster.ca);
  // The peer port takes only certificates of the cluster CA: the garbage comes from a member, east-2.
  const peerTls = channelCredentials(nodeTls(cluster.pkiDir, 'east-2'));
  await eventually('east-1 serving', async () => ((await healthCheck(node.client, probe)) === 'SERVING' ? true : undefined));
  // The token first: the garbage below must get past authorization to the decoders.
  await cluster.token();

  for (const address of [node.client, node.peer]) {
    await sendRaw(address, randomBytes(4096));
    // The HTTP/2 preface and then nonsense.
    await sendRaw(address, Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), randomBytes(512)]));
  }

  // A gRPC frame whose length prefix promises more than is sent, then a
  // protobuf that does not decode, then a message of another type.
  const truncated = Buffer.concat([Buffer.from([0, 0, 0, 1, 0]), randomBytes(16)]);
  const r1 = await callWithBytes(node.client, '/keyraft.v1.Secrets/SetSecret', truncated, tls);
  t.not(r1.code, grpc.status.OK, 'a truncated message is refused');
  const r2 = await callWithBytes(node.client, '/keyraft.v1.Secrets/SetSecret', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), tls);
  t.equal(r2.code, grpc.status.INVALID_ARGUMENT, `undecodable protobuf: ${r2.details}`);
  t.match(r2.details, /^BAD_REQUEST:/);
  // Field 1 as a varint where a string is expected: decodes to nothing useful.
  const r3 = await callWithBytes(node.client, '/keyraft.v1.Secrets/GetSecret', Buffer.from([0x08, 0x96, 0x01]), tls);
  t.equal(r3.code, grpc.status.INVALID_ARGUMENT, `wrong message type: ${r3.details}`);
  const r4 = await callWithBytes(node.client, '/keyraft.v1.Nope/Nothing', Buffer.alloc(0), tls);
  t.equal(r4.code, grpc.status.UNIMPLEMENTED, 'an unknown method is unimplemented');

  // The peer port's Raft frames: bytes that are no frame, a frame longer than
  // any message, undecodable batches, and well-formed ones that lie.
  const east2 = nodeTls(cluster.pkiDir, 'east-2');
  const frames = (payloads: Uint8Array[], raw = false) => sendFrames(node.peer, 'east-1', east2, payloads, { raw });
  const p0 = await frames([Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])], true);
  t.match(p0.refusal, /^BAD_MESSAGE: .*over the limit/, `a frame longer than any message is refused: ${p0.refusal}`);
  t.ok(p0.closed, 'and the connection closed');
  const p1 = await frames([randomBytes(64)]);
  t.match(p1.refusal, /^BAD_MESSAGE: undecodable/, `an undecodable Raft batch is refused: ${p1.refusal}`);
  const forged = Buffer.from(
    encodeBatch([
      message({ type: MessageType.App, from: 'east-2', to: 'east-1', term: 99, index: 5, entries: [{ term: 1, index: 9, type: 0, data: new Uint8Array() }] }),
      message({ type: 'Bogus' as MessageType, from: 'east-2', to: 'east-1', term: 1 }),
    ]),
  );
  const p2 = await frames([forged]);
  t.match(p2.refusal, /^BAD_MESSAGE: entries out of order/, `a malformed Raft message is refused: ${p2.refusal}`);
  const p2b = await frames([Buffer.from(encodeBatch([message({ type: 'Bogus' as MessageType, from: 'east-2', to: 'east-1', term: 1 })]))]);
  t.match(p2b.refusal, /^BAD_MESSAGE: unknown message type/, `a message of no known type is refused: ${p2b.refusal}`);
  // A frame cut short: the node waits for the rest, and closes nothing over it.
  const p2c = await frames([Buffer.from([0, 0, 0, 100, 1, 2])], true);
  t.notOk(p2c.refusal, 'a frame still arriving is not refused');
  const p3 = await callWithBytes(node.peer, '/keyraft.peer.v1.Raft/InstallSnapshot', randomBytes(128), peerTls);
  t.not(p3.code, grpc.status.OK, 'an undecodable snapshot chunk is refused');

  t.ok(cluster.isRunning('east-1'), 'the node process is still running');
  t.equal(await healthCheck(node.client, probe), 'SERVING', 'and still serving');
  t.notMatch(cluster.log('east-1'), /"level":60/, 'nothing fatal was logged');
});
