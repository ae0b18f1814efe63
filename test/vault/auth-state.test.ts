// The replicated authorization state: principals (case-insensitive names, a
// generation that a reset bumps and that a re-created name never reuses),
// role assignments (checked by src/auth's role table, unique per principal,
// role and scope, gone with their principal), and token keys (sealed, kept
// by id). Every refusal writes nothing; retries are answered, not applied
// again; the records rebuild the same state from a snapshot and from LevelDB.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { allows, generateTokenKey, tokenKeyFromSeed, tokenKeyId, tokenKeySeed } from '../../src/auth/index.js';
import { Envelope } from '../../src/crypto/envelope.js';
import { NodeStore } from '../../src/storage/store.js';
import {
  type ApplyResult,
  type Command,
  ErrorKind,
  MAX_ROLE_ASSIGNMENTS_PER_PRINCIPAL,
  MAX_TOKEN_KEYS,
  VaultState,
  decodeCommand,
  encodeCommand,
  tokenKeySealContext,
  validatePrincipalName,
} from '../../src/vault/index.js';
import { Harness, type Op, recordsOf, setOp, thrown, ver } from './fixtures/harness.js';

/** A role assignment id as the leader makes them. */
const rid = (n: number) => n.toString(16).padStart(32, '0');

const createPrincipal = (name: string, generation?: number): Op => ({
  op: 'createPrincipal',
  createPrincipal: generation === undefined ? { name } : { name, generation },
});
const deletePrincipal = (name: string): Op => ({ op: 'deletePrincipal', deletePrincipal: { name } });
const resetPrincipal = (name: string): Op => ({ op: 'resetPrincipal', resetPrincipal: { name } });
const assign = (id: string, principal: string, role: string, scope: string): Op => ({
  op: 'createRoleAssignment',
  createRoleAssignment: { id, principal, role, scope },
});
const unassign = (id: string): Op => ({ op: 'deleteRoleAssignment', deleteRoleAssignment: { id } });

function principalOf(r: ApplyResult) {
  if (r.kind !== 'principal') throw new Error(`not a principal: ${r.kind}`);
  return r.principal;
}

function assignmentOf(r: ApplyResult) {
  if (r.kind !== 'roleAssignment') throw new Error(`not a role assignment: ${r.kind}`);
  return r.roleAssignment;
}

/** A token key made as the leader makes one: the seed sealed under the envelope's data key. */
async function sealedTokenKey(envelope: Envelope) {
  const key = generateTokenKey();
  const keyId = await tokenKeyId(key);
  const seed = tokenKeySeed(key);
  return { key, keyId, seed, sealedSeed: envelope.seal(seed, tokenKeySealContext(keyId)) };
}

function newEnvelope(): Envelope {
  const envelope = new Envelope(new Uint8Array(32).fill(7));
  const { keyId, wrapped } = envelope.newDataKey();
  envelope.installDataKey(keyId, wrapped);
  return envelope;
}

t.test('principals: created once whatever the case, listed by name, found by any case', async (t) => {
  const h = new Harness();
  const alice = principalOf(h.ok(createPrincipal('Alice')));
  t.same(alice, { name: 'Alice', generation: 0, createdMs: h.now });
  h.now += 1000;
  t.same(principalOf(h.ok(createPrincipal('bob@example.com'))), { name: 'bob@example.com', generation: 1, createdMs: h.now });
  const dup = h.fail(createPrincipal('ALICE'));
  t.equal(dup.kind, ErrorKind.AlreadyExists);
  t.equal(dup.reason, 'PRINCIPAL_ALREADY_EXISTS');
  t.match(dup.message, /"Alice"/, 'names the existing principal as created');

  t.same(h.state.principal('alice'), alice);
  t.same(h.state.principal('ALICE'), alice);
  t.equal(h.state.principal('carol'), undefined);
  // toLowerCase folds the Kelvin sign onto "k": a name outside the alphabet must not find "kate".
  h.ok(createPrincipal('kate'));
  t.equal(h.state.principal('\u212Aate'), undefined);
  t.equal(h.state.principal(''), undefined);
  t.same(
    h.state.listPrincipals().map((p) => p.name),
    ['Alice', 'bob@example.com', 'kate'],
  );
});

