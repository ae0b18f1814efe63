// What the handlers of every kind share: finding the vault, the lifecycle
// checks of a name (live, soft-deleted, deleted past its purge date), and the
// small field checks of a command that apply must not trust.

import { invalid, notFound, precondition, quote, type Reason, VaultError } from './errors.js';
import { DAY_MS, type Deletion, type Entry, type Kind, type Shelf, type VaultEntry, type VaultRecord, type VersionOf, NO_TAGS, isExpired, latest, lower } from './model.js';
import type { ApplyResult } from './outcome.js';
import type { Store } from './store.js';
import { checkVersionRoom, versionCap } from './limits.js';
import { validateVaultName } from './validate.js';

export type Body = Record<string, unknown>;

export type Handler = (store: Store, body: Body, timeMs: number) => ApplyResult;

export function vaultOf(store: Store, name: unknown): VaultEntry {
  const vault = store.vault(validateVaultName(name));
  if (!vault) throw notFound('VAULT_NOT_FOUND', `vault ${quote(name)} does not exist`);
  return vault;
}

/** The reasons each kind answers with: a missing key is not a missing secret to a client. */
export interface KindReasons {
  kind: Kind;
  notFound: Reason;
  deletedNotFound: Reason;
}

/** The entry if it exists and is not deleted. */
export function liveEntry<K extends Kind>(shelf: Shelf<VersionOf[K]>, r: KindReasons, vault: string, name: string): Entry<VersionOf[K]> {
  const e = shelf.byName.get(lower(name));
  if (!e || e.deleted) throw notFound(r.notFound, `${r.kind} ${quote(name)} not found in vault ${quote(vault)}`);
  return e;
}

/** The entry if it is soft-deleted and not yet past its purge date. */
export function deletedEntry<K extends Kind>(
  shelf: Shelf<VersionOf[K]>,
  r: KindReasons,
  vault: string,
  name: string,
  timeMs: number,
): Entry<VersionOf[K]> {
  const e = shelf.byName.get(lower(name));
  if (!e || !e.deleted || isExpired(e.deleted, timeMs)) {
    throw notFound(r.deletedNotFound, `no deleted ${r.kind} ${quote(name)} in vault ${quote(vault)}`);
  }
  return e;
}

/**
 * Refuses a name that is taken, live or soft-deleted. Returns true when a
 * deleted entry that counts as purged is still stored and must be removed
 * before the name is reused.
 */
export function claimName<K extends Kind>(
  shelf: Shelf<VersionOf[K]>,
  kind: K,
  vault: string,
  name: string,
  timeMs: number,
  ifLive: VaultError | null,
): boolean {
  const e = shelf.byName.get(lower(name));
  if (!e) return false;
  if (!e.deleted) {
    if (ifLive) throw ifLive;
    return false;
  }
  if (!isExpired(e.deleted, timeMs)) {
    throw precondition(
      'CONFLICT_DELETED_EXISTS',
      `${kind} ${quote(name)} is deleted but recoverable in vault ${quote(vault)}; recover or purge it before reusing the name`,
    );
  }
  return true;
}

/** Sorted, and copied through defineProperty semantics so that a "__proto__" tag stays data; no tags share NO_TAGS. */
export function sortedTags(tags: Record<string, string>): Record<string, string> {
  const entries = Object.entries(tags);
  if (entries.length === 0) return NO_TAGS;
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function epochMs(field: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw invalid('BAD_PARAMETER', `${field} must be a non-negative integer`);
  return v as number;
}

export const optional = <T>(v: unknown, check: (v: unknown) => T): T | undefined =>
  v === undefined || v === null ? undefined : check(v);

export function boolean(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalid('BAD_PARAMETER', `${field} must be a boolean`);
  return v;
}

/** What a restore command names: the object, its versions, and the cap the leader stamped. */
export interface RestoreTarget {
  readonly kind: Kind;
  readonly name: string;
  readonly versions: unknown;
  readonly maxVersions: unknown;
}

/**
 * Checks a backup's versions with `parse` (which sees a version id already
 * checked and unique, and the version's position); any fault is BAD_BACKUP,
 * and more versions than the cap is TOO_MANY_VERSIONS.
 */
export function restoredVersions<R>(t: RestoreTarget, parse: (o: Body, version: string, seq: number) => R, validateId: (v: unknown) => string): R[] {
  const list = t.versions;
  if (!Array.isArray(list) || list.length === 0) throw invalid('BAD_BACKUP', 'a backup holds at least one version');
  checkVersionRoom(t.kind, t.name, 0, list.length, versionCap(t.maxVersions));
  const seen = new Set<string>();
  return list.map((item: unknown, seq) => {
    try {
      if (item === null || typeof item !== 'object') throw invalid('BAD_PARAMETER', 'not a version record');
      const o = item as Body;
      const version = validateId(o.version);
      if (seen.has(version)) throw invalid('BAD_PARAMETER', `version ${version} appears twice`);
      seen.add(version);
      return parse(o, version, seq);
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      throw invalid('BAD_BACKUP', `the backup's version #${seq + 1} is invalid: ${e.message}`);
    }
  });
}

/** What tells secrets and keys apart in their soft-delete lifecycle. */
export interface LifecycleSpec<K extends Kind> {
  readonly kind: K;
  readonly reasons: KindReasons;
  readonly validateName: (name: unknown) => string;
  /** DeleteX answers the deleted entry; RecoverX its latest version. */
  readonly deletedResult: (vault: VaultRecord, e: Entry<VersionOf[K]>, d: Deletion) => ApplyResult;
  readonly liveResult: (vault: VaultRecord, e: Entry<VersionOf[K]>, latest: VersionOf[K]) => ApplyResult;
}

/** Delete (soft, for the vault's retention), recover and purge, alike for every kind. */
export function lifecycleHandlers<K extends Kind>(spec: LifecycleSpec<K>): { delete: Handler; recover: Handler; purge: Handler } {
  const shelf = (v: VaultEntry) => (spec.kind === 'secret' ? v.secrets : v.keys) as Shelf<VersionOf[K]>;
  const target = (store: Store, body: Body) => {
    const vault = vaultOf(store, body.vault);
    return { vault, name: spec.validateName(body.name) };
  };
  return {
    delete: (store, body, timeMs) => {
      const { vault, name } = target(store, body);
      const e = liveEntry<K>(shelf(vault), spec.reasons, vault.rec.name, name);
      const deletion = { deletedMs: timeMs, scheduledPurgeMs: timeMs + vault.rec.retentionDays * DAY_MS };
      store.putEntry(spec.kind, lower(vault.rec.name), e.name, deletion);
      return spec.deletedResult(vault.rec, e, deletion);
    },
    recover: (store, body, timeMs) => {
      const { vault, name } = target(store, body);
      const e = deletedEntry<K>(shelf(vault), spec.reasons, vault.rec.name, name, timeMs);
      store.putEntry(spec.kind, lower(vault.rec.name), e.name, null);
      return spec.liveResult(vault.rec, e, latest(e) as VersionOf[K]);
    },
    purge: (store, body, timeMs) => {
      const { vault, name } = target(store, body);
      const e = deletedEntry<K>(shelf(vault), spec.reasons, vault.rec.name, name, timeMs);
      if (vault.rec.purgeProtection) {
        throw precondition(
          'PURGE_PROTECTED',
          `vault ${quote(vault.rec.name)} has purge protection: ${spec.reasons.kind} ${quote(e.name)} is purged only at its scheduled purge date`,
        );
      }
      store.removeEntry(spec.kind, lower(vault.rec.name), lower(e.name));
      return { kind: 'none' };
    },
  };
}
