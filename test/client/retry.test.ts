// The SDK's routing and retries against in-process grpc-js servers: writes
// keep one request id across attempts, refusals are never retried, endpoints
// that fail are passed over, and every call ends by its deadline.

import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { KeyraftClient, KeyraftError, type KeyraftClientOptions } from '../../src/client/index.js';
import { isRetryable } from '../../src/client/caller.js';
import { deadAddress, FAKE_CA, FakeStatus, hang, secretOf, startFake, type FakeServer, type Handler } from './fake-server.js';

const FAST = { backoff: { baseMs: 1, maxMs: 5 } };

async function setup(
  t: Test,
  servers: [string, Record<string, Handler>][],
  options: Partial<KeyraftClientOptions> = {},
): Promise<{ fakes: FakeServer[]; client: KeyraftClient }> {
  const fakes: FakeServer[] = [];
  for (const [node, handlers] of servers) fakes.push(await startFake(node, handlers));
  const client = new KeyraftClient({ ca: FAKE_CA, endpoints: fakes.map((f) => f.address), ...FAST, ...options });
  t.teardown(async () => {
    client.close();
    for (const f of fakes) await f.close();
  });
  return { fakes, client };
}

function failing(n: number, code: grpc.status, reason: string, then: Handler): Handler {
  let seen = 0;
  return (req, call) => {
    if (seen++ < n) throw new FakeStatus(code, reason, `attempt ${seen} refused`);
    return then(req, call);
  };
}

const ok: Handler = (req) => secretOf(String(req['name']), 'v2');

t.test('a write retried after UNAVAILABLE carries the same request id', { timeout: 10_000 }, async (t) => {
  const { fakes, client } = await setup(t, [['east-1', { SetSecret: failing(1, grpc.status.UNAVAILABLE, 'NOT_LEADER', ok) }]]);
  const s = await client.setSecret({ vault: 'v1', name: 'db', value: 'x' });
  t.equal(s.properties.version, 'v2');
  const seen = fakes[0]!.calls.get('SetSecret')!;
  t.equal(seen.length, 2, 'two attempts reached the server');
  const id = seen[0]!['requestId'];
  t.type(id, 'string');
  t.not(id, '', 'the SDK made a request id');
  t.equal(seen[1]!['requestId'], id, 'the retry carries the same one');
  t.equal(client.lastServedBy?.node, 'east-1');
});

t.test('each logical write gets its own request id; a given one is kept', { timeout: 10_000 }, async (t) => {
  const { fakes, client } = await setup(t, [['east-1', { SetSecret: ok }]]);
  await client.setSecret({ vault: 'v1', name: 'a', value: 'x' });
  await client.setSecret({ vault: 'v1', name: 'b', value: 'x' });
  await client.setSecret({ vault: 'v1', name: 'c', value: 'x', requestId: 'mine' });
  const ids = fakes[0]!.calls.get('SetSecret')!.map((r) => r['requestId']);
  t.not(ids[0], ids[1]);
  t.equal(ids[2], 'mine');
});

t.test('UNAVAILABLE moves the write to the next endpoint, with the same id, and later calls start there', { timeout: 10_000 }, async (t) => {
  const always: Handler = () => {
    throw new FakeStatus(grpc.status.UNAVAILABLE, 'NO_QUORUM', 'region east has no leader');
  };
  const { fakes, client } = await setup(t, [
    ['east-1', { SetSecret: always, GetSecret: always }],
    ['west-1', { SetSecret: ok, GetSecret: ok }],
  ]);
  const served: string[] = [];
  await client.setSecret({ vault: 'v1', name: 'db', value: 'x' }, { onServedBy: (s) => served.push(s.node) });
  t.same(served, ['west-1']);
  const first = fakes[0]!.calls.get('SetSecret')!;
  const second = fakes[1]!.calls.get('SetSecret')!;
  t.equal(first.length, 1);
  t.equal(second.length, 1);
  t.equal(second[0]!['requestId'], first[0]!['requestId']);
  await client.getSecret({ vault: 'v1', name: 'db' });
  t.equal(fakes[0]!.calls.get('GetSecret'), undefined, 'the failed endpoint cools down before it is tried again');
  t.equal(client.lastServedBy?.endpoint, fakes[1]!.address);
});

