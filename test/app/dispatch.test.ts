// The application layer's unary entry, which the REST gateway calls, without
// gRPC: a real VaultApp on a real one-node Replica, with the gate, router and
// operations wired as src/node.ts wires them. Where a call would leave the
// node, a fake Forwarder records it and answers for the other node.

import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import type { AuditEntry } from '../../src/app/audit-log.js';
import { bootstrapAuth } from '../../src/app/bootstrap.js';
import type { ClusterView } from '../../src/app/cluster-view.js';
import { Code } from '../../src/app/codes.js';
import { CommandRunner } from '../../src/app/command-runner.js';
import { type CallContext, Dispatcher } from '../../src/app/dispatch.js';
import { ApiError, classify } from '../../src/app/errors.js';
import { CallGate } from '../../src/app/gate.js';
import type { NodeContext } from '../../src/app/node-context.js';
import { apiOperations } from '../../src/app/operations/index.js';
import { principalToken } from '../../src/app/operations/principals.js';
import { type Answer, type ForwardedCall, type Forwarder, Router } from '../../src/app/router.js';
import { VaultApp } from '../../src/app/vault-app.js';
import { Envelope } from '../../src/crypto/envelope.js';
import type { Replica } from '../../src/replica/replica.js';
import type { VaultAppResult } from '../../src/app/vault-app.js';
import { DEFAULT_DATA_KEY_POLICY, DEFAULT_VERSION_LIMITS } from '../../src/vault/index.js';
import { singleLeader } from '../replica/harness.js';

const ISSUER = 'test-cluster';
const V = '/keyraft.v1.';
const logger = pino({ level: 'silent' });

/** What the other node answers, and every call sent to it. */
class FakeForwarder implements Forwarder {
  readonly sent: { address: string; call: ForwardedCall }[] = [];
  answer: Answer | { unreachable: string } = { ok: true, response: { forwarded: true }, headers: { 'keyraft-node': 'east-1', 'keyraft-region': 'east' } };

  async forward(address: string, call: ForwardedCall) {
    this.sent.push({ address, call });
    return this.answer;
  }
}

const noCluster = new Proxy({} as ClusterView, {
  get: () => () => Promise.reject(new Error('no other node in this test')),
});

/** One node's state and gate, and a dispatcher over them for any region role and mode. */
async function setUp(t: Test) {
  const envelope = new Envelope(randomBytes(32));
  const app = new VaultApp(envelope, logger);
  // The harness opens it untyped; its application is this VaultApp.
  const replica = (await singleLeader(t, { app })) as Replica<VaultAppResult>;
  const gate = new CallGate({ directory: app.directory, issuer: ISSUER, nowMs: Date.now });
  const audit: AuditEntry[] = [];
  const dispatcher = (node: Partial<NodeContext> = {}, forwarder: Forwarder = new FakeForwarder()) => {
    const ctx: NodeContext = {
      nodeId: 'a',
      region: 'east',
      regionRole: 'primary',
      replica,
      logger,
      mode: () => 'SERVING',
      clientAddress: (id) => `${id}:7000`,
      primaryAddresses: ['east-1:7000', 'east-2:7000'],
      ...node,
    };
    const deps = { ctx, app, envelope, issuer: ISSUER, status: noCluster, dataKeyPolicy: DEFAULT_DATA_KEY_POLICY, versionLimits: DEFAULT_VERSION_LIMITS };
    const runner = new CommandRunner(deps);
    return { runner, dispatcher: new Dispatcher({ operations: apiOperations(deps, runner), router: new Router(ctx, forwarder), gate, onComplete: (e) => audit.push(e) }) };
  };
  const primary = dispatcher();
  await bootstrapAuth(primary.runner, envelope, 5000);
  const bearer = async (principal: string) => `Bearer ${(await principalToken(app, principal, 60_000, ISSUER)).token}`;
  const call = (authorization?: string): CallContext => ({ authorization, deadlineMs: Date.now() + 5000, peer: 'ipv4:127.0.0.1:5000' });
  return { app, audit, primary: primary.dispatcher, dispatcher: (node: Partial<NodeContext>, forwarder?: Forwarder) => dispatcher(node, forwarder).dispatcher, bearer, call };
}

