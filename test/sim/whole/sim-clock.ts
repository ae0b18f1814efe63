// A node's clock in the whole-node simulator: virtual time from the shared
// scheduler, and timers that die with the node's incarnation (a crashed
// process runs nothing more). Turns of the event loop are events "now", run
// after the ones already due, as setImmediate runs after the I/O of a turn.

import type { Clock, HostEnv, Randomness, TimerHandle } from '../../../src/replica/env.js';
import type { Random } from '../random.js';
import type { Scheduler } from '../scheduler.js';

interface SimTimer {
  cancelled: boolean;
}

export class SimClock implements Clock {
  private alive = true;

  constructor(private readonly scheduler: Scheduler) {}

  /** The process died: none of its timers or turns run any more. */
  kill(): void {
    this.alive = false;
  }

  now(): number {
    return this.scheduler.now;
  }

  monotonic(): number {
    return this.scheduler.now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: SimTimer = { cancelled: false };
    this.scheduler.after(Math.max(0, ms), () => {
      if (this.alive && !timer.cancelled) fn();
    });
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle !== undefined) (handle as unknown as SimTimer).cancelled = true;
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const timer: SimTimer = { cancelled: false };
    const fire = () => {
      if (!this.alive || timer.cancelled) return;
      this.scheduler.after(ms, fire);
      fn();
    };
    this.scheduler.after(ms, fire);
    return timer as unknown as TimerHandle;
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  afterTurn(fn: () => void): void {
    this.scheduler.after(0, () => {
      if (this.alive) fn();
    });
  }

  nextTurn(): Promise<void> {
    // A dead process's await never returns: what waited on it is gone too.
    return new Promise<void>((resolve) => this.afterTurn(resolve));
  }
}

export function simEnv(clock: SimClock, random: Random): HostEnv {
  const randomness: Randomness = {
    random: () => random.next(),
    bytes: (n) => Uint8Array.from({ length: n }, () => random.int(0, 255)),
  };
  return { clock, random: randomness };
}
