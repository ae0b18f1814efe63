// Admission for the REST gateway (AdmissionControl.enter): the same lanes
// and counts as the gRPC port's calls; a call starts at once, waits for a
// slot until its deadline, or is refused with when to come back.

import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { admissionControl } from '../../src/server/admission-interceptor.js';

const SETTINGS = { nodeCalls: 1, nodeQueue: 1, connectionCalls: 1, connectionQueue: 1, operatorCalls: 1, operatorQueue: 0, retryAfterMs: 100 };
const GET_SECRET = '/keyraft.v1.Secrets/GetSecret';

t.test('a call starts, one waits, the next is refused; a wait past the deadline ends in a refusal too', async (t) => {
  const refusals: string[] = [];
  const a = admissionControl({ settings: SETTINGS, nodeId: 'n1', responseMetadata: () => new grpc.Metadata(), onRefused: (path, peer) => refusals.push(`${path} ${peer}`) });
  const first = await a.enter('127.0.0.1:1', GET_SECRET, Date.now() + 5000);
  t.ok('release' in first, 'the first call starts at once');
  const waiting = a.enter('127.0.0.1:2', GET_SECRET, Date.now() + 5000);
  const third = await a.enter('127.0.0.1:3', GET_SECRET, Date.now() + 5000);
  t.match(third, { retryAfterMs: 100, message: /node n1 is at its limit of 1 calls in progress and 1 waiting/ }, 'the queue is full: refused');
  t.same(refusals, [`${GET_SECRET} 127.0.0.1:3`], 'and told to the audit log and metrics');
  if ('release' in first) first.release();
  const second = await waiting;
  t.ok('release' in second, 'the waiting call starts when the first ends');

  const late = await a.enter('127.0.0.1:4', GET_SECRET, Date.now() + 50);
  t.match(late, { retryAfterMs: 100 }, 'no slot before its deadline: refused');
  if ('release' in second) second.release();
  const next = await a.enter('127.0.0.1:5', GET_SECRET, Date.now() + 5000);
  t.ok('release' in next, 'the expired call left the queue: the next one starts at once');
});
