// How a simulated secondary node reaches a primary node: the real GeoSource
// of that node, through an in-memory stream on the follower's clock. Unlike
// memoryLink (src/geo/memory-link.ts), a stream breaks when the primary node
// dies, as a gRPC stream does when its peer's process is gone.

import type { Clock } from '../../../src/replica/env.js';
import type { GeoSnapshotChunk } from '../../../src/geo/codec.js';
import { type FollowStream, GeoLinkError, type PrimaryLink, type ProbeStatus } from '../../../src/geo/link.js';
import { MemoryFollowStream } from '../../../src/geo/memory-link.js';
import type { GeoSource } from '../../../src/geo/source.js';

/** A follow stream as its primary node holds it: failed when the node dies. */
export interface LinkEnds {
  fail(err: Error): void;
}

export interface PrimaryEnd {
  readonly source: GeoSource;
  readonly served: Set<LinkEnds>;
}

const down = () => new GeoLinkError('UNAVAILABLE', 'the primary node is down');

export function simPrimaryLink(primary: () => PrimaryEnd | undefined, clock: Clock): PrimaryLink {
  const open = new Set<MemoryFollowStream>();
  return {
    follow(fromIndex: number, follower: string): FollowStream {
      const stream = new MemoryFollowStream(clock);
      const p = primary();
      if (p === undefined) {
        stream.finish(down());
        return stream;
      }
      const ends: LinkEnds = { fail: (err) => stream.finish(err) };
      open.add(stream);
      p.served.add(ends);
      stream.onClose(() => {
        open.delete(stream);
        p.served.delete(ends);
      });
      p.source.follow(fromIndex, follower, stream).then(
        () => stream.finish(),
        (err: unknown) => stream.finish(err instanceof Error ? err : new Error(String(err))),
      );
      return stream;
    },
    async *snapshot(follower: string): AsyncGenerator<GeoSnapshotChunk> {
      const p = primary();
      if (p === undefined) throw down();
      for await (const chunk of p.source.snapshot(follower)) {
        await clock.nextTurn();
        if (primary()?.source !== p.source) throw down();
        yield chunk;
      }
    },
    async probe(follower: string, cursor: number): Promise<ProbeStatus> {
      await clock.nextTurn();
      const p = primary();
      if (p === undefined) throw down();
      return p.source.probe(follower, cursor);
    },
    close(): void {
      for (const s of [...open]) s.cancel();
    },
  };
}
