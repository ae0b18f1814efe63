// Presignatures computed ahead on the worker pool, so that an ECDSA Sign costs
// the event loop a few multiplications instead of a scalar multiplication and
// an inversion (about 80 µs for P-256 here). A curve gets a stock once it is
// first used; a batch is asked for whenever the stock runs low. Signing never
// waits for it: with none in stock, the signature is computed on the spot.
// Presignatures are secret: they stay in this process's memory and each is
// handed out once.

import type { Presignature } from './ecdsa.js';
import { decodePresignatures } from './ecdsa.js';
import type { PresignTask } from './ecdsa-presign-worker.js';
import type { Curve } from './jwk.js';
import { runOnPool, workerModule } from './pool.js';

const WORKER = workerModule('ecdsa-presign-worker');
/** Presignatures per batch: ~20 ms of a worker's time for P-256. */
export const BATCH = 256;
/** Ask for a batch when the stock falls below this. */
const LOW_WATER = 2 * BATCH;
/** After a failed batch, sign on the spot for this long before asking again. */
const RETRY_AFTER_MS = 1000;

interface Stock {
  readonly ready: Presignature[];
  refilling: boolean;
  retryAt: number;
}

const stocks = new Map<Curve, Stock>();

/** A fresh presignature for `curve`, or undefined when none is in stock (one is on its way). */
export function takePresignature(curve: Curve): Presignature | undefined {
  let stock = stocks.get(curve);
  if (stock === undefined) {
    stock = { ready: [], refilling: false, retryAt: 0 };
    stocks.set(curve, stock);
  }
  const taken = stock.ready.pop();
  if (stock.ready.length < LOW_WATER && !stock.refilling && Date.now() >= stock.retryAt) refill(curve, stock);
  return taken;
}

function refill(curve: Curve, stock: Stock): void {
  stock.refilling = true;
  const task: PresignTask = { curve, count: BATCH };
  runOnPool<Uint8Array>(WORKER, task)
    .then((encoded) => {
      stock.ready.push(...decodePresignatures(curve, encoded));
      stock.refilling = false;
      if (stock.ready.length < LOW_WATER) refill(curve, stock);
    })
    // A failed batch only means signing on the spot for a while.
    .catch(() => {
      stock.refilling = false;
      stock.retryAt = Date.now() + RETRY_AFTER_MS;
    });
}