t.test('principal names: 1-64 of letters, digits and . _ @ -, a letter or digit first', async (t) => {
  for (const ok of ['a', '7', 'svc.deploy_1', 'me@corp.example', 'A-b', 'x'.repeat(64)]) t.equal(validatePrincipalName(ok), ok);
  const h = new Harness();
  for (const bad of ['', 'x'.repeat(65), '-a', '.a', '_a', '@a', 'a b', 'a/b', 'a:b', 'é', '\u212Aate', 42, null, undefined]) {
    const e = h.fail({ op: 'createPrincipal', createPrincipal: { name: bad as string } });
    t.equal(e.kind, ErrorKind.InvalidArgument, String(bad));
    t.equal(e.reason, 'INVALID_NAME', String(bad));
  }
  t.equal(h.state.listPrincipals().length, 0);
  t.equal(h.fail(createPrincipal('a', -1)).reason, 'BAD_PARAMETER');
  t.equal(h.fail(createPrincipal('a', 1.5)).reason, 'BAD_PARAMETER');
  t.equal(h.fail(createPrincipal('a', 2 ** 33)).reason, 'BAD_PARAMETER');
});

t.test('reset bumps the generation by one; a re-created name starts above every generation ever held', async (t) => {
  const h = new Harness();
  const created = principalOf(h.ok(createPrincipal('alice')));
  h.ok(createPrincipal('bob'));
  h.now += 1000;
  t.equal(principalOf(h.ok(resetPrincipal('ALICE'))).generation, 1);
  t.equal(principalOf(h.ok(resetPrincipal('alice'))).generation, 2);
  t.equal(h.state.principal('alice')!.generation, 2);
  t.equal(h.state.principal('bob')!.generation, 1, 'another principal is untouched');
  t.equal(h.state.principal('alice')!.createdMs, created.createdMs, 'a reset keeps the creation time');

  const gone = principalOf(h.ok(deletePrincipal('Alice')));
  t.same(gone, { name: 'alice', generation: 2, createdMs: created.createdMs }, 'delete answers the principal as it was');
  t.equal(h.state.principal('alice'), undefined);
  const again = principalOf(h.ok(createPrincipal('alice')));
  t.ok(again.generation > 2, `a token of the deleted alice (generation 0-2) cannot match the new one (${again.generation})`);
  t.equal(again.generation, 3);

  t.equal(principalOf(h.ok(createPrincipal('carol', 100))).generation, 100, 'a given generation above the counter is kept');
  t.equal(principalOf(h.ok(createPrincipal('dave', 5))).generation, 101, 'one below the counter is raised');
  t.equal(principalOf(h.ok(createPrincipal('erin', 0))).generation, 102);

  for (const op of [resetPrincipal('nobody'), deletePrincipal('nobody')]) {
    const e = h.fail(op);
    t.equal(e.kind, ErrorKind.NotFound);
    t.equal(e.reason, 'PRINCIPAL_NOT_FOUND');
  }
  t.equal(h.fail(resetPrincipal('no way')).reason, 'INVALID_NAME');
});

