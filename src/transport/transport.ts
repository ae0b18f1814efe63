// Raft between the nodes of a region: two long-lived connections per peer
// for Raft frames (raft-frames.ts), one for appends and one for every other
// message, as etcd's rafthttp keeps MsgApp apart, so that a heartbeat, a vote
// or an answer never waits behind a large append: a 12 MiB entry (a restore
// of the largest backup) takes longer to cross than an election timeout on a
// loaded machine. Connections are reopened with backoff when they break; what
// is sent meanwhile is dropped, which Raft tolerates, as it tolerates the two
// connections reordering messages. Snapshots are streamed in chunks over gRPC
// from a SnapshotSource (the node's store). Fault injection (tests only) drops
// traffic to and from given peers, or only what this node sends to given
// peers (a one-way partition).

import { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { type Message, MessageType, type SnapshotMeta } from '../raft/index.js';
import { recordChunks } from '../wire/chunks.js';
import { decodeBatch, encodeBatch } from '../wire/raft-codec.js';
import { mark } from '../trace.js';
import { type PeerAccessOptions, accessProblem, claimProblem } from './peer-access.js';
import { RaftClient, type SnapshotChunk, RaftServiceDefinition, wireMessageProblem } from './peer-service.js';
import { FrameReader, MAX_FRAME_BYTES, RAFT_ALPN, connectForFrames, encodeFrame, removalIndexOf, removedProblem, tuneForFrames } from './raft-frames.js';
import { type TlsMaterial, describeIdentity, identityOfCertificate } from './tls.js';

export const PEER_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_FRAME_BYTES,
  'grpc.max_send_message_length': MAX_FRAME_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.enable_channelz': 0,
};

const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
const MAX_BACKOFF_MS = 1000;
/**
 * Bytes a connection may hold unsent before what else is sent on it is
 * dropped: the peer stopped reading (paused, or its host is gone). Above the
 * largest message, so that one large append still goes.
 */
const MAX_UNSENT_BYTES = 2 * MAX_FRAME_BYTES;
/** How long a closed link's connections may take to send what was written on them. */
const CLOSE_GRACE_MS = 1000;
/** A refusal frame is a line of text. */
const MAX_REFUSAL_BYTES = 64 * 1024;

/** What the transport delivers to, and asks of, the local replica. */
export interface TransportHost {
  step(m: Message): void;
  reportUnreachable(id: string): void;
  reportSnapshot(id: string, ok: boolean): void;
  receiveSnapshot(m: Message, records: AsyncIterable<[string, Uint8Array]>): Promise<boolean>;
}

/**
 * Where the state streamed to a follower that needs a snapshot comes from: in
 * a node, its NodeStore (src/node.ts hands it in). The view is consistent (one
 * point of the applied state); the transport closes it when the stream ends.
 */
export interface SnapshotSource {
  openStateSnapshot(): Promise<{ meta: SnapshotMeta; records: AsyncIterable<[string, Uint8Array]>; close(): Promise<void> }>;
}

/** The stream a message travels on: appends apart from everything else. */
type Lane = 'appends' | 'messages';

function laneOf(m: Message): Lane {
  return m.type === MessageType.App ? 'appends' : 'messages';
}

class PeerLink {
  private readonly sockets = new Map<Lane, TLSSocket>();
  private failures = 0;
  private retryAt = 0;
  private closed = false;

  constructor(
    readonly id: string,
    readonly address: string,
    /** For snapshots, which stream over gRPC. */
    readonly client: InstanceType<typeof RaftClient>,
    private readonly tls: TlsMaterial,
    private readonly logger: Logger,
    private readonly onBroken: () => void,
    /** The peer refused us as removed from the region, having applied up to `appliedIndex`. */
    private readonly onRemoved: (appliedIndex: number) => void,
  ) {}

  /** Writes a batch on the lane's connection; false when the link is down or stalled and the batch was dropped. */
  send(lane: Lane, messages: Message[]): boolean {
    // A closed link opens nothing: a stopping node still sends what its last Ready held.
    if (this.closed) return false;
    let socket = this.sockets.get(lane);
    if (socket === undefined) {
      if (Date.now() < this.retryAt) return false;
      socket = this.open(lane);
    }
    if (socket.writableLength > MAX_UNSENT_BYTES) return false;
    socket.write(encodeFrame(encodeBatch(messages)));
    // With 'frame arrived' on the peer: how long the kernel takes to hand it over.
    mark(() => `frame written to ${this.id}`);
    return true;
  }

