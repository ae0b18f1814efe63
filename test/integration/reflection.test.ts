// Generic gRPC tools work against any node: server reflection lists the
// public services to a caller with a token, and to no one else.

import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(300_000);

/** ServerReflectionRequest{list_services: "*"}: field 7, a string. */
const LIST_SERVICES = Buffer.from([0x3a, 0x01, 0x2a]);

function listServices(address: string, credentials: grpc.ChannelCredentials): Promise<string> {
  const client = new grpc.Client(address, credentials);
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (b: Buffer) => b,
      (b: Buffer) => b,
      new grpc.Metadata(),
      { deadline: Date.now() + 3000 },
    );
    call.on('data', (response: Buffer) => {
      call.end();
      client.close();
      // The names are plain strings inside the response message.
      resolve(response.toString('latin1'));
    });
    call.on('error', (e) => {
      client.close();
      reject(e);
    });
    call.write(LIST_SERVICES);
  });
}

t.test('server reflection lists the public services', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 1 }] });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const address = cluster.node('east-1').client;
  const names = await eventually('a reflection answer', () => listServices(address, cluster.clientCredentials()));
  for (const service of ['keyraft.v1.Vaults', 'keyraft.v1.Secrets', 'keyraft.v1.Cluster']) t.match(names, service, `lists ${service}`);
  await t.rejects(listServices(address, grpc.credentials.createSsl(cluster.ca)), { code: grpc.status.UNAUTHENTICATED }, 'not without a token');
});
