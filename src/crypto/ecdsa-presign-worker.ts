// The worker side of ecdsa-presign.ts: a batch of presignatures per task.

import { type Curve } from './jwk.js';
import { encodePresignatures } from './ecdsa.js';

export interface PresignTask {
  readonly curve: Curve;
  readonly count: number;
}

export default function run(task: PresignTask): Uint8Array {
  return encodePresignatures(task.curve, task.count);
}
