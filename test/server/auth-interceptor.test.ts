// The authorization interceptor on a real grpc-js server over TLS: a refused
// call never reaches its handler and leaves with its status, its reason in
// the message and the keyraft-reason trailer, and the metadata naming the
// node; an allowed call reaches the handler unchanged.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type RoleAssignment, generateTokenKey, issueToken } from '../../src/auth/index.js';
import type { AuthDirectory } from '../../src/app/authorize.js';
import { CallGate } from '../../src/app/gate.js';
import { ensurePki } from '../../src/ops/pki.js';
import { apiClient, apiService } from '../../src/server/api.js';
import { authInterceptor } from '../../src/server/auth-interceptor.js';
import { clientPortCredentials, nodeTls } from '../../src/transport/tls.js';

const ISSUER = 'test-cluster';

t.test('refusals stop at the interceptor; allowed calls reach the handler', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-auth-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await ensurePki(dir, [{ id: 'n1', hosts: [] }]);
  const tls = nodeTls(dir, 'n1');

  const key = generateTokenKey();
  const assignments: (RoleAssignment & { principal: string })[] = [{ principal: 'alice', role: 'Key Vault Secrets User', scope: '/vaults/payroll' }];
  const directory: AuthDirectory = {
    principal: (name) => (name === 'alice' ? { name, generation: 0 } : undefined),
    roleAssignments: (name) => assignments.filter((a) => a.principal === name),
    tokenKeys: () => [key],
  };
  const decisions: string[] = [];
  const served: unknown[] = [];
  const server = new grpc.Server({
    interceptors: [
      authInterceptor({
        gate: new CallGate({ directory, issuer: ISSUER, nowMs: () => Date.now() }),
        responseMetadata: () => {
          const md = new grpc.Metadata();
          md.set('keyraft-node', 'n1');
          return md;
        },
        onComplete: (d) => decisions.push(`${d.principal ?? '-'} ${d.reason ?? 'OK'}`),
      }),
    ],
  });
  const secrets = apiService('Secrets');
  server.addService(secrets, {
    getSecret: (call: grpc.ServerUnaryCall<{ vault: string; name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      served.push(call.request);
      cb(null, { value: 'hunter2' });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', clientPortCredentials(tls), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());

  const Secrets = apiClient('Secrets');
  const client = new Secrets(`127.0.0.1:${port}`, grpc.credentials.createSsl(tls.ca)) as unknown as grpc.Client & {
    getSecret(r: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { value: string }) => void): grpc.ClientUnaryCall;
  };
  t.teardown(() => client.close());
  const call = (request: object, authorization?: string) =>
    new Promise<{ code: grpc.status; details: string; reason: string; node: string; value?: string }>((resolve) => {
      const md = new grpc.Metadata();
      if (authorization !== undefined) md.set('authorization', authorization);
      let node = '';
      const c = client.getSecret(request, md, { deadline: Date.now() + 5000 }, (e, r) =>
        resolve({ code: e?.code ?? grpc.status.OK, details: e?.details ?? '', reason: String(e?.metadata.get('keyraft-reason')[0] ?? ''), node, ...(r ? { value: r.value } : {}) }),
      );
      c.on('metadata', (m) => (node = String(m.get('keyraft-node')[0] ?? '')));
    });
  const token = `Bearer ${(await issueToken({ principal: 'alice', generation: 0, key, ttlMs: 60_000, nowMs: Date.now(), issuer: ISSUER })).token}`;

  const none = await call({ vault: 'payroll', name: 'db' });
  t.equal(none.code, grpc.status.UNAUTHENTICATED, 'no token');
  t.equal(none.reason, 'TOKEN_MISSING', 'the reason in the trailer');
  t.match(none.details, /^TOKEN_MISSING: /, 'and as the message prefix');
  t.equal(none.node, 'n1', 'the refusal names the node that made it');

  const elsewhere = await call({ vault: 'other', name: 'db' }, token);
  t.equal(elsewhere.code, grpc.status.PERMISSION_DENIED, 'a vault the principal has no role on');
  t.equal(elsewhere.reason, 'FORBIDDEN');

  t.equal(served.length, 0, 'no refused call reached the handler');
  const allowed = await call({ vault: 'payroll', name: 'db' }, token);
  t.equal(allowed.code, grpc.status.OK, 'the right role on the vault');
  t.equal(allowed.value, 'hunter2');
  t.equal(served.length, 1, 'the allowed call reached the handler once');
  t.match(served[0], { vault: 'payroll', name: 'db' }, 'with its request');
  t.same(decisions, ['- TOKEN_MISSING', 'alice FORBIDDEN', 'alice OK'], 'every call is reported with its caller and outcome, for the audit log');
});
