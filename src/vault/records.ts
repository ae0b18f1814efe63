// How the state is persisted: string keys with a type prefix, and values in
// JSON (UTF-8, bytes in base64), but for the records every SetSecret writes:
// a secret's version and a remembered request are binary (state.proto), and a
// data key's count of sealed writes is a record of its own, so that counting
// one does not rewrite the key. Names in keys are lower-cased (names are
// case-insensitive); the name as displayed is in the value. Values hold only
// sealed secret values and sealed private keys, never plaintext.
//
//   vault/<vault>                      VaultRecord
//   secret/<vault>/<name>              {name, deleted}
//   secretv/<vault>/<name>/<version>   SecretVersionState (seq = creation order)
//   key/<vault>/<name>                 {name, deleted}
//   keyv/<vault>/<name>/<version>      KeyVersion, material and attributes flattened
//   datakey/<keyId>                    {wrappedKey, seq, installedMs}
//   datakeywrites/<keyId>              the count of values sealed under it, in decimal; absent: 0
//   request/<requestId>                RequestState: deduplication
//   principal/, roleassignment/, tokenkey/, counter/   see records-auth.ts
//
// Records written before the binary format are JSON, which starts with "{",
// and they load as ever: a secret's version and a request, or a data key
// holding its count of writes.

import protobuf from 'protobufjs';
import { loadProtoRoot } from '../protos.js';
import type { ApplyResult, Mutation } from './outcome.js';
import {
  type DataKeyRecord,
  type Deletion,
  type KeyVersion,
  type Kind,
  type SecretProperties,
  type VaultRecord,
  type VersionRecord,
  NO_TAGS,
  keptBytes,
} from './model.js';

// Defined beside ApplyOutcome, which carries it (outcome.ts importing it from
// here closed an import cycle); still exported here, where it is written.
export type { Mutation };

/** The header of a secret or a key. */
export interface EntryHeader {
  name: string;
  deleted: Deletion | null;
}

export interface RequestRecord {
  /** Apply order among remembered requests; the lowest is forgotten first. */
  seq: number;
  /** The log index that first applied it. */
  index: number;
  /** The operation and target, so a request id reused for something else is caught. */
  fp: string;
  result: ApplyResult;
}

/**
 * What the state keeps of a remembered request: enough to recognize a retry
 * or a reused id. The result stays in its encoded record until a retry asks
 * for it, which is rare: cloning it for the memory on every apply cost more
 * than the rest of a SetSecret's bookkeeping.
 */
export interface RememberedRequest {
  readonly seq: number;
  readonly fp: string;
  readonly record: Uint8Array;
}

/** A kind's name is its header prefix; its versions go under the name plus "v". */
export const recordKeys = {
  vault: (v: string) => `vault/${v}`,
  entry: (kind: Kind, v: string, n: string) => `${kind}/${v}/${n}`,
  version: (kind: Kind, v: string, n: string, version: string) => `${kind}v/${v}/${n}/${version}`,
  dataKey: (id: string) => `datakey/${id}`,
  dataKeyWrites: (id: string) => `datakeywrites/${id}`,
  request: (id: string) => `request/${id}`,
  principal: (p: string) => `principal/${p}`,
  roleAssignment: (id: string) => `roleassignment/${id}`,
  tokenKey: (id: string) => `tokenkey/${id}`,
  counter: (name: string) => `counter/${name}`,
};

export type ParsedKey =
  | { type: 'vault'; vault: string }
  | { type: 'entry'; kind: Kind; vault: string; name: string }
  | { type: 'version'; kind: Kind; vault: string; name: string; version: string }
  | { type: 'dataKey'; keyId: string }
  | { type: 'dataKeyWrites'; keyId: string }
  | { type: 'request'; requestId: string }
  | { type: 'principal'; principal: string }
  | { type: 'roleAssignment'; id: string }
  | { type: 'tokenKey'; keyId: string }
  | { type: 'counter'; name: string };

