// A secret value, name or tag that is not valid UTF-8 is refused on every
// node, leader or follower, with INVALID_ARGUMENT and a reason, and nothing
// is stored: protobufjs alone would turn the bad bytes into U+FFFD and keep
// the altered value. Valid non-ASCII text goes through unchanged.

import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { apiClient } from '../../src/server/api.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(300_000);

interface Answer {
  code: grpc.status;
  details: string;
  reason: string;
  response: Buffer | undefined;
}

/** One unary call with the request's bytes as given. */
function callWithBytes(cluster: TestCluster, address: string, path: string, bytes: Uint8Array): Promise<Answer> {
  const client = new grpc.Client(address, cluster.clientCredentials());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err, response) => {
        client.close();
        const reason = err?.metadata?.get('keyraft-reason')[0];
        resolve({ code: err?.code ?? grpc.status.OK, details: err?.details ?? '', reason: String(reason ?? ''), response });
      },
    );
  });
}

const serialize = (service: 'Vaults' | 'Secrets', method: string, request: object) =>
  apiClient(service).service[method]!.requestSerialize(request) as Buffer;

/** A length-delimited field written with raw bytes, whatever its declared type. */
const field = (w: protobuf.Writer, id: number, bytes: Uint8Array | string) =>
  w.uint32((id << 3) | 2).bytes(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);

/** SetSecretRequest: vault = 1, name = 2, value = 3, tags = 5 (map entry: key = 1, value = 2). */
function setSecretBytes(name: Uint8Array | string, value: Uint8Array | string, tag?: [Uint8Array | string, Uint8Array | string]): Uint8Array {
  const w = protobuf.Writer.create();
  field(w, 1, 'utf8');
  field(w, 2, name);
  field(w, 3, value);
  if (tag !== undefined) {
    const entry = protobuf.Writer.create();
    field(entry, 1, tag[0]);
    field(entry, 2, tag[1]);
    field(w, 5, entry.finish());
  }
  return w.finish();
}

t.test('bad UTF-8 in a SetSecret is refused on every node and stores nothing', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }] });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const [first] = cluster.endpoints();
  await eventually('the vault is created', async () => {
    const r = await callWithBytes(cluster, first!, '/keyraft.v1.Vaults/CreateVault', serialize('Vaults', 'CreateVault', { name: 'utf8' }));
    return r.code === grpc.status.OK || r.code === grpc.status.ALREADY_EXISTS ? true : undefined;
  });

  const getSecret = async (address: string, name: string) => {
    const r = await callWithBytes(cluster, address, '/keyraft.v1.Secrets/GetSecret', serialize('Secrets', 'GetSecret', { vault: 'utf8', name }));
    const value = r.response === undefined ? undefined : (apiClient('Secrets').service['GetSecret']!.responseDeserialize(r.response) as { value: string }).value;
    return { ...r, value };
  };

  // "Grüße" with its "ü" cut to a lone lead byte; then bytes that are never UTF-8.
  const cut = Buffer.concat([Buffer.from('Gr'), Buffer.from([0xc3]), Buffer.from('ße')]);
  const never = Buffer.from([0x70, 0x77, 0xff, 0xfe, 0x21]);
  for (const n of cluster.nodes) {
    for (const [what, bytes] of [
      ['a value with a cut character', setSecretBytes(`cut-${n.id}`, cut)],
      ['a value with 0xFF 0xFE', setSecretBytes(`never-${n.id}`, never)],
      ['a long value ending in a lone lead byte', setSecretBytes(`long-${n.id}`, Buffer.concat([Buffer.alloc(2000, 'a'), Buffer.from([0xe2, 0x82])]))],
      ['a tag value', setSecretBytes(`tag-${n.id}`, 'fine', ['env', never])],
    ] as const) {
      const r = await callWithBytes(cluster, n.client, '/keyraft.v1.Secrets/SetSecret', bytes);
      t.equal(r.code, grpc.status.INVALID_ARGUMENT, `${n.id}, ${what}: ${r.details}`);
      t.equal(r.reason, 'BAD_REQUEST', 'the reason in the keyraft-reason trailer');
      t.match(r.details, /^BAD_REQUEST: /, 'and as the message prefix');
    }
    for (const name of [`cut-${n.id}`, `never-${n.id}`, `long-${n.id}`, `tag-${n.id}`]) {
      const got = await getSecret(n.client, name);
      t.equal(got.reason, 'SECRET_NOT_FOUND', `${name} was not created`);
    }
  }
  // A name that is not UTF-8 could only be refused anyway; it still must not be stored as U+FFFD.
  const badName = await callWithBytes(cluster, first!, '/keyraft.v1.Secrets/SetSecret', setSecretBytes(Buffer.from([0x61, 0xff]), 'v'));
  t.equal(badName.code, grpc.status.INVALID_ARGUMENT, `a name that is not UTF-8: ${badName.details}`);

  // Valid text, whatever the script, and U+FFFD sent as such: stored as sent, on any node.
  for (const [i, value] of ['Grüße', '🔑 clé — 鍵', '\uFFFD', 'ü'.repeat(1000)].entries()) {
    const n = cluster.nodes[i % cluster.nodes.length]!;
    const set = await callWithBytes(cluster, n.client, '/keyraft.v1.Secrets/SetSecret', setSecretBytes(`ok-${i}`, value, ['lang', 'Deutsch/日本語']));
    t.equal(set.code, grpc.status.OK, `set through ${n.id}: ${set.details}`);
    const got = await getSecret(first!, `ok-${i}`);
    t.equal(got.value, value, `${JSON.stringify(value.slice(0, 12))} round-trips`);
  }

  t.ok(cluster.nodes.every((n) => cluster.isRunning(n.id)), 'every node still runs');
});
