// Backup and restore of the whole cluster: a snapshot saved through the CLI
// (and through the SDK from a STANDBY secondary, which relays the primary's
// stream) holds no secret value and no vault name in the clear; a tampered,
// truncated or wrongly keyed file is refused before anything is written; a
// caller without Cluster Administrator is refused; and a NEW cluster seeded
// from the file with the same master key has every object back: secret
// values and versions, the soft-deleted secret, keys that sign as before,
// the role assignment that still grants — and its secondary region catches
// up from the restored primary.

import t from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KeyraftClient, KeyraftError, type Key } from '../../src/client/index.js';
import { loadMasterKey } from '../../src/crypto/masterkey.js';
import { restoreCluster } from '../../src/ops/restore.js';
import { readSnapshotHeader } from '../../src/ops/snapshot-file.js';
import { PROTO_ROOT } from '../../src/protos.js';
import { loadTopology } from '../../src/topology.js';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(300_000);

const KEYRAFT = join(PROTO_ROOT, '..', 'bin', 'keyraft');
const VAULTS = ['zq-vault-alpha', 'zq-vault-beta'] as const;
const [A, B] = VAULTS;
const marker = () => `SECRET-${randomBytes(12).toString('hex')}`;

function publicKeyOf(key: Key) {
  const k = key.key!;
  const b64u = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('base64url');
  const jwk = k.kty === 'RSA' ? { kty: 'RSA', n: b64u(k.n), e: b64u(k.e) } : { kty: 'EC', crv: k.crv, x: b64u(k.x), y: b64u(k.y) };
  return createPublicKey({ format: 'jwk', key: jwk });
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof KeyraftError) return `${e.codeName} ${e.reason}`;
    throw e;
  }
}