t.test('a connection failure moves on to the next endpoint', { timeout: 10_000 }, async (t) => {
  const fake = await startFake('east-2', { GetSecret: ok });
  const client = new KeyraftClient({ ca: FAKE_CA, endpoints: [await deadAddress(), fake.address], ...FAST });
  t.teardown(async () => {
    client.close();
    await fake.close();
  });
  const s = await client.getSecret({ vault: 'v1', name: 'db' });
  t.equal(s.value, 's3cr3t');
  t.equal(client.lastServedBy?.node, 'east-2');
});

for (const [name, code] of [
  ['INVALID_ARGUMENT', grpc.status.INVALID_ARGUMENT],
  ['NOT_FOUND', grpc.status.NOT_FOUND],
  ['ALREADY_EXISTS', grpc.status.ALREADY_EXISTS],
  ['FAILED_PRECONDITION', grpc.status.FAILED_PRECONDITION],
  ['PERMISSION_DENIED', grpc.status.PERMISSION_DENIED],
] as const) {
  t.test(`${name} is never retried, for a write or a read`, { timeout: 10_000 }, async (t) => {
    const refuse: Handler = () => {
      throw new FakeStatus(code, `SOME_${name}`, 'refused');
    };
    const { fakes, client } = await setup(t, [
      ['east-1', { SetSecret: refuse, GetSecret: refuse }],
      ['east-2', { SetSecret: ok, GetSecret: ok }],
    ]);
    for (const attempt of [() => client.setSecret({ vault: 'v1', name: 'db', value: 'x' }), () => client.getSecret({ vault: 'v1', name: 'db' })]) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      t.ok(err instanceof KeyraftError);
      const k = err as KeyraftError;
      t.equal(k.code, code);
      t.equal(k.codeName, name);
      t.equal(k.reason, `SOME_${name}`);
      t.equal(k.message, 'refused');
      t.equal(k.attempts, 1);
      t.equal(k.servedBy?.node, 'east-1');
    }
    t.equal(fakes[0]!.calls.get('SetSecret')!.length, 1);
    t.equal(fakes[0]!.calls.get('GetSecret')!.length, 1);
    t.equal(fakes[1]!.calls.size, 0, 'nothing went to the other endpoint');
  });
}

t.test('retries are bounded', { timeout: 10_000 }, async (t) => {
  const { fakes, client } = await setup(
    t,
    [['east-1', { GetSecret: failing(100, grpc.status.UNAVAILABLE, 'NO_QUORUM', ok) }]],
    { retries: 2 },
  );
  await t.rejects(client.getSecret({ vault: 'v1', name: 'db' }), { code: grpc.status.UNAVAILABLE, reason: 'NO_QUORUM', attempts: 3 });
  t.equal(fakes[0]!.calls.get('GetSecret')!.length, 3);
});

t.test('a read is retried until it succeeds', { timeout: 10_000 }, async (t) => {
  const { client } = await setup(t, [['east-1', { GetSecret: failing(2, grpc.status.UNAVAILABLE, 'NOT_LEADER', ok) }]], { retries: 3 });
  t.equal((await client.getSecret({ vault: 'v1', name: 'db' })).value, 's3cr3t');
});

t.test('a call ends by its deadline, retries included', { timeout: 10_000 }, async (t) => {
  const { fakes, client } = await setup(t, [['east-1', { GetSecret: () => hang, SetSecret: () => hang }]], {
    timeoutMs: 600,
    attemptTimeoutMs: 150,
    retries: 50,
  });
  const started = Date.now();
  await t.rejects(client.getSecret({ vault: 'v1', name: 'db' }), { code: grpc.status.DEADLINE_EXCEEDED });
  const took = Date.now() - started;
  t.ok(took < 1500, `gave up after ${took} ms`);
  t.ok(fakes[0]!.calls.get('GetSecret')!.length >= 2, 'attempts that time out are retried within the deadline');
  const one = Date.now();
  await t.rejects(client.setSecret({ vault: 'v1', name: 'db', value: 'x' }, { timeoutMs: 200 }), { code: grpc.status.DEADLINE_EXCEEDED });
  t.ok(Date.now() - one < 1000, 'a per-call timeout overrides the client default');
});

