// A linearizability checker for registers, one register per key: the
// Wing & Gong search with Lowe's just-in-time linearization and memoization of
// (linearized set, state), as Porcupine does. Keys are checked separately,
// which is sound and complete for independent registers (linearizability is
// local, Herlihy & Wing), and keeps each search small.
//
// What counts:
// - a failed write (definitely no effect) and a failed read are dropped;
// - a read that timed out says nothing, and is dropped;
// - a read served by a secondary is stale by design: checkSecondaryReads
//   judges it, not this checker;
// - an unknown write may take effect at any time after its invocation, or
//   never: it gets an infinite completion time, and since a write placed last
//   changes nothing anyone observed, "at the very end" doubles as "never".
// The register starts as "not found" (undefined).

import {
  assertValidHistory,
  completeOf,
  type History,
  isRegisterOp,
  type RegisterOp,
  valueOf,
} from './history.js';

export interface LinearizabilityOptions {
  /** Search steps allowed for one key before answering 'unknown'. */
  readonly maxSteps?: number;
  /** Search steps the shrinking of a failing key may spend in total. */
  readonly shrinkSteps?: number;
  /** Shrink the failing key's history to a small failing sub-history (default true). */
  readonly shrink?: boolean;
}

export type LinearizabilityResult =
  | { readonly ok: true; readonly keys: number; readonly operations: number }
  | {
      readonly ok: false;
      /** The first failing key, in key order. */
      readonly key: string;
      /** A failing sub-history of that key: original operations, in invocation order. */
      readonly minimal: RegisterOp[];
      /** False when the shrink budget ran out before no single removal was left to try. */
      readonly fullyShrunk: boolean;
      readonly failedKeys: string[];
    }
  | { readonly ok: 'unknown'; readonly key: string; readonly reason: string };

const DEFAULT_MAX_STEPS = 2_000_000;
const DEFAULT_SHRINK_STEPS = 10_000_000;
/** About 256 MB of memo, whatever the step budget: the search gives up rather than run out of memory. */
const MAX_MEMO_WORDS = 64_000_000;

export function checkLinearizability(history: History, options: LinearizabilityOptions = {}): LinearizabilityResult {
  assertValidHistory(history);
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const byKey = new Map<string, RegisterOp[]>();
  for (const op of history) {
    if (!isRegisterOp(op)) continue;
    let ops = byKey.get(op.key);
    if (!ops) byKey.set(op.key, (ops = []));
    ops.push(op);
  }

  const failedKeys: string[] = [];
  let firstFailure: { key: string; ops: RegisterOp[] } | undefined;
  let undecided: { key: string; reason: string } | undefined;
  let operations = 0;
  for (const key of [...byKey.keys()].sort()) {
    const keyOps = byKey.get(key) ?? [];
    // close() would drop a read of a value never written, so such reads are caught first.
    const ops = close(relevant(keyOps));
    operations += ops.length;
    const { verdict, steps } = phantomReads(keyOps).length > 0 ? { verdict: false, steps: 0 } : search(ops, maxSteps);
    if (verdict === true) continue;
    if (verdict === 'budget') {
      const limit = steps > maxSteps ? `search budget of ${maxSteps} steps` : `memo limit (after ${steps} steps)`;
      undecided ??= { key, reason: `${limit} exhausted on key ${key} (${ops.length} operations)` };
      continue;
    }
    failedKeys.push(key);
    firstFailure ??= { key, ops: keyOps };
  }

  if (firstFailure) {
    const { key, ops } = firstFailure;
    const { minimal, fullyShrunk } =
      options.shrink === false
        ? { minimal: close(relevant(ops)), fullyShrunk: false }
        : shrink(ops, maxSteps, options.shrinkSteps ?? DEFAULT_SHRINK_STEPS);
    return { ok: false, key, minimal: byInvocation(minimal), fullyShrunk, failedKeys };
  }
  if (undecided) return { ok: 'unknown', ...undecided };
  return { ok: true, keys: byKey.size, operations };
}

/** The operations that constrain the register; see the header for why the rest go. */
function relevant(ops: readonly RegisterOp[]): RegisterOp[] {
  return ops.filter((op) =>
    op.kind === 'write' ? op.outcome !== 'fail' : op.outcome === 'ok' && op.secondary === undefined,
  );
}

/**
 * Drops reads whose value nothing in `ops` wrote (such a sub-history fails
 * for a trivial reason and would hide the real story), then unknown writes
 * that no read observed: any linearization that includes such a write stays
 * valid without it, because no read sits between it and the next write, and
 * dropping them keeps the search from branching on them.
 */
function close(ops: readonly RegisterOp[]): RegisterOp[] {
  const written = new Set(ops.filter((op) => op.kind === 'write').map(valueOf));
  const explained = (op: RegisterOp): boolean => valueOf(op) === undefined || written.has(valueOf(op));
  const read = new Set(ops.filter((op) => op.kind === 'read' && explained(op)).map(valueOf));
  return ops.filter((op) => (op.kind === 'read' ? explained(op) : op.outcome === 'ok' || read.has(valueOf(op))));
}

