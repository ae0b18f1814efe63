// The primary side of geo-replication: any primary node streams its
// committed log to the secondary's leader, with a health beat that says which
// leader it follows, so that the secondary can tell a live primary from a
// lost one. The loops write to small sinks; register() adapts them to the
// Geo gRPC service, and memory-link.ts connects them to a follower directly.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { isMemberRecord } from '../replica/members.js';
import { type Clock, realClock } from '../replica/env.js';
import { recordChunks } from '../wire/chunks.js';
import type { FollowEvent, GeoSnapshotChunk, PrimaryHealth } from './codec.js';
import { upToBytes } from './codec.js';
import { GeoServiceDefinition } from './grpc-link.js';
import { GeoLinkError, type ProbeStatus } from './link.js';
import type { SourceReplica, StateSnapshots } from './replica-port.js';

const BATCH = 256;
/**
 * Bytes of entry data per follow event, but at least one entry: 256 entries
 * of the largest secret value would be 6.6 MB, more than a message may hold.
 */
const GEO_BATCH_BYTES = 1024 * 1024;
/** Small parts: each becomes one entry of the secondary's log, and a Raft message carries many. */
const SNAPSHOT_CHUNK_BYTES = 64 * 1024;
export const HEARTBEAT_MS = 200;
/**
 * After an apply, how long the stream waits for more before it sends: the
 * writes of a busy moment travel in one event. One event per apply cost the
 * two regions about 0.3 ms of CPU per write at one write at a time (7 % of
 * it). The secondary proposes what it received every LOOP_MS (100 ms)
 * anyway, so this hardly delays it.
 */
export const COALESCE_MS = 20;

export interface GeoSourceOptions {
  readonly nodeId: string;
  readonly replica: SourceReplica;
  readonly store: StateSnapshots;
  readonly logger: Logger;
  /** Fault injection: the follower's traffic is dropped. */
  readonly isDropped: (nodeId: string) => boolean;
  /** Time and timers (the heartbeat); realClock unless simulated. */
  readonly clock?: Clock;
}

/** Where the follow loop writes its events: a gRPC call, or a follower's link in memory. */
export interface FollowSink {
  /** Sends one event; false when the reader's buffer is full (then wait for drained()). */
  write(event: FollowEvent): boolean;
  /** Resolves when the reader takes more again after write returned false. */
  drained(): Promise<void>;
  /** fn is called when the reader has gone away (cancelled or closed). */
  onClose(fn: () => void): void;
}

const GRPC_CODES: Record<string, grpc.status> = {
  GEO_SNAPSHOT_NEEDED: grpc.status.FAILED_PRECONDITION,
  FAULT_INJECTED: grpc.status.UNAVAILABLE,
};

export class GeoSource {
  private readonly clock: Clock;