t.test('errors over the wire keep reason, message and who answered', { timeout: 10_000 }, async (t) => {
  const { client } = await setup(t, [
    [
      'east-3',
      {
        GetSecret: () => {
          throw new FakeStatus(grpc.status.NOT_FOUND, 'SECRET_NOT_FOUND', 'secret db not found in vault v1');
        },
      },
    ],
  ]);
  const err = (await client.getSecret({ vault: 'v1', name: 'db' }).catch((e: unknown) => e)) as KeyraftError;
  t.equal(err.reason, 'SECRET_NOT_FOUND');
  t.equal(err.message, 'secret db not found in vault v1');
  t.same([err.servedBy?.node, err.servedBy?.region, err.servedBy?.mode], ['east-3', 'east', 'SERVING']);
});

t.test('listAllSecrets walks every page, and stops on a repeated token', { timeout: 10_000 }, async (t) => {
  const pages: Record<string, [string[], string]> = { '': [['a', 'b'], 'p2'], p2: [['c'], 'p3'], p3: [['d'], ''] };
  const props = (name: string): Record<string, unknown> => secretOf(name, '1')['properties'] as Record<string, unknown>;
  const { fakes, client } = await setup(t, [
    [
      'east-1',
      {
        ListSecrets: (req) => {
          const [names, next] = pages[String(req['pageToken'])]!;
          return { secrets: names.map(props), nextPageToken: next };
        },
        ListDeletedSecrets: () => ({ secrets: [], nextPageToken: 'again' }),
      },
    ],
  ]);
  const names: string[] = [];
  for await (const p of client.listAllSecrets('v1', { pageSize: 2 })) names.push(p.name);
  t.same(names, ['a', 'b', 'c', 'd']);
  t.same(fakes[0]!.calls.get('ListSecrets')!.map((r) => [r['pageSize'], r['pageToken']]), [[2, ''], [2, 'p2'], [2, 'p3']]);
  const drain = async (): Promise<void> => {
    for await (const _ of client.listAllDeletedSecrets('v1')) void _;
  };
  await t.rejects(drain(), { name: 'KeyraftError', reason: 'BAD_PAGE_TOKEN' });
});

t.test('close() cancels calls in flight and refuses new ones', { timeout: 10_000 }, async (t) => {
  const { client } = await setup(t, [['east-1', { GetSecret: () => hang }]]);
  const pending = client.getSecret({ vault: 'v1', name: 'db' });
  await new Promise((r) => setTimeout(r, 100));
  client.close();
  await t.rejects(pending, { code: grpc.status.CANCELLED });
  await t.rejects(client.getStatus(), { name: 'KeyraftError', reason: 'CLIENT_CLOSED' });
});

/** Refuses the first n calls with THROTTLED and retry-after-ms, noting when each attempt arrived. */
function throttling(n: number, retryAfterMs: number, arrivals: number[], then: Handler): Handler {
  return (req, call) => {
    arrivals.push(performance.now());
    if (arrivals.length <= n) throw new FakeStatus(grpc.status.RESOURCE_EXHAUSTED, 'THROTTLED', 'busy', { 'retry-after-ms': String(retryAfterMs) });
    return then(req, call);
  };
}

t.test('THROTTLED is retried on the same node after retry-after-ms, a write keeping its request id, beyond `retries`', { timeout: 10_000 }, async (t) => {
  const arrivals: number[] = [];
  const { fakes, client } = await setup(t, [['east-1', { SetSecret: throttling(3, 40, arrivals, ok) }], ['east-2', { SetSecret: ok }]], {
    retries: 1,
    random: () => 0.5,
  });
  const s = await client.setSecret({ vault: 'v1', name: 'db', value: 'x' });
  t.equal(s.properties.version, 'v2');
  const seen = fakes[0]!.calls.get('SetSecret')!;
  t.equal(seen.length, 4, 'three refusals, then served: all on the node that refused');
  t.equal(fakes[1]!.calls.get('SetSecret'), undefined, 'the other node saw none');
  t.equal(new Set(seen.map((r) => r['requestId'])).size, 1, 'every attempt carries the first one\'s request id');
  for (let i = 1; i < arrivals.length; i++) t.ok(arrivals[i]! - arrivals[i - 1]! >= 40, `attempt ${i + 1} came no sooner than retry-after-ms plus jitter`);
});

