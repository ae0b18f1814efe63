// The gRPC carriage of geo-replication: the Geo service's definition, and the
// PrimaryLink a secondary's follower uses to reach a primary node's Geo
// service (follow, snapshot) and Admin service (geoProbe) over the peer port.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GRPC_LOADER_OPTIONS } from '../protos.js';
import { realClock } from '../replica/env.js';
import { AdminClient } from '../transport/peer-service.js';
import { PEER_CHANNEL_OPTIONS } from '../transport/transport.js';
import type { FollowEvent, GeoSnapshotChunk } from './codec.js';
import { type FollowStream, type GeoReason, GeoLinkError, type PrimaryLink, type PrimaryLinkFactory, type PrimaryPeer, type ProbeStatus } from './link.js';

const geoPackage = grpc.loadPackageDefinition(protoLoader.loadSync('keyraft/peer/v1/geo.proto', GRPC_LOADER_OPTIONS)) as unknown as {
  keyraft: { peer: { v1: { Geo: grpc.ServiceClientConstructor } } };
};

export const GeoClient = geoPackage.keyraft.peer.v1.Geo;
export const GeoServiceDefinition = GeoClient.service;

const REASONS: ReadonlySet<string> = new Set<GeoReason>(['GEO_SNAPSHOT_NEEDED', 'FAULT_INJECTED', 'GEO_SNAPSHOT_FAILED']);

/** A gRPC error whose details start with a reason the follower knows, as that reason; any other as it is. */
export function toLinkError(err: Error): Error {
  const details = (err as Partial<grpc.ServiceError>).details ?? '';
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(details);
  return m !== null && REASONS.has(m[1]!) ? new GeoLinkError(m[1] as GeoReason, m[2]!) : err;
}

interface GeoStub extends grpc.Client {
  follow(req: { fromIndex: number; follower: string }): grpc.ClientReadableStream<FollowEvent>;
  snapshot(req: { follower: string }): grpc.ClientReadableStream<GeoSnapshotChunk>;
}

interface AdminStub extends grpc.Client {
  geoProbe(req: { follower: string; cursor: number }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, s?: ProbeStatus) => void): void;
}

/** A gRPC follow call as a FollowStream: its errors as GeoLinkErrors where the reason is known. */
export class GrpcFollowStream implements FollowStream {
  constructor(private readonly call: grpc.ClientReadableStream<FollowEvent>) {}

  on(event: 'data', fn: (e: FollowEvent) => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  on(event: 'end', fn: () => void): this;
  on(event: 'data' | 'error' | 'end', fn: (arg: never) => void): this {
    if (event === 'error') this.call.on('error', (err: Error) => (fn as (err: Error) => void)(toLinkError(err)));
    else this.call.on(event, fn as (...args: unknown[]) => void);
    return this;
  }

  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  cancel(): void {
    this.call.cancel();
  }
}

/** A link to one primary node over TLS; the node must present its own certificate. */
export class GrpcPrimaryLink implements PrimaryLink {
  private readonly geo: GeoStub;
  private readonly admin: AdminStub;

  constructor(primary: PrimaryPeer, credentials: grpc.ChannelCredentials) {
    // The peer port's message limits: a follow event or a shipped entry may be larger than grpc-js's default 4 MiB.
    this.geo = new GeoClient(primary.peer, credentials, PEER_CHANNEL_OPTIONS) as unknown as GeoStub;
    this.admin = new AdminClient(primary.peer, credentials, PEER_CHANNEL_OPTIONS) as unknown as AdminStub;
  }

  follow(fromIndex: number, follower: string): FollowStream {
    return new GrpcFollowStream(this.geo.follow({ fromIndex, follower }));
  }

  async *snapshot(follower: string): AsyncGenerator<GeoSnapshotChunk> {
    const call = this.geo.snapshot({ follower });
    try {
      for await (const chunk of call as AsyncIterable<GeoSnapshotChunk>) yield chunk;
    } catch (e) {
      throw e instanceof Error ? toLinkError(e) : e;
    } finally {
      call.cancel();
    }
  }

  probe(follower: string, cursor: number, timeoutMs: number): Promise<ProbeStatus> {
    return new Promise((resolve, reject) => {
      // A gRPC deadline is wall-clock time: this link only ever runs between real processes.
      this.admin.geoProbe({ follower, cursor }, { deadline: realClock.now() + timeoutMs }, (err, status) => {
        if (err !== null || status === undefined) reject(err ?? new Error('empty geo probe answer'));
        else resolve(status);
      });
    });
  }

  close(): void {
    this.geo.close();
    this.admin.close();
  }
}

/** The factory node.ts hands the GeoFollower: one gRPC link per primary node. */
export function grpcPrimaryLinks(credentials: (nodeId: string) => grpc.ChannelCredentials): PrimaryLinkFactory {
  return (primary) => new GrpcPrimaryLink(primary, credentials(primary.id));
}
