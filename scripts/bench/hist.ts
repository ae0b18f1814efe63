// A small HdrHistogram-like latency histogram in microseconds: exact below
// 256 µs, then 128 buckets per power of two (under 1 % error), up to ~2 min.

const SUB = 128;
const EXACT = 2 * SUB;
const MAX_EXP = 20; // (255 << 20) µs ≈ 267 s
export const BUCKETS = SUB + (MAX_EXP + 1) * SUB;

export function bucketOf(us: number): number {
  const v = Math.max(0, Math.floor(us));
  if (v < EXACT) return v;
  const e = 31 - Math.clz32(v) - 7;
  if (e > MAX_EXP) return BUCKETS - 1;
  return SUB + e * SUB + ((v >>> e) - SUB);
}

/** The middle of a bucket, in µs. */
export function valueOf(index: number): number {
  if (index < EXACT) return index;
  const e = Math.floor(index / SUB) - 1;
  const m = (index % SUB) + SUB;
  return (m << e) + ((1 << e) - 1) / 2;
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  total = 0;
  maxUs = 0;

  record(us: number): void {
    this.counts[bucketOf(us)]! += 1;
    this.total += 1;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Sparse [bucket, count] pairs, for sending between processes. */
  toSparse(): [number, number][] {
    const out: [number, number][] = [];
    this.counts.forEach((c, i) => {
      if (c > 0) out.push([i, c]);
    });
    return out;
  }

  addSparse(pairs: readonly [number, number][], maxUs = 0): void {
    for (const [i, c] of pairs) {
      this.counts[i]! += c;
      this.total += c;
    }
    if (maxUs > this.maxUs) this.maxUs = maxUs;
  }

  /** The q-quantile (0..1) in milliseconds; NaN when empty. */
  quantileMs(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(valueOf(i), this.maxUs) / 1000;
    }
    return this.maxUs / 1000;
  }
}
