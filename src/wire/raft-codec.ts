// Compact binary (protobuf, keyraft/peer/v1/raft.proto) forms of the Raft
// core's records, the one codec for both their uses: log entries, hard state
// and snapshot meta at rest (src/storage), and messages on the wire between
// peers (src/transport). It sits just above the core, which stays free of
// protobuf and of the proto files' loading. Snapshot data never travels in a
// message: it is streamed from the state on disk (see chunks.ts).

import type protobuf from 'protobufjs';
import type { ConfState, Entry, EntryType, HardState, Message, MessageType, SnapshotMeta } from '../raft/index.js';
import { message } from '../raft/index.js';
import { loadProtoRoot } from '../protos.js';

const root = loadProtoRoot('keyraft/peer/v1/raft.proto');
const EntryPb = root.lookupType('keyraft.peer.v1.Entry');
const HardStatePb = root.lookupType('keyraft.peer.v1.HardState');
const SnapshotMetaPb = root.lookupType('keyraft.peer.v1.SnapshotMeta');
const RaftBatchPb = root.lookupType('keyraft.peer.v1.RaftBatch');

const EMPTY = new Uint8Array();

/** Decoded protobuf objects with every field present. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, bytes: Uint8Array, defaults: true, arrays: true };

interface EntryObject {
  term: number;
  index: number;
  type: number;
  data: Uint8Array;
}

interface ConfObject {
  voters: string[];
  votersOutgoing: string[];
  learners: string[];
  learnersNext: string[];
  autoLeave: boolean;
}

interface MetaObject {
  index: number;
  term: number;
  conf?: ConfObject | null;
}

interface MessageObject {
  type: string;
  from: string;
  to: string;
  term: number;
  logTerm: number;
  index: number;
  entries: EntryObject[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot?: MetaObject | null;
  context: Uint8Array;
}

function toEntry(o: EntryObject): Entry {
  return { term: o.term, index: o.index, type: o.type as EntryType, data: o.data ?? EMPTY };
}

function toConf(o: ConfObject | null | undefined): ConfState {
  return {
    voters: o?.voters ?? [],
    votersOutgoing: o?.votersOutgoing ?? [],
    learners: o?.learners ?? [],
    learnersNext: o?.learnersNext ?? [],
    autoLeave: o?.autoLeave ?? false,
  };
}

function toMeta(o: MetaObject): SnapshotMeta {
  return { index: o.index, term: o.term, conf: toConf(o.conf) };
}

export function encodeEntry(e: Entry): Uint8Array {
  return EntryPb.encode(EntryPb.fromObject(e)).finish();
}

export function decodeEntry(bytes: Uint8Array): Entry {
  return toEntry(EntryPb.toObject(EntryPb.decode(bytes), TO_OBJECT) as EntryObject);
}

export function encodeHardState(hs: HardState): Uint8Array {
  return HardStatePb.encode(HardStatePb.fromObject(hs)).finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const o = HardStatePb.toObject(HardStatePb.decode(bytes), TO_OBJECT) as HardState;
  return { term: o.term, vote: o.vote, commit: o.commit };
}

export function encodeSnapshotMeta(meta: SnapshotMeta): Uint8Array {
  return SnapshotMetaPb.encode(SnapshotMetaPb.fromObject(meta)).finish();
}

export function decodeSnapshotMeta(bytes: Uint8Array): SnapshotMeta {
  return toMeta(SnapshotMetaPb.toObject(SnapshotMetaPb.decode(bytes), TO_OBJECT) as MetaObject);
}

/** A core message as a protobuf object (snapshot data left out). */
export function messageToObject(m: Message): Record<string, unknown> {
  return {
    type: m.type,
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries,
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    snapshot: m.snapshot?.meta,
    context: m.context ?? EMPTY,
  };
}

/** A protobuf object (from grpc or protobufjs) back into a core message. */
export function messageFromObject(o: MessageObject): Message {
  return message({
    type: o.type as MessageType,
    from: o.from,
    to: o.to,
    term: Number(o.term),
    logTerm: Number(o.logTerm),
    index: Number(o.index),
    entries: (o.entries ?? []).map((e) => toEntry({ ...e, term: Number(e.term), index: Number(e.index) })),
    commit: Number(o.commit),
    reject: o.reject,
    rejectHint: Number(o.rejectHint),
    snapshot: o.snapshot ? { meta: toMeta({ ...o.snapshot, index: Number(o.snapshot.index), term: Number(o.snapshot.term) }), data: EMPTY } : undefined,
    context: o.context !== undefined && o.context.length > 0 ? new Uint8Array(o.context) : undefined,
  });
}

export function encodeBatch(messages: readonly Message[]): Uint8Array {
  return RaftBatchPb.encode(RaftBatchPb.fromObject({ messages: messages.map(messageToObject) })).finish();
}

export function decodeBatch(bytes: Uint8Array): Message[] {
  const o = RaftBatchPb.toObject(RaftBatchPb.decode(bytes), TO_OBJECT) as { messages: MessageObject[] };
  return o.messages.map(messageFromObject);
}
