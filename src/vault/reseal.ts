// Background re-seal: every stored sealed value, and the command that swaps
// one for the same plaintext sealed under the active data key. The server
// opens and seals (the vault never sees a plaintext); apply only compares
// and replaces, so a value that changed after the leader read it is left
// alone: the write or delete that changed it wins.

import type { Body, Handler } from './apply-common.js';
import type { ResealedKind, ResealValues } from './commands.js';
import { invalid } from './errors.js';
import { type Entry, type KeyVersion, type VersionRecord, findVersion, keptBytes, keySealContext, lower, secretSealContext } from './model.js';
import { tokenKeySealContext } from './model-auth.js';
import type { Store } from './store.js';

/** Values one ResealValues command may carry; the server also bounds a batch's bytes. */
export const MAX_RESEALED_PER_COMMAND = 256;
/** The largest sealed value of any kind (a secret's, MAX_SEALED_VALUE_BYTES) fits. */
const MAX_RESEALED_BYTES = 64 * 1024;

/** One sealed value of the state, where it lives, and what it is bound to. */
export interface SealedRef {
  kind: ResealedKind;
  vault: string;
  name: string;
  version: string;
  /** The seal context the value opens under. */
  context: string;
  sealed: Uint8Array;
}

/**
 * Every sealed value the state holds: secret versions and private key
 * material (soft-deleted ones included: they can be recovered) and token key
 * seeds. Backup blobs are not stored: they live with whoever asked for them,
 * and stay readable because no data key is ever removed.
 */
export function* sealedValues(store: Store): Generator<SealedRef> {
  for (const v of store.vaultNames) {
    const vault = store.vaults.get(v)!;
    for (const e of vault.secrets.byName.values()) {
      for (const r of e.versions) {
        yield { kind: 'secret', vault: v, name: e.name, version: r.version, context: secretSealContext(e.name, r.version), sealed: r.sealedValue };
      }
    }
    for (const e of vault.keys.byName.values()) {
      for (const r of e.versions) {
        const sealed = r.material.sealedPrivateJwk;
        yield { kind: 'key', vault: v, name: e.name, version: r.version, context: keySealContext(e.name, r.version), sealed };
      }
    }
  }
  for (const [keyId, rec] of store.auth.tokenKeys) {
    yield { kind: 'tokenKey', vault: '', name: keyId, version: '', context: tokenKeySealContext(keyId), sealed: rec.sealedSeed };
  }
}

const KINDS = new Set<string>(['secret', 'key', 'tokenKey']);

function bytesField(o: Body, field: string): Uint8Array {
  const v = o[field];
  if (!(v instanceof Uint8Array) || v.byteLength === 0 || v.byteLength > MAX_RESEALED_BYTES) {
    throw invalid('BAD_PARAMETER', `a re-sealed value's ${field} must be 1-${MAX_RESEALED_BYTES} bytes`);
  }
  return v;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

/** The version of a secret or key named by a re-sealed value, if it still exists. */
function version<R extends VersionRecord | KeyVersion>(byName: Map<string, Entry<R>>, name: string, ver: string): { e: Entry<R>; rec: R } | undefined {
  const e = byName.get(lower(name));
  const rec = e && findVersion(e, ver);
  return e && rec ? { e, rec } : undefined;
}

/**
 * Replaces each value that still holds exactly `previous`; the others are
 * skipped, not refused: a skip is the normal outcome of a race.
 */
export const resealValues: Handler = (store, body) => {
  const list = (body as Partial<ResealValues>).values;
  if (!Array.isArray(list) || list.length > MAX_RESEALED_PER_COMMAND) {
    throw invalid('BAD_PARAMETER', `a re-seal carries 0-${MAX_RESEALED_PER_COMMAND} values`);
  }
  // Every item is checked before the first write: a refused command changes nothing.
  // Array.from visits holes too, so a sparse list is refused rather than half applied.
  const items = Array.from(list, (item: unknown) => {
    if (item === null || typeof item !== 'object') throw invalid('BAD_PARAMETER', 'a re-sealed value must be an object');
    const o = item as Body;
    if (typeof o.kind !== 'string' || !KINDS.has(o.kind)) throw invalid('BAD_PARAMETER', 'a re-sealed value is of kind secret, key or tokenKey');
    for (const f of ['vault', 'name', 'version']) {
      if (typeof o[f] !== 'string') throw invalid('BAD_PARAMETER', `a re-sealed value's ${f} must be a string`);
    }
    const previous = bytesField(o, 'previous');
    const sealed = bytesField(o, 'sealed');
    // The same plaintext in the same format: anything else is not a re-seal.
    if (sealed.byteLength !== previous.byteLength) throw invalid('BAD_PARAMETER', 'a re-sealed value must be as long as the value it replaces');
    return {
      kind: o.kind as ResealedKind,
      vault: o.vault as string,
      name: o.name as string,
      version: o.version as string,
      previous,
      sealed,
    };
  });
  let resealed = 0;
  for (const it of items) {
    if (it.kind === 'tokenKey') {
      const rec = store.auth.tokenKeys.get(it.name);
      if (rec === undefined || !same(rec.sealedSeed, it.previous)) continue;
      store.auth.resealTokenKey(it.name, keptBytes(it.sealed));
    } else {
      const vault = store.vault(it.vault);
      if (vault === undefined) continue;
      const v = lower(vault.rec.name);
      if (it.kind === 'secret') {
        const found = version(vault.secrets.byName, it.name, it.version);
        if (found === undefined || !same(found.rec.sealedValue, it.previous)) continue;
        store.putVersion('secret', v, found.e, { ...found.rec, sealedValue: keptBytes(it.sealed) });
      } else {
        const found = version(vault.keys.byName, it.name, it.version);
        if (found === undefined || !same(found.rec.material.sealedPrivateJwk, it.previous)) continue;
        const material = { ...found.rec.material, sealedPrivateJwk: keptBytes(it.sealed) };
        store.putVersion('key', v, found.e, { ...found.rec, material });
      }
    }
    resealed++;
  }
  return { kind: 'resealed', resealed, skipped: items.length - resealed };
};
