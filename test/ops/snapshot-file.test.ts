// The snapshot file format: what it writes reads back, and every kind of
// damage (a flipped bit anywhere, a cut anywhere, the wrong key) is refused
// with a message that says which.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSnapshot, readSnapshot, readSnapshotHeader, verifySnapshot } from '../../src/ops/snapshot-file.js';

const dir = mkdtempSync(join(tmpdir(), 'keyraft-snapfile-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function* from(records: [string, Uint8Array][]): AsyncGenerator<[string, Uint8Array]> {
  yield* records;
}

async function write(path: string, key: Uint8Array, records: [string, Uint8Array][], count = records.length): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of encodeSnapshot(key, { cluster: 'test', index: 42, term: 3, records: count, createdMs: 1 }, from(records))) parts.push(p);
  const bytes = Buffer.concat(parts);
  writeFileSync(path, bytes);
  return bytes;
}

async function readAll(path: string, key: Uint8Array): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  for await (const r of readSnapshot(path, key)) out.push(r);
  return out;
}

const key = randomBytes(32);
// Enough bytes for several frames, a record larger than a frame, and an empty value.
const records: [string, Uint8Array][] = [
  ...Array.from({ length: 300 }, (_, i): [string, Uint8Array] => [`vault/name-${i}`, randomBytes(3000)]),
  ['big', randomBytes(600 * 1024)],
  ['empty', new Uint8Array()],
];

t.test('records come back whole and in order, with the header', async (t) => {
  const path = join(dir, 'ok.snap');
  const bytes = await write(path, key, records);
  t.same(await readAll(path, key), records);
  const header = await verifySnapshot(path, key);
  t.match(header, { format: 1, cluster: 'test', index: 42, term: 3, records: records.length });
  t.same(await readSnapshotHeader(path), header, 'the header reads without the key');
  t.notOk(bytes.includes(Buffer.from('vault/name-1')), 'no record key in the clear');
});

t.test('an empty state is a valid file', async (t) => {
  const path = join(dir, 'empty.snap');
  await write(path, key, []);
  t.same(await readAll(path, key), []);
});

t.test('the wrong master key is refused before any record', async (t) => {
  const path = join(dir, 'key.snap');
  await write(path, key, records.slice(0, 3));
  await t.rejects(readAll(path, randomBytes(32)), { name: 'SnapshotFileError', message: /wrong master key: .* needs master key [0-9a-f]{16}/ });
});

t.test('a flipped bit anywhere is refused', async (t) => {
  const path = join(dir, 'flip.snap');
  const bytes = await write(path, key, records.slice(0, 40));
  for (const at of [0, 12, 30, bytes.length / 2, bytes.length - 40, bytes.length - 1].map(Math.floor)) {
    const bad = Buffer.from(bytes);
    bad[at]! ^= 1;
    writeFileSync(path, bad);
    await t.rejects(verifySnapshot(path, key), { name: 'SnapshotFileError', message: /damaged|altered|not a keyraft|truncated|format|wrong master key/ }, `bit flipped at ${at}`);
  }
});

t.test('a cut anywhere, or bytes added, is refused', async (t) => {
  const path = join(dir, 'cut.snap');
  const bytes = await write(path, key, records);
  for (const at of [5, 100, bytes.length / 3, bytes.length - 33, bytes.length - 1].map(Math.floor)) {
    writeFileSync(path, bytes.subarray(0, at));
    await t.rejects(verifySnapshot(path, key), { name: 'SnapshotFileError', message: /truncated|damaged/ }, `cut at ${at}`);
  }
  writeFileSync(path, Buffer.concat([bytes, Buffer.from('x')]));
  await t.rejects(verifySnapshot(path, key), { message: /bytes follow its checksum/ });
  t.equal(readFileSync(path).length, bytes.length + 1);
});

t.test('a writer handed another number of records than its header says fails', async (t) => {
  await t.rejects(write(join(dir, 'count.snap'), key, records.slice(0, 2), 3), /header says 3 records but 2/);
});
