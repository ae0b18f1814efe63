// The replicated state machine for vaults, secrets and keys, and for the
// principals, role assignments and token keys that guard them. It knows
// nothing of Raft, gRPC or LevelDB: the replica feeds it committed commands
// in log order and persists the mutations each apply returns; queries
// answer reads.

import { handlers } from './apply.js';
import { authFingerprint } from './apply-auth.js';
import type { Command } from './commands.js';
import { ErrorKind, invalid, VaultError } from './errors.js';
import type {
  DataKeys,
  DeletedKeyInfo,
  DeletedSecretInfo,
  KeyBackup,
  KeyBundle,
  KeyForOperation,
  KeyProperties,
  KeySpec,
  Kind,
  SealedSecret,
  SecretBackup,
  SecretProperties,
  VaultInfo,
} from './model.js';
import { lower, shelfOf } from './model.js';
import type { PrincipalInfo, RoleAssignmentInfo, TokenKeyInfo } from './model-auth.js';
import type { ApplyOutcome, ApplyResult } from './outcome.js';
import { type Mutation, decodeRequest } from './records.js';
import * as q from './queries.js';
import * as qa from './queries-auth.js';
import * as qk from './queries-keys.js';
import { type SealedRef, sealedValues } from './reseal.js';
import { type DataKeyUsage, activeDataKeyUsage } from './rotation.js';
import { Store, StoreLoader, VaultBug } from './store.js';
import { validateRequestId } from './validate.js';

/** `{ index }` for a usable log index, `{}` otherwise (0 is what the dedup table stores when it has none). */
function knownIndex(index: number): { index?: number } {
  return Number.isSafeInteger(index) && index > 0 ? { index } : {};
}

/** How many request ids are remembered for deduplication, the oldest forgotten first. */
export const MAX_REMEMBERED_REQUESTS = 10_000;
/** Expired soft-deleted secrets and keys removed per command: bounded so no command is slow. */
export const MAX_SWEPT_PER_COMMAND = 16;
/** The commands that carry a value newly sealed under the active data key. */
const SEALING_OPS = new Set(['setSecret', 'createKeyVersion', 'installTokenKey']);
/** The largest time a JavaScript Date can hold. */
const MAX_TIME_MS = 8.64e15;

export interface VaultList {
  vaults: VaultInfo[];
  nextPageToken: string;
}
export interface SecretList {
  secrets: SecretProperties[];
  nextPageToken: string;
}
export interface DeletedSecretList {
  secrets: DeletedSecretInfo[];
  nextPageToken: string;
}
export interface KeyList {
  keys: KeyProperties[];
  nextPageToken: string;
}
export interface DeletedKeyList {
  keys: DeletedKeyInfo[];
  nextPageToken: string;
}

export interface VaultLoader {
  add(key: string, value: Uint8Array): void;
  finish(): VaultState;
}

export class VaultState {
  private store = new Store();

  /** Rebuilds the state from the records of records() or of the mutations applied so far, in any order. */
  static load(records: Iterable<readonly [string, Uint8Array]>): VaultState {
    const state = new VaultState();
    state.store = Store.load(records);
    return state;
  }

  /**
   * load() one record at a time, for records that are streamed (a restart
   * reads them from disk): nothing but the state itself is kept. finish()
   * throws what load() would.
   */
  static loader(): VaultLoader {
    const loader = new StoreLoader();
    return {
      add: (key, value) => loader.add(key, value),
      finish: () => {
        const state = new VaultState();
        state.store = loader.finish();
        return state;
      },
    };
  }

  /**
   * Every record of the state: a snapshot. Lazy, so consume it before the
   * next apply (or copy it); the replica snapshots from disk instead.
   */
  records(): Generator<[string, Uint8Array]> {
    return this.store.records();
  }

  /**
   * Applies one committed command. Never throws on what the command holds: a
   * refused command answers { error } and changes nothing. A request id seen
   * before answers its first result again, with no mutations.
   */
  apply(cmd: Command, index: number): ApplyOutcome {
    const store = this.store;
    let head: { requestId: string; timeMs: number; op: string; body: Record<string, unknown> };
    try {
      head = parseHead(cmd);
    } catch (e) {
      return { error: asVaultError(e), mutations: [] };
    }
    const { requestId, timeMs, op, body } = head;
    const fp = fingerprint(op, body);
    if (requestId !== '') {
      const seen = store.requests.get(requestId);
      if (seen) {
        if (seen.fp !== fp) {
          return {
            error: invalid('REQUEST_ID_REUSED', `request id ${JSON.stringify(requestId)} was already used for another operation`),
            mutations: [],
          };
        }
        const first = decodeRequest(seen.record);
        return { result: first.result, ...knownIndex(first.index), mutations: [] };
      }
    }
    store.begin();
    let result: ApplyResult;
    try {
      result = handlers[op]!(store, body, timeMs);
    } catch (e) {
      const written = store.pending;
      store.end();
      if (e instanceof VaultBug) throw e;
      if (written > 0) throw new VaultBug(`${op} failed after writing; memory and records may differ`, { cause: e });
      return { error: asVaultError(e), mutations: [] };
    }
    // Only a command that stored its value counts (a token key installed again does not). Re-seals
    // are not counted: a re-seal that rotated the key under itself would never finish.
    if (SEALING_OPS.has(op) && store.pending > 0) store.countSealedWrite();
    if (requestId !== '') this.remember(requestId, index, fp, result);
    this.sweep(timeMs);
    // No copy: the views build every result afresh, and remember() encoded it.
    return { result, ...knownIndex(index), mutations: store.end() };
  }

