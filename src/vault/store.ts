// The in-memory state and its only writers. Every write changes memory and
// emits the matching record mutation in one step, so the records can never
// drift from what queries see; load() rebuilds memory through the same writers.

import {
  type DataKeyRecord,
  type Deletion,
  type Entry,
  type Kind,
  type VaultEntry,
  type VaultRecord,
  type VersionOf,
  INDEX_VERSIONS_AFTER,
  keptBytes,
  lower,
  newVaultEntry,
  shelfOf,
} from './model.js';
import {
  type Mutation,
  type RememberedRequest,
  type RequestRecord,
  decodeDataKey,
  decodeDataKeyWrites,
  decodeHeader,
  decodeKeyVersion,
  decodeRequest,
  decodeVault,
  decodeVersion,
  encodeDataKey,
  encodeDataKeyWrites,
  encodeHeader,
  encodeKeyVersion,
  encodeRequest,
  encodeVault,
  encodeVersion,
  parseKey,
  recordKeys,
} from './records.js';
import { SortedKeys } from './sorted.js';
import { AuthLoader, AuthStore } from './store-auth.js';

const KINDS: readonly Kind[] = ['secret', 'key'];

const encodeVersionOf = <K extends Kind>(kind: K, rec: VersionOf[K]): Uint8Array =>
  kind === 'secret' ? encodeVersion(rec as VersionOf['secret']) : encodeKeyVersion(rec as VersionOf['key']);

const decodeVersionOf = (kind: Kind, b: Uint8Array): VersionOf[Kind] => (kind === 'secret' ? decodeVersion(b) : decodeKeyVersion(b));

/** A broken invariant of the state itself: never caused by a command's content, and never swallowed. */
export class VaultBug extends Error {
  override readonly name = 'VaultBug';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`vault state: ${message}`, options);
  }
}

/** Sorts by purge date first; the padding makes string order numeric order. */
export const purgeQueueKey = (d: Deletion, kind: Kind, v: string, n: string) =>
  `${String(d.scheduledPurgeMs).padStart(16, '0')}/${kind}/${v}/${n}`;

/**
 * The versions with one more at the end. Most entries keep one or a few
 * versions: those get an array of exactly their size (push would reserve 17
 * slots for the first); longer ones grow by push as usual.
 */
function withVersion<R>(versions: R[], rec: R): R[] {
  const n = versions.length;
  if (n === 0) return [rec];
  if (n >= INDEX_VERSIONS_AFTER) {
    versions.push(rec);
    return versions;
  }
  const out = new Array<R>(n + 1);
  for (let i = 0; i < n; i++) out[i] = versions[i]!;
  out[n] = rec;
  return out;
}

export class Store {
  readonly vaults = new Map<string, VaultEntry>();
  readonly vaultNames = new SortedKeys();
  /** Every soft-deleted secret and key by purge date, for the bounded sweep in apply. */
  readonly purgeQueue = new SortedKeys();
  readonly dataKeys = new Map<string, DataKeyRecord>();
  readonly requests = new Map<string, RememberedRequest>();
  /**
   * The remembered ids, oldest first, from requestHead on. Not the Map's own
   * order: finding a Map's first key walks past every entry deleted from its
   * front since it last rehashed, about 6 µs per apply at 10,000 requests.
   */
  private requestOrder: string[] = [];
  private requestHead = 0;
  nextDataKeySeq = 0;
  nextRequestSeq = 0;

  private out: Mutation[] | null = null;

  /** Principals, role assignments and token keys: their writes go into the same mutations. */
  readonly auth = new AuthStore((m) => this.out?.push(m));

  /** Starts collecting the mutations of one command. */
  begin(): void {
    this.out = [];
  }

  end(): Mutation[] {
    const out = this.out ?? [];
    this.out = null;
    return out;
  }

  /** How many mutations the current command has emitted so far. */
  get pending(): number {
    return this.out?.length ?? 0;
  }

