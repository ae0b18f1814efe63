// The route table on its own: every operation's method and path (in each
// form the SDKs and other clients write it) to its RPC and params, the 404s
// and 405s, and a BadParameter for each kind of bad body or query.

import t, { type Test } from 'tap';
import { parseBody } from '../../src/rest/body.js';
import { RestError } from '../../src/rest/errors.js';
import { match, ROUTES, type Route, type RouteInput } from '../../src/rest/routes.js';

const N = 'my-name';
const V = '0123456789abcdef0123456789abcdef';

function found(method: string, path: string): { route: Route; params: Record<string, string> } {
  const m = match(method, path);
  if ('error' in m) throw new Error(`${method} ${path}: ${m.error.status} ${m.error.message}`);
  return m;
}

// [method, path, operation, rpc, params]
const TABLE: [string, string, string, string, Record<string, string>][] = [
  ['PUT', `/secrets/${N}`, 'SetSecret', 'SetSecret', { name: N }],
  ['GET', `/secrets/${N}/${V}`, 'GetSecret', 'GetSecret', { name: N, version: V }],
  ['GET', `/secrets/${N}/`, 'GetSecret', 'GetSecret', { name: N, version: '' }],
  ['GET', `/secrets/${N}`, 'GetSecret', 'GetSecret', { name: N, version: '' }],
  ['GET', '/secrets', 'GetSecrets', 'ListSecrets', {}],
  ['GET', '/secrets/', 'GetSecrets', 'ListSecrets', {}],
  ['GET', `/secrets/${N}/versions`, 'GetSecretVersions', 'ListSecretVersions', { name: N }],
  ['PATCH', `/secrets/${N}/${V}`, 'UpdateSecret', 'UpdateSecretProperties', { name: N, version: V }],
  ['PATCH', `/secrets/${N}/`, 'UpdateSecret', 'UpdateSecretProperties', { name: N, version: '' }],
  ['DELETE', `/secrets/${N}`, 'DeleteSecret', 'DeleteSecret', { name: N }],
  ['DELETE', `/secrets/${N}/`, 'DeleteSecret', 'DeleteSecret', { name: N }],
  ['GET', `/deletedsecrets/${N}`, 'GetDeletedSecret', 'GetDeletedSecret', { name: N }],
  ['GET', '/deletedsecrets', 'GetDeletedSecrets', 'ListDeletedSecrets', {}],
  ['POST', `/deletedsecrets/${N}/recover`, 'RecoverDeletedSecret', 'RecoverDeletedSecret', { name: N }],
  ['DELETE', `/deletedsecrets/${N}`, 'PurgeDeletedSecret', 'PurgeDeletedSecret', { name: N }],
  ['POST', `/secrets/${N}/backup`, 'BackupSecret', 'BackupSecret', { name: N }],
  ['POST', '/secrets/restore', 'RestoreSecret', 'RestoreSecret', {}],
  ['POST', `/keys/${N}/create`, 'CreateKey', 'CreateKey', { name: N }],
  ['PUT', `/keys/${N}`, 'ImportKey', 'ImportKey', { name: N }],
  ['GET', `/keys/${N}/${V}`, 'GetKey', 'GetKey', { name: N, version: V }],
  ['GET', `/keys/${N}/`, 'GetKey', 'GetKey', { name: N, version: '' }],
  ['GET', '/keys', 'GetKeys', 'ListKeys', {}],
  ['GET', `/keys/${N}/versions`, 'GetKeyVersions', 'ListKeyVersions', { name: N }],
  ['PATCH', `/keys/${N}/${V}`, 'UpdateKey', 'UpdateKeyProperties', { name: N, version: V }],
  ['POST', `/keys/${N}/rotate`, 'RotateKey', 'RotateKey', { name: N }],
  ['DELETE', `/keys/${N}`, 'DeleteKey', 'DeleteKey', { name: N }],
  ['GET', `/deletedkeys/${N}`, 'GetDeletedKey', 'GetDeletedKey', { name: N }],
  ['GET', '/deletedkeys', 'GetDeletedKeys', 'ListDeletedKeys', {}],
  ['POST', `/deletedkeys/${N}/recover`, 'RecoverDeletedKey', 'RecoverDeletedKey', { name: N }],
  ['DELETE', `/deletedkeys/${N}`, 'PurgeDeletedKey', 'PurgeDeletedKey', { name: N }],
  ['POST', `/keys/${N}/backup`, 'BackupKey', 'BackupKey', { name: N }],
  ['POST', '/keys/restore', 'RestoreKey', 'RestoreKey', {}],
  ['POST', `/keys/${N}/${V}/encrypt`, 'Encrypt', 'Encrypt', { name: N, version: V }],
  ['POST', `/keys/${N}//encrypt`, 'Encrypt', 'Encrypt', { name: N, version: '' }],
  ['POST', `/keys/${N}/encrypt`, 'Encrypt', 'Encrypt', { name: N, version: '' }],
  ['POST', `/keys/${N}/${V}/decrypt`, 'Decrypt', 'Decrypt', { name: N, version: V }],
  ['POST', `/keys/${N}/${V}/wrapkey`, 'WrapKey', 'WrapKey', { name: N, version: V }],
  ['POST', `/keys/${N}/${V}/wrapKey`, 'WrapKey', 'WrapKey', { name: N, version: V }],
  ['POST', `/keys/${N}//unwrapkey`, 'UnwrapKey', 'UnwrapKey', { name: N, version: '' }],
  ['POST', `/keys/${N}/${V}/sign`, 'Sign', 'Sign', { name: N, version: V }],
  ['POST', `/keys/${N}/verify`, 'Verify', 'Verify', { name: N, version: '' }],
  ['POST', '/rng', 'GetRandomBytes', 'GetRandomBytes', {}],
];

