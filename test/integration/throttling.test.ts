// Overload on real nodes (issue 19), with small limits from the topology:
// each per-vault limit (secrets and vaults, key creation, weighted key
// transactions) refuses a call with RESOURCE_EXHAUSTED THROTTLED and a
// retry-after-ms trailer; the refused call changes nothing and takes
// nothing from the limit; the SDK tries it again, with its request id, until
// it succeeds. Admission control refuses what does not fit a node's slots
// (a refused write stores nothing), and the operators' RPCs (cluster
// status, health) still answer on a node flooded with calls.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { KeyraftClient } from '../../src/client/index.js';
import { methodDefinition, type AnyMethod } from '../../src/client/proto.js';
import { MAX_RETRY_AFTER_MS } from '../../src/server/admission.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(300_000);

const WINDOW_MS = 20_000;
const ADMISSION_RETRY_AFTER_MS = 250;

interface Answer {
  readonly code: grpc.status;
  readonly reason: string;
  readonly details: string;
  readonly retryAfterMs: number | undefined;
}

function call(client: grpc.Client, method: AnyMethod, request: object): Promise<Answer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (err) => {
      const trailer = (k: string) => err?.metadata?.get(k)[0]?.toString();
      const retry = trailer('retry-after-ms');
      resolve({ code: err?.code ?? grpc.status.OK, reason: trailer('keyraft-reason') ?? '', details: err?.details ?? '', retryAfterMs: retry === undefined ? undefined : Number(retry) });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('per-vault limits and admission control on a 3-node region, and on its failed-over secondary', async (t) => {
  const cluster = await TestCluster.create({
    regions: [
      { name: 'east', nodes: 3 },
      { name: 'west', nodes: 1 },
    ],
    // Budgets per 20 s: 6 secrets/vault transactions, 2 key creations, 8 key units (RSA-2048 costs 4, EC 1).
    throttle: {
      windowMs: WINDOW_MS,
      secrets: 6,
      keyCreate: 2,
      keys: { 'RSA-2048': 2, 'RSA-3072': 2, 'RSA-4096': 1, 'EC-P-256': 8, 'EC-P-384': 8, 'EC-P-521': 8, 'EC-P-256K': 8 },
    },
    admission: { nodeCalls: 4, nodeQueue: 4, connectionCalls: 2, connectionQueue: 2, operatorCalls: 4, operatorQueue: 8, retryAfterMs: ADMISSION_RETRY_AFTER_MS },
  });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const sdk = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 30_000 });
  t.teardown(() => sdk.close());
  await eventually('the vaults', async () => {
    for (const name of ['secretsv', 'keysv']) await sdk.createVault({ name }).catch((e: { reason?: string }) => {
      if (e.reason !== 'VAULT_ALREADY_EXISTS') throw e;
    });
    return true;
  });
  const leader = await eventually('a leader', async () => (await sdk.getStatus({})).regions[0]?.leader || undefined);
  await cluster.token();
  const raw = new grpc.Client(cluster.node(leader).client, cluster.clientCredentials());
  t.teardown(() => raw.close());
  const m = {
    setSecret: methodDefinition('Secrets', 'SetSecret'),
    createKey: methodDefinition('Keys', 'CreateKey'),
    sign: methodDefinition('Keys', 'Sign'),
    listVaults: methodDefinition('Vaults', 'ListVaults'),
    getStatus: methodDefinition('Cluster', 'GetStatus'),
  };

  /**
   * Calls until one is THROTTLED by the vault's limit with a wait long enough
   * for what follows to run within it (the limit refills as time passes).
   */
  async function untilThrottled(t: Test, what: string, next: (i: number) => Promise<Answer>): Promise<Answer> {
    for (let i = 0; i < 40; i++) {
      const a = await next(i);
      if (a.code === grpc.status.OK) continue;
      t.equal(a.code, grpc.status.RESOURCE_EXHAUSTED, `${what}: refused with RESOURCE_EXHAUSTED`);
      t.equal(a.reason, 'THROTTLED', `${what}: reason THROTTLED`);
      t.match(a.details, /^THROTTLED: vault \w+ is over its limit of/);
      t.ok(a.retryAfterMs !== undefined && a.retryAfterMs > 0 && a.retryAfterMs <= WINDOW_MS, `${what}: retry-after-ms ${a.retryAfterMs}`);
      if (a.retryAfterMs! >= 500) return a;
      // A token is due soon: let it come, so that the call after it meets an empty bucket.
      await sleep(a.retryAfterMs!);
    }
    throw new Error(`${what} was never throttled`);
  }

  t.test('secrets and vaults: the refused write changes nothing, refusals take nothing, the SDK retries with its request id', async (t) => {
    const throttled = await untilThrottled(t, 'SetSecret', (i) => call(raw, m.setSecret, { vault: 'secretsv', name: `s${i}`, value: 'x', requestId: `raw-${i}` }));
    const refusedName = 'refused';
    const again = await call(raw, m.setSecret, { vault: 'secretsv', name: refusedName, value: 'x', requestId: 'raw-refused' });
    t.equal(again.reason, 'THROTTLED');
    for (let i = 0; i < 10; i++) await call(raw, m.setSecret, { vault: 'secretsv', name: refusedName, value: 'x', requestId: 'raw-refused' });
    // The refusals took nothing: once the wait the last one named is over, a token is there.
    await sleep(again.retryAfterMs! + 50);
    const after = await call(raw, m.setSecret, { vault: 'secretsv', name: 'after-wait', value: 'x', requestId: 'raw-after-wait' });
    t.equal(after.code, grpc.status.OK, 'after retry-after-ms the call is served');
    await t.rejects(sdk.getSecret({ vault: 'secretsv', name: refusedName }), { code: grpc.status.NOT_FOUND, reason: 'SECRET_NOT_FOUND' }, 'the refused write left nothing behind');
    // The bucket is empty again: the SDK's first attempt is refused, and it retries until served.
    await untilThrottled(t, 'SetSecret', (i) => call(raw, m.setSecret, { vault: 'secretsv', name: `t${i}`, value: 'x', requestId: `raw-t${i}` }));
    const s = await sdk.setSecret({ vault: 'secretsv', name: 'by-sdk', value: 'kept', requestId: 'sdk-write-1' });
    t.equal(s.value, 'kept');
    t.equal((await sdk.getSecret({ vault: 'secretsv', name: 'by-sdk' })).value, 'kept');
    const lines = await eventually('the SDK write in the audit log, refused then served', async () => {
      const found = cluster.nodes
        .map((n) => join(n.dataDir, 'audit.log'))
        .filter((f) => existsSync(f))
        .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
        .filter((l) => l.includes('"requestId":"sdk-write-1"'))
        .map((l) => JSON.parse(l) as { code: number; reason: string | null });
      return found.some((l) => l.reason === 'THROTTLED') && found.some((l) => l.code === 0) ? found : undefined;
    });
    t.ok(lines.length >= 2, 'the same request id was refused, then served');
    t.ok(throttled.retryAfterMs! <= WINDOW_MS);
  });

  t.test('key creation: 2 per window; the refused one creates no key; the SDK retries it', async (t) => {
    await untilThrottled(t, 'CreateKey', (i) => call(raw, m.createKey, { vault: 'keysv', name: i === 0 ? 'rsa' : i === 1 ? 'ec' : `k${i}`, kty: i === 0 ? 'RSA' : 'EC', keySize: i === 0 ? 2048 : 0, requestId: `ck-${i}` }));
    await t.rejects(sdk.getKey({ vault: 'keysv', name: 'k2' }), { code: grpc.status.NOT_FOUND, reason: 'KEY_NOT_FOUND' }, 'the refused creation made no key');
    const k = await sdk.createKey({ vault: 'keysv', name: 'late', kty: 'EC', curve: 'P-256' });
    t.equal(k.properties.name, 'late', 'the SDK waited and created it');
  });

  t.test('key transactions: enforced on the weighted sum (RSA-2048 costs 4, EC 1); the SDK retries', async (t) => {
    const digest = Buffer.alloc(32, 1);
    const signs: Answer[] = [];
    for (let i = 0; i < 2; i++) signs.push(await call(raw, m.sign, { vault: 'keysv', name: 'rsa', algorithm: 'RS256', digest }));
    const ec = await call(raw, m.sign, { vault: 'keysv', name: 'ec', algorithm: 'ES256', digest });
    if (signs.every((s) => s.code === grpc.status.OK)) {
      t.equal(ec.reason, 'THROTTLED', 'two RSA-2048 signatures fill the 8 units: an EC one does not fit');
    } else {
      // The GetKey calls of the previous test took units too: the limit was reached even sooner.
      t.ok(signs.some((s) => s.reason === 'THROTTLED') && ec.reason === 'THROTTLED');
    }
    const r = await sdk.sign({ vault: 'keysv', name: 'ec', algorithm: 'ES256', digest });
    t.equal(r.value.length, 64, 'the SDK waited and signed');
  });

  t.test('admission: what does not fit a node is refused at once; operators still see the flooded node; the SDK retries', async (t) => {
    const target = cluster.node(leader).client;
    const floods = Array.from({ length: 4 }, (_, i) => new grpc.Client(target, cluster.clientCredentials(), { 'keyraft.test-connection': i }));
    const operator = new grpc.Client(target, cluster.clientCredentials(), { 'keyraft.test-connection': 'operator' });
    const health = new grpc.Client(target, cluster.clientCredentials(), { 'keyraft.test-connection': 'health' });
    t.teardown(() => [...floods, operator, health].forEach((c) => c.close()));
    const sdkOnNode = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: [target], regionAware: false, timeoutMs: 30_000 });
    t.teardown(() => sdkOnNode.close());
    await Promise.all([...floods, operator].map((c) => call(c, m.getStatus, {})));
    const healthCheck = () =>
      new Promise<string>((resolve) =>
        health.makeUnaryRequest(
          '/grpc.health.v1.Health/Check',
          () => Buffer.alloc(0),
          (b: Buffer) => b,
          {},
          new grpc.Metadata(),
          { deadline: Date.now() + 20_000 },
          (err) => resolve(err === null ? 'OK' : grpc.status[err.code]),
        ),
      );
    await sdk.createVault({ name: 'floodv' });
    const writes = floods.flatMap((c, k) => Array.from({ length: 20 }, (_, i) => `f-${k}-${i}`).map((name) => call(c, m.setSecret, { vault: 'floodv', name, value: 'x', requestId: name }).then((a) => ({ name, a }))));
    const flood = floods.flatMap((c) => Array.from({ length: 100 }, () => call(c, m.listVaults, {})));
    const operators = Promise.all(Array.from({ length: 3 }, () => call(operator, m.getStatus, {})));
    const healths = Promise.all(Array.from({ length: 3 }, healthCheck));
    const bySdk = sdkOnNode.listVaults({});
    const answers = await Promise.all(flood);
    const refused = answers.filter((a) => a.code !== grpc.status.OK);
    t.ok(refused.length > 0, `${refused.length} of ${answers.length} flood calls refused`);
    const kinds = new Set(refused.map((a) => `${grpc.status[a.code]} ${a.reason} ${/is at its limit of/.test(a.details)}`));
    t.same([...kinds], ['RESOURCE_EXHAUSTED THROTTLED true'], 'every refusal: THROTTLED, the limit named');
    const waits = refused.map((a) => a.retryAfterMs!);
    t.ok(waits.every((w) => w >= ADMISSION_RETRY_AFTER_MS && w <= MAX_RETRY_AFTER_MS), 'every refusal has retry-after-ms, at least the topology\'s');
    t.ok(new Set(waits).size > 1, 'the refusals of the flood were told to come back at different times');
    t.same((await operators).map((a) => grpc.status[a.code]), ['OK', 'OK', 'OK'], 'cluster status answers on the flooded node');
    t.same(await healths, ['OK', 'OK', 'OK'], 'health answers on the flooded node');
    t.ok((await bySdk).vaults.length >= 2, 'the SDK, refused or not, got its answer');
    const written = await Promise.all(writes);
    t.ok(written.some((w) => w.a.reason === 'THROTTLED'), 'some writes of the flood were refused');
    t.ok(answers.length - refused.length + written.filter((w) => w.a.code === grpc.status.OK).length > 0, 'the calls that fit were served');
    const stored = new Set<string>();
    for await (const p of sdk.listAllSecrets('floodv')) stored.add(p.name);
    // (On a loaded machine a leader may change meanwhile: such writes end otherwise, and are not what this is about.)
    t.same(written.filter((w) => w.a.reason === 'THROTTLED' && stored.has(w.name)), [], 'no refused write is stored');
    t.same(written.filter((w) => w.a.code === grpc.status.OK && !stored.has(w.name)), [], 'every served one is');
  });

  // Last: it fails the cluster over. A failed-over secondary serves reads
  // from its own state, so it is the node that enforces the vault's limits.
  t.test('the failed-over secondary enforces the same limits on the reads it serves; the SDK retries', async (t) => {
    const status = (id: string) => cluster.admin<{ mode: string; primaryIndex: number; commitIndex: number }>(id, 'nodeStatus', {});
    const primaryCommit = (await status(leader)).commitIndex;
    await eventually('west has every primary entry', async () => ((await status('west-1')).primaryIndex >= primaryCommit ? true : undefined));
    await sdk.failover({ reason: 'throttling test' });
    await eventually('west failed over', async () => ((await status('west-1')).mode === 'FAILED_OVER' ? true : undefined));
    const west = cluster.node('west-1').client;
    const onWest = new grpc.Client(west, cluster.clientCredentials());
    const sdkOnWest = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: [west], regionAware: false, timeoutMs: 30_000 });
    t.teardown(() => {
      onWest.close();
      sdkOnWest.close();
    });
    const getSecret = methodDefinition('Secrets', 'GetSecret');
    const refused = await untilThrottled(t, 'GetSecret on west', () => call(onWest, getSecret, { vault: 'secretsv', name: 'by-sdk' }));
    t.match(refused.details, /limit of 6 /, 'the topology\'s limit, as on the primary');
    t.equal((await sdkOnWest.getSecret({ vault: 'secretsv', name: 'by-sdk' })).value, 'kept', 'the SDK waited and read it from west');
  });
});