  vault(name: string): VaultEntry | undefined {
    return this.vaults.get(lower(name));
  }

  putVault(rec: VaultRecord): void {
    const v = lower(rec.name);
    const entry = this.vaults.get(v);
    if (entry) entry.rec = rec;
    else {
      this.vaults.set(v, newVaultEntry(rec));
      this.vaultNames.insert(v);
    }
    this.put(recordKeys.vault(v), encodeVault(rec));
  }

  /** The caller has removed its secrets and keys first. */
  removeVault(v: string): void {
    this.vaults.delete(v);
    this.vaultNames.delete(v);
    this.del(recordKeys.vault(v));
  }

  /** Creates the secret or key if needed, and moves it between the live and deleted indexes. */
  putEntry<K extends Kind>(kind: K, v: string, name: string, deleted: Deletion | null): Entry<VersionOf[K]> {
    const shelf = shelfOf(this.vaults.get(v)!, kind);
    const n = lower(name);
    let e = shelf.byName.get(n);
    if (!e) {
      e = { name, versions: [], byVersion: undefined, deleted: null };
      shelf.byName.set(n, e);
    }
    if (e.deleted) this.purgeQueue.delete(purgeQueueKey(e.deleted, kind, v, n));
    e.deleted = deleted;
    if (deleted) {
      shelf.live.delete(n);
      shelf.deleted.insert(n);
      this.purgeQueue.insert(purgeQueueKey(deleted, kind, v, n));
    } else {
      shelf.deleted.delete(n);
      shelf.live.insert(n);
    }
    this.put(recordKeys.entry(kind, v, n), encodeHeader({ name: e.name, deleted }));
    return e;
  }

  /** Adds a version (seq = the next position) or replaces one (same seq). */
  putVersion<K extends Kind>(kind: K, v: string, e: Entry<VersionOf[K]>, rec: VersionOf[K]): void {
    if (rec.seq < e.versions.length) {
      if (e.versions[rec.seq]!.version !== rec.version) throw new VaultBug('version replaced at the wrong position');
      e.versions[rec.seq] = rec;
    } else if (rec.seq === e.versions.length) {
      e.versions = withVersion(e.versions, rec);
    } else {
      throw new VaultBug('gap in version order');
    }
    e.byVersion?.set(rec.version, rec);
    this.put(recordKeys.version(kind, v, lower(e.name), rec.version), encodeVersionOf(kind, rec));
  }

  /** Hard delete: the secret or key and every version. */
  removeEntry(kind: Kind, v: string, n: string): void {
    const shelf = shelfOf(this.vaults.get(v)!, kind);
    const e = shelf.byName.get(n)!;
    for (const ver of e.versions) this.del(recordKeys.version(kind, v, n, ver.version));
    this.del(recordKeys.entry(kind, v, n));
    if (e.deleted) this.purgeQueue.delete(purgeQueueKey(e.deleted, kind, v, n));
    shelf.byName.delete(n);
    shelf.live.delete(n);
    shelf.deleted.delete(n);
  }

  putDataKey(keyId: string, wrappedKey: Uint8Array, installedMs: number): void {
    const rec = { wrappedKey, seq: this.nextDataKeySeq++, installedMs, writes: 0 };
    // Installed again, it counts from 0: no count record is 0.
    if ((this.dataKeys.get(keyId)?.writes ?? 0) > 0) this.del(recordKeys.dataKeyWrites(keyId));
    // Re-inserting moves it last in the map, which is install order.
    this.dataKeys.delete(keyId);
    this.dataKeys.set(keyId, rec);
    this.put(recordKeys.dataKey(keyId), encodeDataKey(rec));
  }

  /** The id of the active data key (the last installed), if any. */
  activeDataKeyId(): string | undefined {
    let last: string | undefined;
    for (const id of this.dataKeys.keys()) last = id;
    return last;
  }