t.test('every operation, in every form of its path', async (t) => {
  for (const [method, path, operation, rpc, params] of TABLE) {
    const { route, params: got } = found(method, path);
    t.equal(route.operation, operation, `${method} ${path}`);
    t.equal(route.rpc, rpc, `${method} ${path}: rpc`);
    t.same(got, params, `${method} ${path}: params`);
  }
  const operations = new Set(TABLE.map(([, , operation]) => operation));
  t.equal(operations.size, ROUTES.length, 'the table above names every route');
  t.same(
    ROUTES.filter((r) => r.status === 204).map((r) => r.operation),
    ['PurgeDeletedSecret', 'PurgeDeletedKey'],
    'the purges answer 204, the rest 200',
  );
});

t.test('names are percent-decoded, literals match in any case', async (t) => {
  t.same(found('GET', '/secrets/a%2Db/').params, { name: 'a-b', version: '' });
  t.equal(found('POST', `/KEYS/${N}/${V}/SIGN`).route.operation, 'Sign');
});

t.test('404 for a path no operation has, 405 with Allow for a method the path lacks', async (t) => {
  for (const path of ['/', '/certificates/c', '/secrets/a/b/c/d', '/keys/k/v/frobnicate', '/secrets/%E0%A4%A', 'secrets', '/secrets//']) {
    const m = match('GET', path);
    t.ok('error' in m && m.error.status === 404 && m.error.code === 'NotFound', `GET ${path}`);
  }
  const m = match('POST', `/secrets/${N}`);
  t.ok('error' in m && m.error.status === 405 && m.error.code === 'MethodNotAllowed');
  t.same('error' in m ? [...(m.allow ?? [])].sort() : [], ['DELETE', 'GET', 'PATCH', 'PUT']);
  const rng = match('GET', '/rng');
  t.same('error' in rng ? rng.allow : undefined, ['POST']);
});

function input(method: string, path: string, body: unknown, query = ''): [Route, RouteInput] {
  const { route, params } = found(method, path);
  return [route, { vault: 'v1', params, query: new URLSearchParams(query), body }];
}

function badParameter(t: Test, method: string, path: string, body: unknown, why: RegExp, query = ''): void {
  const [route, i] = input(method, path, body, query);
  try {
    route.request(i);
    t.fail(`${method} ${path} ${JSON.stringify(body)}: accepted`);
  } catch (e) {
    t.ok(e instanceof RestError && e.status === 400 && e.code === 'BadParameter', `${method} ${path} ${JSON.stringify(body)}: BadParameter`);
    t.match((e as Error).message, why, `${method} ${path} ${JSON.stringify(body)}: says why`);
  }
}

