// Time marks on the path of a call, for `scripts/bench/timeline.ts`, which
// lines up the marks of every process (client and nodes) to show where a
// single call spends its time. Off unless KEYRAFT_TRACE names a folder: then
// each process that calls startTrace appends "<epoch ms> <event>" lines to
// <folder>/<name>.trace. Epoch times from performance.timeOrigin +
// performance.now() agree between processes of one machine to a few µs.
//
// Lines are buffered and appended every 200 ms (and at exit), so that a mark
// costs no I/O on the path it measures; a killed process loses its last 200 ms.
// Garbage collections are marked too ("gc <kind> <ms>", at their start).

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PerformanceEntry, PerformanceObserver, constants } from 'node:perf_hooks';

let file: string | undefined;
let lines: string[] = [];
let collections: PerformanceObserver | undefined;

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
  // A pause of the whole process, marked at its start: "gc <kind> <ms>".
  collections = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      record(performance.timeOrigin + e.startTime, `gc ${kind} ${e.duration.toFixed(3)}`);
    }
  });
  collections.observe({ entryTypes: ['gc'] });
}

/** Appends what is buffered and marks nothing more (the reader is about to remove the folder). */
export function stopTrace(): void {
  flushTrace();
  collections?.disconnect();
  file = undefined;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Records that `event` happens now; nothing when tracing is off (a function is called only when it is on). */
export function mark(event: string | (() => string)): void {
  if (file === undefined) return;
  record(performance.timeOrigin + performance.now(), typeof event === 'string' ? event : event());
}

/** One line: "<epoch ms> <event>". */
function record(at: number, event: string): void {
  lines.push(`${at.toFixed(3)} ${event}\n`);
}
