// One load-generating process: the parent forks it (dist/scripts/bench/worker.js),
// sends { run, spec }, and the worker connects, warms up, answers ready, waits
// for go, then keeps `concurrency` calls in flight for the duration, records
// each call's latency and reports its histogram.

import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { clientCredentials } from '../../src/client/index.js';
import { API_FILES, loadProtoRoot } from '../../src/protos.js';
import { ECHO_SERVICE, VALUE_BYTES, etcdProtoFile, identity, type FromWorker, type ToWorker, type WorkSpec } from './common.js';
import { Histogram } from './hist.js';

type Op = (slot: number, i: number) => Promise<unknown>;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

/**
 * A unary call that sends bytes encoded beforehand and parses each answer
 * with protobuf's decode (no conversion to plain objects): the client's cost
 * per call is then the same small one for every system, echo included, and
 * as little of the 2 cores as possible goes to the load generator.
 */
function rawUnary(client: grpc.Client, path: string, decode: (b: Buffer) => unknown): (request: Buffer) => Promise<unknown> {
  return (request) =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(path, identity, decode, request, { deadline: Date.now() + 10_000 }, (e, res) => (e ? reject(e) : resolve(res))),
    );
}

/** Encodes each request once: `key` names the request (a slot's secret name, say). */
function encoder(type: protobuf.Type): (key: string, fields: () => object) => Buffer {
  const cache = new Map<string, Buffer>();
  return (key, fields) => {
    let bytes = cache.get(key);
    if (bytes === undefined) {
      bytes = Buffer.from(type.encode(type.fromObject(fields())).finish());
      cache.set(key, bytes);
    }
    return bytes;
  };
}

function decoder(type: protobuf.Type): (b: Buffer) => unknown {
  return (b) => type.decode(b);
}

/**
 * keyraft's REST gateway through the unmodified Azure SDKs, as an
 * application would call it. The parent forks this worker with the cluster
 * CA in NODE_EXTRA_CA_CERTS and test/rest/kv-localhost.ts preloaded, so that
 * https://{vault}.kv.localhost:{port} resolves and is trusted.
 */
async function restOp(spec: WorkSpec, digest: Buffer): Promise<Op> {
  const { SecretClient } = await import('@azure/keyvault-secrets');
  const { CryptographyClient, KeyClient } = await import('@azure/keyvault-keys');
  const url = spec.vaultUrl ?? '';
  const token = spec.token ?? '';
  // The keyraft token as a TokenCredential; it outlives the run (an hour).
  const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  // No retries: a refused call counts as an error, as in the gRPC cases, not as a slow success.
  const options = { retryOptions: { maxRetries: 0 } };
  const gets = spec.getNames ?? 16;
  switch (spec.op) {
    case 'rest-get': {
      const client = new SecretClient(url, credential, options);
      return (_s, i) => client.getSecret(`get-${i % gets}`);
    }
    case 'rest-sign-es256': {
      // Made from the key's id, the client fetches the key once (in the
      // warm-up) and then signs remotely, one POST .../sign a call: its local
      // providers are RSA and AES, and neither signs.
      const { id } = await new KeyClient(url, credential, options).getKey('es256');
      const client = new CryptographyClient(id ?? '', credential, options);
      return () => client.sign('ES256', digest);
    }
  }
  throw new Error(`unknown keyraft REST case ${spec.op}`);
}

