// The worker side of ecdsa-presign.ts: a batch of presignatures per task,
// moved (not copied) to the main thread, which wipes it once decoded.

import { Piscina } from 'piscina';
import { type Curve } from './jwk.js';
import { encodePresignatures } from './ecdsa.js';

export interface PresignTask {
  readonly curve: Curve;
  readonly count: number;
}

export default function run(task: PresignTask): unknown {
  return Piscina.move(encodePresignatures(task.curve, task.count));
}
