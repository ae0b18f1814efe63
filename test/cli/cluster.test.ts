// `keyraft cluster snapshot save FILE` in-process against a fake client: the
// file it asks the SDK for, the summary in both formats, progress on stderr,
// and that it never overwrites a file.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWithClient } from './run-fake.js';
import type { SnapshotChunk, SnapshotSummary } from '../../src/client/index.js';

const dir = mkdtempSync(join(tmpdir(), 'keyraft-cli-cluster-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string; files: string[] }> {
  const files: string[] = [];
  const client = {
    saveSnapshot: async (file: string, opts: { onProgress?: (bytes: number, chunk: SnapshotChunk) => void }): Promise<SnapshotSummary> => {
      files.push(file);
      opts.onProgress?.(4096, { data: new Uint8Array(4096), index: 1234, term: 7, recordCount: 99 });
      return { file, index: 1234, term: 7, recordCount: 99, bytes: 8192 };
    },
    close: () => undefined,
  };
  return { ...(await runWithClient(argv, client)), files };
}

t.test('snapshot save prints a summary table, and progress on stderr', async (t) => {
  const file = join(dir, 'a.snap');
  const r = await cli(['cluster', 'snapshot', 'save', file]);
  t.equal(r.code, 0, r.err);
  t.same(r.files, [file]);
  t.match(r.out, /^Index\s+1234$/m);
  t.match(r.out, /^Records\s+99$/m);
  t.match(r.out, /^Bytes\s+8192$/m);
  t.match(r.err, /snapshot at index 1234: 99 records, 4096 bytes written so far/);
  t.match(r.err, new RegExp(`snapshot saved to ${file}`));
});

t.test('snapshot save --output json prints the summary object', async (t) => {
  const file = join(dir, 'b.snap');
  const r = await cli(['cluster', 'snapshot', 'save', file, '--output', 'json']);
  t.equal(r.code, 0, r.err);
  t.same(JSON.parse(r.out), { file, index: 1234, term: 7, recordCount: 99, bytes: 8192 });
});

t.test('snapshot save refuses to overwrite a file, and asks for nothing', async (t) => {
  const file = join(dir, 'exists.snap');
  writeFileSync(file, 'older backup');
  const r = await cli(['cluster', 'snapshot', 'save', file]);
  t.equal(r.code, 2);
  t.match(r.err, /exists; refusing to overwrite it/);
  t.same(r.files, []);
});
