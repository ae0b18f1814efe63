// How the state is persisted: string keys with a type prefix, JSON values in
// UTF-8 with bytes in base64. Names in keys are lower-cased (names are
// case-insensitive); the name as displayed is in the value. Values hold only
// sealed secret values and sealed private keys, never plaintext.
//
//   vault/<vault>                      VaultRecord
//   secret/<vault>/<name>              {name, deleted}
//   secretv/<vault>/<name>/<version>   VersionRecord (seq = creation order)
//   key/<vault>/<name>                 {name, deleted}
//   keyv/<vault>/<name>/<version>      KeyVersion, material and attributes flattened
//   datakey/<keyId>                    {wrappedKey, seq, installedMs, writes}
//   request/<requestId>                {seq, index, fp, result}: deduplication
//   principal/, roleassignment/, tokenkey/, counter/   see records-auth.ts

import type { ApplyResult, Mutation } from './outcome.js';
import { type DataKeyRecord, type Deletion, type KeyVersion, type Kind, type VaultRecord, type VersionRecord, NO_TAGS, keptBytes } from './model.js';

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
  const a = r.attributes;
  return json({
    version: r.version,
    seq: r.seq,
    sealedValue: b64(r.sealedValue),
    contentType: a.contentType,
    tags: a.tags,
    enabled: a.enabled,
    notBefore: a.notBefore,
    expires: a.expires,
    createdMs: r.createdMs,
    updatedMs: r.updatedMs,
  });
}

export function decodeVersion(b: Uint8Array): VersionRecord {
  const o = parse(b);
  return {
    version: o.version as string,
    seq: o.seq as number,
    sealedValue: unb64(o.sealedValue),
    attributes: {
      contentType: o.contentType as string,
      tags: tagsOf(o.tags),
      enabled: o.enabled as boolean,
      notBefore: o.notBefore as number,
      expires: o.expires as number,
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

export function encodeDataKey(r: DataKeyRecord): Uint8Array {
  return json({ wrappedKey: b64(r.wrappedKey), seq: r.seq, installedMs: r.installedMs, writes: r.writes });
}

export function decodeDataKey(b: Uint8Array): DataKeyRecord {
  const o = parse(b);
  // Records written before rotation was counted have neither field.
  return { wrappedKey: unb64(o.wrappedKey), seq: o.seq as number, installedMs: (o.installedMs as number | undefined) ?? 0, writes: (o.writes as number | undefined) ?? 0 };
}

export function encodeRequest(r: RequestRecord): Uint8Array {
  return json({ seq: r.seq, index: r.index, fp: r.fp, result: r.result });
}

export function decodeRequest(b: Uint8Array): RequestRecord {
  const o = parse(b);
  return { seq: o.seq as number, index: o.index as number, fp: o.fp as string, result: o.result as ApplyResult };
}
