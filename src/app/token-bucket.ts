// A token bucket: `capacity` tokens, refilled at capacity per windowMs. A
// take that does not fit takes nothing (a refused call does not count, as
// Azure Key Vault's "failed requests that return a 429 do not count towards
// the throttle limits") and says how long until it would fit. Over any
// window it lets through at most twice the capacity (a full bucket, then a
// window's refill), and exactly the capacity per window in the long run.

export class TokenBucket {
  private tokens: number;
  private readonly perMs: number;

  constructor(
    readonly capacity: number,
    windowMs: number,
    private at: number,
  ) {
    this.tokens = capacity;
    this.perMs = capacity / windowMs;
  }

  /** Takes `cost` tokens at time `now` (ms) and returns 0; or takes none and returns the ms until they are there. */
  take(cost: number, now: number): number {
    this.refill(now);
    // A cost beyond the capacity could never fit: it takes the whole bucket.
    const need = Math.min(cost, this.capacity);
    if (this.tokens >= need) {
      this.tokens -= need;
      return 0;
    }
    return (need - this.tokens) / this.perMs;
  }

  /** Whether the bucket is back to full: then it is no different from a new one. */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }

  private refill(now: number): void {
    if (now > this.at) this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * this.perMs);
    this.at = Math.max(this.at, now);
  }
}
