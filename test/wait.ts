// Tests wait for conditions, never for time: a machine may be many times
// slower than the one a test was written on. Each wait has a bound generous
// enough for a slow machine and fails naming what it waited for.

/**
 * Calls `fn` until it returns something other than `undefined` or `false`
 * (a condition not met yet, like a throw) and returns that.
 */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
}

/** Waits until a workload's `count()` reaches `n`: work done, however slow the machine. */
export async function atLeast(what: string, count: () => number, n: number, timeoutMs = 60_000): Promise<void> {
  await eventually(
    `${n} ${what}`,
    async () => {
      if (count() >= n) return true;
      throw new Error(`at ${count()}`);
    },
    timeoutMs,
    50,
  );
}