  /** One more value sealed under the active data key. */
  countSealedWrite(): void {
    const keyId = this.activeDataKeyId();
    if (keyId === undefined) return;
    const rec = this.dataKeys.get(keyId)!;
    rec.writes++;
    this.put(recordKeys.dataKeyWrites(keyId), encodeDataKeyWrites(rec.writes));
  }

  /** The same data key under another wrapping (master-key rotation): its place in install order stays. */
  rewrapDataKey(keyId: string, wrappedKey: Uint8Array): void {
    const rec = this.dataKeys.get(keyId);
    if (rec === undefined) throw new Error(`no data key ${keyId} to rewrap`);
    rec.wrappedKey = keptBytes(wrappedKey);
    this.put(recordKeys.dataKey(keyId), encodeDataKey(rec));
    // A key loaded from a record that held its count (before the count had
    // a record of its own) would lose the count with the record rewritten.
    if (rec.writes > 0) this.put(recordKeys.dataKeyWrites(keyId), encodeDataKeyWrites(rec.writes));
  }

  /** Remembers a request id that was not remembered yet (a retry is answered, not applied). */
  putRequest(id: string, rec: RequestRecord): void {
    const record = encodeRequest(rec);
    this.restoreRequest(id, { seq: rec.seq, fp: rec.fp, record });
    this.put(recordKeys.request(id), record);
  }

  /** A remembered request as read back from its record (load), or just applied. */
  restoreRequest(id: string, remembered: RememberedRequest): void {
    if (this.requests.has(id)) throw new VaultBug(`request ${id} is already remembered`);
    this.requests.set(id, remembered);
    this.requestOrder.push(id);
    this.nextRequestSeq = Math.max(this.nextRequestSeq, remembered.seq + 1);
  }

  /** Forgets the oldest request ids until at most `max` are remembered. */
  forgetRequestsBeyond(max: number): void {
    while (this.requests.size > max) {
      const id = this.requestOrder[this.requestHead++]!;
      this.requests.delete(id);
      this.del(recordKeys.request(id));
    }
    // Drop the forgotten ids now and then, not on every call.
    if (this.requestHead >= 1024 && this.requestHead * 2 >= this.requestOrder.length) {
      this.requestOrder = this.requestOrder.slice(this.requestHead);
      this.requestHead = 0;
    }
  }

  /** Every record, in key order within each type: what load() needs to rebuild this store. */
  *records(): Generator<[string, Uint8Array]> {
    for (const v of this.vaultNames) {
      const vault = this.vaults.get(v)!;
      yield [recordKeys.vault(v), encodeVault(vault.rec)];
      for (const kind of KINDS) {
        const shelf = shelfOf(vault, kind);
        for (const n of [...shelf.byName.keys()].sort()) {
          const e = shelf.byName.get(n)!;
          yield [recordKeys.entry(kind, v, n), encodeHeader({ name: e.name, deleted: e.deleted })];
          for (const ver of e.versions) yield [recordKeys.version(kind, v, n, ver.version), encodeVersionOf(kind, ver)];
        }
      }
    }
    for (const [id, rec] of this.dataKeys) {
      yield [recordKeys.dataKey(id), encodeDataKey(rec)];
      if (rec.writes > 0) yield [recordKeys.dataKeyWrites(id), encodeDataKeyWrites(rec.writes)];
    }
    yield* this.auth.records();
    for (const [id, rec] of this.requests) yield [recordKeys.request(id), rec.record];
  }

  /** Records may come in any order (LevelDB gives them sorted by key, vaults last). */
  static load(records: Iterable<readonly [string, Uint8Array]>): Store {
    const loader = new StoreLoader();
    for (const [key, value] of records) loader.add(key, value);
    return loader.finish();
  }

  private put(key: string, value: Uint8Array): void {
    this.out?.push({ op: 'put', key, value });
  }

  private del(key: string): void {
    this.out?.push({ op: 'del', key });
  }
}

type AnyVersion = VersionOf[Kind];
type AnyEntry = Entry<AnyVersion>;