t.test('role assignments: checked by the role table, unique per principal, role and scope', async (t) => {
  const h = new Harness();
  h.ok(createPrincipal('Alice'));
  h.ok(createPrincipal('bob'));
  const a1 = assignmentOf(h.ok(assign(rid(1), 'alice', 'key vault secrets user', '/vaults/Prod')));
  t.same(a1, { id: rid(1), principal: 'Alice', role: 'Key Vault Secrets User', scope: '/vaults/prod', createdMs: h.now }, 'stored in canonical spelling');
  h.ok(assign(rid(2), 'ALICE', 'Key Vault Reader', '/'));
  h.ok(assign(rid(3), 'alice', 'Key Vault Secrets User', '/vaults/dev'));
  h.ok(assign(rid(4), 'bob', 'Cluster Administrator', '/'));

  const dup = h.fail(assign(rid(5), 'alice', 'Key Vault Secrets User', '/vaults/PROD'));
  t.equal(dup.kind, ErrorKind.AlreadyExists);
  t.equal(dup.reason, 'ROLE_ASSIGNMENT_ALREADY_EXISTS');
  t.match(dup.message, new RegExp(rid(1)), 'names the assignment that already grants it');
  t.equal(h.fail(assign(rid(1), 'bob', 'Key Vault Reader', '/')).reason, 'ROLE_ASSIGNMENT_ALREADY_EXISTS', 'an id taken');

  const unknown = h.fail(assign(rid(6), 'carol', 'Key Vault Reader', '/'));
  t.equal(unknown.kind, ErrorKind.NotFound);
  t.equal(unknown.reason, 'PRINCIPAL_NOT_FOUND');
  const refusals: [Op, string][] = [
    [assign(rid(6), 'alice', 'Key Vault Owner', '/'), 'INVALID_ROLE'],
    [assign(rid(6), 'alice', '', '/'), 'INVALID_ROLE'],
    [assign(rid(6), 'alice', 'Key Vault Reader', ''), 'INVALID_SCOPE'],
    [assign(rid(6), 'alice', 'Key Vault Reader', '/vaults/'), 'INVALID_SCOPE'],
    [assign(rid(6), 'alice', 'Key Vault Reader', '/vaults/a--b'), 'INVALID_SCOPE'],
    [assign(rid(6), 'alice', 'Key Vault Reader', '/subscriptions/x'), 'INVALID_SCOPE'],
    [assign(rid(6), 'alice', 'Cluster Administrator', '/vaults/prod'), 'INVALID_SCOPE'],
    [assign('ABC', 'alice', 'Key Vault Reader', '/'), 'BAD_PARAMETER'],
    [assign(rid(6).toUpperCase().replace(/0/g, 'A'), 'alice', 'Key Vault Reader', '/'), 'BAD_PARAMETER'],
    [assign(rid(6), 'a b', 'Key Vault Reader', '/'), 'INVALID_NAME'],
  ];
  for (const [op, reason] of refusals) {
    const e = h.fail(op);
    t.equal(e.kind, ErrorKind.InvalidArgument, JSON.stringify(op));
    t.equal(e.reason, reason, JSON.stringify(op));
  }

  // By role, then scope, then id: the same order whatever order they were made in.
  t.same(
    h.state.roleAssignments('alice').map((a) => [a.role, a.scope]),
    [
      ['Key Vault Reader', '/'],
      ['Key Vault Secrets User', '/vaults/dev'],
      ['Key Vault Secrets User', '/vaults/prod'],
    ],
  );
  t.same(
    h.state.roleAssignments().map((a) => a.id),
    [rid(2), rid(3), rid(1), rid(4)],
    'every assignment, by principal name',
  );
  t.same(h.state.roleAssignments('carol'), []);
  t.same(h.state.roleAssignments('\u212Aate'), []);

  // What the interceptor does with them.
  const mine = h.state.roleAssignments('ALICE');
  t.ok(allows(mine, 'secrets/getSecret', 'Prod'));
  t.notOk(allows(mine, 'secrets/getSecret', 'other'));
  t.ok(allows(h.state.roleAssignments('bob'), 'cluster/principals', undefined));

  const removed = assignmentOf(h.ok(unassign(rid(3))));
  t.equal(removed.scope, '/vaults/dev', 'delete answers the assignment as it was');
  t.same(
    h.state.roleAssignments('alice').map((a) => a.id),
    [rid(2), rid(1)],
  );
  const again = h.fail(unassign(rid(3)));
  t.equal(again.kind, ErrorKind.NotFound);
  t.equal(again.reason, 'ROLE_ASSIGNMENT_NOT_FOUND');
  t.equal(h.fail(unassign('nope')).reason, 'BAD_PARAMETER');
  h.ok(assign(rid(3), 'alice', 'Key Vault Secrets User', '/vaults/dev'));
  t.equal(h.state.roleAssignments('alice').length, 3, 'a deleted assignment can be made again');
});

t.test('what queries hand out is frozen: a caller cannot change the state through it', async (t) => {
  const h = new Harness();
  h.ok(createPrincipal('alice'));
  h.ok(assign(rid(1), 'alice', 'Key Vault Reader', '/'));
  const before = h.dump();
  const p = h.state.principal('alice')!;
  const list = h.state.roleAssignments('alice');
  t.throws(() => {
    (p as { generation: number }).generation = 99;
  });
  t.throws(() => {
    (list as unknown[]).push({ id: rid(2), principal: 'alice', role: 'Key Vault Administrator', scope: '/' });
  });
  t.throws(() => {
    (list[0] as { role: string }).role = 'Key Vault Administrator';
  });
  t.same(h.dump(), before);
  t.same(h.state.roleAssignments('alice')[0]!.role, 'Key Vault Reader');
});

