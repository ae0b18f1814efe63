// The in-memory state and its only writers. Every write changes memory and
// emits the matching record mutation in one step, so the records can never
// drift from what queries see; load() rebuilds memory through the same writers.

import {
  type DataKeyRecord,
  type Deletion,
  type SecretEntry,
  type VaultEntry,
  type VaultRecord,
  type VersionRecord,
  lower,
  newVaultEntry,
} from './model.js';
import {
  type Mutation,
  type RequestRecord,
  decodeDataKey,
  decodeRequest,
  decodeSecretHeader,
  decodeVault,
  decodeVersion,
  encodeDataKey,
  encodeRequest,
  encodeSecretHeader,
  encodeVault,
  encodeVersion,
  keys,
  parseKey,
} from './records.js';
import { SortedKeys } from './sorted.js';

/** A broken invariant of the state itself: never caused by a command's content, and never swallowed. */
export class VaultBug extends Error {
  override readonly name = 'VaultBug';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`vault state: ${message}`, options);
  }
}

/** Sorts by purge date first; the padding makes string order numeric order. */
export const purgeQueueKey = (d: Deletion, v: string, n: string) =>
  `${String(d.scheduledPurgeMs).padStart(16, '0')}/${v}/${n}`;

export class Store {
  readonly vaults = new Map<string, VaultEntry>();
  readonly vaultNames = new SortedKeys();
  /** Every soft-deleted secret by purge date, for the bounded sweep in apply. */
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
    this.put(keys.vault(v), encodeVault(rec));
  }

  /** The caller has removed its secrets first. */
  removeVault(v: string): void {
    this.vaults.delete(v);
    this.vaultNames.delete(v);
    this.del(keys.vault(v));
  }

  /** Creates the secret if needed, and moves it between the live and deleted indexes. */
  putSecret(v: string, name: string, deleted: Deletion | null): SecretEntry {
    const vault = this.vaults.get(v)!;
    const n = lower(name);
    let s = vault.secrets.get(n);
    if (!s) {
      s = { name, versions: [], byVersion: new Map(), deleted: null };
      vault.secrets.set(n, s);
    }
    if (s.deleted) this.purgeQueue.delete(purgeQueueKey(s.deleted, v, n));
    s.deleted = deleted;
    if (deleted) {
      vault.live.delete(n);
      vault.deleted.insert(n);
      this.purgeQueue.insert(purgeQueueKey(deleted, v, n));
    } else {
      vault.deleted.delete(n);
      vault.live.insert(n);
    }
    this.put(keys.secret(v, n), encodeSecretHeader({ name: s.name, deleted }));
    return s;
  }

  /** Adds a version (seq = the next position) or replaces one (same seq). */
  putVersion(v: string, s: SecretEntry, rec: VersionRecord): void {
    if (rec.seq < s.versions.length) {
      if (s.versions[rec.seq]!.version !== rec.version) throw new VaultBug('version replaced at the wrong position');
      s.versions[rec.seq] = rec;
    } else if (rec.seq === s.versions.length) {
      s.versions.push(rec);
    } else {
      throw new VaultBug('gap in version order');
    }
    s.byVersion.set(rec.version, rec);
    this.put(keys.version(v, lower(s.name), rec.version), encodeVersion(rec));
  }

  /** Hard delete: the secret and every version. */
  removeSecret(v: string, n: string): void {
    const vault = this.vaults.get(v)!;
    const s = vault.secrets.get(n)!;
    for (const ver of s.versions) this.del(keys.version(v, n, ver.version));
    this.del(keys.secret(v, n));
    if (s.deleted) this.purgeQueue.delete(purgeQueueKey(s.deleted, v, n));
    vault.secrets.delete(n);
    vault.live.delete(n);
    vault.deleted.delete(n);
  }

  putDataKey(keyId: string, wrappedKey: Uint8Array): void {
    const rec = { wrappedKey, seq: this.nextDataKeySeq++ };
    // Re-inserting moves it last in the map, which is install order.
    this.dataKeys.delete(keyId);
    this.dataKeys.set(keyId, rec);
    this.put(keys.dataKey(keyId), encodeDataKey(rec));
  }

  putRequest(id: string, rec: RequestRecord): void {
    this.requests.set(id, rec);
    this.nextRequestSeq = Math.max(this.nextRequestSeq, rec.seq + 1);
    this.put(keys.request(id), encodeRequest(rec));
  }

  removeRequest(id: string): void {
    this.requests.delete(id);
    this.del(keys.request(id));
  }

  /** Every record, in key order within each type: what load() needs to rebuild this store. */
  *records(): Generator<[string, Uint8Array]> {
    for (const v of this.vaultNames) {
      const vault = this.vaults.get(v)!;
      yield [keys.vault(v), encodeVault(vault.rec)];
      for (const n of [...vault.secrets.keys()].sort()) {
        const s = vault.secrets.get(n)!;
        yield [keys.secret(v, n), encodeSecretHeader({ name: s.name, deleted: s.deleted })];
        for (const ver of s.versions) yield [keys.version(v, n, ver.version), encodeVersion(ver)];
      }
    }
    for (const [id, rec] of this.dataKeys) yield [keys.dataKey(id), encodeDataKey(rec)];
    for (const [id, rec] of this.requests) yield [keys.request(id), encodeRequest(rec)];
  }

  /** Records may come in any order (LevelDB gives them sorted by key, vaults last). */
  static load(records: Iterable<readonly [string, Uint8Array]>): Store {
    const vaults: VaultRecord[] = [];
    const secrets: { v: string; name: string; deleted: Deletion | null }[] = [];
    const versions: { v: string; n: string; rec: VersionRecord }[] = [];
    const dataKeys: { keyId: string; rec: DataKeyRecord }[] = [];
    const requests: { id: string; rec: RequestRecord }[] = [];
    for (const [key, value] of records) {
      const k = parseKey(key);
      switch (k.type) {
        case 'vault':
          vaults.push(decodeVault(value));
          break;
        case 'secret': {
          const h = decodeSecretHeader(value);
          secrets.push({ v: k.vault, name: h.name, deleted: h.deleted });
          break;
        }
        case 'version':
          versions.push({ v: k.vault, n: k.name, rec: decodeVersion(value) });
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
    for (const { v, name, deleted } of secrets) {
      if (!store.vaults.has(v)) throw new Error(`vault state: secret ${name} of a missing vault ${v}`);
      store.putSecret(v, name, deleted);
    }
    versions.sort((a, b) => a.rec.seq - b.rec.seq);
    for (const { v, n, rec } of versions) {
      const s = store.vaults.get(v)?.secrets.get(n);
      if (!s) throw new Error(`vault state: version ${rec.version} of a missing secret ${v}/${n}`);
      store.putVersion(v, s, rec);
    }
    for (const [v, vault] of store.vaults) {
      for (const [n, s] of vault.secrets) {
        if (s.versions.length === 0) throw new Error(`vault state: secret ${v}/${n} has no versions`);
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
