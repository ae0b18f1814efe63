// Forwarding over gRPC against a real grpc-js server: the call carries the
// caller's token and the hop count, and the other node's answer comes back
// as an Answer that leaves this node as it left that one: the same status,
// message and trailers, the same headers naming who served it.

import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import t from 'tap';
import { Code } from '../../src/app/codes.js';
import { ApiError, ThrottledError } from '../../src/app/errors.js';
import type { Answer } from '../../src/app/router.js';
import { apiClient, apiService } from '../../src/server/api.js';
import { toServiceError } from '../../src/server/errors.js';
import { GrpcForwarder } from '../../src/server/forwarder.js';
import { metadataOf } from '../../src/server/handler.js';

const PATH = '/keyraft.v1.Secrets/GetSecret';

/** How the other node answers, by secret name. */
const upstream: Record<string, (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => void> = {
  served: (call, cb) => {
    call.sendMetadata(metadataOf({ 'keyraft-node': 'up', 'keyraft-mode': 'SERVING', 'keyraft-commit-index': '7' }));
    cb(null, { value: 'hunter2' });
  },
  missing: (call, cb) => {
    const md = metadataOf({ 'keyraft-node': 'up', 'keyraft-mode': 'SERVING' });
    call.sendMetadata(md);
    cb(toServiceError(new ApiError(Code.NOT_FOUND, 'SECRET_NOT_FOUND', 'secret db: no such: thing'), md));
  },
  throttled: (call, cb) => {
    const md = metadataOf({ 'keyraft-node': 'up' });
    call.sendMetadata(md);
    cb(toServiceError(new ThrottledError(120.4, 'vault payroll is over its limit'), md));
  },
  // A refusal sent before any headers (as the interceptors' can be): the node is named in the trailers only.
  trailersOnly: (_call, cb) => cb(toServiceError(new ApiError(Code.UNAUTHENTICATED, 'TOKEN_EXPIRED', 'expired'), metadataOf({ 'keyraft-node': 'up' }))),
  // Not a keyraft answer: a proxy, or a process that is not ours.
  foreign: (_call, cb) => cb({ code: grpc.status.UNAVAILABLE, details: 'no healthy upstream' }),
};

t.test('a forwarded call and its answer', async (t) => {
  const seen: grpc.Metadata[] = [];
  const server = new grpc.Server();
  server.addService(apiService('Secrets'), {
    getSecret: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      seen.push(call.metadata);
      upstream[call.request.name]!(call, cb);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const address = `127.0.0.1:${port}`;
  const forwarder = new GrpcForwarder({ channelCredentials: () => grpc.credentials.createInsecure(), logger: pino({ level: 'silent' }) });
  t.teardown(() => forwarder.close());
  const forward = (name: string): Promise<Answer> => forwardOrNot(name) as Promise<Answer>;
  const forwardOrNot = (name: string) => forwarder.forward(address, { path: PATH, request: { vault: 'payroll', name }, authorization: 'Bearer tok', hops: 1, deadlineMs: Date.now() + 5000 });

  // The same call made directly: what a client of the other node hears.
  const Secrets = apiClient('Secrets');
  const client = new Secrets(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    getSecret(r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void;
  };
  t.teardown(() => client.close());
  const direct = (name: string) => new Promise<grpc.ServiceError>((resolve) => client.getSecret({ vault: 'payroll', name }, {}, (e) => resolve(e!)));
  /** The status this node sends for a relayed answer (src/server/handler.ts's unaryHandler). */
  const relayed = (a: Answer) => (a.ok ? undefined : toServiceError(a.error, metadataOf(a.headers)));
  const trailers = (md: grpc.Metadata | undefined) => Object.fromEntries(Object.entries(md?.getMap() ?? {}).filter(([k]) => k.startsWith('keyraft-') || k === 'retry-after-ms'));

  const served = await forward('served');
  t.match(served, { ok: true, response: { value: 'hunter2' } }, 'the response, as proto-loader decodes it');
  t.same(served.headers, { 'keyraft-node': 'up', 'keyraft-mode': 'SERVING', 'keyraft-commit-index': '7' }, 'with the headers of the node that served it');
  t.equal(seen[0]!.get('authorization')[0], 'Bearer tok', 'the caller\'s token goes along: the node there authenticates again');
  t.equal(seen[0]!.get('keyraft-hops')[0], '1', 'with the hop count');

  for (const name of ['missing', 'throttled', 'trailersOnly']) {
    const answer = await forward(name);
    const there = await direct(name);
    const here = relayed(answer)!;
    t.equal(here.code, there.code, `${name}: the same status`);
    t.equal(here.details, there.details, `${name}: the same message`);
    t.same(trailers(here.metadata), trailers(there.metadata), `${name}: the same trailers`);
  }
  t.match(await forward('throttled'), { ok: false, error: { retryAfterMs: 121 } }, 'a throttled refusal keeps when to try again');
  t.same((await forward('trailersOnly')).headers, { 'keyraft-node': 'up' }, 'headers from the trailers when none came before');

  t.match(await forwardOrNot('foreign'), { unreachable: /no healthy upstream/ }, 'an answer without a keyraft reason: nobody answered');
});