t.test('deleting a principal deletes its role assignments, and only its', async (t) => {
  const h = new Harness();
  h.ok(createPrincipal('alice'));
  h.ok(createPrincipal('bob'));
  h.ok(assign(rid(1), 'alice', 'Key Vault Reader', '/'));
  h.ok(assign(rid(2), 'alice', 'Key Vault Crypto User', '/vaults/abc'));
  h.ok(assign(rid(3), 'bob', 'Key Vault Reader', '/'));
  const out = h.run(deletePrincipal('alice'));
  t.ok('result' in out);
  t.same(
    out.mutations.map((m) => `${m.op} ${m.key}`),
    // In the principal's order: by role (Crypto User before Reader).
    [`del roleassignment/${rid(2)}`, `del roleassignment/${rid(1)}`, 'del principal/alice'],
  );
  t.same(h.state.roleAssignments('alice'), []);
  t.same(
    h.state.roleAssignments().map((a) => a.id),
    [rid(3)],
  );
  t.equal(h.fail(unassign(rid(1))).reason, 'ROLE_ASSIGNMENT_NOT_FOUND');
  h.ok(createPrincipal('alice'));
  t.same(h.state.roleAssignments('alice'), [], 'a re-created name inherits nothing');
  t.notOk(Object.keys(h.dump()).some((k) => k === `roleassignment/${rid(1)}`));
});

t.test('deleting a vault deletes the role assignments scoped to it, and only those', async (t) => {
  const h = new Harness();
  h.createVault('abc');
  h.createVault('xyz');
  h.ok(createPrincipal('alice'));
  h.ok(assign(rid(1), 'alice', 'Key Vault Reader', '/vaults/ABC'));
  h.ok(assign(rid(2), 'alice', 'Key Vault Reader', '/vaults/xyz'));
  h.ok(assign(rid(3), 'alice', 'Key Vault Crypto User', '/'));
  const out = h.run({ op: 'deleteVault', deleteVault: { name: 'Abc' } });
  t.ok('result' in out);
  t.ok(out.mutations.some((m) => m.op === 'del' && m.key === `roleassignment/${rid(1)}`), 'the vault-scoped assignment is deleted with it');
  t.same(h.state.roleAssignments('alice').map((a) => a.id).sort(), [rid(2), rid(3)]);
  h.createVault('abc');
  t.notOk(allows(h.state.roleAssignments('alice'), 'secrets/readMetadata', 'abc'), 'a vault made again under the name inherits no reader');
});

t.test('a principal holds a bounded number of role assignments', async (t) => {
  const h = new Harness();
  h.ok(createPrincipal('alice'));
  for (let i = 0; i < MAX_ROLE_ASSIGNMENTS_PER_PRINCIPAL; i++) h.ok(assign(rid(i + 1), 'alice', 'Key Vault Reader', `/vaults/vault${i}`));
  const e = h.fail(assign(rid(100_000), 'alice', 'Key Vault Reader', '/'));
  t.equal(e.kind, ErrorKind.FailedPrecondition);
  t.equal(e.reason, 'TOO_MANY_ROLE_ASSIGNMENTS');
});

