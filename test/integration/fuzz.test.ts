// Fuzzing every RPC of the public API against a real node: requests built
// from each method's own message type with random and boundary values in
// every field, then, often, an unknown field or a known field with the
// wrong wire type appended; some with no token. Whatever arrives, the node
// answers with a status that is not INTERNAL or UNKNOWN, changes nothing
// when it refuses, and never stops or logs a fatal line. A refusal that
// left the applied index where it was proposed nothing; one that went
// through the log (refused when applied) must leave every listing of the
// state as it was.
//
// `make test` runs KEYRAFT_FUZZ_RUNS requests (default 400); the seed is
// printed with any failure, and KEYRAFT_FUZZ_SEED replays it.

import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { RPC_PATHS } from '../../src/auth/index.js';
import { API_FILES, loadProtoRoot } from '../../src/protos.js';
import { AdminClient } from '../../src/transport/peer-service.js';
import { TestCluster, eventually } from './cluster.js';

const RUNS = Number(process.env.KEYRAFT_FUZZ_RUNS ?? 400);
// A generous 100 ms a request on top of the set-up: a long run must not hit the bound.
t.setTimeout(300_000 + RUNS * 100);
const SEED = process.env.KEYRAFT_FUZZ_SEED === undefined ? undefined : Number(process.env.KEYRAFT_FUZZ_SEED);
/** The principal the fuzzer calls as; no generated string may name it, or a DeletePrincipal would end the run. */
const FUZZER = 'fuzzer';

const root = loadProtoRoot(...API_FILES);
const PATHS = RPC_PATHS.filter((p) => p.startsWith('/keyraft.v1.'));

/** Names that exist, so that some requests reach past "not found". */
const KNOWN = ['alpha', 's1', 'ec', 'rsa', 'aes', 'admin', 'Key Vault Reader', '/', '/vaults/alpha', 'RSA-OAEP-256', 'ES256', 'A256GCM', 'EC', 'RSA', 'oct', 'P-256'];

const text = fc
  .oneof(
    fc.constantFrom('', ...KNOWN, 'x'.repeat(127), 'x'.repeat(128), 'a--b', '-a', 'a'.repeat(25 * 1024 + 1)),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ minLength: 200, maxLength: 400 }),
  )
  .filter((s) => s.toLowerCase() !== FUZZER);

const INT_EDGES = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];

function scalar(type: string): fc.Arbitrary<unknown> | undefined {
  switch (type) {
    case 'string':
      return text;
    case 'bytes':
      return fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(new Uint8Array(0), new Uint8Array(32), new Uint8Array(4096)));
    case 'bool':
      return fc.boolean();
    case 'int32':
    case 'sint32':
      return fc.oneof(fc.constantFrom(0, 1, -1, 2 ** 31 - 1, -(2 ** 31)), fc.integer());
    case 'uint32':
      return fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat());
    case 'int64':
    case 'sint64':
    case 'uint64':
    case 'fixed64':
      return fc.oneof(fc.constantFrom(...INT_EDGES), fc.maxSafeInteger());
    case 'double':
    case 'float':
      return fc.double();
    default:
      return undefined;
  }
}

/** Any object of the message type: every field present or not, with random and boundary values. */
function messageArb(type: protobuf.Type, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    let value: fc.Arbitrary<unknown> | undefined;
    if (field.resolvedType instanceof protobuf.Type) value = depth < 2 ? messageArb(field.resolvedType, depth + 1) : undefined;
    else if (field.resolvedType instanceof protobuf.Enum) value = fc.integer({ min: -1, max: 5 });
    else value = scalar(field.type);
    if (value === undefined) continue;
    if (field instanceof protobuf.MapField) fields[field.name] = fc.dictionary(text.filter((k) => k.length < 300), value as fc.Arbitrary<string>, { maxKeys: 4 });
    else if (field.repeated) fields[field.name] = fc.array(value, { maxLength: 4 });
    else fields[field.name] = value;
  }
  return fc.record(fields, { requiredKeys: [] });
}

/** An extra field: one of a number the type does not have, or a known number with the wrong wire type. */
function extraField(type: protobuf.Type): fc.Arbitrary<Uint8Array> {
  const numbers = type.fieldsArray.map((f) => f.id);
  return fc.tuple(fc.oneof(fc.integer({ min: 1, max: 2 ** 29 - 1 }), fc.constantFrom(...(numbers.length > 0 ? numbers : [1]))), fc.integer({ min: 0, max: 5 }), fc.uint8Array({ maxLength: 16 })).map(([id, wire, payload]) => {
    const w = protobuf.Writer.create().uint32((id << 3) | wire);
    if (wire === 0) w.uint64(payload.length * 1000);
    else if (wire === 1) w.fixed64(7);
    else if (wire === 2) w.bytes(payload);
    else if (wire === 5) w.fixed32(7);
    // 3 and 4 (groups): the tag alone, which a decoder must refuse.
    return w.finish();
  });
}

interface Request {
  path: string;
  bytes: Uint8Array;
  withToken: boolean;
}

function requestArb(path: string): fc.Arbitrary<Request> {
  const [service, method] = path.slice('/keyraft.v1.'.length).split('/') as [string, string];
  const type = root.lookupType(root.lookupService(`keyraft.v1.${service}`).methods[method]!.requestType);
  const encoded = messageArb(type).map((o) => {
    try {
      return type.encode(type.fromObject(o)).finish();
    } catch {
      return new Uint8Array(0);
    }
  });
  return fc.record({
    path: fc.constant(path),
    bytes: fc.oneof(
      { weight: 6, arbitrary: encoded },
      { weight: 2, arbitrary: fc.tuple(encoded, extraField(type)).map(([a, b]) => new Uint8Array([...a, ...b])) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 128 }) },
    ),
    withToken: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
  });
}