async function makeOp(spec: WorkSpec): Promise<{ op: Op; close: () => void }> {
  const value = randomBytes(VALUE_BYTES);
  const digest = createHash('sha256').update(value).digest();
  switch (spec.system) {
    case 'keyraft': {
      // The SDK's keep-alive connections close with the process.
      if (spec.op.startsWith('rest-')) return { op: await restOp(spec, digest), close: () => undefined };
      // Plain grpc-js calls on the first endpoint (the leader), as for etcd and
      // the echo service: the SDK's routing and retries would cost the load
      // generator CPU that the figure should not include.
      const root = loadProtoRoot(...API_FILES);
      const t = (name: string) => root.lookupType(`keyraft.v1.${name}`);
      const credentials = clientCredentials(spec.ca ?? '', spec.token);
      const client = new grpc.Client(spec.endpoints[0]!, credentials);
      const call = (method: string, response: string, on = client) => rawUnary(on, `/keyraft.v1.${method}`, decoder(t(response)));
      const setSecret = call('Secrets/SetSecret', 'Secret');
      const readers = (spec.readEndpoints ?? []).map((e) => new grpc.Client(e, credentials));
      const getSecrets = readers.length === 0 ? [call('Secrets/GetSecret', 'Secret')] : readers.map((r) => call('Secrets/GetSecret', 'Secret', r));
      const [sign, encrypt, decrypt] = [call('Keys/Sign', 'KeyOperationResult'), call('Keys/Encrypt', 'KeyOperationResult'), call('Keys/Decrypt', 'KeyOperationResult')];
      const setReq = encoder(t('SetSecretRequest'));
      const getReq = encoder(t('GetSecretRequest'));
      const signReq = encoder(t('SignRequest'));
      const opReq = encoder(t('KeyOperationRequest'));
      const vault = spec.vault ?? 'bench';
      const text = value.toString('base64').slice(0, VALUE_BYTES);
      const gets = spec.getNames ?? 16;
      const ciphertext = Buffer.from(spec.ciphertext ?? '', 'base64');
      let setsIssued = 0;
      const ops: Record<string, Op> = {
        // A new name every 100 writes of this worker: a secret holds at most 150 versions (TOO_MANY_VERSIONS).
        set: (slot) => {
          const name = `w${spec.worker}-${slot}-${Math.floor(setsIssued++ / 100)}`;
          return setSecret(setReq(name, () => ({ vault, name, value: text })));
        },
        get: (slot, i) => getSecrets[(spec.worker + slot) % getSecrets.length]!(getReq(String(i % gets), () => ({ vault, name: `get-${i % gets}` }))),
        'sign-es256': () => sign(signReq('es256', () => ({ vault, name: 'es256', algorithm: 'ES256', digest }))),
        'sign-rs256': () => sign(signReq('rs256', () => ({ vault, name: 'rsa', algorithm: 'RS256', digest }))),
        'encrypt-oaep256': () => encrypt(opReq('oaep', () => ({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: value.subarray(0, 32) }))),
        'encrypt-a256gcm': () => encrypt(opReq('a256gcm', () => ({ vault, name: 'aes', algorithm: 'A256GCM', value }))),
        'decrypt-oaep256': () => decrypt(opReq('decrypt', () => ({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: ciphertext }))),
      };
      const op = ops[spec.op];
      if (op === undefined) throw new Error(`unknown keyraft case ${spec.op}`);
      return { op, close: () => [client, ...readers].forEach((c) => c.close()) };
    }
    case 'etcd': {
      const root = new protobuf.Root().loadSync(etcdProtoFile(), { keepCase: false });
      const t = (name: string) => root.lookupType(`etcdserverpb.${name}`);
      // As for keyraft: TLS checked against the CA and a token on every call,
      // added by a metadata generator. etcd's token (a JWT) comes from
      // Authenticate, called once on a channel of its own, without a token.
      const tls = grpc.credentials.createSsl(Buffer.from(spec.ca ?? ''));
      const loginClient = new grpc.Client(spec.endpoints[0]!, tls);
      const authenticate = rawUnary(loginClient, '/etcdserverpb.Auth/Authenticate', decoder(t('AuthenticateResponse')));
      const credentials = encoder(t('AuthenticateRequest'))('login', () => ({ name: spec.user, password: spec.password }));
      const { token } = (await authenticate(credentials).finally(() => loginClient.close())) as { token: string };
      const withToken = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
        const md = new grpc.Metadata();
        md.set('token', token);
        callback(null, md);
      });
      const withTls = grpc.credentials.combineChannelCredentials(tls, withToken);
      const client = new grpc.Client(spec.endpoints[0]!, withTls);
      const put = rawUnary(client, '/etcdserverpb.KV/Put', decoder(t('PutResponse')));
      const readers = (spec.readEndpoints ?? []).map((e) => new grpc.Client(e, withTls));
      const ranges = (readers.length === 0 ? [client] : readers).map((r) => rawUnary(r, '/etcdserverpb.KV/Range', decoder(t('RangeResponse'))));
      const putReq = encoder(t('PutRequest'));
      const rangeReq = encoder(t('RangeRequest'));
      const ops: Record<string, Op> = {
        put: (slot) => put(putReq(String(slot), () => ({ key: Buffer.from(`bench/w${spec.worker}-${slot}`), value }))),
        range: (slot, i) => ranges[(spec.worker + slot) % ranges.length]!(rangeReq(String(i % 16), () => ({ key: Buffer.from(`bench/get-${i % 16}`) }))),
      };
      const op = ops[spec.op];
      if (op === undefined) throw new Error(`unknown etcd case ${spec.op}`);
      return { op, close: () => [client, ...readers].forEach((c) => c.close()) };
    }
    case 'echo': {
      // TLS as on keyraft's client port, no token: the ceiling of grpc-js with encryption.
      const client = new grpc.Client(spec.endpoints[0]!, clientCredentials(spec.ca ?? '', undefined));
      const echo = rawUnary(client, ECHO_SERVICE.echo!.path, identity);
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
        const cpu0 = process.cpuUsage();
        const { errors, firstError } = await drive(prepared.op, spec.concurrency, start + spec.durationMs, hist);
        const elapsedMs = Date.now() - start;
        const cpu = process.cpuUsage(cpu0);
        prepared.close();
        const result = { count: hist.total, errors, elapsedMs, maxUs: hist.maxUs, hist: hist.toSparse(), cpuUs: cpu.user + cpu.system, ...(firstError === undefined ? {} : { firstError }) };
        send({ type: 'result', result });
      }
    } catch (e) {
      send({ type: 'failed', error: e instanceof Error ? e.message : String(e) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