t.test('a snapshot restores every object into a new cluster', async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'keyraft-restore-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const regions = [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 1 }];

  // ---- the old cluster, with one of everything ----
  const old = await TestCluster.create({ regions });
  t.teardown(() => old.destroy());
  old.startAll();
  const admin = new KeyraftClient({ ca: old.ca, token: old.token, endpoints: old.endpoints('east'), timeoutMs: 10_000 });
  t.teardown(() => admin.close());
  await eventually('the first vault', () => admin.createVault({ name: A }), 60_000);
  await admin.createVault({ name: B });
  const values = { db: [marker(), marker(), marker()], api: [marker()], gone: [marker()], cfg: [marker()] };
  const versions = new Map<string, string>();
  for (const v of values.db) versions.set((await admin.setSecret({ vault: A, name: 'db', value: v })).properties!.version, v);
  await admin.setSecret({ vault: A, name: 'api', value: values.api[0]!, contentType: 'text/plain', tags: { team: 'ops' } });
  await admin.setSecret({ vault: A, name: 'gone', value: values.gone[0]! });
  await admin.deleteSecret({ vault: A, name: 'gone' });
  await admin.setSecret({ vault: B, name: 'cfg', value: values.cfg[0]! });
  const rsa = await admin.createKey({ vault: A, name: 'rsa', kty: 'RSA', keySize: 2048 });
  const ec = await admin.createKey({ vault: A, name: 'ec', kty: 'EC', curve: 'P-256' });
  // More state than one 4 MB gRPC message: the stream must carry it in chunks.
  const bulk = Array.from({ length: 200 }, (_, i): [string, string] => [`bulk-${i}`, randomBytes(18_000).toString('base64')]);
  for (let i = 0; i < bulk.length; i += 20) await Promise.all(bulk.slice(i, i + 20).map(([name, value]) => admin.setSecret({ vault: B, name, value })));
  await admin.createPrincipal({ name: 'reader' });
  await admin.createRoleAssignment({ principal: 'reader', role: 'Key Vault Secrets User', scope: `/vaults/${A}` });

  // ---- save: through the CLI, and through the SDK from the secondary ----
  const file = join(scratch, 'cluster.snap');
  const caFile = join(scratch, 'ca.crt');
  writeFileSync(caFile, old.ca);
  const cli = await promisify(execFile)(
    process.execPath,
    [KEYRAFT, '--endpoints', old.endpoints('east').join(','), '--ca', caFile, '--token', await old.token(), '--output', 'json', 'cluster', 'snapshot', 'save', file],
    { timeout: 60_000 },
  );
  const summary = JSON.parse(cli.stdout) as { index: number; recordCount: number; bytes: number };
  t.match(cli.stderr, /snapshot saved to/, 'the CLI says where it saved it on stderr');
  t.equal(statSync(file).mode & 0o777, 0o600, 'the file is its owner\'s only');
  t.notOk(existsSync(`${file}.part`), 'no partial file is left');
  t.equal(summary.bytes, statSync(file).size, 'the summary counts the bytes written');
  t.ok(summary.bytes > 4 * 1024 * 1024, `${summary.bytes} bytes: more than one message`);
  const header = await readSnapshotHeader(file);
  t.match(header, { format: 1, cluster: 'test', index: summary.index, records: summary.recordCount });
  t.ok(header.index > 200 && header.records > 200, `at index ${header.index}, ${header.records} records`);
  const bytes = readFileSync(file);
  const clear = [...Object.values(values).flat(), ...VAULTS, 'reader'].filter((s) => bytes.includes(Buffer.from(s)));
  t.same(clear, [], 'no secret value, vault name or principal in the clear');

  const viaWest = new KeyraftClient({ ca: old.ca, token: old.token, endpoints: old.endpoints('west'), regionAware: false, timeoutMs: 30_000 });
  t.teardown(() => viaWest.close());
  const served: string[] = [];
  const westFile = join(scratch, 'west.snap');
  const started = Date.now();
  const westSummary = await viaWest.saveSnapshot(westFile, { onServedBy: (s) => served.push(s.region) });
  t.comment(`${westSummary.bytes} bytes in ${Date.now() - started} ms through the secondary's relay`);
  t.same(served, ['east'], 'a STANDBY secondary relays the primary\'s stream');
  t.ok(westSummary.index >= header.index && westSummary.recordCount === header.records, 'with the same state (nothing was written between)');

  // A primary follower serves it itself (after a linearizable read), not its leader.
  const follower = (await admin.getStatus()).nodes.find((n) => n.region === 'east' && n.role === 'follower')!;
  const viaFollower = new KeyraftClient({ ca: old.ca, token: old.token, endpoints: [follower.clientAddress], regionAware: false, timeoutMs: 30_000 });
  t.teardown(() => viaFollower.close());
  const servers: string[] = [];
  const followerSummary = await viaFollower.saveSnapshot(join(scratch, 'follower.snap'), { onServedBy: (s) => servers.push(s.node) });
  t.same(servers, [follower.id], `the follower ${follower.id} served it`);
  t.equal(followerSummary.recordCount, header.records, 'with the same state');

  // ---- refusals ----
  const readerClient = new KeyraftClient({ ca: old.ca, token: await old.issueToken('reader'), endpoints: old.endpoints('east'), retries: 0 });
  t.teardown(() => readerClient.close());
  t.equal(await reason(readerClient.saveSnapshot(join(scratch, 'no.snap'))), 'PERMISSION_DENIED FORBIDDEN', 'only a Cluster Administrator may save one');
  t.notOk(existsSync(join(scratch, 'no.snap')) || existsSync(join(scratch, 'no.snap.part')), 'and nothing is written then');

  // Public keys and a signature from the old cluster, to check the restored keys against.
  const digest = createHash('sha256').update('restore test').digest();
  const oldKeys = { rsa: publicKeyOf(rsa), ec: publicKeyOf(ec) };
  const masterKey = join(scratch, 'master.key');
  copyFileSync(old.masterKeyFile, masterKey);
  await old.destroy();

  // ---- the new cluster ----
  const fresh = await TestCluster.create({ regions });
  t.teardown(() => fresh.destroy());
  copyFileSync(masterKey, fresh.masterKeyFile);
  const restore = (f: string, key = loadMasterKey(fresh.masterKeyFile)) =>
    restoreCluster({ file: f, masterKey: key, topology: loadTopology(fresh.topologyFile), dataDir: (id) => fresh.node(id).dataDir });
  const nothingWritten = () => fresh.nodes.every((n) => !existsSync(n.dataDir));

  const tampered = join(scratch, 'tampered.snap');
  const bad = Buffer.from(bytes);
  bad[Math.floor(bad.length / 2)]! ^= 0x40;
  writeFileSync(tampered, bad);
  await t.rejects(restore(tampered), { name: 'SnapshotFileError', message: /damaged|altered/ }, 'a tampered file is refused');
  writeFileSync(tampered, bytes.subarray(0, bytes.length - 100));
  await t.rejects(restore(tampered), { name: 'SnapshotFileError', message: /truncated/ }, 'a truncated file is refused');
  await t.rejects(restore(file, randomBytes(32)), { name: 'SnapshotFileError', message: /wrong master key/ }, 'another master key is refused');
  t.ok(nothingWritten(), 'nothing was written for any of them');

  const restored = await restore(file);
  t.same(restored.seeded, ['east-1', 'east-2', 'east-3'], 'every primary node is seeded');
  await t.rejects(restore(file), { name: 'RestoreError', message: /not empty/ }, 'a second restore over the data is refused');
  fresh.startAll();

  const client = new KeyraftClient({ ca: fresh.ca, token: fresh.token, endpoints: fresh.endpoints('east'), timeoutMs: 10_000 });
  t.teardown(() => client.close());
  await eventually('the restored cluster serves', () => client.getSecret({ vault: A, name: 'db' }), 60_000);

  // Secrets: every version's value, properties, the deleted one.
  t.same((await client.listVaults()).vaults.map((v) => v.name).sort(), [...VAULTS]);
  t.equal((await client.getSecret({ vault: A, name: 'db' })).value, values.db[2], 'the latest version');
  const listed: string[] = [];
  for await (const p of client.listAllSecretVersions(A, 'db')) listed.push(p.version);
  t.same(listed.sort(), [...versions.keys()].sort(), 'every version');
  for (const [version, value] of versions) t.equal((await client.getSecret({ vault: A, name: 'db', version })).value, value, `version ${version}`);
  const api = await client.getSecret({ vault: A, name: 'api' });
  t.match(api, { value: values.api[0], properties: { contentType: 'text/plain', tags: { team: 'ops' } } });
  t.equal((await client.getSecret({ vault: B, name: 'cfg' })).value, values.cfg[0]);
  const bulkBack = await Promise.all(bulk.map(async ([name]) => (await client.getSecret({ vault: B, name })).value));
  t.same(bulkBack, bulk.map(([, value]) => value), `all ${bulk.length} bulk secrets`);
  t.same((await client.listDeletedSecrets({ vault: A })).secrets.map((s) => s.properties.name), ['gone'], 'the deleted secret is in the deleted list');
  t.equal(await reason(client.getSecret({ vault: A, name: 'gone' })), 'NOT_FOUND SECRET_NOT_FOUND', 'and not among the live ones');

  // Keys: they sign in the new cluster, and the old public keys verify it.
  const rsaSig = await client.sign({ vault: A, name: 'rsa', algorithm: 'RS256', digest });
  t.ok(verify('sha256', Buffer.from('restore test'), oldKeys.rsa, Buffer.from(rsaSig.value)), 'RSA: the old public key verifies a new signature');
  const ecSig = await client.sign({ vault: A, name: 'ec', algorithm: 'ES256', digest });
  t.ok(verify('sha256', Buffer.from('restore test'), { key: oldKeys.ec, dsaEncoding: 'ieee-p1363' }, Buffer.from(ecSig.value)), 'EC: the old public key verifies a new signature');

  // The role assignment still grants, and only where it did.
  const reader = new KeyraftClient({ ca: fresh.ca, token: await fresh.issueToken('reader'), endpoints: fresh.endpoints('east'), retries: 0 });
  t.teardown(() => reader.close());
  t.equal((await reader.getSecret({ vault: A, name: 'api' })).value, values.api[0], 'the reader reads its vault');
  t.equal(await reason(reader.getSecret({ vault: B, name: 'cfg' })), 'PERMISSION_DENIED FORBIDDEN', 'and no other');

  // The cluster goes on from the file's index; the secondary catches up through the geo snapshot.
  const written = await client.setSecret({ vault: A, name: 'after', value: 'x' });
  t.ok(written.properties!.version !== '', 'it takes writes');
  const primaryIndex = (await fresh.admin<{ appliedIndex: number }>('east-1', 'nodeStatus', {})).appliedIndex;
  t.ok(primaryIndex > header.index, `the log goes on past ${header.index} (at ${primaryIndex})`);
  await eventually('west caught up with the restored primary', async () => {
    const s = await fresh.admin<{ primaryIndex: number }>('west-1', 'nodeStatus', {});
    return s.primaryIndex >= primaryIndex ? true : undefined;
  }, 60_000);
  await client.failover({ reason: 'restore test' });
  const west = new KeyraftClient({ ca: fresh.ca, token: fresh.token, endpoints: fresh.endpoints('west'), regionAware: false, timeoutMs: 10_000 });
  t.teardown(() => west.close());
  const fromWest = await eventually('west serves failed over', async () => {
    const s = await west.getSecret({ vault: A, name: 'db' });
    return west.lastServedBy?.region === 'west' ? s : undefined;
  }, 30_000);
  t.equal(fromWest.value, values.db[2], 'the secondary has the restored state');
  t.match(fresh.log('west-1'), /installed a primary snapshot in this region/, 'taken through the geo snapshot path');
});