function send(client: grpc.Client, r: Request, token: string): Promise<{ code: number; details: string; response?: Buffer }> {
  const md = new grpc.Metadata();
  if (r.withToken) md.set('authorization', `Bearer ${token}`);
  const serialize = (b: Uint8Array) => Buffer.from(b);
  const deserialize = (b: Buffer) => b;
  const options = { deadline: Date.now() + 15_000 };
  return new Promise((resolve) => {
    const [service, method] = r.path.slice('/keyraft.v1.'.length).split('/') as [string, string];
    if (!root.lookupService(`keyraft.v1.${service}`).methods[method]!.responseStream) {
      client.makeUnaryRequest(r.path, serialize, deserialize, r.bytes, md, options, (err, response) => {
        resolve(err === null ? { code: grpc.status.OK, details: '', response } : { code: err.code, details: err.details });
      });
      return;
    }
    // A server stream (SaveSnapshot): read to its end.
    const stream = client.makeServerStreamRequest(r.path, serialize, deserialize, r.bytes, md, options);
    stream.on('data', () => undefined);
    stream.on('end', () => resolve({ code: grpc.status.OK, details: '' }));
    stream.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
  });
}

t.test(`fuzzing every public RPC with ${RUNS} requests`, async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 1 }] });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const node = cluster.nodes[0]!;
  const client = new grpc.Client(node.client, grpc.credentials.createSsl(cluster.ca));
  t.teardown(() => client.close());
  let as = await cluster.token();
  const call = (path: string, object: object) => {
    const [service, method] = path.slice('/keyraft.v1.'.length).split('/') as [string, string];
    const type = root.lookupType(root.lookupService(`keyraft.v1.${service}`).methods[method]!.requestType);
    return send(client, { path, bytes: type.encode(type.fromObject(object)).finish(), withToken: true }, as);
  };
  // Something to find: a vault, a secret, keys, and the fuzzer's own principal.
  await eventually('the first vault', async () => ((await call('/keyraft.v1.Vaults/CreateVault', { name: 'alpha' })).code === 0 ? true : undefined));
  await call('/keyraft.v1.Secrets/SetSecret', { vault: 'alpha', name: 's1', value: 'v' });
  for (const [name, kty, extra] of [['ec', 'EC', { curve: 'P-256' }], ['rsa', 'RSA', { keySize: 2048 }], ['aes', 'oct', { keySize: 256 }]] as const) {
    t.equal((await call('/keyraft.v1.Keys/CreateKey', { vault: 'alpha', name, kty, ...extra })).code, 0, `key ${name}`);
  }
  await call('/keyraft.v1.Cluster/CreatePrincipal', { name: FUZZER });
  for (const role of ['Cluster Administrator', 'Key Vault Administrator']) await call('/keyraft.v1.Cluster/CreateRoleAssignment', { principal: FUZZER, role, scope: '/' });
  const token = await cluster.issueToken(FUZZER);
  // From here on, the fuzzer's token: the fuzzing may well reset `admin`.
  as = token;

  // One channel for the many status calls: a TLS handshake each would cost more than the request.
  const adminClient = new AdminClient(node.peer, cluster.operator()) as unknown as grpc.Client & {
    nodeStatus(r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, s?: { appliedIndex: number }) => void): void;
  };
  t.teardown(() => adminClient.close());
  const appliedIndex = () =>
    new Promise<number>((resolve, reject) =>
      adminClient.nodeStatus({}, { deadline: Date.now() + 5000 }, (e, s) => (e !== null || s === undefined ? reject(e) : resolve(s.appliedIndex))),
    );
  /** Every listing of the state, as the fuzzer's token sees it. */
  const LISTINGS: [string, object][] = [
    ['/keyraft.v1.Vaults/ListVaults', {}],
    ...['ListSecrets', 'ListDeletedSecrets'].map((m): [string, object] => [`/keyraft.v1.Secrets/${m}`, { vault: 'alpha' }]),
    ...['ListKeys', 'ListDeletedKeys'].map((m): [string, object] => [`/keyraft.v1.Keys/${m}`, { vault: 'alpha' }]),
    ['/keyraft.v1.Cluster/ListPrincipals', {}],
    ['/keyraft.v1.Cluster/ListRoleAssignments', {}],
  ];
  const fingerprint = async () =>
    (await Promise.all(LISTINGS.map(async ([path, o]) => {
      const r = await call(path, o);
      return `${r.code}:${r.response?.toString('hex') ?? r.details}`;
    }))).join('|');
  let state = await fingerprint();
  const codes = new Map<number, number>();
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...PATHS).chain(requestArb), async (r) => {
      const before = await appliedIndex();
      const got = await send(client, r, token);
      codes.set(got.code, (codes.get(got.code) ?? 0) + 1);
      if (got.code === grpc.status.INTERNAL || got.code === grpc.status.UNKNOWN) throw new Error(`${r.path}: ${grpc.status[got.code]} ${got.details}`);
      if ((await appliedIndex()) === before) return;
      const after = await fingerprint();
      if (got.code !== grpc.status.OK && after !== state) throw new Error(`${r.path}: refused (${got.details}) but the state changed`);
      state = after;
    }),
    { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
  );
  t.comment(`${RUNS} requests in ${Math.round((Date.now() - started) / 1000)} s; codes: ${[...codes].map(([c, n]) => `${grpc.status[c]} ${n}`).join(', ')}`);
  t.ok(cluster.isRunning(node.id), 'the node is still running');
  const log = cluster.log(node.id);
  t.notMatch(log, /"level":60/, 'nothing fatal was logged');
  t.notMatch(log, /"msg":"request failed"/, 'no request failed inside the node');
});
