// KeyraftError from what grpc-js hands a unary callback: the reason from the
// trailer or the message prefix, the message without it, and who answered.

import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { fromServiceError, KeyraftClient, KeyraftError, statusName, type ServedBy } from '../../src/client/index.js';
import { FAKE_CA, startFake } from './fake-server.js';

function metadata(entries: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

/** What grpc-js builds for a failed call: message `CODE NAME: details`. */
function serviceError(code: grpc.status, details: string, md = new grpc.Metadata()): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: md });
}

const served = { 'keyraft-region': 'west', 'keyraft-node': 'west-2', 'keyraft-mode': 'FAILED_OVER' };

t.test('reason from the trailer, message without its prefix, who answered from the trailers', async (t) => {
  const md = metadata({ ...served, 'keyraft-reason': 'READ_ONLY_FAILOVER', 'keyraft-primary-index': '42' });
  const e = fromServiceError(serviceError(grpc.status.FAILED_PRECONDITION, 'READ_ONLY_FAILOVER: writes are refused', md), '127.0.0.1:7112');
  t.ok(e instanceof KeyraftError);
  t.ok(e instanceof Error);
  t.equal(e.name, 'KeyraftError');
  t.equal(e.code, grpc.status.FAILED_PRECONDITION);
  t.equal(e.codeName, 'FAILED_PRECONDITION');
  t.equal(e.reason, 'READ_ONLY_FAILOVER');
  t.equal(e.message, 'writes are refused');
  t.equal(e.detail, 'READ_ONLY_FAILOVER: writes are refused');
  t.same(e.servedBy, {
    endpoint: '127.0.0.1:7112',
    node: 'west-2',
    region: 'west',
    mode: 'FAILED_OVER',
    primaryIndex: 42,
    metadata: { ...served, 'keyraft-primary-index': '42' },
  });
});

t.test('without a trailer the reason is parsed from the message prefix', async (t) => {
  const e = fromServiceError(serviceError(grpc.status.UNAVAILABLE, 'NO_QUORUM: region east has no leader: it may have lost its quorum'));
  t.equal(e.reason, 'NO_QUORUM');
  t.equal(e.message, 'region east has no leader: it may have lost its quorum', 'only the first prefix is taken');
  t.equal(e.servedBy, undefined);
});

t.test('a failure no server explained takes its status name as reason', async (t) => {
  const e = fromServiceError(
    serviceError(grpc.status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7101. Resolution note: '),
  );
  t.equal(e.reason, 'UNAVAILABLE');
  t.equal(e.message, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7101.', 'the empty note is dropped');
  const d = fromServiceError(serviceError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded after 5.001s'));
  t.equal(d.reason, 'DEADLINE_EXCEEDED');
  t.equal(d.message, 'Deadline exceeded after 5.001s');
  t.equal(fromServiceError({}).code, grpc.status.UNKNOWN);
});

t.test('a prefix that disagrees with the trailer stays in the message', async (t) => {
  const md = metadata({ 'keyraft-reason': 'INVALID_NAME' });
  const e = fromServiceError(serviceError(grpc.status.INVALID_ARGUMENT, 'NOTE: odd text', md));
  t.equal(e.reason, 'INVALID_NAME');
  t.equal(e.message, 'NOTE: odd text');
});

t.test('a multi-line message keeps every line', async (t) => {
  const e = fromServiceError(serviceError(grpc.status.INVALID_ARGUMENT, 'INVALID_NAME: bad name\nsecond line'));
  t.equal(e.message, 'bad name\nsecond line');
});

t.test('headers name who answered when the trailers do not', async (t) => {
  const e = fromServiceError(
    serviceError(grpc.status.NOT_FOUND, 'SECRET_NOT_FOUND: no secret', metadata({ 'keyraft-reason': 'SECRET_NOT_FOUND' })),
    'e:1',
    metadata(served),
  );
  t.equal(e.servedBy?.node, 'west-2');
  t.equal(e.servedBy?.endpoint, 'e:1');
  t.notOk('keyraft-reason' in (e.servedBy?.metadata ?? {}), 'the reason is not an identity');
});

t.test('status names', async (t) => {
  t.equal(statusName(grpc.status.NOT_FOUND), 'NOT_FOUND');
  t.equal(statusName(grpc.status.OK), 'OK');
  t.equal(statusName(99), 'STATUS_99');
  const e = new KeyraftError(grpc.status.UNAVAILABLE, 'NO_QUORUM', 'x').withAttempts(4);
  t.equal(e.attempts, 4);
  t.equal(e.codeName, 'UNAVAILABLE');
});

t.test('a write names the log index of its entry, a secondary read the primary index it reflects', async (t) => {
  const fake = await startFake(
    'east-1',
    {
      SetSecret: (req) => ({ properties: { vault: req.vault, name: req.name, version: 'a'.repeat(32) }, value: req.value }),
      GetSecret: (req) => ({ properties: { vault: req.vault, name: req.name, version: 'a'.repeat(32) }, value: 'x' }),
      DeleteSecret: () => ({}),
    },
    { headers: (method): Record<string, string> => (method === 'SetSecret' ? { 'keyraft-commit-index': '17' } : method === 'GetSecret' ? { 'keyraft-primary-index': '12' } : {}) },
  );
  t.teardown(() => fake.close());
  const client = new KeyraftClient({ ca: FAKE_CA, regionAware: false, endpoints: [fake.address], retries: 0 });
  t.teardown(() => client.close());
  const served: ServedBy[] = [];
  await client.setSecret({ vault: 'v1', name: 'db', value: 'x' }, { onServedBy: (s) => served.push(s) });
  t.equal(served[0]?.commitIndex, 17, 'keyraft-commit-index, as a number');
  t.equal(client.lastServedBy?.commitIndex, 17);
  t.notOk('primaryIndex' in served[0]!, 'no primary index from the primary region');
  await client.getSecret({ vault: 'v1', name: 'db' });
  t.equal(client.lastServedBy?.primaryIndex, 12, 'keyraft-primary-index, as a number');
  t.notOk('commitIndex' in client.lastServedBy!, 'reads carry no commit index');
  await client.deleteSecret({ vault: 'v1', name: 'db' });
  t.equal(client.lastServedBy?.commitIndex, undefined, 'absent when the server does not say');
});
