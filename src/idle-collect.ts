// A node that goes quiet after a burst of work (a bulk load, a snapshot
// installed or streamed) keeps the burst's garbage: V8 collects when
// allocation asks for it, or from its memory reducer tens of seconds later,
// and a node that only exchanges heartbeats allocates too little for either.
// With 100,000 secrets that garbage was 50-130 MB of a node's RSS (dead old
// space, the half-empty pages it lay on, and the ArrayBuffers of streamed
// records). So when a busy stretch is followed by a nearly idle interval and
// the old generation's pages and the ArrayBuffers take GARBAGE_BYTES more
// than after the last collection, one full, compacting collection runs: a
// pause of 100-200 ms with 100,000 secrets, once per burst, when nothing
// waits. A steady light load never triggers it: it is never busy.

import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const CHECK_MS = 500;
/** Busy at least this share of an interval: a burst. */
export const BUSY_UTILIZATION = 0.25;
/** Busy less than this share of an interval: idle. Heartbeats alone are well under it. */
export const IDLE_UTILIZATION = 0.05;
export const GARBAGE_BYTES = 16 * 1024 * 1024;

const YOUNG = new Set(['new_space', 'new_large_object_space']);

/**
 * The old generation's resident bytes and the ArrayBuffers' bytes: where a
 * burst's garbage stays, and the half-empty pages V8's own collections leave.
 * The young generation is left out: scavenges empty it without help.
 */
export const heldBytes = (): number =>
  getHeapSpaceStatistics().reduce((sum, s) => (YOUNG.has(s.space_name) ? sum : sum + s.physical_space_size), 0) + process.memoryUsage().arrayBuffers;

export interface LoopState {
  /** Whether some interval since the last collection was busy. */
  busySinceCollection: boolean;
  utilization: number;
  held: number;
  afterLastCollection: number;
}

/** Whether to collect now: quiet after a burst, and holding enough beyond what the last collection left. */
export function shouldCollect(s: LoopState): boolean {
  return s.busySinceCollection && s.utilization < IDLE_UTILIZATION && s.held - s.afterLastCollection >= GARBAGE_BYTES;
}

/**
 * V8's full collection (without starting Node with --expose-gc), moving what
 * survives onto as few pages as it fits: a plain one frees the garbage but
 * keeps the pages it lay on, half-empty, in RSS.
 */
export function fullCollection(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}

export interface IdleCollectionOptions {
  checkMs?: number;
  collect?: () => void;
  held?: () => number;
  /** Told of each collection: bytes held before and after, and how long it took. */
  onCollect?: (before: number, after: number, ms: number) => void;
}

/** Checks every `checkMs`; returns a stop function. */
export function startIdleCollection(opts: IdleCollectionOptions = {}): () => void {
  const { checkMs = CHECK_MS, collect = fullCollection(), held = heldBytes, onCollect } = opts;
  let afterLastCollection = held();
  let busySinceCollection = false;
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const bytes = held();
    busySinceCollection ||= utilization >= BUSY_UTILIZATION;
    // Followed down through V8's own collections, so that it measures garbage, not growth.
    afterLastCollection = Math.min(afterLastCollection, bytes);
    if (!shouldCollect({ busySinceCollection, utilization, held: bytes, afterLastCollection })) return;
    const started = performance.now();
    collect();
    afterLastCollection = held();
    busySinceCollection = false;
    last = performance.eventLoopUtilization();
    onCollect?.(bytes, afterLastCollection, performance.now() - started);
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
