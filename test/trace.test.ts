// The timeline's marks (src/trace.ts): nothing is written unless
// KEYRAFT_TRACE names a folder; then each mark and each garbage collection
// lands in <folder>/<name>.trace, and nothing after stopTrace.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { flushTrace, mark, startTrace, stopTrace } from '../src/trace.js';

t.test('marks and collections go to the process file, and nothing after stopTrace', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'keyraft-trace-test-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  const before = process.env.KEYRAFT_TRACE;
  t.teardown(() => (before === undefined ? delete process.env.KEYRAFT_TRACE : (process.env.KEYRAFT_TRACE = before)));

  mark('before start'); // tracing is off: dropped
  process.env.KEYRAFT_TRACE = folder;
  startTrace('probe');
  mark('one');
  mark(() => 'two');
  // Enough short-lived garbage for the young generation to be collected more than once.
  let kept = 0;
  for (let i = 0; i < 200_000; i++) kept += new Array(64).fill(i).length;
  t.equal(kept, 200_000 * 64);
  await new Promise((r) => setTimeout(r, 50)); // the observer reports collections a turn later
  stopTrace();
  mark('after stop');
  flushTrace(); // a stopped trace has nowhere to write

  const lines = readFileSync(join(folder, 'probe.trace'), 'utf8').trim().split('\n');
  const events = lines.map((l) => l.slice(l.indexOf(' ') + 1));
  t.same(
    events.filter((e) => !e.startsWith('gc ')),
    ['one', 'two'],
    'the marks made while tracing, in order',
  );
  const collections = events.filter((e) => e.startsWith('gc '));
  t.ok(collections.length > 0, 'the young generation was collected and marked');
  for (const c of collections) t.match(c, /^gc (minor|major|incremental|weakcb|other) \d+\.\d{3}$/, c);
  for (const l of lines) t.ok(Number(l.slice(0, l.indexOf(' '))) > Date.now() - 60_000, 'an epoch time in ms');
});
