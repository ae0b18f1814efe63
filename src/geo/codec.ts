// Encodings of cross-region replication: the Geo peer service's messages, and the
// entries of the secondary's own log, which start with a zero byte so that
// they can never be mistaken for a vault command (a protobuf message never
// starts with field number 0).

import { loadProtoRoot } from '../protos.js';

export interface PrimaryEntry {
  index: number;
  term: number;
  type: number;
  data: Uint8Array;
}

export interface PrimaryHealth {
  node: string;
  leader: string;
  term: number;
  commitIndex: number;
  atMs: number;
}

export interface FollowEvent {
  entries: PrimaryEntry[];
  health: PrimaryHealth | null;
  appliedAtMs: number;
}

export interface SnapshotPart {
  primaryIndex: number;
  primaryTerm: number;
  transfer: string;
  seq: number;
  records: { key: string; value: Uint8Array }[];
  last: boolean;
}

export interface GeoSnapshotChunk {
  index: number;
  term: number;
  records: { key: string; value: Uint8Array }[];
  done: boolean;
}

export type GeoEntry =
  | { kind: 'shipped'; shipped: { entries: PrimaryEntry[]; appliedAtMs: number } }
  | { kind: 'snapshotPart'; snapshotPart: SnapshotPart }
  | { kind: 'transition'; transition: { mode: string; epoch: number; atMs: number; reason: string; manual: boolean } };

const root = loadProtoRoot('keyraft/peer/v1/geo.proto');
const GeoEntryPb = root.lookupType('keyraft.peer.v1.GeoEntry');
const TO_OBJECT = { longs: Number, bytes: Uint8Array, defaults: true, arrays: true, oneofs: true } as const;

export function isGeoEntryData(data: Uint8Array): boolean {
  return data.length > 0 && data[0] === 0;
}

export function encodeGeoEntry(e: GeoEntry): Uint8Array {
  const body = GeoEntryPb.encode(GeoEntryPb.fromObject({ [e.kind]: e.kind === 'shipped' ? e.shipped : e.kind === 'transition' ? e.transition : e.snapshotPart })).finish();
  const out = new Uint8Array(body.length + 1);
  out.set(body, 1);
  return out;
}

export function decodeGeoEntry(data: Uint8Array): GeoEntry {
  const o = GeoEntryPb.toObject(GeoEntryPb.decode(data.subarray(1)), TO_OBJECT) as {
    kind?: string;
    shipped?: { entries: PrimaryEntry[]; appliedAtMs: number };
    transition?: { mode: string; epoch: number; atMs: number; reason: string; manual: boolean };
    snapshotPart?: SnapshotPart;
  };
  if (o.kind === 'shipped' && o.shipped) return { kind: 'shipped', shipped: o.shipped };
  if (o.kind === 'transition' && o.transition) return { kind: 'transition', transition: o.transition };
  if (o.kind === 'snapshotPart' && o.snapshotPart) return { kind: 'snapshotPart', snapshotPart: o.snapshotPart };
  throw new Error('empty geo entry');
}

/** The longest prefix of `items` whose data fits in `maxBytes`, but never less than one item. */
export function upToBytes<T extends { data: Uint8Array }>(items: readonly T[], maxBytes: number): T[] {
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    bytes += items[i]!.data.length;
    if (bytes > maxBytes && i > 0) return items.slice(0, i);
  }
  return items as T[];
}
