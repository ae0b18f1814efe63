// Seeds a NEW cluster from a snapshot file (scripts/restore-cluster.sh):
// every node of the primary region gets the file's state records and a Raft
// compaction point at the file's index and term, whose membership is the
// topology's nodes of that region — as if each had applied the log up to
// there and compacted it. The secondary region is left empty: its nodes start
// as a new group, ask the primary for entries from index 1, are told those
// were compacted (GEO_SNAPSHOT_NEEDED), and take the primary's state through
// the geo snapshot path, so their state stays a prefix of the primary's.
//
// Nothing is written before the whole file has been checked (key, checksum,
// every frame, record count), and nothing existing is replaced unless asked
// (`force`). The records are written under a generation the store does not
// use yet, and the batch that names the Raft point flips to it: a restore cut
// short leaves a store that drops them at open, never one that serves half a
// state.

import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { masterKeyFingerprint } from '../crypto/masterkey.js';
import { writeKeyStamp } from '../storage/keystamp.js';
import { type BatchOp, NodeStore } from '../storage/store.js';
import type { Topology } from '../topology.js';
import { type SnapshotHeader, readSnapshot, verifySnapshot } from './snapshot-file.js';
import { isMemberRecord } from '../replica/members.js';

/** Records per LevelDB batch while seeding. */
const BATCH_RECORDS = 1000;

export interface RestoreOptions {
  readonly file: string;
  readonly masterKey: Uint8Array;
  readonly topology: Topology;
  /** A node's data folder (what its --data-dir will be). */
  readonly dataDir: (nodeId: string) => string;
  /** Delete the topology's nodes' data folders first, instead of refusing when one is not empty. */
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

export async function restoreCluster(opts: RestoreOptions): Promise<{ header: SnapshotHeader; seeded: string[] }> {
  const log = opts.log ?? (() => undefined);
  const header = await verifySnapshot(opts.file, opts.masterKey);
  log(`${opts.file}: cluster ${header.cluster}, index ${header.index}, term ${header.term}, ${header.records} records, master key ${header.masterKey}: intact`);
  if (header.cluster !== opts.topology.name) {
    log(`note: the snapshot is of cluster "${header.cluster}" and the topology names "${opts.topology.name}": tokens issued by the old cluster will not be accepted`);
  }

  const all = opts.topology.regions.flatMap((r) => r.nodes.map((n) => n.id));
  const holding = all.filter((id) => existsSync(opts.dataDir(id)) && readdirSync(opts.dataDir(id)).length > 0);
  if (holding.length > 0 && !opts.force) {
    throw new RestoreError(`refusing to restore: these node folders are not empty: ${holding.map(opts.dataDir).join(', ')}; move them away, or pass --force to delete them`);
  }
  for (const id of holding) {
    rmSync(opts.dataDir(id), { recursive: true, force: true });
    log(`removed ${opts.dataDir(id)}`);
  }

  const primary = opts.topology.regions.find((r) => r.role === 'primary');
  if (primary === undefined) throw new RestoreError('the topology has no primary region');
  const voters = primary.nodes.map((n) => n.id).sort();
  const meta = { index: header.index, term: header.term, conf: { voters, votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false } };
  const fingerprint = masterKeyFingerprint(opts.masterKey);
  for (const id of voters) {
    const dir = opts.dataDir(id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeKeyStamp(dir, fingerprint);
    const store = await NodeStore.open(join(dir, 'db'));
    try {
      const gen = store.nextGeneration;
      let batch: BatchOp[] = [];
      for await (const [key, value] of readSnapshot(opts.file, opts.masterKey)) {
        // The new cluster's members are its topology's: the old one's addresses would dial the wrong nodes.
        if (isMemberRecord(key)) continue;
        batch.push(store.stagedStateOp(gen, key, value));
        if (batch.length >= BATCH_RECORDS) {
          await store.write(batch, false);
          batch = [];
        }
      }
      batch.push(store.generationOp(gen), store.hardStateOp({ term: header.term, vote: '', commit: header.index }), store.snapshotOp(meta), store.appliedOp(meta));
      await store.write(batch, true);
    } finally {
      await store.close();
    }
    log(`${id}: seeded with ${header.records} records at index ${header.index}`);
  }
  return { header, seeded: voters };
}