const failure = (a: Answer) => (a.ok ? undefined : classify(a.error));

t.test('unary authorizes, runs a write and a read, and audits each call once', async (t) => {
  const { app, audit, primary, bearer, call } = await setUp(t);
  const admin = call(await bearer('admin'));

  const vault = await primary.unary(`${V}Vaults/CreateVault`, { name: 'payroll' }, admin);
  t.ok(vault.ok, 'the administrator creates a vault');
  const set = await primary.unary(`${V}Secrets/SetSecret`, { vault: 'payroll', name: 'db', value: 'hunter2' }, admin);
  t.ok(set.ok, 'and sets a secret');
  t.match(set.headers, { 'keyraft-node': 'a', 'keyraft-region': 'east', 'keyraft-mode': 'SERVING', 'keyraft-commit-index': /^\d+$/ }, 'the write names who served it and its log index');
  const got = await primary.unary(`${V}Secrets/GetSecret`, { vault: 'payroll', name: 'db' }, admin);
  t.match(got, { ok: true, response: { value: 'hunter2' } }, 'the read answers the value');

  const none = await primary.unary(`${V}Secrets/SetSecret`, { vault: 'payroll', name: 'db', value: 'changed' }, call());
  t.match(failure(none), { code: Code.UNAUTHENTICATED, reason: 'TOKEN_MISSING' }, 'no token: UNAUTHENTICATED');
  t.equal(none.headers['keyraft-node'], 'a', 'the refusal names the node that made it');
  const forged = await primary.unary(`${V}Secrets/GetSecret`, { vault: 'payroll', name: 'db' }, call('Bearer not-a-token'));
  t.match(failure(forged), { code: Code.UNAUTHENTICATED }, 'a token that is not ours: UNAUTHENTICATED');

  t.ok((await primary.unary(`${V}Cluster/CreatePrincipal`, { name: 'reader' }, admin)).ok);
  const assigned = await primary.unary(`${V}Cluster/CreateRoleAssignment`, { principal: 'reader', role: 'Key Vault Secrets User', scope: '/vaults/payroll' }, admin);
  t.ok(assigned.ok, 'a principal that may only read the secrets of payroll');
  const reader = call(await bearer('reader'));
  const denied = await primary.unary(`${V}Secrets/SetSecret`, { vault: 'payroll', name: 'db', value: 'changed' }, reader);
  t.match(failure(denied), { code: Code.PERMISSION_DENIED, reason: 'FORBIDDEN' }, 'the wrong role: PERMISSION_DENIED, FORBIDDEN');
  t.equal(app.state.versionCount('secret', 'payroll', 'db'), 1, 'no refused write changed the state');
  t.match(await primary.unary(`${V}Secrets/GetSecret`, { vault: 'payroll', name: 'db' }, reader), { ok: true, response: { value: 'hunter2' } }, 'the reader reads');

  const invalid = await primary.unary(`${V}Secrets/GetSecret`, { vault: 'payroll', name: 'not_valid' }, admin);
  t.match(failure(invalid), { code: Code.INVALID_ARGUMENT, reason: 'INVALID_NAME' }, 'validation refuses as over gRPC');

  t.equal(audit.length, 10, 'one audit entry per call');
  t.match(audit[1], { path: `${V}Secrets/SetSecret`, principal: 'admin', vaultField: 'vault', code: Code.OK, reason: undefined, peer: 'ipv4:127.0.0.1:5000' });
  t.match(audit[3], { principal: undefined, request: undefined, code: Code.UNAUTHENTICATED, reason: 'TOKEN_MISSING' }, 'an unauthenticated call: no caller, no request looked at');
  t.match(audit[7], { principal: 'reader', request: { vault: 'payroll', name: 'db' }, code: Code.PERMISSION_DENIED, reason: 'FORBIDDEN' });
});

