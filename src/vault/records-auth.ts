// The records of the authorization state, in the layout of records.ts (JSON
// in UTF-8, bytes in base64). A token key's seed is stored only sealed.
//
//   principal/<name>        PrincipalInfo (name lower-cased in the key)
//   roleassignment/<id>     RoleAssignmentInfo
//   tokenkey/<keyId>        {sealedSeed, seq}
//   counter/<name>          {value}: principal-generation, the next generation never held

import { keptBytes } from './model.js';
import type { PrincipalInfo, RoleAssignmentInfo, TokenKeyRecord } from './model-auth.js';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const parse = (b: Uint8Array): Record<string, unknown> => JSON.parse(dec.decode(b)) as Record<string, unknown>;

export function encodePrincipal(r: PrincipalInfo): Uint8Array {
  return json({ name: r.name, generation: r.generation, createdMs: r.createdMs });
}

export function decodePrincipal(b: Uint8Array): PrincipalInfo {
  const o = parse(b);
  return Object.freeze({ name: o.name as string, generation: o.generation as number, createdMs: o.createdMs as number });
}

export function encodeRoleAssignment(r: RoleAssignmentInfo): Uint8Array {
  return json({ id: r.id, principal: r.principal, role: r.role, scope: r.scope, createdMs: r.createdMs });
}

export function decodeRoleAssignment(b: Uint8Array): RoleAssignmentInfo {
  const o = parse(b);
  return Object.freeze({
    id: o.id as string,
    principal: o.principal as string,
    role: o.role as string,
    scope: o.scope as string,
    createdMs: o.createdMs as number,
  });
}

export function encodeTokenKey(r: TokenKeyRecord): Uint8Array {
  return json({ sealedSeed: Buffer.from(r.sealedSeed.buffer, r.sealedSeed.byteOffset, r.sealedSeed.byteLength).toString('base64'), seq: r.seq });
}

export function decodeTokenKey(b: Uint8Array): TokenKeyRecord {
  const o = parse(b);
  return { sealedSeed: keptBytes(Buffer.from(o.sealedSeed as string, 'base64')), seq: o.seq as number };
}

export const encodeCounter = (value: number): Uint8Array => json({ value });

export const decodeCounter = (b: Uint8Array): number => parse(b).value as number;