  getVault(name: string): VaultInfo {
    return q.getVault(this.store, name);
  }

  listVaults(pageSize: number, pageToken: string): VaultList {
    const page = q.listVaults(this.store, pageSize, pageToken);
    return { vaults: page.items, nextPageToken: page.nextPageToken };
  }

  /** The version ("" = latest) with its sealed value; refuses disabled, not-yet-valid and expired versions at nowMs. */
  getSecret(vault: string, name: string, version: string, nowMs: number): SealedSecret {
    return q.getSecret(this.store, vault, name, version, nowMs);
  }

  listSecrets(vault: string, pageSize: number, pageToken: string): SecretList {
    const page = q.listSecrets(this.store, vault, pageSize, pageToken);
    return { secrets: page.items, nextPageToken: page.nextPageToken };
  }

  listSecretVersions(vault: string, name: string, pageSize: number, pageToken: string): SecretList {
    const page = q.listSecretVersions(this.store, vault, name, pageSize, pageToken);
    return { secrets: page.items, nextPageToken: page.nextPageToken };
  }

  getDeletedSecret(vault: string, name: string, nowMs: number): DeletedSecretInfo {
    return q.getDeletedSecret(this.store, vault, name, nowMs);
  }

  listDeletedSecrets(vault: string, pageSize: number, pageToken: string, nowMs: number): DeletedSecretList {
    const page = q.listDeletedSecrets(this.store, vault, pageSize, pageToken, nowMs);
    return { secrets: page.items, nextPageToken: page.nextPageToken };
  }

  /** The versions the live secret or key holds, 0 when there is none: for the server's early check of the version cap. */
  versionCount(kind: Kind, vault: string, name: string): number {
    const ve = this.store.vault(vault);
    const e = ve === undefined ? undefined : shelfOf(ve, kind).byName.get(lower(name));
    return e === undefined || e.deleted !== null ? 0 : e.versions.length;
  }

  backupSecret(vault: string, name: string): SecretBackup {
    return q.backupSecret(this.store, vault, name);
  }

  /** The version ("" = latest), public part only. Unlike a secret, a disabled or lapsed key can be read. */
  getKey(vault: string, name: string, version: string): KeyBundle {
    return qk.getKey(this.store, vault, name, version);
  }

  /**
   * The version ("" = latest) with its sealed private JWK, if it may serve
   * `op` (encrypt, decrypt, sign, verify, wrapKey, unwrapKey) at nowMs;
   * checks existence, enabled, not_before/expires, then key_ops, in that order.
   */
  keyForOperation(vault: string, name: string, version: string, op: string, nowMs: number): KeyForOperation {
    return qk.keyForOperation(this.store, vault, name, version, op, nowMs);
  }

  listKeys(vault: string, pageSize: number, pageToken: string): KeyList {
    const page = qk.listKeys(this.store, vault, pageSize, pageToken);
    return { keys: page.items, nextPageToken: page.nextPageToken };
  }

  listKeyVersions(vault: string, name: string, pageSize: number, pageToken: string): KeyList {
    const page = qk.listKeyVersions(this.store, vault, name, pageSize, pageToken);
    return { keys: page.items, nextPageToken: page.nextPageToken };
  }

  getDeletedKey(vault: string, name: string, nowMs: number): DeletedKeyInfo {
    return qk.getDeletedKey(this.store, vault, name, nowMs);
  }

  listDeletedKeys(vault: string, pageSize: number, pageToken: string, nowMs: number): DeletedKeyList {
    const page = qk.listDeletedKeys(this.store, vault, pageSize, pageToken, nowMs);
    return { keys: page.items, nextPageToken: page.nextPageToken };
  }

  backupKey(vault: string, name: string): KeyBackup {
    return qk.backupKey(this.store, vault, name);
  }

  /** A key version's type, size and curve; undefined when there is no such version. */
  keyTypeOf(vault: string, name: string, version: string): { kty: string; keySize: number; curve: string } | undefined {
    return qk.keyTypeOf(this.store, vault, name, version);
  }

  /** What RotateKey generates again: the latest version's type, size or curve, and attributes. */
  latestKeySpec(vault: string, name: string): KeySpec {
    return qk.latestKeySpec(this.store, vault, name);
  }

  /** Every installed data key, wrapped; the last installed is the active one. */
  dataKeys(): DataKeys {
    return q.dataKeys(this.store);
  }