t.test('a FAILED_OVER secondary serves the read-only list from its state and refuses writes', async (t) => {
  const { primary, dispatcher, bearer, call } = await setUp(t);
  const admin = call(await bearer('admin'));
  t.ok((await primary.unary(`${V}Vaults/CreateVault`, { name: 'payroll' }, admin)).ok);
  t.ok((await primary.unary(`${V}Secrets/SetSecret`, { vault: 'payroll', name: 'db', value: 'hunter2' }, admin)).ok);

  const forwarder = new FakeForwarder();
  const secondary = dispatcher({ region: 'west', regionRole: 'secondary', mode: () => 'FAILED_OVER', primaryIndex: () => 42 }, forwarder);
  const write = await secondary.unary(`${V}Secrets/SetSecret`, { vault: 'payroll', name: 'db', value: 'changed' }, admin);
  t.match(failure(write), { code: Code.FAILED_PRECONDITION, reason: 'READ_ONLY_FAILOVER' }, 'a write: READ_ONLY_FAILOVER');
  const unlisted = await secondary.unary(`${V}Secrets/ListSecretVersions`, { vault: 'payroll', name: 'db' }, admin);
  t.match(failure(unlisted), { reason: 'READ_ONLY_FAILOVER' }, 'a read that is not on the seed\'s list too');
  const read = await secondary.unary(`${V}Secrets/GetSecret`, { vault: 'payroll', name: 'db' }, admin);
  t.match(read, { ok: true, response: { value: 'hunter2' } }, 'GetSecret is served here');
  t.same(read.headers, { 'keyraft-region': 'west', 'keyraft-node': 'a', 'keyraft-mode': 'FAILED_OVER', 'keyraft-primary-index': '42' });
  t.equal(forwarder.sent.length, 0, 'nothing was forwarded');
});

t.test('forwarding: a STANDBY secondary to the primary, a primary follower\'s writes to its leader', async (t) => {
  const { dispatcher, bearer, call, audit } = await setUp(t);
  const token = await bearer('admin');

  const toPrimary = new FakeForwarder();
  const standby = dispatcher({ regionRole: 'secondary', mode: () => 'STANDBY' }, toPrimary);
  const read = await standby.unary(`${V}Secrets/GetSecret`, { vault: 'payroll', name: 'db' }, call(token));
  t.same(read, { ok: true, response: { forwarded: true }, headers: { 'keyraft-node': 'east-1', 'keyraft-region': 'east' } }, 'the primary\'s answer, naming the primary node');
  t.equal(toPrimary.sent.length, 1);
  t.match(toPrimary.sent[0], { address: 'east-1:7000', call: { path: `${V}Secrets/GetSecret`, request: { vault: 'payroll', name: 'db' }, authorization: token, hops: 1 } }, 'with the caller\'s token, one hop further');

  const refused = new ApiError(Code.NOT_FOUND, 'SECRET_NOT_FOUND', 'no secret db');
  toPrimary.answer = { ok: false, error: refused, headers: { 'keyraft-node': 'east-2' } };
  const missing = await standby.unary(`${V}Secrets/GetSecret`, { vault: 'payroll', name: 'db' }, call(token));
  t.same(missing, { ok: false, error: refused, headers: { 'keyraft-node': 'east-2' } }, 'the primary\'s refusal is relayed as it is');
  t.match(audit.at(-1), { code: Code.NOT_FOUND, reason: 'SECRET_NOT_FOUND' }, 'and audited with its status');

  toPrimary.answer = { unreachable: 'connection refused' };
  const down = await standby.unary(`${V}Secrets/GetSecret`, { vault: 'payroll', name: 'db' }, call(token));
  t.match(failure(down), { code: Code.UNAVAILABLE, reason: 'PRIMARY_UNREACHABLE' }, 'no primary node answers');
  t.same(toPrimary.sent.slice(-2).map((s) => s.address), ['east-1:7000', 'east-2:7000'], 'after every primary node was tried');

  const toLeader = new FakeForwarder();
  const follower = dispatcher({ replica: { isLeader: false, leader: 'b' } as Replica<VaultAppResult> }, toLeader);
  const write = await follower.unary(`${V}Secrets/SetSecret`, { vault: 'payroll', name: 'db', value: 'v' }, call(token));
  t.ok(write.ok, 'the leader\'s answer');
  t.match(toLeader.sent, [{ address: 'b:7000', call: { path: `${V}Secrets/SetSecret`, authorization: token, hops: 1 } }], 'sent to the leader');
});