export function parseKey(key: string): ParsedKey {
  const slash = key.indexOf('/');
  const prefix = key.slice(0, slash);
  const rest = key.slice(slash + 1);
  const parts = rest.split('/');
  if (slash > 0) {
    switch (prefix) {
      case 'vault':
        if (parts.length === 1) return { type: 'vault', vault: rest };
        break;
      case 'secret':
      case 'key':
        if (parts.length === 2) return { type: 'entry', kind: prefix, vault: parts[0]!, name: parts[1]! };
        break;
      case 'secretv':
      case 'keyv':
        if (parts.length === 3) {
          return { type: 'version', kind: prefix === 'secretv' ? 'secret' : 'key', vault: parts[0]!, name: parts[1]!, version: parts[2]! };
        }
        break;
      case 'datakey':
        return { type: 'dataKey', keyId: rest };
      case 'datakeywrites':
        return { type: 'dataKeyWrites', keyId: rest };
      case 'request':
        // A request id may hold "/": it is the whole rest of the key.
        return { type: 'request', requestId: rest };
      case 'principal':
        if (parts.length === 1) return { type: 'principal', principal: rest };
        break;
      case 'roleassignment':
        if (parts.length === 1) return { type: 'roleAssignment', id: rest };
        break;
      case 'tokenkey':
        if (parts.length === 1) return { type: 'tokenKey', keyId: rest };
        break;
      case 'counter':
        if (parts.length === 1) return { type: 'counter', name: rest };
        break;
    }
  }
  throw new Error(`vault state: unknown record key ${JSON.stringify(key)}`);
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const parse = (b: Uint8Array): Record<string, unknown> => JSON.parse(dec.decode(b)) as Record<string, unknown>;
const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
/** These bytes stay in the state: see keptBytes. */
const unb64 = (s: unknown): Uint8Array => keptBytes(Buffer.from(s as string, 'base64'));
/** A copy through defineProperty semantics, so that a "__proto__" tag stays data; none share NO_TAGS. */
function tagsOf(t: unknown): Record<string, string> {
  const entries = Object.entries(t as Record<string, string>);
  return entries.length === 0 ? NO_TAGS : Object.fromEntries(entries);
}

/** The first byte of a binary record (state.proto); a JSON record's is "{". */
const BINARY_V1 = 1;

interface StateTypes {
  readonly version: protobuf.Type;
  readonly request: protobuf.Type;
}
let stateTypes: StateTypes | undefined;

/** Loaded on first use, as the command codec is. */
function types(): StateTypes {
  if (stateTypes === undefined) {
    const root = loadProtoRoot('keyraft/peer/v1/state.proto');
    stateTypes = { version: root.lookupType('keyraft.peer.v1.SecretVersionState'), request: root.lookupType('keyraft.peer.v1.RequestState') };
  }
  return stateTypes;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true, oneofs: true };

/** A buffer of its own, as the JSON records had: protobufjs writes into a slab of Node's pool, which a kept view would pin. */
function binary(type: protobuf.Type, message: object): Uint8Array {
  return new Uint8Array(type.encode(message, protobuf.Writer.create().uint32(BINARY_V1)).finish());
}

function fromBinary(type: protobuf.Type, b: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(b.subarray(1)), TO_OBJECT);
}

export function encodeVault(r: VaultRecord): Uint8Array {
  return json({ name: r.name, retentionDays: r.retentionDays, purgeProtection: r.purgeProtection, createdMs: r.createdMs });
}

export function decodeVault(b: Uint8Array): VaultRecord {
  const o = parse(b);
  return {
    name: o.name as string,
    retentionDays: o.retentionDays as number,
    purgeProtection: o.purgeProtection as boolean,
    createdMs: o.createdMs as number,
  };
}

export function encodeHeader(h: EntryHeader): Uint8Array {
  const d = h.deleted;
  return json({ name: h.name, deleted: d && { deletedMs: d.deletedMs, scheduledPurgeMs: d.scheduledPurgeMs } });
}

export function decodeHeader(b: Uint8Array): EntryHeader {
  const o = parse(b);
  const d = o.deleted as Deletion | null;
  return { name: o.name as string, deleted: d && { deletedMs: d.deletedMs, scheduledPurgeMs: d.scheduledPurgeMs } };
}

export function encodeVersion(r: VersionRecord): Uint8Array {
  const { version, seq, sealedValue, attributes, createdMs, updatedMs } = r;
  return binary(types().version, { version, seq, sealedValue, attributes, createdMs, updatedMs });
}

