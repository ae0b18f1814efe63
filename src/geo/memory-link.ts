// A PrimaryLink in memory: a follower reads a primary node's GeoSource
// directly, with events handed over on later turns of the given clock, as a
// network would. Tests of the follower use it; the whole-node simulator keeps
// its own (test/sim/whole/geo-link.ts), whose streams break when the primary
// node dies.

import { EventEmitter } from 'node:events';
import type { Clock } from '../replica/env.js';
import type { FollowEvent, GeoSnapshotChunk } from './codec.js';
import { type FollowStream, GeoLinkError, type PrimaryLink, type ProbeStatus } from './link.js';
import type { FollowSink, GeoSource } from './source.js';

type Item = { kind: 'data'; event: FollowEvent } | { kind: 'error'; err: Error } | { kind: 'end' };

/** Both ends of one follow stream: the source writes to it as a FollowSink; the follower reads it as a FollowStream. */
export class MemoryFollowStream extends EventEmitter implements FollowStream, FollowSink {
  private queue: Item[] = [];
  private paused = false;
  private closed = false;
  private scheduled = false;
  private drainWaiters: (() => void)[] = [];
  private closeFns: (() => void)[] = [];

  constructor(private readonly clock: Clock) {
    super();
  }

  // ---- the source's side ----

  write(event: FollowEvent): boolean {
    this.push({ kind: 'data', event });
    return !this.paused;
  }

  drained(): Promise<void> {
    if (!this.paused || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeFns.push(fn);
  }

  /** The source's loop ended: 'end', or 'error' with its failure. */
  finish(err?: Error): void {
    this.push(err === undefined ? { kind: 'end' } : { kind: 'error', err });
  }

  // ---- the follower's side ----

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.release();
    this.schedule();
  }

  cancel(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.release();
    for (const fn of this.closeFns.splice(0)) fn();
  }

  private release(): void {
    for (const r of this.drainWaiters.splice(0)) r();
  }

  private push(item: Item): void {
    if (this.closed) return;
    this.queue.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.clock.afterTurn(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    while (!this.paused && !this.closed && this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (item.kind === 'data') {
        this.emit('data', item.event);
        continue;
      }
      // The stream is over either way: nothing more reaches the source or the follower.
      this.cancel();
      if (item.kind === 'error') this.emit('error', item.err);
      else this.emit('end');
    }
  }
}

/**
 * A link to the primary node whose GeoSource `source()` gives, undefined
 * while that node is down (then follow fails and probes go unanswered).
 */
export function memoryLink(source: () => GeoSource | undefined, clock: Clock): PrimaryLink {
  const open = new Set<MemoryFollowStream>();
  const down = () => new GeoLinkError('UNAVAILABLE', 'the primary node is down');
  return {
    follow(fromIndex: number, follower: string): FollowStream {
      const stream = new MemoryFollowStream(clock);
      open.add(stream);
      stream.onClose(() => open.delete(stream));
      const s = source();
      if (s === undefined) stream.finish(down());
      else s.follow(fromIndex, follower, stream).then(() => stream.finish(), (err: unknown) => stream.finish(err instanceof Error ? err : new Error(String(err))));
      return stream;
    },
    async *snapshot(follower: string): AsyncGenerator<GeoSnapshotChunk> {
      const s = source();
      if (s === undefined) throw down();
      yield* s.snapshot(follower);
    },
    async probe(follower: string, cursor: number): Promise<ProbeStatus> {
      await clock.nextTurn();
      const s = source();
      if (s === undefined) throw down();
      return s.probe(follower, cursor);
    },
    close(): void {
      for (const s of [...open]) s.cancel();
    },
  };
}
