// What the host loop takes from the world: time, timers, turns of the event
// loop and randomness. Production passes realEnv; the whole-node simulator
// passes a virtual clock and a seeded source, so that a run replays exactly
// from its seed (TigerBeetle's VOPR and FoundationDB's simulation do the same).

import { randomBytes } from 'node:crypto';

/** A timer handle: opaque outside the clock that made it. */
export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout;

export interface Clock {
  /** Milliseconds since the epoch (wall clock) or since the simulation began. */
  now(): number;
  /**
   * Milliseconds from a clock that never steps, whatever is done to the
   * wall clock (performance.now()): what a lease is measured with.
   */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
  /** Runs fn after the I/O of this turn of the event loop (setImmediate). */
  afterTurn(fn: () => void): void;
  /** Resolves on the next turn, letting timers, messages and requests through. */
  nextTurn(): Promise<void>;
}

export interface Randomness {
  /** Uniform in [0, 1), as Math.random. */
  random(): number;
  bytes(n: number): Uint8Array;
}

export interface HostEnv {
  readonly clock: Clock;
  readonly random: Randomness;
}

export const realClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout | undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout | undefined),
  afterTurn: (fn) => void setImmediate(fn),
  nextTurn: () => new Promise<void>((resolve) => setImmediate(resolve)),
};

export const realRandomness: Randomness = {
  random: () => Math.random(),
  bytes: (n) => randomBytes(n),
};

export const realEnv: HostEnv = { clock: realClock, random: realRandomness };
