// Admission control on a real client port (GrpcPort, the gate and the
// interceptor): a client's connection gets its own share of the node, while
// a connection presenting a node's certificate (a follower forwarding writes,
// a STANDBY secondary forwarding everything) relays many clients and is
// bounded by the node's limits alone; so is the sum of both.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { ensurePki } from '../../src/ops/pki.js';
import { admissionControl } from '../../src/server/admission-interceptor.js';
import { REASON_KEY } from '../../src/server/errors.js';
import { DEFAULT_CONNECTION_LIMITS, GrpcPort, grpcServerOptions } from '../../src/transport/connections.js';
import { channelCredentials, nodeTls } from '../../src/transport/tls.js';
import { freePort } from '../integration/cluster.js';

t.setTimeout(30_000);

const dir = mkdtempSync(join(tmpdir(), 'keyraft-relay-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
await ensurePki(dir, [
  { id: 'n1', hosts: ['127.0.0.1'] },
  { id: 'n2', hosts: ['127.0.0.1'] },
]);
const HOLD = '/t.Test/Hold';
const identity = (b: Buffer) => b;
const SETTINGS = { nodeCalls: 4, nodeQueue: 0, connectionCalls: 1, connectionQueue: 0, operatorCalls: 1, operatorQueue: 0, retryAfterMs: 100 };

// Every call is held until the test lets them all go.
const held: (() => void)[] = [];
const admission = admissionControl({ settings: SETTINGS, nodeId: 'n1', responseMetadata: () => new grpc.Metadata() });
const server = new grpc.Server({ ...grpcServerOptions(DEFAULT_CONNECTION_LIMITS), interceptors: [admission.interceptor] });
server.register(HOLD, (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => held.push(() => cb(null, Buffer.alloc(0))), identity, identity, 'unary');
const address = `127.0.0.1:${await freePort()}`;
const port = await GrpcPort.open(server, {
  port: 'client',
  address,
  tls: nodeTls(dir, 'n1'),
  limits: DEFAULT_CONNECTION_LIMITS,
  logger: pino({ level: 'silent' }),
  refuseEarly: admission.refuseEarly,
});
t.teardown(() => {
  port.close();
  server.forceShutdown();
});

/** Starts `n` calls on one connection; resolves each to 'ok' or the refusal's reason. */
function calls(credentials: grpc.ChannelCredentials, n: number): { client: grpc.Client; outcomes: Promise<string>[] } {
  const client = new grpc.Client(address, credentials);
  const outcomes = Array.from(
    { length: n },
    () =>
      new Promise<string>((resolve) =>
        client.makeUnaryRequest(HOLD, identity, identity, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err) =>
          resolve(err === null ? 'ok' : String(err.metadata.get(REASON_KEY)[0] ?? err.code)),
        ),
      ),
  );
  return { client, outcomes };
}

async function heldCount(n: number): Promise<void> {
  const until = Date.now() + 5000;
  while (held.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

t.test('a client connection gets one call of four; a node relaying its clients gets the node\'s four', async (t) => {
  const plain = calls(grpc.credentials.createSsl(nodeTls(dir, 'n1').ca), 2);
  t.teardown(() => plain.client.close());
  t.same(await plain.outcomes[1], 'THROTTLED', 'a client\'s second call is past its connection\'s share');
  const relay = calls(channelCredentials(nodeTls(dir, 'n2')), 4);
  t.teardown(() => relay.client.close());
  t.same(await relay.outcomes[3], 'THROTTLED', 'the relay\'s fourth call is past what the node has left (one slot is the client\'s)');
  await heldCount(4);
  t.equal(held.length, 4, 'the node runs its four calls: one from the client, three relayed');
  for (const release of held.splice(0)) release();
  t.same(await Promise.all([plain.outcomes[0], ...relay.outcomes.slice(0, 3)]), ['ok', 'ok', 'ok', 'ok']);
});
