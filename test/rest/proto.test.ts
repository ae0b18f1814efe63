// The requests the route table builds are keyraft.v1 messages: each route
// names a method the .proto has, and each request survives proto-loader's
// encoding with the options every side uses (src/client/proto.ts), so no
// member is misnamed and silently dropped on the wire.

import t, { type Test } from 'tap';
import { methodDefinition } from '../../src/client/proto.js';
import { match, ROUTES } from '../../src/rest/routes.js';

const B = 'AQIDBA'; // base64url of 01 02 03 04

// [method, path, query, body]: one valid request per operation, every member it can carry.
const REQUESTS: [string, string, string, unknown][] = [
  ['PUT', '/secrets/s', '', { value: 'v', contentType: 'text/plain', tags: { a: 'b' }, attributes: { enabled: false, nbf: 1700000000, exp: 1800000000 } }],
  ['GET', '/secrets/s/v1', '', undefined],
  ['GET', '/secrets', 'maxresults=5&$skiptoken=t', undefined],
  ['GET', '/secrets/s/versions', 'maxresults=5&$skiptoken=t', undefined],
  ['PATCH', '/secrets/s/v1', '', { contentType: 'x', tags: {}, attributes: { enabled: true, nbf: 1, exp: 2 } }],
  ['DELETE', '/secrets/s', '', undefined],
  ['GET', '/deletedsecrets/s', '', undefined],
  ['GET', '/deletedsecrets', 'maxresults=5&$skiptoken=t', undefined],
  ['POST', '/deletedsecrets/s/recover', '', undefined],
  ['DELETE', '/deletedsecrets/s', '', undefined],
  ['POST', '/secrets/s/backup', '', undefined],
  ['POST', '/secrets/restore', '', { value: B }],
  ['POST', '/keys/k/create', '', { kty: 'RSA', key_size: 3072, crv: 'P-256', key_ops: ['sign'], tags: { a: 'b' }, attributes: { enabled: true, nbf: 1, exp: 2, exportable: true } }],
  ['PUT', '/keys/k', '', { key: { kty: 'EC', crv: 'P-256', key_ops: ['sign'], x: B, y: B, d: B }, tags: { a: 'b' }, attributes: { enabled: true, nbf: 1, exp: 2, exportable: false } }],
  ['GET', '/keys/k/v1', '', undefined],
  ['GET', '/keys', 'maxresults=5&$skiptoken=t', undefined],
  ['GET', '/keys/k/versions', 'maxresults=5&$skiptoken=t', undefined],
  ['PATCH', '/keys/k/v1', '', { key_ops: ['verify'], tags: { a: 'b' }, attributes: { enabled: false, nbf: 1, exp: 2 } }],
  ['POST', '/keys/k/rotate', '', undefined],
  ['DELETE', '/keys/k', '', undefined],
  ['GET', '/deletedkeys/k', '', undefined],
  ['GET', '/deletedkeys', 'maxresults=5&$skiptoken=t', undefined],
  ['POST', '/deletedkeys/k/recover', '', undefined],
  ['DELETE', '/deletedkeys/k', '', undefined],
  ['POST', '/keys/k/backup', '', undefined],
  ['POST', '/keys/restore', '', { value: B }],
  ['POST', '/keys/k/v1/encrypt', '', { alg: 'A256GCM', value: B, aad: B }],
  ['POST', '/keys/k/v1/decrypt', '', { alg: 'A256GCM', value: B, iv: B, tag: B, aad: B }],
  ['POST', '/keys/k/v1/wrapkey', '', { alg: 'A256KW', value: B }],
  ['POST', '/keys/k/v1/unwrapkey', '', { alg: 'A256KW', value: B }],
  ['POST', '/keys/k/v1/sign', '', { alg: 'ES256', value: B }],
  ['POST', '/keys/k/v1/verify', '', { alg: 'ES256', digest: B, value: B }],
  ['POST', '/rng', '', { count: 16 }],
];

/** Every member of `built` as the decoded message holds it; buffers by their bytes. */
function sameMembers(t: Test, decoded: Record<string, unknown>, built: Record<string, unknown>, where: string): void {
  for (const [name, value] of Object.entries(built)) {
    const got = decoded[name];
    if (Buffer.isBuffer(value)) t.ok(Buffer.isBuffer(got) && got.equals(value), `${where}: ${name}`);
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) sameMembers(t, got as Record<string, unknown>, value as Record<string, unknown>, `${where}.${name}`);
    else t.same(got, value, `${where}: ${name}`);
  }
}

t.test('every route names a keyraft.v1 method, and its request encodes whole', async (t) => {
  const covered = new Set<string>();
  for (const [method, path, query, body] of REQUESTS) {
    const m = match(method, path);
    if ('error' in m) throw m.error;
    covered.add(m.route.operation);
    const definition = methodDefinition(m.route.service, m.route.rpc);
    const built = m.route.request({ vault: 'v', params: m.params, query: new URLSearchParams(query), body, requestId: 'req-1' }) as Record<string, unknown>;
    const decoded = definition.requestDeserialize(definition.requestSerialize(built)) as Record<string, unknown>;
    sameMembers(t, decoded, built, `${m.route.operation}`);
  }
  t.same([...covered].sort(), ROUTES.map((r) => r.operation).sort(), 'one request per operation');
});