t.test('a call that stays THROTTLED gives up by its deadline with THROTTLED; retries: 0 does not retry it', { timeout: 10_000 }, async (t) => {
  const arrivals: number[] = [];
  const { client } = await setup(t, [['east-1', { GetSecret: throttling(1000, 30, arrivals, ok) }]], { timeoutMs: 400 });
  const err = await client.getSecret({ vault: 'v1', name: 'db' }).catch((e: unknown) => e);
  t.match(err, { code: grpc.status.RESOURCE_EXHAUSTED, reason: 'THROTTLED', retryAfterMs: 30 });
  t.ok((err as KeyraftError).attempts > 1, 'it was retried meanwhile');
  const none = await setup(t, [['east-1', { GetSecret: throttling(1000, 30, [], ok) }]], { retries: 0 });
  await t.rejects(none.client.getSecret({ vault: 'v1', name: 'db' }), { code: grpc.status.RESOURCE_EXHAUSTED, reason: 'THROTTLED', attempts: 1 });
});

t.test('only status codes that say nothing about the request are retried, and writes only with an id', async (t) => {
  const err = (code: grpc.status): KeyraftError => new KeyraftError(code, 'X', 'x');
  t.ok(isRetryable(err(grpc.status.UNAVAILABLE), 'read', {}));
  t.ok(isRetryable(err(grpc.status.DEADLINE_EXCEEDED), 'read', {}));
  t.ok(isRetryable(err(grpc.status.UNAVAILABLE), 'write', { requestId: 'r' }));
  t.notOk(isRetryable(err(grpc.status.UNAVAILABLE), 'write', {}), 'never a write without a request id');
  t.ok(isRetryable(err(grpc.status.UNAVAILABLE), 'idempotent', {}), 'a failover or failback, which leaves the region as once however often it applies');
  t.notOk(isRetryable(err(grpc.status.UNAVAILABLE), 'write', { requestId: '' }));
  const throttled = new KeyraftError(grpc.status.RESOURCE_EXHAUSTED, 'THROTTLED', 'busy');
  t.ok(isRetryable(throttled, 'write', {}), 'THROTTLED: refused before any work, so even a write without an id');
  t.notOk(isRetryable(err(grpc.status.RESOURCE_EXHAUSTED), 'read', {}), 'RESOURCE_EXHAUSTED for another reason (a message too large) is not');
  for (const code of [
    grpc.status.INVALID_ARGUMENT,
    grpc.status.NOT_FOUND,
    grpc.status.ALREADY_EXISTS,
    grpc.status.FAILED_PRECONDITION,
    grpc.status.PERMISSION_DENIED,
    grpc.status.INTERNAL,
    grpc.status.UNIMPLEMENTED,
  ]) {
    t.notOk(isRetryable(err(code), 'read', {}), `code ${code}`);
  }
});

t.test('options are checked', async (t) => {
  t.throws(() => new KeyraftClient({ endpoints: [] }), { name: 'KeyraftError', reason: 'NO_ENDPOINTS' });
  t.throws(() => new KeyraftClient({ endpoints: ['nohost'] }), { name: 'KeyraftError', reason: 'INVALID_ENDPOINT' });
  t.throws(() => new KeyraftClient({ endpoints: ['127.0.0.1:1'], timeoutMs: 0 }), { name: 'KeyraftError', reason: 'INVALID_OPTION' });
  t.throws(() => new KeyraftClient({ endpoints: ['127.0.0.1:1'], retries: -1 }), { name: 'KeyraftError', reason: 'INVALID_OPTION' });
  new KeyraftClient({ endpoints: ['127.0.0.1:1'], retries: 0 }).close();
});
