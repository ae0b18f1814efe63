// The commands that travel in the Raft log (proto/keyraft/peer/v1/command.proto)
// as plain TypeScript objects, and their binary codec. The types follow
// protobufjs's toObject output so that decode needs no hand-written mapping.

import type protobuf from 'protobufjs';
import { loadProtoRoot } from '../protos.js';
import { ErrorKind, VaultError } from './errors.js';

export interface SecretAttributes {
  contentType: string;
  tags: Record<string, string>;
  enabled: boolean;
  /** Unix seconds; 0 means not set. */
  notBefore: number;
  expires: number;
}

export interface CreateVault {
  name: string;
  softDeleteRetentionDays: number;
  purgeProtection: boolean;
}

export interface DeleteVault {
  name: string;
}

export interface SetSecret {
  vault: string;
  name: string;
  version: string;
  /** Sealed under a data key; the state never sees a plaintext value. */
  sealedValue: Uint8Array;
  /** null only when the sender left it out, which apply refuses. */
  attributes: SecretAttributes | null;
  /** The cap the leader's topology sets (src/vault/limits.ts); 0 or absent means the ceiling. */
  maxVersions?: number;
}

/** Absent optional fields are left unchanged. */
export interface UpdateSecret {
  vault: string;
  name: string;
  /** "" is the latest version. */
  version: string;
  contentType?: string;
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
  replaceTags: boolean;
  tags: Record<string, string>;
}

export interface SecretRefCommand {
  vault: string;
  name: string;
}
export type DeleteSecret = SecretRefCommand;
export type RecoverSecret = SecretRefCommand;
export type PurgeSecret = SecretRefCommand;

export interface SecretVersionRecord {
  version: string;
  sealedValue: Uint8Array;
  attributes: SecretAttributes | null;
  createdMs: number;
  updatedMs: number;
}

export interface RestoreSecret {
  vault: string;
  name: string;
  /** Oldest first. */
  versions: SecretVersionRecord[];
  /** The cap the leader's topology sets (src/vault/limits.ts); 0 or absent means the ceiling. */
  maxVersions?: number;
}

export interface InstallDataKey {
  keyId: string;
  wrappedKey: Uint8Array;
  /** A rotation: installed only while this is still the active key. Absent: installed unconditionally. */
  replacesKeyId?: string;
}

export type ResealedKind = 'secret' | 'key' | 'tokenKey';

export interface ResealedValue {
  kind: ResealedKind;
  /** "" for a token key. */
  vault: string;
  /** The secret's or key's name; a token key's id. */
  name: string;
  /** "" for a token key. */
  version: string;
  /** The sealed bytes the value must still hold to be replaced. */
  previous: Uint8Array;
  /** The same plaintext, sealed under the active data key. */
  sealed: Uint8Array;
}

export interface ResealValues {
  values: ResealedValue[];
}

/** Every data key of the state, wrapped under a new master key (online rotation). */
export interface RotateMasterKey {
  masterKeyFingerprint: string;
  keys: { keyId: string; wrappedKey: Uint8Array }[];
}

/** The token-signing key; an id already installed is left as it is. */
export interface InstallTokenKey {
  /** The public key's RFC 7638 thumbprint (tokenKeyId in src/auth/tokens.ts). */
  keyId: string;
  /** The 32-byte Ed25519 seed, sealed under a data key; the state never sees it in the clear. */
  sealedSeed: Uint8Array;
}

export interface CreatePrincipal {
  name: string;
  /** The least generation to start at; absent is 0. */
  generation?: number;
}

export interface PrincipalRefCommand {
  name: string;
}
export type DeletePrincipal = PrincipalRefCommand;
export type ResetPrincipal = PrincipalRefCommand;

export interface CreateRoleAssignment {
  /** Made on the leader: 32 lowercase hex characters. */
  id: string;
  principal: string;
  role: string;
  scope: string;
}

export interface DeleteRoleAssignment {
  id: string;
}

export interface KeyAttributes {
  /** encrypt | decrypt | sign | verify | wrapKey | unwrapKey, among those the key type allows. */
  keyOps: string[];
  enabled: boolean;
  /** Unix seconds; 0 means not set. */
  notBefore: number;
  expires: number;
  tags: Record<string, string>;
  exportable: boolean;
}

export interface KeyMaterial {
  /** RSA | EC | oct */
  kty: string;
  /** Bits for RSA and oct; 0 for EC. */
  keySize: number;
  /** EC only; "" otherwise. */
  curve: string;
  /** The public JWK members as JSON, without kid and key_ops ({"kty":"oct"} for a symmetric key). */
  publicJwk: string;
  /** The private JWK, sealed under a data key; the state never sees it in the clear. */
  sealedPrivateJwk: Uint8Array;
}

/** CreateKey and ImportKey (rotation false) and RotateKey (rotation true) all add a version. */
export interface CreateKeyVersion {
  vault: string;
  name: string;
  version: string;
  /** null only when the sender left it out, which apply refuses. */
  material: KeyMaterial | null;
  attributes: KeyAttributes | null;
  rotation: boolean;
  /** The cap the leader's topology sets (src/vault/limits.ts); 0 or absent means the ceiling. */
  maxVersions?: number;
}

/** Absent optional fields are left unchanged; the material never changes. */
export interface UpdateKey {
  vault: string;
  name: string;
  /** "" is the latest version. */
  version: string;
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
  replaceKeyOps: boolean;
  keyOps: string[];
  replaceTags: boolean;
  tags: Record<string, string>;
}

export interface KeyRefCommand {
  vault: string;
  name: string;
}
export type DeleteKey = KeyRefCommand;
export type RecoverKey = KeyRefCommand;
export type PurgeKey = KeyRefCommand;