  constructor(private readonly opts: GeoSourceOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** The gRPC adapter: the Geo service's two streams on this node's peer port. */
  register(server: grpc.Server): void {
    server.addService(GeoServiceDefinition, {
      follow: (call: grpc.ServerWritableStream<{ fromIndex: number; follower: string }, FollowEvent>) => {
        const sink: FollowSink = {
          write: (event) => call.write(event),
          drained: () => new Promise((r) => call.once('drain', r)),
          onClose: (fn) => {
            call.on('cancelled', fn);
            call.on('close', fn);
          },
        };
        void this.follow(Number(call.request.fromIndex), call.request.follower, sink).catch((err: unknown) => {
          if (err instanceof GeoLinkError) {
            call.emit('error', { code: GRPC_CODES[err.reason] ?? grpc.status.UNAVAILABLE, details: err.message });
            return;
          }
          this.opts.logger.warn({ err, follower: call.request.follower }, 'geo follow stream failed');
          call.destroy(err instanceof Error ? err : new Error(String(err)));
        });
      },
      snapshot: (call: grpc.ServerWritableStream<{ follower: string }, GeoSnapshotChunk>) => {
        const send = async () => {
          for await (const chunk of this.snapshot(call.request.follower)) {
            if (!call.write(chunk)) await new Promise((r) => call.once('drain', r));
          }
          call.end();
        };
        void send().catch((err: unknown) => {
          this.opts.logger.warn({ err, follower: call.request.follower }, 'geo snapshot stream failed');
          call.emit('error', { code: grpc.status.UNAVAILABLE, details: `GEO_SNAPSHOT_FAILED: ${err instanceof Error ? err.message : String(err)}` });
        });
      },
    });
  }

  /** This node's applied vault state (not its region's membership), read from one LevelDB snapshot, in chunks. */
  async *snapshot(follower: string): AsyncGenerator<GeoSnapshotChunk> {
    const view = await this.opts.store.openStateSnapshot();
    this.opts.logger.info({ follower, index: view.meta.index }, 'streaming a snapshot to the secondary');
    try {
      for await (const { records, done } of recordChunks(vaultRecords(view.records), SNAPSHOT_CHUNK_BYTES)) {
        yield { index: view.meta.index, term: view.meta.term, records, done };
      }
    } finally {
      await view.close();
    }
  }

  health(): PrimaryHealth {
    const r = this.opts.replica;
    return { node: this.opts.nodeId, leader: r.leader, term: r.status().term, commitIndex: r.commitIndex, atMs: this.clock.now() };
  }

  /**
   * A follower's probe: how this node is, and how far the secondary has
   * applied, which the log is kept from (as the Admin service's geoProbe).
   */
  probe(follower: string, cursor: number): ProbeStatus {
    if (this.opts.isDropped(follower)) throw new GeoLinkError('FAULT_INJECTED', 'traffic with this node is dropped');
    const r = this.opts.replica;
    r.retainLogFrom(cursor + 1);
    return { role: r.isLeader ? 'leader' : 'follower', commitIndex: r.commitIndex, leader: r.leader };
  }

  /**
   * Writes this node's committed log from `fromIndex` on to `sink`, and a
   * health beat at least every HEARTBEAT_MS, until the reader goes away.
   * Rejects with GeoLinkError GEO_SNAPSHOT_NEEDED when the entries were
   * compacted, FAULT_INJECTED when the follower's traffic is dropped.
   */
  async follow(fromIndex: number, follower: string, sink: FollowSink): Promise<void> {
    const { replica, logger } = this.opts;
    let next = Math.max(1, fromIndex);
    let open = true;
    let wake: (() => void) | undefined;
    const onApplied = () => wake?.();
    replica.events.on('applied', onApplied);
    sink.onClose(() => {
      open = false;
      wake?.();
    });
    logger.info({ follower, from: next }, 'secondary follows');
    // From here on the secondary's probes move this on with the index it has
    // applied, not what was sent: entries sent and not yet applied there are
    // asked for again if its leader changes.
    replica.retainLogFrom(next);
    try {
      while (open) {
        if (this.opts.isDropped(follower)) throw new GeoLinkError('FAULT_INJECTED', 'traffic with the follower is dropped');
        const committed = replica.committedEntries(next, BATCH);
        if (committed === undefined) throw new GeoLinkError('GEO_SNAPSHOT_NEEDED', `entry ${next} was compacted on ${this.opts.nodeId}`);
        const entries = upToBytes(committed, GEO_BATCH_BYTES);
        const event: FollowEvent = {
          entries: entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: e.data })),
          health: this.health(),
          appliedAtMs: this.clock.now(),
        };
        if (entries.length > 0) next = entries[entries.length - 1]!.index + 1;
        if (!sink.write(event)) await sink.drained();
        if (entries.length < committed.length || entries.length === BATCH) continue;
        // Nothing more committed: wait for the next apply (and COALESCE_MS
        // more) or a heartbeat; the reader going away ends the wait at once.
        await new Promise<void>((resolve) => {
          const clock = this.clock;
          let timer = clock.setTimeout(finish, HEARTBEAT_MS);
          let coalescing = false;
          function finish(): void {
            wake = undefined;
            clock.clearTimeout(timer);
            resolve();
          }
          wake = () => {
            if (!open) return finish();
            if (coalescing) return;
            coalescing = true;
            clock.clearTimeout(timer);
            timer = clock.setTimeout(finish, COALESCE_MS);
          };
        });
      }
    } finally {
      replica.events.off('applied', onApplied);
    }
  }
}

/** The vault's records: a region's membership is its own, never shipped to another region. */
async function* vaultRecords(records: AsyncIterable<[string, Uint8Array]>): AsyncGenerator<[string, Uint8Array]> {
  for await (const r of records) if (!isMemberRecord(r[0])) yield r;
}
