// Work deferred to the end of the current turn of the event loop (after its
// I/O callbacks, on setImmediate), so that the requests that arrived together
// share it: one Ready of the core for their proposals, one read round for
// their reads.

import type { Clock } from './env.js';

/** A trigger that runs `fn` once at the end of this turn, however often it is pulled during it. */
export function atEndOfTurn(clock: Clock, fn: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    clock.afterTurn(() => {
      scheduled = false;
      fn();
    });
  };
}