  private open(lane: Lane): TLSSocket {
    const socket = connectForFrames(this.address, this.tls, this.id);
    const reader = new FrameReader(MAX_REFUSAL_BYTES);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of reader.push(chunk)) {
          const refusal = frame.toString('utf8');
          this.logger.warn({ to: this.id, refusal }, 'a peer refused our Raft messages');
          const appliedIndex = removalIndexOf(refusal);
          if (appliedIndex !== undefined) this.onRemoved(appliedIndex);
        }
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => undefined); // 'close' follows and reports it
    socket.once('close', () => {
      if (this.sockets.get(lane) === socket) this.broken(lane);
    });
    this.sockets.set(lane, socket);
    return socket;
  }

  private broken(lane: Lane): void {
    this.sockets.delete(lane);
    this.failures++;
    this.retryAt = Date.now() + Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(this.failures, 5));
    this.onBroken();
  }

  markHealthy(): void {
    this.failures = 0;
  }

  /** What was written still goes out, for a while: a peer that stopped reading does not hold the process open. */
  close(): void {
    this.closed = true;
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    for (const socket of sockets) {
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    }
    this.client.close();
  }
}

export interface TransportOptions {
  readonly id: string;
  /** Peer id → peer address (host:port) of every other node of the group. */
  readonly peers: ReadonlyMap<string, string>;
  /** The state a snapshot streams. */
  readonly snapshots: SnapshotSource;
  readonly logger: Logger;
  readonly faultInjection: boolean;
  /** This node's certificate, presented on the connections for Raft frames. */
  readonly tls: TlsMaterial;
  /** TLS to a peer for snapshots, which must present that peer's certificate. */
  readonly credentials: (nodeId: string) => grpc.ChannelCredentials;
  /** Who may send Raft frames (peer-access.ts). */
  readonly access: PeerAccessOptions;
  /** If `id` was removed from the region (and not added again): the index this node has applied. */
  readonly removal: (id: string) => number | undefined;
}

/**
 * Raft's messages between the nodes of a region. It is the replica's
 * RaftTransport (src/replica/replica.ts) by its shape: the transport sits below
 * the replica and does not import it.
 */
export class PeerTransport {
  private readonly links = new Map<string, PeerLink>();
  /** Connections peers opened to send us Raft frames. */
  private readonly accepted = new Set<TLSSocket>();
  private closed = false;
  /** 'removed' (by, appliedIndex): a peer refused this node's messages because it applied this node's removal. */
  readonly events = new EventEmitter();
  private host: TransportHost | undefined;
  /** Fault injection: peers whose traffic is dropped both ways. */
  private dropped = new Set<string>();
  /** Fault injection: peers that what this node sends is dropped to; what they send still arrives. */
  private droppedOutbound = new Set<string>();
  private peerIds = new Set<string>();
  private readonly addresses = new Map<string, string>();

  constructor(private readonly opts: TransportOptions) {
    this.setPeers(opts.peers);
  }

  /**
   * The group's other members now (membership changes online): links to new
   * members open, links to members gone close, and a message from a node
   * that is no longer a member is refused as from an unknown node.
   */
  setPeers(peers: ReadonlyMap<string, string>): void {
    for (const [id, link] of this.links) {
      if (peers.get(id) === this.addresses.get(id)) continue;
      link.close();
      this.links.delete(id);
      this.addresses.delete(id);
    }
    for (const [id, address] of peers) {
      if (id === this.opts.id || this.links.has(id)) continue;
      const client = new RaftClient(address, this.opts.credentials(id), PEER_CHANNEL_OPTIONS);
      const link = new PeerLink(
        id,
        address,
        client,
        this.opts.tls,
        this.opts.logger,
        () => this.host?.reportUnreachable(id),
        (appliedIndex) => this.events.emit('removed', id, appliedIndex),
      );
      this.links.set(id, link);
      this.addresses.set(id, address);
    }
    this.peerIds = new Set(this.links.keys());
  }

  attach(host: TransportHost): void {
    this.host = host;
  }