  /** The active data key's install time and count of values sealed under it; undefined before the first. */
  dataKeyUsage(): DataKeyUsage | undefined {
    return activeDataKeyUsage(this.store);
  }

  /** Every data key in install order, with its figures (no key material). */
  dataKeyRecords(): { keyId: string; installedMs: number; writes: number }[] {
    return [...this.store.dataKeys].map(([keyId, r]) => ({ keyId, installedMs: r.installedMs, writes: r.writes }));
  }

  /** Every sealed value the state holds (lazy: consume it before the next apply). */
  sealedValues(): Generator<SealedRef> {
    return sealedValues(this.store);
  }

  /**
   * The principal a token names, or undefined. Frozen, and not copied: the
   * auth interceptor asks on every RPC.
   */
  principal(name: string): PrincipalInfo | undefined {
    return qa.principal(this.store, name);
  }

  /** Every principal, by lower-cased name. */
  listPrincipals(): PrincipalInfo[] {
    return qa.listPrincipals(this.store);
  }

  /**
   * A principal's role assignments (none for an unknown one), or with no
   * argument every principal's. Frozen, and not copied: what
   * allows() in src/auth/roles.ts takes.
   */
  roleAssignments(principal?: string): readonly RoleAssignmentInfo[] {
    return qa.roleAssignments(this.store, principal);
  }

  /** The token keys, newest (the one to sign with) first, seeds still sealed. */
  tokenKeys(): TokenKeyInfo[] {
    return qa.tokenKeys(this.store);
  }

  /**
   * Master-key rotation, done offline on every node alike: every data key
   * under its new wrapping. Returns the records to write; nothing else changes.
   */
  rewrapDataKeys(rewrapped: ReadonlyMap<string, Uint8Array>): Mutation[] {
    this.store.begin();
    for (const keyId of this.store.dataKeys.keys()) {
      const wrapped = rewrapped.get(keyId);
      if (wrapped === undefined) throw new Error(`no new wrapping for data key ${keyId}`);
      this.store.rewrapDataKey(keyId, wrapped);
    }
    return this.store.end();
  }

  private remember(requestId: string, index: number, fp: string, result: ApplyResult): void {
    const store = this.store;
    const seq = store.nextRequestSeq;
    // Encoded at once, so later changes to the state cannot reach it.
    store.putRequest(requestId, { seq, index: knownIndex(index).index ?? 0, fp, result });
    store.forgetRequestsBeyond(MAX_REMEMBERED_REQUESTS);
  }

  /** Removes soft-deleted secrets and keys past their purge date; queries already treat them as gone. */
  private sweep(timeMs: number): void {
    const due: string[] = [];
    for (const key of this.store.purgeQueue.after()) {
      if (due.length === MAX_SWEPT_PER_COMMAND || Number(key.slice(0, 16)) > timeMs) break;
      due.push(key);
    }
    for (const key of due) {
      const [, kind, v, n] = key.split('/');
      this.store.removeEntry(kind as Kind, v!, n!);
    }
  }
}

function parseHead(cmd: unknown) {
  if (cmd === null || typeof cmd !== 'object') throw invalid('BAD_COMMAND', 'a command must be an object');
  const c = cmd as Record<string, unknown>;
  const timeMs = c.timeMs;
  if (!Number.isSafeInteger(timeMs) || (timeMs as number) < 0 || (timeMs as number) > MAX_TIME_MS) {
    throw invalid('BAD_COMMAND', 'the command time must be a non-negative integer of milliseconds');
  }
  const requestId = validateRequestId(c.requestId);
  const op = c.op;
  if (typeof op !== 'string' || !Object.hasOwn(handlers, op)) throw invalid('BAD_COMMAND', 'the command holds no known operation');
  const body = c[op];
  if (body === null || typeof body !== 'object') throw invalid('BAD_COMMAND', `the command's ${op} is missing`);
  return { requestId, timeMs: timeMs as number, op, body: body as Record<string, unknown> };
}

/** The operation and its target, so that a reused request id is not mistaken for a retry. */
function fingerprint(op: string, body: Record<string, unknown>): string {
  const auth = authFingerprint(op, body);
  if (auth !== undefined) return auth;
  const s = (x: unknown) => (typeof x === 'string' ? x.toLowerCase() : '');
  if (op === 'installDataKey') return `${op}:${typeof body.keyId === 'string' ? body.keyId : ''}`;
  if (op === 'createVault' || op === 'deleteVault') return `${op}:${s(body.name)}`;
  return `${op}:${s(body.vault)}/${s(body.name)}`;
}

/**
 * A refusal passes through; anything else thrown before the first write is a
 * shape the checks did not foresee, and is refused the same way on every node.
 */
function asVaultError(e: unknown): VaultError {
  if (e instanceof VaultError) return e;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : 'unknown failure';
  return new VaultError(ErrorKind.InvalidArgument, 'BAD_COMMAND', `malformed command (${what})`);
}