t.test('token keys: sealed, kept by id, newest first, and the seed is nowhere in the clear', async (t) => {
  const envelope = newEnvelope();
  const h = new Harness();
  const k1 = await sealedTokenKey(envelope);
  const k2 = await sealedTokenKey(envelope);
  const install = (k: { keyId: string; sealedSeed: Uint8Array }): Op => ({ op: 'installTokenKey', installTokenKey: { keyId: k.keyId, sealedSeed: k.sealedSeed } });

  t.same(h.state.tokenKeys(), []);
  t.same(h.ok(install(k1)), { kind: 'none' });
  t.same(h.ok(install(k2)), { kind: 'none' });
  t.same(
    h.state.tokenKeys().map((k) => k.keyId),
    [k2.keyId, k1.keyId],
    'newest first',
  );

  // The same key again, sealed anew (random IV, so other bytes): nothing changes, its place included.
  const resealed = { keyId: k1.keyId, sealedSeed: envelope.seal(k1.seed, tokenKeySealContext(k1.keyId)) };
  t.not(Buffer.compare(resealed.sealedSeed, k1.sealedSeed), 0);
  const before = h.dump();
  const again = h.run(install(resealed));
  t.ok('result' in again);
  t.same(again.mutations, [], 'no record written');
  t.same(h.dump(), before);
  t.same(
    h.state.tokenKeys().map((k) => k.keyId),
    [k2.keyId, k1.keyId],
  );

  // Every node opens what the leader sealed, into the key the id names.
  for (const k of h.state.tokenKeys()) {
    const seed = envelope.open(k.sealedSeed, tokenKeySealContext(k.keyId));
    t.equal(await tokenKeyId(tokenKeyFromSeed(seed)), k.keyId);
  }
  t.throws(() => envelope.open(h.state.tokenKeys()[0]!.sealedSeed, tokenKeySealContext(k1.keyId)), /does not authenticate/, 'a seed is bound to its id');

  // The seeds, raw or in any encoding the records or the log could use, appear nowhere.
  const cmdBytes = [install(k1), install(k2)].map((op) => Buffer.from(encodeCommand(h.command(op))));
  const stored = [...h.state.records()].map(([k, v]) => Buffer.concat([Buffer.from(k), Buffer.from(v)]));
  for (const { seed } of [k1, k2]) {
    for (const needle of [seed, Buffer.from(seed.toString('base64')), Buffer.from(seed.toString('base64url')), Buffer.from(seed.toString('hex'))]) {
      t.notOk(stored.some((b) => b.includes(needle)), 'not in the state records');
      t.notOk(cmdBytes.some((b) => b.includes(needle)), 'not in the log entry');
    }
  }

  // A value no longer than a seed cannot be a sealed one: refused, so a plaintext seed never gets in.
  const plain = h.fail({ op: 'installTokenKey', installTokenKey: { keyId: 'k3', sealedSeed: k1.seed } });
  t.equal(plain.reason, 'BAD_PARAMETER');
  t.equal(h.fail({ op: 'installTokenKey', installTokenKey: { keyId: 'k3', sealedSeed: new Uint8Array(257) } }).reason, 'BAD_PARAMETER');
  for (const keyId of ['', 'a/b', 'a b', 'x'.repeat(129), 7]) {
    t.equal(h.fail({ op: 'installTokenKey', installTokenKey: { keyId: keyId as string, sealedSeed: k1.sealedSeed } }).reason, 'BAD_PARAMETER', String(keyId));
  }

  // A bounded list: every key is tried on every request.
  for (let i = 2; i < MAX_TOKEN_KEYS; i++) h.ok({ op: 'installTokenKey', installTokenKey: { keyId: `k${i}`, sealedSeed: new Uint8Array(69).fill(i) } });
  const full = h.fail({ op: 'installTokenKey', installTokenKey: { keyId: 'one-more', sealedSeed: new Uint8Array(69) } });
  t.equal(full.kind, ErrorKind.FailedPrecondition);
  t.equal(full.reason, 'TOO_MANY_TOKEN_KEYS');
  t.ok('result' in h.run(install(k1)), 'a key already installed is still accepted when the list is full');
});