/** Stands in for a vault whose entries came before its own record (key order puts vaults last). */
const AWAITED_VAULT: VaultRecord = Object.freeze({ name: '', retentionDays: 0, purgeProtection: false, createdMs: 0 });

/**
 * Builds a Store from its records as they come, one at a time, so that a
 * restart holds no more than the state itself. In key order (LevelDB's)
 * headers come before their versions, the versions of one entry together, and
 * vaults last; anything else is accepted too, at the cost of buffering it
 * until finish(). finish() makes the same checks as ever: no entry of a
 * missing vault, no version of a missing entry, no gap, no entry without
 * versions.
 */
export class StoreLoader {
  private readonly store = new Store();
  /** Vaults that entries named before their record came: the error of the first such entry. */
  private readonly awaited = new Map<string, string>();
  /** The versions of one entry as they come in a row; run[0..runLength) are current. */
  private runEntry: AnyEntry | undefined = undefined;
  private readonly run: AnyVersion[] = [];
  private runLength = 0;
  /** Versions of entries not seen yet (records out of key order). */
  private readonly orphans: { kind: Kind; v: string; n: string; rec: AnyVersion }[] = [];
  /** Versions that could not simply be placed (an entry's versions in more than one run): merged in finish(). */
  private readonly pending = new Map<AnyEntry, AnyVersion[]>();
  private readonly dataKeys: { keyId: string; rec: DataKeyRecord }[] = [];
  private readonly dataKeyWrites = new Map<string, number>();
  private readonly requests: { id: string; remembered: RememberedRequest }[] = [];
  private readonly auth = new AuthLoader();

  add(key: string, value: Uint8Array): void {
    const k = parseKey(key);
    const store = this.store;
    switch (k.type) {
      case 'vault': {
        const rec = decodeVault(value);
        const v = lower(rec.name);
        const entry = store.vaults.get(v);
        if (entry) entry.rec = rec;
        else store.vaults.set(v, newVaultEntry(rec));
        store.vaultNames.insert(v);
        this.awaited.delete(v);
        break;
      }
      case 'entry': {
        const h = decodeHeader(value);
        if (!store.vaults.has(k.vault)) {
          store.vaults.set(k.vault, newVaultEntry(AWAITED_VAULT));
          this.awaited.set(k.vault, `vault state: ${k.kind} ${h.name} of a missing vault ${k.vault}`);
        }
        store.putEntry(k.kind, k.vault, h.name, h.deleted);
        break;
      }
      case 'version': {
        const rec = decodeVersionOf(k.kind, value);
        const vault = store.vaults.get(k.vault);
        const e = vault && shelfOf(vault, k.kind).byName.get(k.name);
        if (!e) {
          this.orphans.push({ kind: k.kind, v: k.vault, n: k.name, rec });
        } else {
          if (e !== this.runEntry) {
            this.flush();
            this.runEntry = e;
          }
          this.run[this.runLength++] = rec;
        }
        break;
      }
      case 'dataKey':
        this.dataKeys.push({ keyId: k.keyId, rec: decodeDataKey(value) });
        break;
      case 'dataKeyWrites':
        this.dataKeyWrites.set(k.keyId, decodeDataKeyWrites(value));
        break;
      case 'request':
        {
          const { seq, fp } = decodeRequest(value);
          this.requests.push({ id: k.requestId, remembered: { seq, fp, record: keptBytes(value) } });
        }
        break;
      case 'principal':
        this.auth.principal(value);
        break;
      case 'roleAssignment':
        this.auth.roleAssignment(value);
        break;
      case 'tokenKey':
        this.auth.tokenKey(k.keyId, value);
        break;
      case 'counter':
        this.auth.counter(k.name, value);
        break;
    }
  }