export function decodeVersion(b: Uint8Array): VersionRecord {
  const isBinary = b[0] === BINARY_V1;
  const o = isBinary ? fromBinary(types().version, b) : parse(b);
  // The JSON record has the attributes flattened into it.
  const a = (isBinary ? o.attributes : o) as Record<string, unknown>;
  return {
    version: o.version as string,
    seq: o.seq as number,
    sealedValue: isBinary ? keptBytes(o.sealedValue as Uint8Array) : unb64(o.sealedValue),
    attributes: {
      contentType: a.contentType as string,
      tags: tagsOf(a.tags),
      enabled: a.enabled as boolean,
      notBefore: a.notBefore as number,
      expires: a.expires as number,
    },
    createdMs: o.createdMs as number,
    updatedMs: o.updatedMs as number,
  };
}

export function encodeKeyVersion(r: KeyVersion): Uint8Array {
  const m = r.material;
  const a = r.attributes;
  return json({
    version: r.version,
    seq: r.seq,
    kty: m.kty,
    keySize: m.keySize,
    curve: m.curve,
    publicJwk: m.publicJwk,
    sealedPrivateJwk: b64(m.sealedPrivateJwk),
    keyOps: a.keyOps,
    enabled: a.enabled,
    notBefore: a.notBefore,
    expires: a.expires,
    tags: a.tags,
    exportable: a.exportable,
    createdMs: r.createdMs,
    updatedMs: r.updatedMs,
  });
}

export function decodeKeyVersion(b: Uint8Array): KeyVersion {
  const o = parse(b);
  return {
    version: o.version as string,
    seq: o.seq as number,
    material: {
      kty: o.kty as string,
      keySize: o.keySize as number,
      curve: o.curve as string,
      publicJwk: o.publicJwk as string,
      sealedPrivateJwk: unb64(o.sealedPrivateJwk),
    },
    attributes: {
      keyOps: [...(o.keyOps as string[])],
      enabled: o.enabled as boolean,
      notBefore: o.notBefore as number,
      expires: o.expires as number,
      tags: tagsOf(o.tags),
      exportable: o.exportable as boolean,
    },
    createdMs: o.createdMs as number,
    updatedMs: o.updatedMs as number,
  };
}

/** Its count of writes is a record of its own (encodeDataKeyWrites), which every sealed write rewrites. */
export function encodeDataKey(r: DataKeyRecord): Uint8Array {
  return json({ wrappedKey: b64(r.wrappedKey), seq: r.seq, installedMs: r.installedMs });
}

/** `writes` is what the record holds: 0, or the count it kept before the count had a record of its own. */
export function decodeDataKey(b: Uint8Array): DataKeyRecord {
  const o = parse(b);
  // Records written before rotation was counted have neither field.
  return { wrappedKey: unb64(o.wrappedKey), seq: o.seq as number, installedMs: (o.installedMs as number | undefined) ?? 0, writes: (o.writes as number | undefined) ?? 0 };
}

export function encodeDataKeyWrites(writes: number): Uint8Array {
  return enc.encode(String(writes));
}

export function decodeDataKeyWrites(b: Uint8Array): number {
  const writes = Number(dec.decode(b));
  if (!Number.isSafeInteger(writes) || writes < 0) throw new Error('vault state: a data key\'s count of writes is not a count');
  return writes;
}

/** A secret's properties (the usual result: SetSecret's) as a message; any other result as JSON. */
export function encodeRequest(r: RequestRecord): Uint8Array {
  const { seq, index, fp, result } = r;
  return binary(types().request, { seq, index, fp, ...(result.kind === 'secret' ? { secret: result.secret } : { json: JSON.stringify(result) }) });
}

export function decodeRequest(b: Uint8Array): RequestRecord {
  if (b[0] !== BINARY_V1) {
    const o = parse(b);
    return { seq: o.seq as number, index: o.index as number, fp: o.fp as string, result: o.result as ApplyResult };
  }
  const o = fromBinary(types().request, b);
  const result: ApplyResult =
    o.result === 'secret' ? { kind: 'secret', secret: secretProperties(o.secret as Record<string, unknown>) } : (JSON.parse(o.json as string) as ApplyResult);
  return { seq: o.seq as number, index: o.index as number, fp: o.fp as string, result };
}

function secretProperties(o: Record<string, unknown>): SecretProperties {
  return {
    vault: o.vault as string,
    name: o.name as string,
    version: o.version as string,
    id: o.id as string,
    contentType: o.contentType as string,
    tags: tagsOf(o.tags),
    enabled: o.enabled as boolean,
    notBefore: o.notBefore as number,
    expires: o.expires as number,
    created: o.created as number,
    updated: o.updated as number,
    recoveryLevel: o.recoveryLevel as string,
    recoverableDays: o.recoverableDays as number,
  };
}
