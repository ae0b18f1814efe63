// A gRPC port in front of a grpc-js server, in this process: calls reach the
// handler with the caller's address and certificate; what is not HTTP/2 over
// TLS, or too slow to become it, or one connection too many, is closed and
// counted, and the server goes on serving.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { ensurePki } from '../../src/ops/pki.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, GrpcPort, type RefusalReason, grpcServerOptions } from '../../src/transport/connections.js';
import { channelCredentials, describeIdentity, identityOf, nodeTls, operatorTls } from '../../src/transport/tls.js';
import { freePort } from '../integration/cluster.js';
import { openIdle } from '../integration/raw-connections.js';

const dir = mkdtempSync(join(tmpdir(), 'keyraft-conns-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
await ensurePki(dir, [{ id: 'n1', hosts: ['127.0.0.1'] }]);
const tls = nodeTls(dir, 'n1');
const operator = operatorTls(dir);
const LIMITS: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, clientMaxConnections: 4, peerMaxConnections: 4, handshakeTimeoutMs: 1000 };
const WHO = '/t.Test/Who';
const identity = (b: Buffer) => b;

/** A port whose one method answers who called: the caller's address and certificate. */
async function serve(t: Test, port: 'client' | 'peer') {
  const server = new grpc.Server(grpcServerOptions(LIMITS));
  server.register(WHO, (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(`${call.getPeer()} ${describeIdentity(identityOf(call))}`)), identity, identity, 'unary');
  const refused: RefusalReason[] = [];
  const address = `127.0.0.1:${await freePort()}`;
  const opened = await GrpcPort.open(server, { port, address, tls, limits: LIMITS, logger: pino({ level: 'silent' }), onRefused: (r) => refused.push(r) });
  t.teardown(() => {
    opened.close();
    server.forceShutdown();
  });
  const who = (credentials: grpc.ChannelCredentials) => {
    const client = new grpc.Client(address, credentials);
    return new Promise<string>((resolve, reject) =>
      client.makeUnaryRequest(WHO, identity, identity, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, answer) => {
        client.close();
        return err ? reject(err) : resolve(answer!.toString());
      }),
    );
  };
  return { address, refused, who };
}

const count = (refused: RefusalReason[], reason: RefusalReason) => refused.filter((r) => r === reason).length;

t.test('calls reach the handler with the caller address, and on the peer port its certificate', async (t) => {
  const client = await serve(t, 'client');
  t.match(await client.who(grpc.credentials.createSsl(tls.ca)), /^127\.0\.0\.1:\d+ nobody we know$/);
  t.match(await client.who(channelCredentials(tls)), /^127\.0\.0\.1:\d+ node n1$/, 'the client port reads a node\'s certificate too (a node relaying its clients)');
  const peer = await serve(t, 'peer');
  t.match(await peer.who(channelCredentials(operator)), /^127\.0\.0\.1:\d+ the operator$/);
  await t.rejects(peer.who(grpc.credentials.createSsl(tls.ca)), { code: grpc.status.UNAVAILABLE }, 'no certificate, no TLS session');
  t.ok(count(peer.refused, 'tls_error') >= 1, 'counted as a TLS error');
});

t.test('what is not HTTP/2 over TLS is closed, and the port goes on serving', async (t) => {
  const { address, refused, who } = await serve(t, 'client');
  const [host, port] = [address.split(':')[0]!, Number(address.split(':')[1])];
  const http = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
  const plain = tcpConnect(port, host, () => plain.write(http));
  const noAlpn = tlsConnect({ host, port, ca: tls.ca }, () => noAlpn.write(http));
  const http1 = tlsConnect({ host, port, ca: tls.ca, ALPNProtocols: ['http/1.1'] });
  const ended = tlsConnect({ host, port, ca: tls.ca, ALPNProtocols: ['h2'] }, () => ended.end());
  const sockets = [plain, noAlpn, http1, ended];
  await Promise.all(sockets.map((s) => new Promise((resolve) => s.on('error', () => undefined).resume().once('close', resolve))));
  t.pass('plain HTTP, TLS without ALPN, TLS for HTTP/1.1 and TLS with nothing sent: all closed by the port');
  t.ok(count(refused, 'tls_error') >= 2, 'the failed handshakes are counted');
  t.match(await who(grpc.credentials.createSsl(tls.ca)), /^127\.0\.0\.1:/, 'and a gRPC call still succeeds');
});

t.test('connections that send nothing are closed by the handshake timeout, one past the limit at once', async (t) => {
  const { address, refused } = await serve(t, 'client');
  const idle = [openIdle(address, 'tcp'), openIdle(address, 'tcp'), openIdle(address, 'tcp'), openIdle(address, 'tls', { ca: tls.ca })];
  // The port accepts in order: once the last has completed TLS, it holds all four.
  await idle[3]!.ready;
  const past = openIdle(address, 'tcp');
  t.teardown(() => [...idle, past].forEach((c) => c.destroy()));
  await past.closed;
  t.equal(count(refused, 'limit'), 1, 'the fifth connection was refused for the limit');
  await Promise.all(idle.map((c) => c.closed));
  t.equal(count(refused, 'handshake_timeout'), 4, 'the four others were closed by the handshake timeout');
});
