// One load-generating process: the parent forks it (dist/scripts/bench/worker.js),
// sends { run, spec }, and the worker connects, warms up, answers ready, waits
// for go, then keeps `concurrency` calls in flight for the duration, records
// each call's latency and reports its histogram.

import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { API_FILES, GRPC_LOADER_OPTIONS } from '../../src/protos.js';
import { ECHO_SERVICE, VALUE_BYTES, etcdProtoFile, type FromWorker, type ToWorker, type WorkSpec } from './common.js';
import { Histogram } from './hist.js';

type Op = (slot: number, i: number) => Promise<unknown>;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function unary<Req>(client: grpc.Client, method: string): (req: Req) => Promise<unknown> {
  const fn = (client as unknown as Record<string, (r: Req, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res?: unknown) => void) => void>)[method];
  if (fn === undefined) throw new Error(`no method ${method}`);
  return (req) =>
    new Promise((resolve, reject) => fn.call(client, req, { deadline: Date.now() + 10_000 }, (e, res) => (e ? reject(e) : resolve(res))));
}

async function makeOp(spec: WorkSpec): Promise<{ op: Op; close: () => void }> {
  const value = randomBytes(VALUE_BYTES);
  switch (spec.system) {
    case 'keyraft': {
      // Plain grpc-js stubs on the first endpoint (the leader), as for etcd and
      // the echo service: the SDK's routing and retries would cost the load
      // generator CPU that the figure should not include.
      const def = protoLoader.loadSync(API_FILES, GRPC_LOADER_OPTIONS);
      const pkg = grpc.loadPackageDefinition(def) as unknown as { keyraft: { v1: Record<'Secrets' | 'Keys', grpc.ServiceClientConstructor> } };
      const secrets = new pkg.keyraft.v1.Secrets(spec.endpoints[0]!, grpc.credentials.createInsecure());
      const keys = new pkg.keyraft.v1.Keys(spec.endpoints[0]!, grpc.credentials.createInsecure());
      const [setSecret, getSecret] = [unary<object>(secrets, 'setSecret'), unary<object>(secrets, 'getSecret')];
      const [sign, encrypt, decrypt] = [unary<object>(keys, 'sign'), unary<object>(keys, 'encrypt'), unary<object>(keys, 'decrypt')];
      const vault = spec.vault ?? 'bench';
      const text = value.toString('base64').slice(0, VALUE_BYTES);
      const digest = createHash('sha256').update(value).digest();
      const gets = spec.getNames ?? 16;
      const ciphertext = Buffer.from(spec.ciphertext ?? '', 'base64');
      const ops: Record<string, Op> = {
        set: (slot) => setSecret({ vault, name: `w${spec.worker}-${slot}`, value: text }),
        get: (_s, i) => getSecret({ vault, name: `get-${i % gets}` }),
        'sign-es256': () => sign({ vault, name: 'es256', algorithm: 'ES256', digest }),
        'sign-rs256': () => sign({ vault, name: 'rsa', algorithm: 'RS256', digest }),
        'encrypt-oaep256': () => encrypt({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: value.subarray(0, 32) }),
        'encrypt-a256gcm': () => encrypt({ vault, name: 'aes', algorithm: 'A256GCM', value }),
        'decrypt-oaep256': () => decrypt({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: ciphertext }),
      };
      const op = ops[spec.op];
      if (op === undefined) throw new Error(`unknown keyraft case ${spec.op}`);
      return {
        op,
        close: () => {
          secrets.close();
          keys.close();
        },
      };
    }
    case 'etcd': {
      const def = protoLoader.loadSync(etcdProtoFile(), { keepCase: false, longs: String, defaults: false });
      const pkg = grpc.loadPackageDefinition(def) as unknown as { etcdserverpb: { KV: grpc.ServiceClientConstructor } };
      const client = new pkg.etcdserverpb.KV(spec.endpoints[0]!, grpc.credentials.createInsecure());
      const put = unary<object>(client, 'put');
      const range = unary<object>(client, 'range');
      const ops: Record<string, Op> = {
        put: (slot) => put({ key: Buffer.from(`bench/w${spec.worker}-${slot}`), value }),
        range: (_s, i) => range({ key: Buffer.from(`bench/get-${i % 16}`) }),
      };
      const op = ops[spec.op];
      if (op === undefined) throw new Error(`unknown etcd case ${spec.op}`);
      return { op, close: () => client.close() };
    }
    case 'echo': {
      const Ctor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
      const client = new Ctor(spec.endpoints[0]!, grpc.credentials.createInsecure());
      const echo = unary<Buffer>(client, 'echo');
      return { op: () => echo(value), close: () => client.close() };
    }
  }
}

/** Keeps `concurrency` calls in flight until `untilMs`; records into hist when given. */
async function drive(op: Op, concurrency: number, untilMs: number, hist?: Histogram): Promise<{ errors: number; firstError?: string }> {
  let errors = 0;
  let firstError: string | undefined;
  let n = 0;
  const slot = async (s: number): Promise<void> => {
    while (Date.now() < untilMs) {
      const t0 = process.hrtime.bigint();
      try {
        await op(s, n++);
        hist?.record(Number(process.hrtime.bigint() - t0) / 1000);
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
        // A failing target must not turn into a busy loop.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, s) => slot(s)));
  return firstError === undefined ? { errors } : { errors, firstError };
}

let spec: WorkSpec | undefined;
let prepared: { op: Op; close: () => void } | undefined;

process.on('message', (raw: ToWorker) => {
  void (async () => {
    try {
      if (raw.type === 'run') {
        spec = raw.spec;
        prepared = await makeOp(spec);
        await drive(prepared.op, spec.concurrency, Date.now() + spec.warmupMs);
        send({ type: 'ready' });
      } else if (raw.type === 'go' && spec !== undefined && prepared !== undefined) {
        const hist = new Histogram();
        const start = Date.now();
        const { errors, firstError } = await drive(prepared.op, spec.concurrency, start + spec.durationMs, hist);
        const elapsedMs = Date.now() - start;
        prepared.close();
        const result = { count: hist.total, errors, elapsedMs, maxUs: hist.maxUs, hist: hist.toSparse(), ...(firstError === undefined ? {} : { firstError }) };
        send({ type: 'result', result });
      }
    } catch (e) {
      send({ type: 'failed', error: e instanceof Error ? e.message : String(e) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
