// The public API (package keyraft.v1) as grpc-js service definitions, loaded
// from the .proto files; the same package definition feeds server reflection.

import { isUtf8 } from 'node:buffer';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { API_FILES, GRPC_LOADER_OPTIONS, loadProtoRoot } from '../protos.js';

export const apiPackageDefinition = protoLoader.loadSync(API_FILES, GRPC_LOADER_OPTIONS);

type ServiceName = 'Vaults' | 'Secrets' | 'Keys' | 'Cluster';

const loaded = grpc.loadPackageDefinition(apiPackageDefinition) as unknown as {
  keyraft: { v1: Record<ServiceName, grpc.ServiceClientConstructor> };
};

/**
 * Stands for a request whose bytes did not decode, or decoded only by
 * altering them (a string field that is not UTF-8); handlers answer
 * INVALID_ARGUMENT, reason BAD_REQUEST.
 */
export const UNDECODABLE_REQUEST = Object.freeze({ undecodable: true });

/** Where a message's string fields are, by field number: the field itself, or a message (or map entry) holding some. */
type StringFields = Map<number, 'string' | StringFields>;

const apiRoot = loadProtoRoot(...API_FILES);
const plans = new Map<protobuf.Type, StringFields>();
/** Plans still being filled: a message type that contains itself must not look empty. */
const filling = new Set<StringFields>();

function stringFields(type: protobuf.Type): StringFields {
  let plan = plans.get(type);
  if (plan !== undefined) return plan;
  plan = new Map();
  plans.set(type, plan);
  filling.add(plan);
  const nested = (t: protobuf.Type) => {
    const p = stringFields(t);
    return p.size > 0 || filling.has(p) ? p : undefined;
  };
  for (const f of type.fieldsArray) {
    if (f instanceof protobuf.MapField) {
      const value = f.type === 'string' ? 'string' : f.resolvedType instanceof protobuf.Type ? nested(f.resolvedType) : undefined;
      const entry: StringFields = new Map();
      if (f.keyType === 'string') entry.set(1, 'string');
      if (value !== undefined) entry.set(2, value);
      if (entry.size > 0) plan.set(f.id, entry);
    } else if (f.type === 'string') {
      plan.set(f.id, 'string');
    } else if (f.resolvedType instanceof protobuf.Type) {
      const p = nested(f.resolvedType);
      if (p !== undefined) plan.set(f.id, p);
    }
  }
  filling.delete(plan);
  return plan;
}

// The walk below reads the wire format itself rather than through a
// protobufjs Reader per request, which keeps the check well under a
// microsecond for a usual request. One request is walked at a time (it is
// synchronous), so the read position can live here.
let pos = 0;

function varint(b: Uint8Array): number {
  let value = 0;
  for (let scale = 1; scale <= 2 ** 63; scale *= 128) {
    if (pos >= b.length) break;
    const byte = b[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
  }
  throw new RangeError('a varint runs past the end or beyond 10 bytes');
}

function skip(b: Uint8Array, wireType: number, end: number): void {
  switch (wireType) {
    case 0:
      varint(b);
      break;
    case 1:
      pos += 8;
      break;
    case 2: {
      const length = varint(b);
      pos += length;
      break;
    }
    case 3:
      for (;;) {
        if (pos >= end) throw new RangeError('a group without its end');
        const tag = varint(b);
        if ((tag & 7) === 4) break;
        skip(b, tag & 7, end);
      }
      break;
    case 5:
      pos += 4;
      break;
    default:
      throw new RangeError(`wire type ${wireType}`);
  }
  if (pos > end) throw new RangeError('a field runs past the end');
}

/** Below this many bytes a loop in JS beats the call into isUtf8; above, isUtf8's SIMD wins. */
const SHORT_STRING = 64;

function isUtf8At(b: Uint8Array, from: number, to: number): boolean {
  if (to - from >= SHORT_STRING) return isUtf8(b.subarray(from, to));
  for (let i = from; i < to; i++) if (b[i]! >= 0x80) return isUtf8(b.subarray(i, to));
  return true;
}

/**
 * Whether every string field of the encoded message is whole and valid UTF-8.
 * Only the fields the plan names are looked into, the rest skipped. Whole:
 * protobufjs cuts a string whose length runs past the end of the message
 * short instead of failing, which would store a truncated value.
 */
function stringsAreUtf8(b: Uint8Array, plan: StringFields, end: number): boolean {
  while (pos < end) {
    const tag = varint(b);
    const field = (tag & 7) === 2 ? plan.get(tag >>> 3) : undefined;
    if (field === undefined) {
      skip(b, tag & 7, end);
      continue;
    }
    const length = varint(b);
    const stop = pos + length;
    if (stop > end) return false;
    if (field === 'string') {
      if (!isUtf8At(b, pos, stop)) return false;
      pos = stop;
    } else if (!stringsAreUtf8(b, field, stop)) {
      return false;
    }
  }
  return true;
}

function requestStringsAreUtf8(b: Uint8Array, plan: StringFields): boolean {
  pos = 0;
  return stringsAreUtf8(b, plan, b.length);
}

/**
 * The service as the server registers it: a request that does not decode
 * becomes UNDECODABLE_REQUEST instead of an exception, which grpc-js would
 * report as INTERNAL — and garbage from a client is the client's mistake.
 *
 * So does a string field that is not valid UTF-8: protobufjs would decode it
 * into U+FFFD replacement characters, and a secret value (or a name, or a
 * tag) would be stored other than it was sent. Proto3 itself says such a
 * message does not parse.
 */
export function apiService(name: ServiceName): grpc.ServiceDefinition {
  const service = loaded.keyraft.v1[name].service;
  const protoService = apiRoot.lookupService(`keyraft.v1.${name}`);
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(service)) {
    const plan = stringFields(protoService.methods[method]!.resolvedRequestType!);
    guarded[method] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          const request = def.requestDeserialize(bytes);
          if (plan.size === 0 || requestStringsAreUtf8(bytes, plan)) return request;
        } catch {
          // Falls through: undecodable.
        }
        return UNDECODABLE_REQUEST;
      },
    };
  }
  return guarded;
}

export function apiClient(name: ServiceName): grpc.ServiceClientConstructor {
  return loaded.keyraft.v1[name];
}