t.test('bad bodies and queries are BadParameter, naming the member', async (t) => {
  badParameter(t, 'PUT', '/secrets/s', undefined, /JSON object/);
  badParameter(t, 'PUT', '/secrets/s', [1], /JSON object/);
  badParameter(t, 'PUT', '/secrets/s', {}, /"value" is required/);
  badParameter(t, 'PUT', '/secrets/s', { value: 5 }, /"value" must be a string/);
  badParameter(t, 'PUT', '/secrets/s', { value: 'v', tags: { a: 1 } }, /tag "a"/);
  badParameter(t, 'PUT', '/secrets/s', { value: 'v', attributes: { nbf: 1.5 } }, /"nbf" must be a whole number/);
  badParameter(t, 'PUT', '/secrets/s', { value: 'v', attributes: { exp: -1 } }, /"exp"/);
  badParameter(t, 'PUT', '/secrets/s', { value: 'v', attributes: { enabled: 'yes' } }, /"enabled" must be true or false/);
  badParameter(t, 'PUT', '/secrets/s', { value: 'v', attributes: [] }, /"attributes" must be a JSON object/);
  badParameter(t, 'POST', '/secrets/restore', { value: 'not base64url!' }, /"value" must be base64url/);
  badParameter(t, 'POST', '/secrets/restore', { value: 'abcde' }, /base64url/);
  badParameter(t, 'POST', '/keys/k/create', { kty: 'RSA-HSM' }, /no HSM/);
  badParameter(t, 'POST', '/keys/k/create', { kty: 'RSA', public_exponent: 3 }, /exponent 65537/);
  badParameter(t, 'POST', '/keys/k/create', { kty: 'RSA', key_ops: 'sign' }, /"key_ops" must be a list/);
  badParameter(t, 'POST', '/keys/k/create', { kty: 'RSA', release_policy: {} }, /release/);
  badParameter(t, 'PUT', '/keys/k', { key: { kty: 'RSA', n: 'a+b/' } }, /"n" must be base64url/);
  badParameter(t, 'PUT', '/keys/k', { key: { kty: 'RSA' }, Hsm: true }, /no HSM/);
  badParameter(t, 'PUT', '/keys/k', { key: { kty: 'RSA', key_hsm: 'AAAA' } }, /BYOK/);
  badParameter(t, 'PUT', '/keys/k', {}, /"key" is required/);
  badParameter(t, 'POST', '/keys/k/v/sign', { alg: 'RS256' }, /"value" is required/);
  badParameter(t, 'POST', '/keys/k/v/verify', { alg: 'RS256', value: 'AAAA' }, /"digest" is required/);
  badParameter(t, 'POST', '/keys/k/v/encrypt', { value: 'AAAA' }, /"alg" is required/);
  badParameter(t, 'POST', '/rng', {}, /"count" is required/);
  for (const max of ['0', '26', '-1', 'ten', '2.5']) badParameter(t, 'GET', '/secrets', undefined, /maxresults/, `maxresults=${max}`);
});

t.test('request objects: absent members stay absent, null reads as absent, padding is accepted', async (t) => {
  const [set, setInput] = input('PUT', '/secrets/s', { value: 'v', contentType: null, attributes: { enabled: false, nbf: null } });
  t.same(set.request(setInput), { vault: 'v1', name: 's', value: 'v', enabled: false });
  const [restore, restoreInput] = input('POST', '/keys/restore', { value: 'AQID' + '' });
  t.same(restore.request({ ...restoreInput, requestId: 'r-1' }), { vault: 'v1', backup: Buffer.from([1, 2, 3]), requestId: 'r-1' });
  const [padded, paddedInput] = input('POST', '/keys/k/v/sign', { alg: 'ES256', value: 'AQI=' });
  t.same(padded.request(paddedInput), { vault: 'v1', name: 'k', version: 'v', algorithm: 'ES256', digest: Buffer.from([1, 2]) });
  const [list, listInput] = input('GET', '/keys/k/versions', undefined, 'api-version=7.4&maxresults=25&%24skiptoken=abc');
  t.same(list.request(listInput), { vault: 'v1', name: 'k', pageSize: 25, pageToken: 'abc' });
  const [create, createInput] = input('POST', '/keys/k/create', { kty: 'EC', crv: 'P-256K', attributes: { exportable: true }, public_exponent: 65537 });
  t.same(create.request(createInput), { vault: 'v1', name: 'k', kty: 'EC', curve: 'P-256K', exportable: true });
  const [update, updateInput] = input('PATCH', '/keys/k/', { key_ops: [], tags: {}, attributes: { exp: 0 } });
  t.same(update.request(updateInput), { vault: 'v1', name: 'k', version: '', expires: 0, keyOps: { keyOps: [] }, tags: { tags: {} } });
});

t.test('body text: none is undefined, JSON is parsed, anything else is BadParameter', async (t) => {
  t.equal(parseBody(''), undefined);
  t.equal(parseBody(' \n'), undefined);
  t.same(parseBody('{"value":"v"}'), { value: 'v' });
  t.throws(() => parseBody('{"value":'), { status: 400, code: 'BadParameter', message: 'The request body is not valid JSON.' });
});