export interface KeyVersionRecord {
  version: string;
  material: KeyMaterial | null;
  attributes: KeyAttributes | null;
  createdMs: number;
  updatedMs: number;
}

export interface RestoreKey {
  vault: string;
  name: string;
  /** Oldest first. */
  versions: KeyVersionRecord[];
  /** The cap the leader's topology sets (src/vault/limits.ts); 0 or absent means the ceiling. */
  maxVersions?: number;
}

export type CommandOp =
  | { op: 'createVault'; createVault: CreateVault }
  | { op: 'deleteVault'; deleteVault: DeleteVault }
  | { op: 'setSecret'; setSecret: SetSecret }
  | { op: 'updateSecret'; updateSecret: UpdateSecret }
  | { op: 'deleteSecret'; deleteSecret: DeleteSecret }
  | { op: 'recoverSecret'; recoverSecret: RecoverSecret }
  | { op: 'purgeSecret'; purgeSecret: PurgeSecret }
  | { op: 'restoreSecret'; restoreSecret: RestoreSecret }
  | { op: 'installDataKey'; installDataKey: InstallDataKey }
  | { op: 'createKeyVersion'; createKeyVersion: CreateKeyVersion }
  | { op: 'updateKey'; updateKey: UpdateKey }
  | { op: 'deleteKey'; deleteKey: DeleteKey }
  | { op: 'recoverKey'; recoverKey: RecoverKey }
  | { op: 'purgeKey'; purgeKey: PurgeKey }
  | { op: 'restoreKey'; restoreKey: RestoreKey }
  | { op: 'installTokenKey'; installTokenKey: InstallTokenKey }
  | { op: 'resealValues'; resealValues: ResealValues }
  | { op: 'createPrincipal'; createPrincipal: CreatePrincipal }
  | { op: 'deletePrincipal'; deletePrincipal: DeletePrincipal }
  | { op: 'resetPrincipal'; resetPrincipal: ResetPrincipal }
  | { op: 'createRoleAssignment'; createRoleAssignment: CreateRoleAssignment }
  | { op: 'deleteRoleAssignment'; deleteRoleAssignment: DeleteRoleAssignment }
  | { op: 'rotateMasterKey'; rotateMasterKey: RotateMasterKey };

export type OpName = CommandOp['op'];

export type Command = {
  /** "" when the request carries none: no deduplication. */
  requestId: string;
  /** The leader's clock when it prepared the command, unix milliseconds. */
  timeMs: number;
} & CommandOp;

export const OP_NAMES: readonly OpName[] = [
  'createVault',
  'deleteVault',
  'setSecret',
  'updateSecret',
  'deleteSecret',
  'recoverSecret',
  'purgeSecret',
  'restoreSecret',
  'installDataKey',
  'createKeyVersion',
  'updateKey',
  'deleteKey',
  'recoverKey',
  'purgeKey',
  'restoreKey',
  'installTokenKey',
  'resealValues',
  'createPrincipal',
  'deletePrincipal',
  'resetPrincipal',
  'createRoleAssignment',
  'deleteRoleAssignment',
  'rotateMasterKey',
];

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true, arrays: true, objects: true, oneofs: true };

let commandType: protobuf.Type | undefined;

/** Loaded on first use so that importing the module costs nothing. */
function type(): protobuf.Type {
  if (!commandType) {
    const root = loadProtoRoot('keyraft/peer/v1/command.proto');
    commandType = root.lookupType('keyraft.peer.v1.Command');
  }
  return commandType;
}

export function encodeCommand(cmd: Command): Uint8Array {
  const t = type();
  // Only the chosen oneof member is passed on: a stray field of another op must not slip into the log.
  const { requestId, timeMs, op } = cmd;
  const body = (cmd as unknown as Record<string, unknown>)[op];
  const bytes = t.encode(t.fromObject({ requestId, timeMs, [op]: body })).finish();
  // A copy with a buffer of its own: protobufjs writes into a slab of Node's
  // Buffer pool, and a view would keep that whole slab (and whatever else
  // shares it) alive for as long as the entry stays in the Raft log.
  return new Uint8Array(bytes);
}

/** Throws VaultError(InvalidArgument, BAD_COMMAND) on anything that is not a known command. */
export function decodeCommand(bytes: Uint8Array): Command {
  let obj: Record<string, unknown>;
  try {
    const t = type();
    obj = t.toObject(t.decode(bytes), TO_OBJECT);
  } catch (e) {
    throw new VaultError(ErrorKind.InvalidArgument, 'BAD_COMMAND', `not a command: ${(e as Error).message}`);
  }
  const op = obj.op;
  if (typeof op !== 'string' || !(OP_NAMES as readonly string[]).includes(op)) {
    throw new VaultError(ErrorKind.InvalidArgument, 'BAD_COMMAND', 'the command holds no known operation');
  }
  return plain(obj) as Command;
}

/**
 * Buffers become plain Uint8Array copies (a decoded Buffer shares the whole
 * input) and the synthetic "_field" oneof markers of proto3 optionals go.
 * Map fields (tags) are copied as they are: their keys are data.
 */
function plain(v: unknown, isMap = false): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map((x) => plain(x));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // fromEntries defines each key, so a "__proto__" tag stays data.
    if (isMap) return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
    // A field name never starts with "_" (only the markers do), so plain assignment is safe.
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) if (!k.startsWith('_')) out[k] = plain(o[k], MAP_FIELDS.has(k));
    return out;
  }
  return v;
}

const MAP_FIELDS = new Set(['tags']);
