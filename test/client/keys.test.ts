// The SDK's Keys methods against an in-process fake: every key write keeps
// one request id across retries, reads (crypto operations included) are
// retried without one, bytes cross the wire as Uint8Array both ways, and the
// list iterators walk every page.

import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { KeyraftClient, KeyraftError } from '../../src/client/index.js';
import { FAKE_CA, FakeStatus, startFake, type FakeServer, type Handler } from './fake-server.js';

const FAST = { backoff: { baseMs: 1, maxMs: 5 } };

async function setup(t: Test, handlers: Record<string, Handler>): Promise<{ fake: FakeServer; client: KeyraftClient }> {
  const fake = await startFake('east-1', handlers);
  const client = new KeyraftClient({ ca: FAKE_CA, endpoints: [fake.address], ...FAST });
  t.teardown(async () => {
    client.close();
    await fake.close();
  });
  return { fake, client };
}

/** Fails the first `n` calls with UNAVAILABLE (what a leader change looks like), then answers. */
function flaky(n: number, answer: unknown): Handler {
  let seen = 0;
  return () => {
    if (seen++ < n) throw new FakeStatus(grpc.status.UNAVAILABLE, 'NOT_LEADER', 'leader changed');
    return answer;
  };
}

const props = (name: string, version = 'v1'): Record<string, unknown> => ({
  vault: 'v1', name, version, kid: `keyraft://v1/keys/${name}/${version}`, kty: 'EC', curve: 'P-256', keyOps: ['sign', 'verify'], enabled: true,
});
const key = { properties: props('k'), key: { kid: 'keyraft://v1/keys/k/v1', kty: 'EC', crv: 'P-256', x: Buffer.alloc(32, 1), y: Buffer.alloc(32, 2) } };
const deleted = { key, recoveryId: 'keyraft://v1/deletedkeys/k', deletedDate: 1700000000, scheduledPurgeDate: 1707776000 };
const result = { kid: key.key.kid, value: Buffer.from([9, 8, 7]), iv: Buffer.alloc(12, 3), tag: Buffer.alloc(16, 4), aad: Buffer.alloc(0) };
const bytes = Uint8Array.from([0, 1, 254, 255]);

type Call = (c: KeyraftClient) => Promise<unknown>;

const WRITES: [string, Call, unknown][] = [
  ['CreateKey', (c) => c.createKey({ vault: 'v1', name: 'k', kty: 'EC' }), key],
  ['ImportKey', (c) => c.importKey({ vault: 'v1', name: 'k', key: { kty: 'oct', k: bytes } }), key],
  ['UpdateKeyProperties', (c) => c.updateKeyProperties({ vault: 'v1', name: 'k', enabled: false }), key],
  ['RotateKey', (c) => c.rotateKey({ vault: 'v1', name: 'k' }), key],
  ['DeleteKey', (c) => c.deleteKey({ vault: 'v1', name: 'k' }), deleted],
  ['RecoverDeletedKey', (c) => c.recoverDeletedKey({ vault: 'v1', name: 'k' }), key],
  ['PurgeDeletedKey', (c) => c.purgeDeletedKey({ vault: 'v1', name: 'k' }), {}],
  ['RestoreKey', (c) => c.restoreKey({ vault: 'v1', backup: bytes }), key],
];

const op = { vault: 'v1', name: 'k', algorithm: 'A256GCM', value: bytes };
const sig = { vault: 'v1', name: 'k', algorithm: 'ES256', digest: new Uint8Array(32) };
const READS: [string, Call, unknown][] = [
  ['GetKey', (c) => c.getKey({ vault: 'v1', name: 'k' }), key],
  ['ListKeys', (c) => c.listKeys({ vault: 'v1' }), { keys: [props('k')], nextPageToken: '' }],
  ['ListKeyVersions', (c) => c.listKeyVersions({ vault: 'v1', name: 'k' }), { keys: [props('k')], nextPageToken: '' }],
  ['GetDeletedKey', (c) => c.getDeletedKey({ vault: 'v1', name: 'k' }), deleted],
  ['ListDeletedKeys', (c) => c.listDeletedKeys({ vault: 'v1' }), { keys: [deleted], nextPageToken: '' }],
  ['BackupKey', (c) => c.backupKey({ vault: 'v1', name: 'k' }), { value: bytes }],
  ['Encrypt', (c) => c.encrypt(op), result],
  ['Decrypt', (c) => c.decrypt(op), result],
  ['WrapKey', (c) => c.wrapKey({ ...op, algorithm: 'A256KW' }), result],
  ['UnwrapKey', (c) => c.unwrapKey({ ...op, algorithm: 'A256KW' }), result],
  ['Sign', (c) => c.sign(sig), result],
  ['Verify', (c) => c.verify({ ...sig, signature: bytes }), { value: true }],
  ['GetRandomBytes', (c) => c.getRandomBytes({ count: 4 }), { value: bytes }],
];