  /** Adds the Raft service (snapshots) to the peer gRPC server. */
  register(server: grpc.Server): void {
    server.addService(RaftServiceDefinition, {
      installSnapshot: (call: grpc.ServerReadableStream<SnapshotChunk, unknown>, callback: grpc.sendUnaryData<{ applied: boolean }>) => {
        this.receiveSnapshot(call).then(
          (applied) => callback(null, { applied }),
          (err: unknown) => {
            this.opts.logger.warn({ err }, 'snapshot receive failed');
            callback({ code: grpc.status.INTERNAL, details: `snapshot not installed: ${err instanceof Error ? err.message : String(err)}` });
          },
        );
      },
    });
  }

  /**
   * Fault injection: whether request/response traffic with this node (of any
   * region: the geo stream and probes) is cut. A one-way cut counts too, since
   * a call whose request or answer is lost fails either way. Raft messages,
   * one-way by nature, use the two sets separately (send and receive).
   */
  isDropped(id: string): boolean {
    return this.dropped.has(id) || this.droppedOutbound.has(id);
  }

  get faults(): string[] {
    return [...this.dropped];
  }

  get outboundFaults(): string[] {
    return [...this.droppedOutbound];
  }

  /** Replaces the faults: `dropPeers` both ways, `dropOutboundTo` only what this node sends them. */
  setFaults(dropPeers: readonly string[], dropOutboundTo: readonly string[] = []): void {
    if (!this.opts.faultInjection) throw new Error('fault injection is not enabled on this node');
    this.dropped = new Set(dropPeers);
    this.droppedOutbound = new Set(dropOutboundTo);
    this.opts.logger.warn({ dropPeers, dropOutboundTo }, 'fault injection: dropping traffic');
  }

  private sendDropped(to: string): boolean {
    return this.dropped.has(to) || this.droppedOutbound.has(to);
  }

  send(messages: readonly Message[]): void {
    const batches = new Map<string, { to: string; lane: Lane; messages: Message[] }>();
    for (const m of messages) {
      if (this.sendDropped(m.to)) continue;
      const lane = laneOf(m);
      const key = `${lane} ${m.to}`;
      let batch = batches.get(key);
      if (batch === undefined) batches.set(key, (batch = { to: m.to, lane, messages: [] }));
      batch.messages.push(m);
    }
    for (const { to, lane, messages: batch } of batches.values()) {
      const link = this.links.get(to);
      if (link === undefined) continue;
      if (!link.send(lane, batch)) this.host?.reportUnreachable(to);
    }
  }

  sendSnapshot(m: Message): void {
    void this.streamSnapshot(m).then(
      (ok) => {
        this.opts.logger.info({ to: m.to, installed: ok }, 'sent snapshot');
        this.host?.reportSnapshot(m.to, ok);
      },
      (err: unknown) => {
        this.opts.logger.warn({ err, to: m.to }, 'snapshot send failed');
        this.host?.reportSnapshot(m.to, false);
      },
    );
  }

  close(): void {
    this.closed = true;
    for (const link of this.links.values()) link.close();
    for (const socket of this.accepted) socket.destroy();
  }

  /** The peer port's handler for connections that asked for Raft frames (ALPN RAFT_ALPN). */
  readonly framesProtocol: [string, (socket: TLSSocket) => void] = [RAFT_ALPN, (socket) => this.accept(socket)];