t.test('a retried command is answered with its first result and applied once', async (t) => {
  const h = new Harness();
  const first = h.ok({ ...createPrincipal('alice'), requestId: 'r1' });
  h.now += 1000;
  const retry = h.run({ ...createPrincipal('ALICE'), requestId: 'r1' });
  t.same('result' in retry && retry.result, first, 'the first answer, not PRINCIPAL_ALREADY_EXISTS');
  t.same(retry.mutations, []);

  const reset = h.ok({ ...resetPrincipal('alice'), requestId: 'r2' });
  const resetAgain = h.run({ ...resetPrincipal('alice'), requestId: 'r2' });
  t.same('result' in resetAgain && resetAgain.result, reset);
  t.equal(h.state.principal('alice')!.generation, 1, 'bumped once');

  // The leader draws a new assignment id for each attempt: still the same request.
  const a = h.ok({ ...assign(rid(1), 'alice', 'Key Vault Reader', '/'), requestId: 'r3' });
  const aAgain = h.run({ ...assign(rid(2), 'Alice', 'key vault reader', '/'), requestId: 'r3' });
  t.same('result' in aAgain && aAgain.result, a);
  t.same(
    h.state.roleAssignments('alice').map((x) => x.id),
    [rid(1)],
  );

  const reused = h.fail({ ...deletePrincipal('alice'), requestId: 'r1' });
  t.equal(reused.reason, 'REQUEST_ID_REUSED');
  const otherTarget = h.fail({ ...assign(rid(3), 'alice', 'Key Vault Reader', '/vaults/abc'), requestId: 'r3' });
  t.equal(otherTarget.reason, 'REQUEST_ID_REUSED');
  t.ok(h.state.principal('alice'));
});

/** Some of everything, each auth command's kind of outcome included. */
async function someOfEverything(): Promise<Op[]> {
  const envelope = newEnvelope();
  const ops: Op[] = [
    { op: 'createVault', createVault: { name: 'abc', softDeleteRetentionDays: 0, purgeProtection: false } },
    setOp('abc', 's1', 'v', {}, ver(1)),
    ...['zed', 'Alice', 'bob.smith', 'carol@x.io'].map((n) => createPrincipal(n)),
    resetPrincipal('alice'),
    assign(rid(9), 'zed', 'Key Vault Reader', '/'),
    assign(rid(3), 'alice', 'Key Vault Crypto User', '/vaults/abc'),
    assign(rid(1), 'alice', 'Key Vault Administrator', '/'),
    assign(rid(5), 'bob.smith', 'Cluster Administrator', '/'),
    assign(rid(7), 'carol@x.io', 'Key Vault Reader', '/'),
    deletePrincipal('carol@x.io'),
    { ...createPrincipal('dave'), requestId: 'req-dave' },
    unassign(rid(9)),
  ];
  for (let i = 0; i < 3; i++) {
    const k = await sealedTokenKey(envelope);
    ops.push({ op: 'installTokenKey', installTokenKey: { keyId: k.keyId, sealedSeed: k.sealedSeed } });
  }
  return ops;
}

async function populated(): Promise<Harness> {
  const h = new Harness();
  for (const op of await someOfEverything()) h.ok(op);
  return h;
}

const view = (s: VaultState) => ({
  principals: s.listPrincipals(),
  each: s.listPrincipals().map((p) => ({ p: s.principal(p.name.toUpperCase()), a: s.roleAssignments(p.name) })),
  all: s.roleAssignments(),
  tokenKeys: s.tokenKeys(),
  dataKeys: s.dataKeys(),
  vaults: s.listVaults(25, ''),
});

t.test('a snapshot (records in any order) rebuilds the same state, which goes on alike', async (t) => {
  const h = await populated();
  const records = [...h.state.records()];
  const byKey = records.slice().sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [label, order] of [
    ['as records() gives them', records],
    ['LevelDB key order', byKey],
    ['reversed', byKey.slice().reverse()],
  ] as const) {
    const loaded = VaultState.load(order);
    t.same(recordsOf(loaded), h.dump(), `${label}: same records`);
    t.same(view(loaded), view(h.state), `${label}: same answers`);
  }

  const twin = new Harness();
  twin.state = VaultState.load(records);
  twin.now = h.now;
  twin.index = h.index;
  for (const x of [h, twin]) {
    // The generation counter came along: a re-created name still starts above every old generation.
    x.ok(deletePrincipal('alice'));
    t.equal(principalOf(x.ok(createPrincipal('alice'))).generation, 5);
    x.ok(assign(rid(11), 'dave', 'Key Vault Reader', '/'));
    t.equal(x.fail(assign(rid(12), 'dave', 'Key Vault Reader', '/')).reason, 'ROLE_ASSIGNMENT_ALREADY_EXISTS');
    t.same(x.run({ ...createPrincipal('dave'), requestId: 'req-dave' }).mutations, [], 'the dedup table came along');
  }
  t.same(twin.dump(), h.dump());
  t.same(view(twin.state), view(h.state));
});

