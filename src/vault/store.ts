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
  lower,
  newVaultEntry,
  shelfOf,
} from './model.js';
import {
  type Mutation,
  type RequestRecord,
  decodeDataKey,
  decodeHeader,
  decodeKeyVersion,
  decodeRequest,
  decodeVault,
  decodeVersion,
  encodeDataKey,
  encodeHeader,
  encodeKeyVersion,
  encodeRequest,
  encodeVault,
  encodeVersion,
  parseKey,
  recordKeys,
} from './records.js';
import { SortedKeys } from './sorted.js';

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

export class Store {
  readonly vaults = new Map<string, VaultEntry>();
  readonly vaultNames = new SortedKeys();
  /** Every soft-deleted secret and key by purge date, for the bounded sweep in apply. */
  readonly purgeQueue = new SortedKeys();
  readonly dataKeys = new Map<string, DataKeyRecord>();
  /** Insertion order is apply order: the first is the oldest. */
  readonly requests = new Map<string, RequestRecord>();
  nextDataKeySeq = 0;
  nextRequestSeq = 0;

  private out: Mutation[] | null = null;

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
      e = { name, versions: [], byVersion: new Map(), deleted: null };
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
      e.versions.push(rec);
    } else {
      throw new VaultBug('gap in version order');
    }
    e.byVersion.set(rec.version, rec);
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

  putDataKey(keyId: string, wrappedKey: Uint8Array): void {
    const rec = { wrappedKey, seq: this.nextDataKeySeq++ };
    // Re-inserting moves it last in the map, which is install order.
    this.dataKeys.delete(keyId);
    this.dataKeys.set(keyId, rec);
    this.put(recordKeys.dataKey(keyId), encodeDataKey(rec));
  }

  /** The same data key under another wrapping (master-key rotation): its place in install order stays. */
  rewrapDataKey(keyId: string, wrappedKey: Uint8Array): void {
    const rec = this.dataKeys.get(keyId);
    if (rec === undefined) throw new Error(`no data key ${keyId} to rewrap`);
    rec.wrappedKey = wrappedKey;
    this.put(recordKeys.dataKey(keyId), encodeDataKey(rec));
  }

  putRequest(id: string, rec: RequestRecord): void {
    this.requests.set(id, rec);
    this.nextRequestSeq = Math.max(this.nextRequestSeq, rec.seq + 1);
    this.put(recordKeys.request(id), encodeRequest(rec));
  }

  removeRequest(id: string): void {
    this.requests.delete(id);
    this.del(recordKeys.request(id));
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
    for (const [id, rec] of this.dataKeys) yield [recordKeys.dataKey(id), encodeDataKey(rec)];
    for (const [id, rec] of this.requests) yield [recordKeys.request(id), encodeRequest(rec)];
  }

  /** Records may come in any order (LevelDB gives them sorted by key, vaults last). */
  static load(records: Iterable<readonly [string, Uint8Array]>): Store {
    const vaults: VaultRecord[] = [];
    const entries: { kind: Kind; v: string; name: string; deleted: Deletion | null }[] = [];
    const versions: { kind: Kind; v: string; n: string; rec: VersionOf[Kind] }[] = [];
    const dataKeys: { keyId: string; rec: DataKeyRecord }[] = [];
    const requests: { id: string; rec: RequestRecord }[] = [];
    for (const [key, value] of records) {
      const k = parseKey(key);
      switch (k.type) {
        case 'vault':
          vaults.push(decodeVault(value));
          break;
        case 'entry': {
          const h = decodeHeader(value);
          entries.push({ kind: k.kind, v: k.vault, name: h.name, deleted: h.deleted });
          break;
        }
        case 'version':
          versions.push({ kind: k.kind, v: k.vault, n: k.name, rec: decodeVersionOf(k.kind, value) });
          break;
        case 'dataKey':
          dataKeys.push({ keyId: k.keyId, rec: decodeDataKey(value) });
          break;
        case 'request':
          requests.push({ id: k.requestId, rec: decodeRequest(value) });
          break;
      }
    }
    const store = new Store();
    for (const rec of vaults) store.putVault(rec);
    for (const { kind, v, name, deleted } of entries) {
      if (!store.vaults.has(v)) throw new Error(`vault state: ${kind} ${name} of a missing vault ${v}`);
      store.putEntry(kind, v, name, deleted);
    }
    versions.sort((a, b) => a.rec.seq - b.rec.seq);
    for (const { kind, v, n, rec } of versions) {
      const vault = store.vaults.get(v);
      const e = vault && shelfOf(vault, kind).byName.get(n);
      if (!e) throw new Error(`vault state: version ${rec.version} of a missing ${kind} ${v}/${n}`);
      store.putVersion(kind, v, e, rec);
    }
    for (const [v, vault] of store.vaults) {
      for (const kind of KINDS) {
        for (const [n, e] of shelfOf(vault, kind).byName) {
          if (e.versions.length === 0) throw new Error(`vault state: ${kind} ${v}/${n} has no versions`);
        }
      }
    }
    dataKeys.sort((a, b) => a.rec.seq - b.rec.seq);
    for (const { keyId, rec } of dataKeys) {
      store.dataKeys.set(keyId, rec);
      store.nextDataKeySeq = rec.seq + 1;
    }
    requests.sort((a, b) => a.rec.seq - b.rec.seq);
    for (const { id, rec } of requests) store.putRequest(id, rec);
    return store;
  }

  private put(key: string, value: Uint8Array): void {
    this.out?.push({ op: 'put', key, value });
  }

  private del(key: string): void {
    this.out?.push({ op: 'del', key });
  }
}
