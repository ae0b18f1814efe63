// The node-to-node gRPC services: Raft's snapshots (its messages travel as
// frames, raft-frames.ts), and Admin, which goes through proto-loader like
// the public API.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Message } from '../raft/index.js';
import { MessageType } from '../raft/index.js';
import { GRPC_LOADER_OPTIONS, loadProtoRoot } from '../protos.js';
import { messageFromObject, messageToObject } from '../wire/raft-codec.js';

const root = loadProtoRoot('keyraft/peer/v1/raft.proto');
const SnapshotChunkPb = root.lookupType('keyraft.peer.v1.SnapshotChunk');
const SnapshotAckPb = root.lookupType('keyraft.peer.v1.SnapshotAck');

export interface SnapshotChunk {
  message?: Message;
  records: { key: string; value: Uint8Array }[];
  done: boolean;
}

function encodeChunk(c: SnapshotChunk): Buffer {
  const o = {
    message: c.message === undefined ? undefined : messageToObject(c.message),
    records: c.records.map((r) => ({ key: Buffer.from(r.key, 'utf8'), value: r.value })),
    done: c.done,
  };
  return Buffer.from(SnapshotChunkPb.encode(SnapshotChunkPb.fromObject(o)).finish());
}

function decodeChunk(buf: Buffer): SnapshotChunk {
  const o = SnapshotChunkPb.toObject(SnapshotChunkPb.decode(buf), { longs: Number, bytes: Uint8Array, defaults: true, arrays: true }) as {
    message?: Parameters<typeof messageFromObject>[0] | null;
    records: { key: Uint8Array; value: Uint8Array }[];
    done: boolean;
  };
  return {
    message: o.message ? messageFromObject(o.message) : undefined,
    records: o.records.map((r) => ({ key: Buffer.from(r.key).toString('utf8'), value: r.value })),
    done: o.done,
  };
}

export const RaftServiceDefinition = {
  installSnapshot: {
    path: '/keyraft.peer.v1.Raft/InstallSnapshot',
    requestStream: true,
    responseStream: false,
    requestSerialize: encodeChunk,
    requestDeserialize: decodeChunk,
    responseSerialize: (ack: { applied: boolean }): Buffer => Buffer.from(SnapshotAckPb.encode(ack).finish()),
    responseDeserialize: (buf: Buffer): { applied: boolean } => SnapshotAckPb.toObject(SnapshotAckPb.decode(buf), { defaults: true }) as { applied: boolean },
  },
} satisfies grpc.ServiceDefinition;

export const RaftClient = grpc.makeGenericClientConstructor(RaftServiceDefinition, 'Raft');

const adminPackage = grpc.loadPackageDefinition(
  protoLoader.loadSync('keyraft/peer/v1/admin.proto', GRPC_LOADER_OPTIONS),
) as unknown as { keyraft: { peer: { v1: { Admin: grpc.ServiceClientConstructor } } } };

export const AdminClient = adminPackage.keyraft.peer.v1.Admin;
export const AdminServiceDefinition = AdminClient.service;

type UnaryStub = (req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res?: unknown) => void) => void;

/**
 * One unary call of the Admin service at `address` (a peer port), on a
 * channel of its own that is closed after: for scripts and tests, which
 * call now and then. Rejects with the grpc-js ServiceError.
 */
export function adminCall<T>(address: string, credentials: grpc.ChannelCredentials, method: string, request: object, timeoutMs: number): Promise<T> {
  const client = new AdminClient(address, credentials) as unknown as grpc.Client & Record<string, UnaryStub>;
  return new Promise<T>((resolve, reject) =>
    client[method]!(request, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err !== null) reject(err);
      else resolve(res as T);
    }),
  );
}

/** The message types that travel between nodes; the others stay inside a node. */
export const WIRE_TYPES: ReadonlySet<string> = new Set<string>([
  MessageType.App,
  MessageType.AppResp,
  MessageType.Vote,
  MessageType.VoteResp,
  MessageType.PreVote,
  MessageType.PreVoteResp,
  MessageType.Snap,
  MessageType.Heartbeat,
  MessageType.HeartbeatResp,
  MessageType.TimeoutNow,
  MessageType.TransferLeader,
  MessageType.ReadIndex,
  MessageType.ReadIndexResp,
]);

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * Structural checks on a message from the wire, before it may reach the core:
 * a peer's bug or garbage must not become an invariant failure here.
 */
export function wireMessageProblem(m: Message, self: string, peers: ReadonlySet<string>): string | undefined {
  if (!WIRE_TYPES.has(m.type)) return `unknown message type ${JSON.stringify(m.type)}`;
  if (m.to !== self) return `message for ${m.to} reached ${self}`;
  if (!peers.has(m.from)) return `message from unknown node ${m.from}`;
  if (![m.term, m.logTerm, m.index, m.commit, m.rejectHint].every(isCount)) return 'negative or unsafe number';
  let expected = m.index + 1;
  for (const e of m.entries) {
    if (e.index !== expected || !isCount(e.term) || e.term > m.term) return 'entries out of order';
    expected++;
  }
  if (m.type === MessageType.Snap && m.snapshot === undefined) return 'snapshot message without a snapshot';
  return undefined;
}