/** Reads that return a value that no ok or unknown write on the key wrote. */
function phantomReads(ops: readonly RegisterOp[]): RegisterOp[] {
  const written = new Set(ops.filter((op) => op.kind === 'write' && op.outcome !== 'fail').map(valueOf));
  return relevant(ops).filter((op) => op.kind === 'read' && valueOf(op) !== undefined && !written.has(valueOf(op)));
}

function byInvocation(ops: readonly RegisterOp[]): RegisterOp[] {
  return [...ops].sort((a, b) => a.invokeMs - b.invokeMs);
}

type Verdict = true | false | 'budget';

/**
 * When an unknown write's value has no other writer, every read of that value
 * must follow it, so it must take effect before the earliest such read
 * completes: using that as its completion prunes the search without losing
 * any valid linearization.
 */
function completionTimes(ops: readonly RegisterOp[]): number[] {
  const writers = new Map<string | undefined, number>();
  const firstReadDone = new Map<string | undefined, number>();
  for (const op of ops) {
    const v = valueOf(op);
    if (op.kind === 'write') writers.set(v, (writers.get(v) ?? 0) + 1);
    else firstReadDone.set(v, Math.min(firstReadDone.get(v) ?? Infinity, completeOf(op) ?? Infinity));
  }
  return ops.map((op) => {
    if (op.outcome === 'ok') return completeOf(op) ?? Infinity;
    const v = valueOf(op);
    const bound = writers.get(v) === 1 ? (firstReadDone.get(v) ?? Infinity) : Infinity;
    return Math.max(op.invokeMs, bound);
  });
}

/** Deterministic 32-bit Zobrist keys, so that a run is reproducible. */
function zobrist(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

/**
 * Entries are call/return events in time order, in a doubly linked list
 * (entry 2i is op i's call, 2i+1 its return). Linearizing an op lifts both of
 * its entries out of the list; reaching a return entry means its op was not
 * linearized in time, so the search backtracks.
 *
 * Two reductions keep concurrent histories tractable, both exact:
 * - A read that is legal now (its call is before every pending return, and it
 *   returns the current value) can be linearized now without loss of
 *   generality: moving it to the front of any valid completion keeps that
 *   completion valid, since reads change nothing. So it is not a branch point:
 *   if the rest fails, so does the configuration it was taken in.
 * - A value that no remaining read returns is "dead": all dead values lead to
 *   the same futures, so the memo stores them as one state (DEAD), and a
 *   pending write of a dead value is taken without branching when no read is
 *   legal (see forcedMove). Without these, writes nobody read would be
 *   explored in every order and subset.
 */
function search(unordered: readonly RegisterOp[], maxSteps: number): { verdict: Verdict; steps: number } {
  // Ids in invocation order make every linearized set a run of full words, a
  // window, then zeros: the memo stores only the window.
  const ops = byInvocation(unordered);
  const n = ops.length;
  if (n === 0) return { verdict: true, steps: 0 };
  const ids = new Map<string | undefined, number>([[undefined, 0]]);
  const value = Int32Array.from(ops, (op) => {
    const v = valueOf(op);
    if (!ids.has(v)) ids.set(v, ids.size);
    return ids.get(v)!;
  });
  const isWrite = ops.map((op) => op.kind === 'write');
  const readsLeft = new Int32Array(ids.size);
  for (let id = 0; id < n; id++) if (!isWrite[id]) readsLeft[value[id]!]!++;
  const DEAD = -1;
  const live = (v: number): number => (v !== DEAD && readsLeft[v]! > 0 ? v : DEAD);

  const ret = completionTimes(ops);
  const time = (e: number): number => ((e & 1) === 0 ? ops[e >> 1]!.invokeMs : ret[e >> 1]!);
  // Calls sort before returns at equal times: equal instants are concurrent.
  const order = Array.from({ length: 2 * n }, (_, e) => e).sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    if ((a & 1) !== (b & 1)) return (a & 1) - (b & 1);
    return a - b;
  });
  const HEAD = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = HEAD;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = -1;
  const unlink = (e: number): void => {
    next[prev[e]!] = next[e]!;
    if (next[e] !== -1) prev[next[e]!] = prev[e]!;
  };
  const relink = (e: number): void => {
    if (next[e] !== -1) prev[next[e]!] = e;
    next[prev[e]!] = e;
  };

  const z1 = zobrist(n, 0x9e3779b9);
  const z2 = zobrist(n, 0x85ebca6b);
  const bits = new Uint32Array(Math.ceil(n / 32));
  let h1 = 0;
  let h2 = 0;
  const flip = (id: number): void => {
    bits[id >>> 5] = bits[id >>> 5]! ^ (1 << (id & 31));
    h1 ^= z1[id]!;
    h2 ^= z2[id]!;
  };
  const cache = new Map<number, { from: number; window: Uint32Array; state: number }[]>();
  let memoWords = 0;
  /** Records (bits, state) and says whether it is new. */
  const remember = (state: number): boolean => {
    let from = 0;
    while (from < bits.length && bits[from] === 0xffffffff) from++;
    let to = bits.length;
    while (to > from && bits[to - 1] === 0) to--;
    const hash = (h1 >>> 0) * 0x200000 + (h2 >>> 11);
    let bucket = cache.get(hash);
    if (!bucket) cache.set(hash, (bucket = []));
    for (const seen of bucket) {
      if (seen.state !== state || seen.from !== from || seen.window.length !== to - from) continue;
      if (seen.window.every((w, i) => w === bits[from + i])) return false;
    }
    bucket.push({ from, window: bits.slice(from, to), state });
    memoWords += to - from + 8;
    return true;
  };

  // The stack of choices: call entry, state before, and whether it was forced.
  const calls: number[] = [];
  const states: number[] = [];
  const forced: boolean[] = [];
  let state = live(0);
  let entry = HEAD;
  /** True on arriving at a configuration, before any of its choices was tried. */
  let fresh = true;
  /** Takes the op whose call entry this is; false if that configuration was already explored. */
  const take = (call: number, isForced: boolean): boolean => {
    const id = call >> 1;
    const write = isWrite[id]!;
    flip(id);
    if (!write) readsLeft[value[id]!]!--;
    const after = live(write ? value[id]! : state);
    if (!remember(after)) {
      if (!write) readsLeft[value[id]!]!++;
      flip(id);
      return false;
    }
    calls.push(call);
    states.push(state);
    forced.push(isForced);
    state = after;
    unlink(call);
    unlink(call + 1);
    fresh = true;
    return true;
  };
  /** Undoes choices up to and including the latest real branch point; false if none is left. */
  const backtrack = (): boolean => {
    for (;;) {
      const call = calls.pop();
      if (call === undefined) return false;
      const id = call >> 1;
      state = states.pop()!;
      if (!isWrite[id]) readsLeft[value[id]!]!++;
      flip(id);
      relink(call + 1);
      relink(call);
      if (!forced.pop()) {
        entry = next[call]!;
        fresh = false;
        return true;
      }
    }
  };
  /**
   * A move that loses no generality: a legal read, or else a write of a dead
   * value. With no legal read pending, every valid completion begins with a
   * write, so the dead write can move to its front: the first write
   * overwrites it, and where it stood no read follows it (it is dead).
   */
  const forcedMove = (): number => {
    let deadWrite = -1;
    for (let e = next[HEAD]!; e !== -1 && (e & 1) === 0; e = next[e]!) {
      const id = e >> 1;
      if (!isWrite[id] && value[id] === state) return e;
      if (deadWrite === -1 && isWrite[id] && live(value[id]!) === DEAD) deadWrite = e;
    }
    return deadWrite;
  };

  let steps = 0;
  while (next[HEAD] !== -1) {
    if (++steps > maxSteps || memoWords > MAX_MEMO_WORDS) return { verdict: 'budget', steps };
    if (fresh) {
      fresh = false;
      const move = forcedMove();
      if (move !== -1) {
        // Explored before means failed: then so does this configuration.
        if (!take(move, true) && !backtrack()) return { verdict: false, steps };
        continue;
      }
      entry = next[HEAD]!;
    }
    if ((entry & 1) === 1) {
      if (!backtrack()) return { verdict: false, steps };
      continue;
    }
    // Only writes branch: a legal read would have been a forced move.
    if (!isWrite[entry >> 1] || !take(entry, false)) entry = next[entry]!;
  }
  return { verdict: true, steps };
}