t.test('load refuses broken authorization records rather than guess', async (t) => {
  const h = await populated();
  const records = [...h.state.records()];
  const without = (pred: (k: string) => boolean) => records.filter(([k]) => !pred(k));
  t.throws(() => VaultState.load(without((k) => k === 'principal/alice')), /role assignment .* of a missing principal alice/);
  t.throws(() => VaultState.load(without((k) => k.startsWith('counter/'))), /not below the next/);
  const junk = new TextEncoder().encode('{"value":1}');
  for (const key of ['principal/a/b', 'roleassignment/a/b', 'tokenkey/a/b', 'counter/a/b']) {
    t.throws(() => VaultState.load([...records, [key, junk]]), /unknown record key/, key);
  }
  t.throws(() => VaultState.load([...records, ['counter/other', junk]]), /unknown counter/);
});

t.test('the state written to LevelDB and read back after a reopen is the same state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-auth-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let store = await NodeStore.open(dir);
  const h = new Harness();
  // One batch per command, as the replica persists an applied entry.
  for (const op of await someOfEverything()) {
    const out = h.run(op);
    t.notOk('error' in out, op.op);
    await store.write(out.mutations.map((m) => store.stateOp(m)), true);
  }
  await store.close();
  store = await NodeStore.open(dir);
  t.teardown(() => store.close());
  const loader = VaultState.loader();
  for await (const [key, value] of store.stateRecords()) loader.add(key, value);
  const reloaded = loader.finish();
  t.same(recordsOf(reloaded), h.dump(), 'same records');
  t.same(view(reloaded), view(h.state), 'same answers');
  t.equal(reloaded.listPrincipals().length, 4);
  t.equal(reloaded.roleAssignments().length, 3);
  t.equal(reloaded.tokenKeys().length, 3);
});

t.test('the new commands survive the log codec', async (t) => {
  const examples: Command[] = [
    { requestId: 'r', timeMs: 1, op: 'installTokenKey', installTokenKey: { keyId: 'kid-1', sealedSeed: new Uint8Array(69).fill(3) } },
    { requestId: '', timeMs: 2, op: 'createPrincipal', createPrincipal: { name: 'alice' } },
    { requestId: '', timeMs: 2, op: 'createPrincipal', createPrincipal: { name: 'alice', generation: 0 } },
    { requestId: '', timeMs: 2, op: 'createPrincipal', createPrincipal: { name: 'alice', generation: 2 ** 32 } },
    { requestId: '', timeMs: 3, op: 'deletePrincipal', deletePrincipal: { name: 'alice' } },
    { requestId: '', timeMs: 4, op: 'resetPrincipal', resetPrincipal: { name: 'alice' } },
    { requestId: '', timeMs: 5, op: 'createRoleAssignment', createRoleAssignment: { id: rid(1), principal: 'alice', role: 'Key Vault Reader', scope: '/' } },
    { requestId: '', timeMs: 6, op: 'deleteRoleAssignment', deleteRoleAssignment: { id: rid(1) } },
  ];
  for (const c of examples) t.same(decodeCommand(encodeCommand(c)), c, c.op);
  const absent = decodeCommand(encodeCommand(examples[1]!));
  t.ok(absent.op === 'createPrincipal' && !('generation' in absent.createPrincipal), 'an absent generation stays absent');
});

t.test('a refused auth command never throws and writes nothing, whatever its body', async (t) => {
  const h = new Harness();
  h.ok(createPrincipal('alice'));
  const bodies: unknown[] = [{}, { name: 5 }, { id: null }, { keyId: 'k', sealedSeed: 'x' }, { principal: {}, role: [], scope: 1 }, { generation: 'x', name: 'b' }];
  for (const op of ['installTokenKey', 'createPrincipal', 'deletePrincipal', 'resetPrincipal', 'createRoleAssignment', 'deleteRoleAssignment']) {
    for (const body of bodies) {
      const out = h.state.apply({ requestId: '', timeMs: h.now, op, [op]: body } as unknown as Command, ++h.index);
      t.ok('error' in out, `${op} ${JSON.stringify(body)}`);
      t.same(out.mutations, []);
    }
  }
  t.equal(thrown(() => validatePrincipalName('')).reason, 'INVALID_NAME');
});
