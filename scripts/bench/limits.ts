// The physical limits the cluster's figures are read against: the disk's
// rate of synced small writes, node:crypto's own rate in one thread, and what
// every node must spend on a write whatever the messaging costs.

import { constants, createCipheriv, createHash, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, sign } from 'node:crypto';
import { closeSync, constants as fsConstants, fsyncSync, mkdtempSync, openSync, rmSync, write, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { generateKey } from '../../src/crypto/keys.js';
import { bytesToBigInt, toNodeJwk } from '../../src/crypto/jwk.js';
import { ecdsaSign } from '../../src/crypto/ecdsa.js';
import { UsableKey } from '../../src/crypto/operations.js';
import { EntryType } from '../../src/raft/index.js';
import { type BatchOp, NodeStore } from '../../src/storage/store.js';
import { MAX_REMEMBERED_REQUESTS, VaultState, decodeCommand, encodeCommand } from '../../src/vault/index.js';
import { VALUE_BYTES } from './common.js';

export interface LimitResult {
  readonly name: string;
  readonly opsPerSec: number;
  /** For batches: records per second. */
  readonly recordsPerSec?: number;
  readonly note?: string;
}

async function rate(durationMs: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < durationMs) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

export async function diskLimits(durationMs: number): Promise<LimitResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-bench-disk-'));
  const db = new Level<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' });
  try {
    await db.open();
    const value = randomBytes(VALUE_BYTES);
    let i = 0;
    const one = await rate(durationMs, () => db.put(`k${i++}`, value, { sync: true }));
    const batch = await rate(durationMs, () =>
      db.batch(Array.from({ length: 64 }, () => ({ type: 'put' as const, key: `b${i++}`, value })), { sync: true }),
    );
    return [
      { name: 'LevelDB put, sync', opsPerSec: one, note: 'the ceiling of unbatched commits' },
      { name: 'LevelDB batch of 64, sync', opsPerSec: batch, recordsPerSec: batch * 64, note: 'group commit' },
    ];
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What one SetSecret's synced batch holds at one call at a time: its entry and the records applying the one before wrote. */
const RECORDS_PER_WRITE = 12;
const RECORD_BYTES = 100;
/** The nodes of a region, which on this machine share one disk. */
const REGION_NODES = 3;
const LOG_FILE_BYTES = 16 * 1024 * 1024;

/**
 * One call's synced batch written by a region's nodes at the same moment, as
 * they do at one call at a time, through LevelDB and, for the floor a log of
 * our own could reach, as the same bytes written with O_DSYNC into a file
 * allocated beforehand (no size change, so no journal commit per write).
 * That floor is about twice LevelDB's rate here, yet a Raft log synced from
 * the main thread into such a file (a throwaway patch, issue 22) left
 * SetSecret at 1 in flight where it was on this 2-core machine: there the
 * cores, not the disk, set the pace.
 */
export async function regionDiskLimits(durationMs: number): Promise<LimitResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-bench-region-disk-'));
  const dbs = Array.from({ length: REGION_NODES }, (_, n) => new Level<string, Buffer>(join(dir, `db${n}`), { valueEncoding: 'buffer' }));
  const logs = Array.from({ length: REGION_NODES }, (_, n) => openSync(join(dir, `log${n}`), fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_DSYNC));
  try {
    for (const db of dbs) await db.open();
    const record = randomBytes(RECORD_BYTES);
    let i = 0;
    const levelBatch = (db: Level<string, Buffer>) =>
      db.batch(Array.from({ length: RECORDS_PER_WRITE }, () => ({ type: 'put' as const, key: `r${i++}`, value: record })), { sync: true });
    const levelOne = await rate(durationMs, () => levelBatch(dbs[0]!));
    const levelRegion = await rate(durationMs, () => Promise.all(dbs.map(levelBatch)));

    const zeros = Buffer.alloc(1024 * 1024);
    for (const fd of logs) for (let at = 0; at < LOG_FILE_BYTES; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
    for (const fd of logs) fsyncSync(fd);
    const bytes = randomBytes(RECORDS_PER_WRITE * (RECORD_BYTES + 16));
    let offset = 0;
    const nextOffset = () => (offset = (offset + bytes.length) % (LOG_FILE_BYTES - bytes.length));
    const append = (fd: number, at: number) => new Promise<void>((resolve, reject) => write(fd, bytes, 0, bytes.length, at, (e) => (e ? reject(e) : resolve())));
    const logOne = await rate(durationMs, () => append(logs[0]!, nextOffset()));
    const logRegion = await rate(durationMs, () => {
      const at = nextOffset();
      return Promise.all(logs.map((fd) => append(fd, at)));
    });
    const batchName = `batch of ${RECORDS_PER_WRITE} records`;
    return [
      { name: `LevelDB ${batchName}, sync`, opsPerSec: levelOne, note: "one call's write on one node" },
      { name: `LevelDB ${batchName}, sync, ${REGION_NODES} stores at once`, opsPerSec: levelRegion, note: 'a region writing one call together' },
      { name: `O_DSYNC write of the same bytes, file allocated beforehand`, opsPerSec: logOne, note: "the disk's floor" },
      { name: `O_DSYNC write of the same bytes, ${REGION_NODES} files at once`, opsPerSec: logRegion, note: "the disk's floor for a region" },
    ];
  } finally {
    for (const fd of logs) closeSync(fd);
    for (const db of dbs) await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Ready's worth of writes under load (the leader's batches at 64 in flight). */
const WRITES_PER_BATCH = 10;

/**
 * What each node spends on one SetSecret besides messages: decoding and
 * applying its command, then writing the entry and the records it changed,
 * WRITES_PER_BATCH to a synced batch, as Replica.handleReady does. CPU of every thread
 * (LevelDB's writer and its fsync included), given as writes per second of one
 * core: a region of N nodes spends at least N times 1/rate per write, on top of
 * the leader's gRPC call and all the messages.
 */
export async function writeFloor(durationMs: number): Promise<LimitResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-bench-floor-'));
  const store = await NodeStore.open(join(dir, 'db'));
  try {
    const state = new VaultState();
    let index = 0;
    const sealed = randomBytes(VALUE_BYTES + 29); // the value and the envelope's overhead
    const attributes = { contentType: '', tags: {}, enabled: true, notBefore: 0, expires: 0 };
    let n = 0;
    const setSecret = () =>
      encodeCommand({
        requestId: randomBytes(16).toString('hex'),
        timeMs: Date.now(),
        op: 'setSecret',
        // A new name every 100 writes, as the load generator does: a secret holds at most MAX_VERSIONS.
        setSecret: { vault: 'bench', name: `w0-${Math.floor(n++ / 100)}`, version: randomBytes(16).toString('hex'), sealedValue: sealed, attributes },
      });
    const batch = () => Array.from({ length: WRITES_PER_BATCH }, setSecret);
    let applyUs = 0;
    const applyAndPersist = async (entries: Uint8Array[]) => {
      const ops: BatchOp[] = [];
      // The writer thread is idle here (each batch is awaited), so this is the applying alone.
      const before = process.cpuUsage();
      for (const data of entries) {
        index++;
        ops.push(store.entryOp({ term: 1, index, type: EntryType.Normal, data }));
        const outcome = state.apply(decodeCommand(data), index);
        if ('error' in outcome) throw outcome.error; // a refused write would measure nothing
        for (const m of outcome.mutations) ops.push(store.stateOp(m));
      }
      ops.push(store.appliedOp({ index, term: 1, conf: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false } }));
      const applied = process.cpuUsage(before);
      applyUs += applied.user + applied.system;
      await store.write(ops, true);
    };
    const vault = { requestId: 'vault', timeMs: Date.now(), op: 'createVault', createVault: { name: 'bench', softDeleteRetentionDays: 90, purgeProtection: false } } as const;
    await applyAndPersist([encodeCommand(vault)]);
    // Past the remembered request ids, so that every write also forgets one, as in a long-running cluster.
    for (let i = 0; i * WRITES_PER_BATCH < MAX_REMEMBERED_REQUESTS + 1000; i++) await applyAndPersist(batch());
    const inputs = Array.from({ length: Math.ceil(durationMs) }, batch); // encoded beforehand, as the leader did
    applyUs = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let done = 0;
    while (performance.now() - start < durationMs && done < inputs.length) await applyAndPersist(inputs[done++]!);
    const cpu = process.cpuUsage(cpu0);
    const writes = done * WRITES_PER_BATCH;
    return [
      { name: 'SetSecret decode + apply, one node (CPU)', opsPerSec: (1e6 * writes) / applyUs },
      { name: `SetSecret apply + persist, one node (CPU, ${WRITES_PER_BATCH} per synced batch)`, opsPerSec: (1e6 * writes) / (cpu.user + cpu.system) },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each operation one at a time in this thread, through the project's UsableKey and through node:crypto directly. */
export async function cryptoLimits(durationMs: number): Promise<LimitResult[]> {
  const ecJwk = (await generateKey({ kty: 'EC', curve: 'P-256' })).privateJwk;
  const rsaJwk = (await generateKey({ kty: 'RSA', keySize: 2048 })).privateJwk;
  const aesJwk = (await generateKey({ kty: 'oct', keySize: 256 })).privateJwk;
  const rsa = UsableKey.fromPrivateJwk('RSA', rsaJwk);
  const aes = UsableKey.fromPrivateJwk('oct', aesJwk);
  const ecNode = createPrivateKey({ format: 'jwk', key: toNodeJwk(ecJwk) });
  const rsaNode = createPrivateKey({ format: 'jwk', key: toNodeJwk(rsaJwk) });
  const rsaPub = createPublicKey(rsaNode);
  const aesKey = Buffer.from((aesJwk as { k: string }).k, 'base64url');
  const ecD = bytesToBigInt(Buffer.from((ecJwk as { d: string }).d, 'base64url'));
  const value = randomBytes(VALUE_BYTES);
  const digest = createHash('sha256').update(value).digest();
  const small = value.subarray(0, 32);
  const oaep = { key: rsaPub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
  const ciphertext = publicEncrypt(oaep, small);
  const cases: [string, () => unknown][] = [
    // Not through UsableKey, which signs with presignatures computed on the
    // worker pool: this is the whole signature in this thread.
    ['ES256 sign (digest, in one thread)', () => ecdsaSign('P-256', ecD, digest)],
    ['ES256 sign (node:crypto, message)', () => sign('sha256', value, ecNode)],
    ['RS256 sign (UsableKey, digest)', () => rsa.sign('RS256', digest)],
    ['RS256 sign (node:crypto, message)', () => sign('sha256', value, rsaNode)],
    ['RSA-OAEP-256 encrypt (UsableKey)', () => rsa.encrypt('RSA-OAEP-256', { value: small })],
    ['RSA-OAEP-256 encrypt (node:crypto)', () => publicEncrypt(oaep, small)],
    ['RSA-OAEP-256 decrypt (UsableKey)', () => rsa.decrypt('RSA-OAEP-256', { value: ciphertext })],
    ['RSA-OAEP-256 decrypt (node:crypto)', () => privateDecrypt({ ...oaep, key: rsaNode }, ciphertext)],
    ['A256GCM encrypt 256 B (UsableKey)', () => aes.encrypt('A256GCM', { value })],
    [
      'A256GCM encrypt 256 B (node:crypto)',
      () => {
        const c = createCipheriv('aes-256-gcm', aesKey, randomBytes(12));
        c.update(value);
        c.final();
        return c.getAuthTag();
      },
    ],
  ];
  const out: LimitResult[] = [];
  for (const [name, fn] of cases) out.push({ name, opsPerSec: await rate(durationMs, fn) });
  return out;
}
