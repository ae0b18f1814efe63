// A sorted set of strings that stays cheap at 100,000+ keys: keys live in
// chunks of bounded size, so an insert or delete moves at most one chunk and
// a listing starts with two binary searches instead of a sort.

const MAX_CHUNK = 512;

export class SortedKeys {
  private chunks: string[][] = [];
  /** The last key of each chunk, to find the chunk by binary search. */
  private maxes: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    const c = this.chunkFor(key);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, key);
    return chunk[i] === key;
  }

  /** Returns false if the key was already there. */
  insert(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.maxes.push(key);
      this.count = 1;
      return true;
    }
    // Past every key: it goes at the end of the last chunk.
    const c = Math.min(this.chunkFor(key), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, key);
    if (chunk[i] === key) return false;
    chunk.splice(i, 0, key);
    this.count++;
    if (i === chunk.length - 1) this.maxes[c] = key;
    if (chunk.length > MAX_CHUNK) {
      const tail = chunk.splice(chunk.length >> 1);
      this.chunks.splice(c + 1, 0, tail);
      this.maxes.splice(c, 1, chunk[chunk.length - 1]!, tail[tail.length - 1]!);
    }
    return true;
  }

  /** Returns false if the key was not there. */
  delete(key: string): boolean {
    const c = this.chunkFor(key);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, key);
    if (chunk[i] !== key) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.maxes.splice(c, 1);
    } else if (i === chunk.length) {
      this.maxes[c] = chunk[chunk.length - 1]!;
    }
    return true;
  }

  first(): string | undefined {
    return this.chunks[0]?.[0];
  }

  /** Keys strictly greater than `after` ("" or undefined: from the start), in order. */
  *after(after?: string): Generator<string> {
    let c = 0;
    let i = 0;
    if (after) {
      c = upperBound(this.maxes, after);
      if (c === this.chunks.length) return;
      i = upperBound(this.chunks[c]!, after);
    }
    // Not safe against changes made while iterating: callers collect first.
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) yield chunk[i]!;
    }
  }

  [Symbol.iterator](): Generator<string> {
    return this.after();
  }

  /** The index of the first chunk whose max is >= key; chunks.length if none. */
  private chunkFor(key: string): number {
    return lowerBound(this.maxes, key);
  }
}

function lowerBound(a: readonly string[], key: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: readonly string[], key: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
