// What the secondary's GeoFollower needs from one primary node, whatever
// carries it: gRPC between processes (grpc-link.ts), or memory inside the
// simulator (memory-link.ts), where a follower's link reads a GeoSource directly.

import type { FollowEvent, GeoSnapshotChunk } from './codec.js';

export interface PrimaryPeer {
  readonly id: string;
  readonly peer: string;
}

/** The reasons a follower tells apart; anything else is "try another primary node". */
export type GeoReason = 'GEO_SNAPSHOT_NEEDED' | 'FAULT_INJECTED' | 'GEO_SNAPSHOT_FAILED' | 'UNAVAILABLE';

/** A failure with a machine-readable reason; its message starts with the reason, as the gRPC details do. */
export class GeoLinkError extends Error {
  constructor(
    readonly reason: GeoReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'GeoLinkError';
  }
}

/** The primary compacted the entries asked for: the follower must take a snapshot. */
export function isSnapshotNeeded(err: Error): boolean {
  return err instanceof GeoLinkError ? err.reason === 'GEO_SNAPSHOT_NEEDED' : err.message.includes('GEO_SNAPSHOT_NEEDED');
}

/**
 * One follow stream: events until the primary node fails it ('error') or
 * finishes it ('end'); one of the two at most is reported. pause and resume
 * hold back and let through its events (flow control); cancel ends it from
 * this side without either event having to follow.
 */
export interface FollowStream {
  on(event: 'data', fn: (e: FollowEvent) => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  on(event: 'end', fn: () => void): this;
  pause(): void;
  resume(): void;
  cancel(): void;
}

/** A primary node's answer to a probe: its role, commit index and the leader it follows ('' when none). */
export interface ProbeStatus {
  readonly role: string;
  readonly commitIndex: number;
  readonly leader: string;
}

export interface PrimaryLink {
  /** The node's committed log from `fromIndex` on, with health beats. */
  follow(fromIndex: number, follower: string): FollowStream;
  /** The node's applied vault state in chunks, the last one marked done. */
  snapshot(follower: string): AsyncIterable<GeoSnapshotChunk>;
  /** Asks the node how it is, and tells it how far this region has applied (`cursor`); gives up after timeoutMs. */
  probe(follower: string, cursor: number, timeoutMs: number): Promise<ProbeStatus>;
  /** Releases the link's connections. */
  close(): void;
}

export type PrimaryLinkFactory = (primary: PrimaryPeer) => PrimaryLink;
