// The primary side of geo-replication: any primary node streams its
// committed log to the secondary's leader, with a health beat that says which
// leader it follows, so that the secondary can tell a live primary from a
// lost one.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Replica } from '../replica/replica.js';
import { type NodeStore, recordChunks } from '../storage/store.js';
import type { FollowEvent, GeoSnapshotChunk, PrimaryHealth } from './codec.js';
import { GeoServiceDefinition, upToBytes } from './codec.js';
import { isMemberRecord } from '../replica/members.js';

const BATCH = 256;
/**
 * Bytes of entry data per follow event, but at least one entry: 256 entries
 * of the largest secret value would be 6.6 MB, more than a message may hold.
 */
const GEO_BATCH_BYTES = 1024 * 1024;
/** Small parts: each becomes one entry of the secondary's log, and a Raft message carries many. */
const SNAPSHOT_CHUNK_BYTES = 64 * 1024;
const HEARTBEAT_MS = 200;

export interface GeoSourceOptions {
  readonly nodeId: string;
  readonly replica: Replica;
  readonly store: NodeStore;
  readonly logger: Logger;
  /** Fault injection: the follower's traffic is dropped. */
  readonly isDropped: (nodeId: string) => boolean;
}

export class GeoSource {
  constructor(private readonly opts: GeoSourceOptions) {}

  register(server: grpc.Server): void {
    server.addService(GeoServiceDefinition, {
      follow: (call: grpc.ServerWritableStream<{ fromIndex: number; follower: string }, FollowEvent>) => {
        void this.follow(call).catch((err: unknown) => {
          this.opts.logger.warn({ err, follower: call.request.follower }, 'geo follow stream failed');
          call.destroy(err instanceof Error ? err : new Error(String(err)));
        });
      },
      snapshot: (call: grpc.ServerWritableStream<{ follower: string }, GeoSnapshotChunk>) => {
        void this.snapshot(call).catch((err: unknown) => {
          this.opts.logger.warn({ err, follower: call.request.follower }, 'geo snapshot stream failed');
          call.emit('error', { code: grpc.status.UNAVAILABLE, details: `GEO_SNAPSHOT_FAILED: ${err instanceof Error ? err.message : String(err)}` });
        });
      },
    });
  }

  /** Streams this node's applied vault state (not its region's membership), read from one LevelDB snapshot, in chunks. */
  private async snapshot(call: grpc.ServerWritableStream<{ follower: string }, GeoSnapshotChunk>): Promise<void> {
    const view = await this.opts.store.openStateSnapshot();
    this.opts.logger.info({ follower: call.request.follower, index: view.meta.index }, 'streaming a snapshot to the secondary');
    try {
      for await (const { records, done } of recordChunks(vaultRecords(view.records), SNAPSHOT_CHUNK_BYTES)) {
        const chunk: GeoSnapshotChunk = { index: view.meta.index, term: view.meta.term, records, done };
        if (!call.write(chunk)) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    } finally {
      await view.close();
    }
  }

  health(): PrimaryHealth {
    const r = this.opts.replica;
    return { node: this.opts.nodeId, leader: r.leader, term: r.status().term, commitIndex: r.commitIndex, atMs: Date.now() };
  }

  private async follow(call: grpc.ServerWritableStream<{ fromIndex: number; follower: string }, FollowEvent>): Promise<void> {
    const { replica, logger } = this.opts;
    let next = Math.max(1, Number(call.request.fromIndex));
    let open = true;
    let wake: (() => void) | undefined;
    const onApplied = () => wake?.();
    replica.events.on('applied', onApplied);
    call.on('cancelled', () => {
      open = false;
      wake?.();
    });
    call.on('close', () => {
      open = false;
      wake?.();
    });
    logger.info({ follower: call.request.follower, from: next }, 'secondary follows');
    // From here on the secondary's probes move this on with the index it has
    // applied, not what was sent: entries sent and not yet applied there are
    // asked for again if its leader changes.
    replica.retainLogFrom(next);
    try {
      while (open) {
        if (this.opts.isDropped(call.request.follower)) {
          call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'FAULT_INJECTED: traffic with the follower is dropped' });
          return;
        }
        const committed = replica.committedEntries(next, BATCH);
        if (committed === undefined) {
          call.emit('error', {
            code: grpc.status.FAILED_PRECONDITION,
            details: `GEO_SNAPSHOT_NEEDED: entry ${next} was compacted on ${this.opts.nodeId}`,
          });
          return;
        }
        const entries = upToBytes(committed, GEO_BATCH_BYTES);
        const event: FollowEvent = {
          entries: entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: e.data })),
          health: this.health(),
          appliedAtMs: Date.now(),
        };
        if (entries.length > 0) next = entries[entries.length - 1]!.index + 1;
        if (!call.write(event)) await new Promise((r) => call.once('drain', r));
        if (entries.length < committed.length || entries.length === BATCH) continue;
        // Nothing more committed: wait for the next apply or a heartbeat.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, HEARTBEAT_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
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
