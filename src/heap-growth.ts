// V8 lets the old generation grow to up to four times what survived the last
// full collection before it collects again, more when allocation is fast. With
// a small live set that costs little memory and saves collections; with a
// large one it is most of a node's memory: with 100,000 secrets a node held
// ~250 MB of old space for ~65 MB alive. So the growth allowed after each
// full collection is HEADROOM_BYTES, or half the live set once that is more;
// heaps small enough that V8's own factor stays within that keep V8's pace.
// The flag is read at every collection, so setting it while running takes
// effect.

import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

export const HEADROOM_BYTES = 48 * 1024 * 1024;
/** V8's own highest factor is 4, that is 300 %. */
const V8_MAX_PERCENT = 300;
const MIN_PERCENT = 50;

/**
 * The old generation's growth allowed for this live set, in percent of it,
 * for --heap-growing-percent: 0 leaves it to V8.
 */
export function growingPercent(liveBytes: number): number {
  const percent = Math.max(MIN_PERCENT, Math.round((100 * HEADROOM_BYTES) / Math.max(1, liveBytes)));
  return percent >= V8_MAX_PERCENT ? 0 : percent;
}

const setGrowingPercent = (percent: number) => setFlagsFromString(`--heap-growing-percent=${percent}`);

/** Sets the growth after every full collection. Returns a stop function. */
export function boundHeapGrowth(apply: (percent: number) => void = setGrowingPercent): () => void {
  let percent = 0;
  const observer = new PerformanceObserver((list) => {
    const major = list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!major) return;
    // Right after a full collection, what is used is what is alive.
    const next = growingPercent(getHeapStatistics().used_heap_size);
    if (next === percent) return;
    percent = next;
    apply(percent);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