  /**
   * Reads a peer's Raft frames into the replica. A caller the access table
   * does not let send them, a frame that does not decode and a message that
   * fails the checks are refused: one frame says why, and the connection
   * closes, as the sender's link then reports.
   */
  private accept(socket: TLSSocket): void {
    // A peer connecting while this node stops must not hold its process open.
    if (this.closed) return void socket.destroy();
    const who = identityOfCertificate(socket.getPeerCertificate());
    let refused = false;
    const refuse = (reason: 'FORBIDDEN' | 'BAD_MESSAGE' | 'REMOVED', problem: string): void => {
      refused = true;
      this.opts.logger.warn({ caller: describeIdentity(who), peer: `${socket.remoteAddress}:${socket.remotePort}`, problem }, reason === 'BAD_MESSAGE' ? 'refused a peer message' : 'refused a peer call');
      socket.end(encodeFrame(Buffer.from(`${reason}: ${problem}`, 'utf8')));
      socket.destroySoon();
    };
    // A removed node hears so, whether it connects after its removal or
    // sends on a connection it opened before.
    const removal = (): string | undefined => {
      if (who?.kind !== 'node' || this.dropped.has(who.id)) return undefined;
      const appliedIndex = this.opts.removal(who.id);
      return appliedIndex === undefined ? undefined : removedProblem(who.id, appliedIndex);
    };
    this.accepted.add(socket);
    socket.once('close', () => this.accepted.delete(socket));
    tuneForFrames(socket);
    const gone = removal();
    if (gone !== undefined) return refuse('REMOVED', gone);
    const forbidden = accessProblem(RAFT_ALPN, who, this.opts.access);
    if (forbidden !== undefined) return refuse('FORBIDDEN', forbidden);
    const reader = new FrameReader(MAX_FRAME_BYTES);
    socket.on('data', (chunk: Buffer) => {
      mark(() => `frame arrived from ${who?.kind === 'node' ? who.id : '?'}`);
      if (refused) return;
      let batches: Message[][];
      try {
        batches = reader.push(chunk).map((frame) => decodeBatch(frame));
      } catch (e) {
        return refuse('BAD_MESSAGE', `undecodable: ${e instanceof Error ? e.message : String(e)}`);
      }
      for (const messages of batches) {
        const impostor = claimProblem(RAFT_ALPN, messages, who);
        if (impostor !== undefined) return refuse('FORBIDDEN', impostor);
        const goneSince = removal();
        if (goneSince !== undefined) return refuse('REMOVED', goneSince);
        const problem = this.receive(messages);
        if (problem !== undefined) return refuse('BAD_MESSAGE', problem);
      }
    });
  }

  /** Steps the batch's messages into the replica; returns why it refused one, if it did. */
  private receive(messages: Message[]): string | undefined {
    for (const m of messages) {
      if (this.dropped.has(m.from)) continue;
      const problem = wireMessageProblem(m, this.opts.id, this.peerIds);
      if (problem !== undefined) return problem;
      this.links.get(m.from)?.markHealthy();
      mark(() => `recv ${m.type}`);
      this.host?.step(m);
    }
    return undefined;
  }

  private async streamSnapshot(m: Message): Promise<boolean> {
    const link = this.links.get(m.to);
    if (link === undefined || this.sendDropped(m.to)) return false;
    const view = await this.opts.snapshots.openStateSnapshot();
    try {
      // The state sent is the applied state now, which may be newer than the
      // core's compaction point: its meta goes with it.
      const message: Message = { ...m, snapshot: { meta: view.meta, data: new Uint8Array() } };
      return await new Promise<boolean>((resolve, reject) => {
        const call = link.client.makeClientStreamRequest<SnapshotChunk, { applied: boolean }>(
          RaftServiceDefinition.installSnapshot.path,
          RaftServiceDefinition.installSnapshot.requestSerialize,
          RaftServiceDefinition.installSnapshot.responseDeserialize,
          (err, ack) => (err ? reject(err) : resolve(ack?.applied ?? false)),
        );
        void (async () => {
          let first = true;
          for await (const { records, done } of recordChunks(view.records, SNAPSHOT_CHUNK_BYTES)) {
            const chunk: SnapshotChunk = { message: first ? message : undefined, records, done };
            first = false;
            if (!call.write(chunk)) await new Promise((r) => call.once('drain', r));
          }
          call.end();
        })().catch((err: unknown) => {
          call.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        });
      });
    } finally {
      await view.close();
    }
  }

  private async receiveSnapshot(call: grpc.ServerReadableStream<SnapshotChunk, unknown>): Promise<boolean> {
    const chunks = call[Symbol.asyncIterator]() as AsyncIterator<SnapshotChunk>;
    const first = await chunks.next();
    if (first.done === true || first.value.message === undefined) throw new Error('snapshot stream without its message');
    const m = first.value.message;
    const problem = wireMessageProblem(m, this.opts.id, this.peerIds);
    if (problem !== undefined) throw new Error(problem);
    if (this.dropped.has(m.from) || this.host === undefined) return false;
    async function* records(): AsyncGenerator<[string, Uint8Array]> {
      let chunk: SnapshotChunk | undefined = first.value;
      while (chunk !== undefined) {
        for (const r of chunk.records) yield [r.key, r.value];
        if (chunk.done) return;
        const next = await chunks.next();
        chunk = next.done === true ? undefined : next.value;
      }
      throw new Error('snapshot stream ended early');
    }
    return this.host.receiveSnapshot(m, records());
  }
}
