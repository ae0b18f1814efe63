// Protobuf's canonical JSON mapping of an API message: camelCase names, int64
// as decimal strings, every field shown (defaults included, which the mapping
// allows), and bytes as unpadded base64url rather than the mapping's base64,
// so a value can be pasted into a URL or a shell argument unchanged.

import protobuf from 'protobufjs';
import { API_FILES, loadProtoRoot } from '../protos.js';

let root: protobuf.Root | undefined;

function lookup(typeName: string): protobuf.Type {
  root ??= loadProtoRoot(...API_FILES);
  return root.lookupType(typeName.startsWith('.') ? typeName : `.${typeName}`);
}

export function base64url(b64: string): string {
  return b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Rewrites bytes as base64url and puts the fields back in declaration order
 * (protobufjs emits maps and repeated fields first, which reads oddly).
 */
function normalize(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    const v = obj[field.name];
    if (v === undefined) continue;
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const one = (x: unknown): unknown => {
      if (field.type === 'bytes') return base64url(String(x));
      if (nested !== undefined && x !== null && typeof x === 'object') return normalize(nested, x as Record<string, unknown>);
      return x;
    };
    if (v === null) out[field.name] = v;
    else if (field instanceof protobuf.MapField) {
      out[field.name] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, one(x)]));
    } else if (field.repeated) out[field.name] = (v as unknown[]).map(one);
    else out[field.name] = one(v);
  }
  return out;
}

/** `value` (an SDK object of message `typeName`, e.g. keyraft.v1.Secret) in the JSON mapping. */
export function toProtoJson(typeName: string, value: object): Record<string, unknown> {
  const type = lookup(typeName);
  const message = type.fromObject(value as Record<string, unknown>);
  const obj = type.toObject(message, { longs: String, enums: String, bytes: String, defaults: true, json: true });
  return normalize(type, obj);
}