/**
 * Greedy delta debugging: try removing chunks, halving their size down to one
 * operation, and repeat single removals until none keeps the history failing.
 * Each candidate is closed (see close), so the result never fails merely
 * because a read lost the write it observed.
 */
function shrink(keyOps: readonly RegisterOp[], maxSteps: number, budget: number): { minimal: RegisterOp[]; fullyShrunk: boolean } {
  const phantoms = phantomReads(keyOps);
  if (phantoms.length > 0) {
    // A read of a value nobody (successfully) wrote fails on its own; the
    // failed writes of that value, if any, explain it.
    const read = byInvocation(phantoms)[0]!;
    const failedWriters = keyOps.filter((op) => op.kind === 'write' && op.outcome === 'fail' && valueOf(op) === valueOf(read));
    return { minimal: [...failedWriters, read], fullyShrunk: true };
  }
  let current = close(relevant(keyOps));
  let spent = 0;
  const fails = (candidate: RegisterOp[]): boolean => {
    const { verdict, steps } = search(candidate, Math.min(maxSteps, Math.max(0, budget - spent)));
    spent += steps;
    return verdict === false;
  };
  const pass = (chunk: number): boolean => {
    let removed = false;
    for (let i = 0; i < current.length; ) {
      if (spent >= budget) return removed;
      const candidate = close([...current.slice(0, i), ...current.slice(i + chunk)]);
      if (fails(candidate)) {
        current = candidate;
        removed = true;
      } else {
        i += chunk;
      }
    }
    return removed;
  };
  for (let chunk = 2 ** Math.floor(Math.log2(Math.max(1, current.length / 2))); chunk > 1; chunk /= 2) pass(chunk);
  while (pass(1) && spent < budget);
  return { minimal: current, fullyShrunk: spent < budget };
}