t.test('every key write retried after UNAVAILABLE carries the same request id', { timeout: 20_000 }, async (t) => {
  const handlers = Object.fromEntries(WRITES.map(([rpc, , answer]) => [rpc, flaky(1, answer)]));
  const { fake, client } = await setup(t, handlers);
  const ids = new Set<unknown>();
  for (const [rpc, call] of WRITES) {
    await call(client);
    const seen = fake.calls.get(rpc)!;
    t.equal(seen.length, 2, `${rpc}: two attempts reached the server`);
    const id = seen[0]!['requestId'];
    t.ok(typeof id === 'string' && id !== '', `${rpc}: the SDK made a request id`);
    t.equal(seen[1]!['requestId'], id, `${rpc}: the retry carries the same one`);
    ids.add(id);
  }
  t.equal(ids.size, WRITES.length, 'each logical write has its own id');
});

t.test('a given request id is kept', { timeout: 10_000 }, async (t) => {
  const { fake, client } = await setup(t, { RotateKey: () => key });
  await client.rotateKey({ vault: 'v1', name: 'k', requestId: 'mine' });
  t.equal(fake.calls.get('RotateKey')![0]!['requestId'], 'mine');
});

t.test('key reads and crypto operations are retried freely: they change no state', { timeout: 20_000 }, async (t) => {
  const handlers = Object.fromEntries(READS.map(([rpc, , answer]) => [rpc, flaky(2, answer)]));
  const { fake, client } = await setup(t, handlers);
  for (const [rpc, call] of READS) {
    await call(client);
    t.equal(fake.calls.get(rpc)!.length, 3, `${rpc}: retried without a request id`);
  }
});

t.test('bytes go out and come back as Uint8Array', { timeout: 10_000 }, async (t) => {
  const { fake, client } = await setup(t, { Encrypt: () => result, GetKey: () => key, Verify: () => ({ value: false }) });
  const r = await client.encrypt({ ...op, iv: Uint8Array.of(1, 2), aad: Uint8Array.of(3) });
  const sent = fake.calls.get('Encrypt')![0]!;
  t.same([...(sent['value'] as Uint8Array)], [...bytes]);
  t.same([...(sent['iv'] as Uint8Array)], [1, 2]);
  t.same([...(sent['aad'] as Uint8Array)], [3]);
  t.same([...(sent['tag'] as Uint8Array)], [], 'an absent field arrives empty');
  t.ok(r.value instanceof Uint8Array);
  t.same([...r.value], [9, 8, 7]);
  t.equal(r.aad.length, 0);
  const k = await client.getKey({ vault: 'v1', name: 'k' });
  t.equal(k.key.x.length, 32);
  t.equal(k.key.d.length, 0, 'no private member');
  t.same(k.properties.keyOps, ['sign', 'verify']);
  t.same(await client.verify({ ...sig, signature: bytes }), { value: false }, 'a bad signature is an answer, not an error');
});

t.test('a refusal is never retried', { timeout: 10_000 }, async (t) => {
  const { fake, client } = await setup(t, {
    Sign: () => {
      throw new FakeStatus(grpc.status.FAILED_PRECONDITION, 'KEY_DISABLED', 'key k is disabled');
    },
  });
  const err = (await client.sign(sig).catch((e: unknown) => e)) as KeyraftError;
  t.ok(err instanceof KeyraftError);
  t.equal(err.reason, 'KEY_DISABLED');
  t.equal(err.attempts, 1);
  t.equal(fake.calls.get('Sign')!.length, 1);
});

t.test('listAllKeys, listAllKeyVersions and listAllDeletedKeys walk every page', { timeout: 10_000 }, async (t) => {
  const paged = (item: (n: string) => unknown): Handler => (req) => {
    const pages: Record<string, [string[], string]> = { '': [['a', 'b'], 'p2'], p2: [['c'], ''] };
    const [names, next] = pages[String(req['pageToken'])]!;
    return { keys: names.map(item), nextPageToken: next };
  };
  const { fake, client } = await setup(t, {
    ListKeys: paged((n) => props(n)),
    ListKeyVersions: paged((n) => props('k', n)),
    ListDeletedKeys: paged((n) => ({ ...deleted, key: { ...key, properties: props(n) } })),
  });
  const names: string[] = [];
  for await (const p of client.listAllKeys('v1', { pageSize: 2 })) names.push(p.name);
  t.same(names, ['a', 'b', 'c']);
  t.same(fake.calls.get('ListKeys')!.map((r) => [r['pageSize'], r['pageToken']]), [[2, ''], [2, 'p2']]);
  const versions: string[] = [];
  for await (const p of client.listAllKeyVersions('v1', 'k')) versions.push(p.version);
  t.same(versions, ['a', 'b', 'c']);
  t.equal(fake.calls.get('ListKeyVersions')![0]!['name'], 'k');
  const gone: string[] = [];
  for await (const d of client.listAllDeletedKeys('v1')) gone.push(d.key.properties.name);
  t.same(gone, ['a', 'b', 'c']);
});