  finish(): Store {
    this.flush();
    this.run.length = 0;
    const store = this.store;
    for (const message of this.awaited.values()) throw new Error(message);
    // Input order among versions of one entry: the orphans came before its header, so before the rest.
    const early = new Map<AnyEntry, AnyVersion[]>();
    for (const { kind, v, n, rec } of this.orphans) {
      const vault = store.vaults.get(v);
      const e = vault && shelfOf(vault, kind).byName.get(n);
      if (!e) throw new Error(`vault state: version ${rec.version} of a missing ${kind} ${v}/${n}`);
      const list = early.get(e);
      if (list) list.push(rec);
      else early.set(e, [rec]);
    }
    this.orphans.length = 0;
    for (const [e, recs] of early) merge(e, [...recs, ...e.versions, ...(this.pending.get(e) ?? [])]);
    for (const [e, recs] of this.pending) if (!early.has(e)) merge(e, [...e.versions, ...recs]);
    this.pending.clear();
    for (const [v, vault] of store.vaults) {
      for (const kind of KINDS) {
        for (const [n, e] of shelfOf(vault, kind).byName) {
          if (e.versions.length === 0) throw new Error(`vault state: ${kind} ${v}/${n} has no versions`);
        }
      }
    }
    this.dataKeys.sort((a, b) => a.rec.seq - b.rec.seq);
    for (const { keyId, rec } of this.dataKeys) {
      // The count's own record is newer than one the key's record held.
      rec.writes = this.dataKeyWrites.get(keyId) ?? rec.writes;
      this.dataKeyWrites.delete(keyId);
      store.dataKeys.set(keyId, rec);
      store.nextDataKeySeq = rec.seq + 1;
    }
    for (const keyId of this.dataKeyWrites.keys()) throw new Error(`vault state: a count of writes for a missing data key ${keyId}`);
    this.auth.finish(store.auth);
    this.requests.sort((a, b) => a.remembered.seq - b.remembered.seq);
    for (const { id, remembered } of this.requests) store.restoreRequest(id, remembered);
    return store;
  }

  /**
   * Places a run of versions. The usual case, an entry's versions all in one
   * run with positions 0..n-1, becomes an array of exactly n; anything else
   * waits for finish().
   */
  private flush(): void {
    const e = this.runEntry;
    if (e === undefined) return;
    const run = this.run;
    const n = this.runLength;
    this.runEntry = undefined;
    this.runLength = 0;
    if (e.versions.length === 0 && !this.pending.has(e)) {
      const placed = new Array<AnyVersion>(n);
      let ok = true;
      for (let i = 0; i < n && ok; i++) {
        const seq = run[i]!.seq;
        ok = Number.isInteger(seq) && seq >= 0 && seq < n && placed[seq] === undefined;
        if (ok) placed[seq] = run[i]!;
      }
      if (ok) {
        e.versions = placed;
        return;
      }
    }
    for (let i = 0; i < n; i++) this.defer(e, run[i]!);
  }

  private defer(e: AnyEntry, rec: AnyVersion): void {
    const list = this.pending.get(e);
    if (list) list.push(rec);
    else this.pending.set(e, [rec]);
  }
}

/**
 * Sets an entry's versions from all of its records (in the order they came),
 * added as the writers would in order of position, the same order among
 * equal positions: the same version again replaces it, another one at a
 * taken position or a gap is a bug.
 */
function merge(e: AnyEntry, recs: AnyVersion[]): void {
  const all = recs.sort((a, b) => a.seq - b.seq);
  const out: AnyVersion[] = [];
  for (const rec of all) {
    if (!Number.isInteger(rec.seq) || rec.seq < 0) {
      throw new VaultBug(`version ${rec.version} at a bad position`);
    } else if (rec.seq < out.length) {
      if (out[rec.seq]!.version !== rec.version) throw new VaultBug('version replaced at the wrong position');
      out[rec.seq] = rec;
    } else if (rec.seq === out.length) {
      out.push(rec);
    } else {
      throw new VaultBug('gap in version order');
    }
  }
  e.versions = out.slice();
}
