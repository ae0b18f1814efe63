// Time marks on the path of a call, for `scripts/bench/timeline.ts`, which
// lines up the marks of every process (client and nodes) to show where a
// single call spends its time. Off unless KEYRAFT_TRACE names a folder: then
// each process that calls startTrace appends "<epoch ms> <event>" lines to
// <folder>/<name>.trace. Epoch times from performance.timeOrigin +
// performance.now() agree between processes of one machine to a few µs.
//
// Lines are buffered and appended every 200 ms (and at exit), so that a mark
// costs no I/O on the path it measures; a killed process loses its last 200 ms.

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

let file: string | undefined;
let lines: string[] = [];

/** Appends the marks buffered so far (every 200 ms and at exit anyway). */
export function flushTrace(): void {
  if (file === undefined || lines.length === 0) return;
  appendFileSync(file, lines.join(''));
  lines = [];
}

/** Starts writing this process's marks under `name`, when KEYRAFT_TRACE is set. */
export function startTrace(name: string): void {
  const folder = process.env.KEYRAFT_TRACE;
  if (folder === undefined || folder === '' || file !== undefined) return;
  file = join(folder, `${name}.trace`);
  setInterval(flushTrace, 200).unref();
  process.on('exit', flushTrace);
}

/** Records that `event` happens now; nothing when tracing is off (a function is called only when it is on). */
export function mark(event: string | (() => string)): void {
  if (file === undefined) return;
  const at = performance.timeOrigin + performance.now();
  lines.push(`${at.toFixed(3)} ${typeof event === 'string' ? event : event()}\n`);
}
