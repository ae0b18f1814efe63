// keyraft failures as Azure's statuses and codes: the SDK pollers' 404s, the
// refusals of the security rules, and Throttled with its Retry-After.

import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { toAzureError } from '../../src/rest/errors.js';

const S = grpc.status;

t.test('reasons with an Azure twin', async (t) => {
  const cases: [grpc.status, string, number, string, string?][] = [
    [S.NOT_FOUND, 'SECRET_NOT_FOUND', 404, 'SecretNotFound'],
    [S.NOT_FOUND, 'SECRET_VERSION_NOT_FOUND', 404, 'SecretNotFound'],
    // The delete poller keeps polling GET /deletedsecrets/{name} while it answers 404.
    [S.NOT_FOUND, 'DELETED_SECRET_NOT_FOUND', 404, 'SecretNotFound'],
    [S.NOT_FOUND, 'KEY_NOT_FOUND', 404, 'KeyNotFound'],
    [S.NOT_FOUND, 'KEY_VERSION_NOT_FOUND', 404, 'KeyNotFound'],
    [S.NOT_FOUND, 'DELETED_KEY_NOT_FOUND', 404, 'KeyNotFound'],
    [S.NOT_FOUND, 'VAULT_NOT_FOUND', 404, 'VaultNotFound'],
    [S.ALREADY_EXISTS, 'CONFLICT_DELETED_EXISTS', 409, 'Conflict'],
    [S.FAILED_PRECONDITION, 'SECRET_DISABLED', 403, 'Forbidden', 'SecretDisabled'],
    [S.FAILED_PRECONDITION, 'KEY_DISABLED', 403, 'Forbidden', 'KeyDisabled'],
    [S.FAILED_PRECONDITION, 'PURGE_PROTECTED', 403, 'Forbidden'],
    [S.PERMISSION_DENIED, 'FORBIDDEN', 403, 'Forbidden', 'ForbiddenByRbac'],
    [S.INVALID_ARGUMENT, 'INVALID_NAME', 400, 'BadParameter'],
    [S.INVALID_ARGUMENT, 'BAD_ALGORITHM', 400, 'BadParameter'],
    [S.FAILED_PRECONDITION, 'READ_ONLY_FAILOVER', 503, 'ServiceUnavailable'],
  ];
  for (const [code, reason, status, azureCode, inner] of cases) {
    const e = toAzureError({ code, reason, message: `${reason} here` });
    t.equal(e.status, status, reason);
    t.equal(e.body.error.code, azureCode, reason);
    t.equal(e.body.error.message, `${reason} here`, `${reason}: the message is kept`);
    t.same(e.body.error.innererror, inner === undefined ? undefined : { code: inner }, `${reason}: innererror`);
    t.same(e.headers, {}, `${reason}: no headers`);
  }
});

t.test('other reasons by their gRPC status', async (t) => {
  const cases: [grpc.status, string, number, string][] = [
    [S.UNAUTHENTICATED, 'TOKEN_EXPIRED', 401, 'Unauthorized'],
    [S.PERMISSION_DENIED, 'SOMETHING_NEW', 403, 'Forbidden'],
    [S.UNAVAILABLE, 'NO_QUORUM', 503, 'ServiceUnavailable'],
    [S.INVALID_ARGUMENT, 'DECRYPTION_FAILED', 400, 'BadParameter'],
    [S.FAILED_PRECONDITION, 'TOO_MANY_VERSIONS', 409, 'Conflict'],
    [S.DEADLINE_EXCEEDED, 'DEADLINE', 504, 'GatewayTimeout'],
  ];
  for (const [code, reason, status, azureCode] of cases) {
    const e = toAzureError({ code, reason, message: 'm' });
    t.equal(e.status, status, reason);
    t.equal(e.body.error.code, azureCode, reason);
  }
});

t.test('an internal error says nothing of the node', async (t) => {
  const e = toAzureError({ code: S.INTERNAL, reason: 'INTERNAL', message: 'TypeError at /srv/keyraft/src/vault/state.ts:12' });
  t.equal(e.status, 500);
  t.same(e.body, { error: { code: 'InternalServerError', message: 'internal error' } });
});

t.test('Throttled: 429, Retry-After in whole seconds rounded up, retry-after-ms exact', async (t) => {
  const cases: [number, string, string][] = [
    [1, '1', '1'],
    [999, '1', '999'],
    [1000, '1', '1000'],
    [1001, '2', '1001'],
    [2500.2, '3', '2501'],
  ];
  for (const [ms, seconds, exactMs] of cases) {
    const e = toAzureError({ code: S.RESOURCE_EXHAUSTED, reason: 'THROTTLED', message: 'slow down', retryAfterMs: ms });
    t.equal(e.status, 429);
    t.equal(e.body.error.code, 'Throttled');
    t.same(e.headers, { 'retry-after': seconds, 'retry-after-ms': exactMs }, `${ms} ms`);
  }
});
