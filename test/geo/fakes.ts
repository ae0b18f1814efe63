// Test doubles for geo: a virtual clock, replicas that record proposals, a
// scripted PrimaryLink, and a silent logger.

import { EventEmitter } from 'node:events';
import pino from 'pino';
import type { Clock, TimerHandle } from '../../src/replica/env.js';
import type { FollowEvent, GeoSnapshotChunk, PrimaryEntry } from '../../src/geo/codec.js';
import type { FollowStream, PrimaryLink, PrimaryPeer, ProbeStatus } from '../../src/geo/link.js';
import type { FollowerReplica, SourceReplica } from '../../src/geo/replica-port.js';
import { ReplicaError } from '../../src/replica/errors.js';

export const silent = pino({ level: 'silent' });

/** Lets pending promise callbacks and setImmediate work run (a real turn of the event loop). */
export const settle = async (turns = 3) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
};

interface Timer {
  id: number;
  at: number;
  every: number | undefined;
  fn: () => void;
}

/** Virtual time: timers run only when advance() passes their time, in time order. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, Timer>();
  private turns: (() => void)[] = [];

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, ms);
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.timers.delete(h as unknown as number);
  }
  clearInterval(h: TimerHandle | undefined): void {
    this.timers.delete(h as unknown as number);
  }
  afterTurn(fn: () => void): void {
    this.turns.push(fn);
    setImmediate(() => this.runTurns());
  }
  nextTurn(): Promise<void> {
    return new Promise((r) => setImmediate(r));
  }
  get pendingTimers(): number {
    return this.timers.size;
  }

  private runTurns(): void {
    for (const fn of this.turns.splice(0)) fn();
  }

  private add(fn: () => void, ms: number, every: number | undefined): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), every, fn });
    return id as unknown as TimerHandle;
  }

  /**
   * Moves time on by ms with no timer run on the way, as a stalled process
   * sees it: each timer then due runs once at the next advance, in the order
   * they were made, as Node runs late timers (an interval does not catch up).
   */
  freeze(ms: number): void {
    this.t += ms;
    for (const tm of this.timers.values()) tm.at = Math.max(tm.at, this.t);
  }

  /** Moves time on by ms, running each timer due on the way (and the promise work it starts). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: Timer | undefined;
      for (const tm of this.timers.values()) if (tm.at <= end && (next === undefined || tm.at < next.at || (tm.at === next.at && tm.id < next.id))) next = tm;
      if (next === undefined) break;
      this.t = next.at;
      if (next.every !== undefined) next.at += next.every;
      else this.timers.delete(next.id);
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

/** A secondary replica: leads or not, and records each proposal (which commits unless told to fail). */
export class FakeFollowerReplica implements FollowerReplica {
  isLeader = true;
  proposals: Uint8Array[] = [];
  /** When set, the next proposals reject with it. */
  failWith: Error | undefined;
  /** When set, proposals wait for release(). */
  hold = false;
  attempts = 0;
  /** Runs on each proposal that commits (a test applies it to its state). */
  onCommit: (data: Uint8Array) => void = () => {};
  private held: (() => void)[] = [];

  propose(data: Uint8Array): Promise<unknown> {
    this.attempts++;
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.proposals.push(data);
    if (!this.hold) {
      this.onCommit(data);
      return Promise.resolve();
    }
    return new Promise((r) =>
      this.held.push(() => {
        this.onCommit(data);
        r(undefined);
      }),
    );
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

export const noQuorum = () => new ReplicaError('NO_QUORUM', 'no quorum');

/** A primary replica over an in-memory committed log from `first` on. */
export class FakeSourceReplica implements SourceReplica {
  leader = 'east-1';
  isLeader = true;
  term = 3;
  first = 1;
  log: PrimaryEntry[] = [];
  retained: number[] = [];
  readonly events = new EventEmitter();

  get commitIndex(): number {
    return this.first + this.log.length - 1;
  }
  status() {
    return { term: this.term };
  }
  committedEntries(from: number, max: number): PrimaryEntry[] | undefined {
    if (from < this.first) return undefined;
    return this.log.slice(from - this.first, from - this.first + max);
  }
  retainLogFrom(index: number): void {
    this.retained.push(index);
  }
  /** Commits and applies entries of the given sizes. */
  append(...sizes: number[]): void {
    for (const n of sizes) this.log.push({ index: this.commitIndex + 1, term: this.term, type: 0, data: new Uint8Array(n).fill(7) });
    this.events.emit('applied');
  }
}

/** A follow stream the test drives: emit events into it, see pause/resume/cancel. */
export class FakeStream extends EventEmitter implements FollowStream {
  paused = false;
  cancelled = false;
  pauses = 0;
  resumes = 0;
  constructor(
    readonly fromIndex: number,
    readonly follower: string,
  ) {
    super();
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
  cancel(): void {
    this.cancelled = true;
  }
}

/** A scripted link to one primary node. */
export class FakeLink implements PrimaryLink {
  streams: FakeStream[] = [];
  probes: { follower: string; cursor: number }[] = [];
  /** What probes answer (a rejection when undefined). */
  status: ProbeStatus | undefined = { role: 'leader', commitIndex: 0, leader: 'east-1' };
  chunks: GeoSnapshotChunk[] = [];
  snapshotError: Error | undefined;
  snapshots = 0;
  closed = false;

  constructor(readonly peer: PrimaryPeer) {}

  follow(fromIndex: number, follower: string): FollowStream {
    const s = new FakeStream(fromIndex, follower);
    this.streams.push(s);
    return s;
  }
  get last(): FakeStream | undefined {
    return this.streams[this.streams.length - 1];
  }
  async *snapshot(): AsyncGenerator<GeoSnapshotChunk> {
    this.snapshots++;
    for (const c of this.chunks) yield c;
    if (this.snapshotError !== undefined) throw this.snapshotError;
  }
  probe(follower: string, cursor: number): Promise<ProbeStatus> {
    this.probes.push({ follower, cursor });
    return this.status === undefined ? Promise.reject(new Error('UNAVAILABLE')) : Promise.resolve(this.status);
  }
  close(): void {
    this.closed = true;
  }
}

export const entry = (index: number, size = 10): PrimaryEntry => ({ index, term: 1, type: 0, data: new Uint8Array(size) });

export const beat = (entries: PrimaryEntry[], leader = 'east-1', commitIndex = entries[entries.length - 1]?.index ?? 0): FollowEvent => ({
  entries,
  health: { node: 'east-1', leader, term: 1, commitIndex, atMs: 0 },
  appliedAtMs: 42,
});
