// Master-key rotation, offline, one stopped node at a time (every node of the
// cluster, then restart them all with the new key):
//
//   node dist/scripts/rotate-master-key.js --data-dir cluster/.data/east-1 \
//     --old-key cluster/.data/master.key --new-key new.key
//
// Only the data keys are re-wrapped — their state records and the
// InstallDataKey commands still in the Raft log — not the records they seal.
// Rewrapping is deterministic, so every node ends with identical bytes.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Envelope } from '../src/crypto/envelope.js';
import { loadMasterKey, masterKeyFingerprint } from '../src/crypto/masterkey.js';
import { restrictFileModes } from '../src/file-modes.js';
import { decodeGeoEntry, encodeGeoEntry, isGeoEntryData } from '../src/geo/codec.js';
import { isGeoRecord } from '../src/geo/geo-state.js';
import { EntryType } from '../src/raft/index.js';
import { decodeEntry, encodeEntry } from '../src/wire/raft-codec.js';
import { checkKeyStamp, writeKeyStamp } from '../src/storage/keystamp.js';
import { type BatchOp, NodeStore } from '../src/storage/store.js';
import { VaultState, decodeCommand, encodeCommand } from '../src/vault/index.js';

async function main(): Promise<void> {
  // It writes LevelDB files into a node's data folder: they must be as private as the node's own.
  restrictFileModes();
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, 'old-key': { type: 'string' }, 'new-key': { type: 'string' } } });
  const dataDir = values['data-dir'];
  if (dataDir === undefined || values['old-key'] === undefined || values['new-key'] === undefined) {
    throw new Error('usage: rotate-master-key.js --data-dir DIR --old-key FILE --new-key FILE');
  }
  const oldKey = loadMasterKey(values['old-key']);
  const newKey = loadMasterKey(values['new-key']);
  checkKeyStamp(dataDir, masterKeyFingerprint(oldKey));
  // Opening fails while the node runs (LevelDB's lock): rotation is offline.
  const store = await NodeStore.open(join(dataDir, 'db'));
  try {
    const records: [string, Uint8Array][] = [];
    for await (const r of store.stateRecords()) if (!isGeoRecord(r[0])) records.push(r);
    const state = VaultState.load(records);
    const envelope = new Envelope(oldKey);
    const rewrapped = new Map<string, Uint8Array>();
    for (const k of state.dataKeys().keys) {
      envelope.installDataKey(k.keyId, k.wrappedKey);
      rewrapped.set(k.keyId, envelope.rewrap(k.keyId, newKey));
    }
    const ops: BatchOp[] = state.rewrapDataKeys(rewrapped).map((m) => store.stateOp(m));
    let entries = 0;
    for await (const [key, value] of store.db.iterator({ gte: 'r/e/', lt: 'r/e/~' })) {
      const e = decodeEntry(value);
      if (e.type !== EntryType.Normal || e.data.length === 0) continue;
      const data = rewrapEntryData(e.data, (keyId) => rewrapped.get(keyId) ?? envelope.rewrap(keyId, newKey));
      if (data === undefined) continue;
      ops.push({ type: 'put', key, value: encodeEntry({ ...e, data }) });
      entries++;
    }
    await store.write(ops, true);
    writeKeyStamp(dataDir, masterKeyFingerprint(newKey));
    console.log(`${dataDir}: ${rewrapped.size} data keys re-wrapped (${entries} log entries); start the node with the new key`);
  } finally {
    await store.close();
  }
}

/** The entry's data with its InstallDataKey commands re-wrapped, or undefined if it holds none. */
function rewrapEntryData(data: Uint8Array, rewrap: (keyId: string) => Uint8Array): Uint8Array | undefined {
  if (isGeoEntryData(data)) {
    const g = decodeGeoEntry(data);
    if (g.kind !== 'shipped') return undefined;
    let changed = false;
    const entries = g.shipped.entries.map((e) => {
      const inner = e.type === EntryType.Normal && e.data.length > 0 ? rewrapEntryData(e.data, rewrap) : undefined;
      if (inner === undefined) return e;
      changed = true;
      return { ...e, data: inner };
    });
    return changed ? encodeGeoEntry({ kind: 'shipped', shipped: { ...g.shipped, entries } }) : undefined;
  }
  const cmd = decodeCommand(data);
  if (cmd.op !== 'installDataKey') return undefined;
  return encodeCommand({ ...cmd, installDataKey: { keyId: cmd.installDataKey.keyId, wrappedKey: rewrap(cmd.installDataKey.keyId) } });
}

main().catch((e: unknown) => {
  console.error(`rotate-master-key: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
