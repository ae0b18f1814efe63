// A node's disk in the whole-node simulator. A write takes virtual time; it
// is visible to the process once done, and durable only once a synced write
// has completed after it (LevelDB's one log file: a sync flushes everything
// written before it). A crash keeps only what is durable, loses every write
// still in flight, and the next incarnation opens a new store on what is
// left. A write can be told to fail, as a full or broken disk fails it.

import type { Entry, HardState, SnapshotMeta } from '../../../src/raft/index.js';
import type { BatchOp, PersistedRaft, RaftStore, StateWrite } from '../../../src/storage/raft-store.js';
import { decodeEntry, decodeHardState, decodeSnapshotMeta, encodeEntry, encodeHardState, encodeSnapshotMeta } from '../../../src/wire/raft-codec.js';
import type { Random } from '../random.js';
import type { Scheduler } from '../scheduler.js';

const HARD_STATE = 'hs';
const SNAPSHOT = 'snap';
const APPLIED = 'applied';
const GEN = 'gen';
const ENTRY = 'e/';
const STATE = 'v/';

function entryKey(index: number): string {
  return ENTRY + String(index).padStart(12, '0');
}

function stateKey(gen: number, key: string): string {
  return `${STATE}${String(gen).padStart(6, '0')}/${key}`;
}

export class SimDisk {
  /** What survives a crash. */
  durable = new Map<string, Uint8Array>();
  /** Batches written (visible) but not yet made durable by a sync. */
  private unsynced: (readonly BatchOp[])[] = [];
  /** What the running process sees. */
  visible = new Map<string, Uint8Array>();
  /** Bumped by a crash: writes of an earlier incarnation still in flight are lost. */
  incarnation = 0;
  /** The next write fails (an injected disk fault). */
  failNextWrite = false;
  writes = 0;
  lostOnCrash = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: Random,
  ) {}

  crash(): void {
    this.incarnation++;
    this.lostOnCrash += this.unsynced.length;
    this.unsynced = [];
    this.visible = new Map(this.durable);
  }

  /** Completes after a virtual delay, unless the process crashed meanwhile (then never). */
  write(ops: readonly BatchOp[], sync: boolean): Promise<void> {
    const incarnation = this.incarnation;
    const fail = this.failNextWrite;
    this.failNextWrite = false;
    return new Promise<void>((resolve, reject) => {
      this.scheduler.after(this.random.int(0, sync ? 3 : 1), () => {
        if (this.incarnation !== incarnation) return;
        if (fail) {
          reject(new Error('injected disk failure: the write was not done'));
          return;
        }
        this.writes++;
        apply(this.visible, ops);
        this.unsynced.push(ops);
        if (sync) {
          for (const batch of this.unsynced) apply(this.durable, batch);
          this.unsynced = [];
        }
        resolve();
      });
    });
  }
}

function apply(map: Map<string, Uint8Array>, ops: readonly BatchOp[]): void {
  for (const op of ops) {
    if (op.type === 'put') map.set(op.key, op.value);
    else map.delete(op.key);
  }
}

export class MemoryStore implements RaftStore {
  private gen: number;

  constructor(private readonly disk: SimDisk) {
    const g = disk.visible.get(GEN);
    this.gen = g === undefined ? 1 : Number(new TextDecoder().decode(g));
  }

  async loadRaft(): Promise<PersistedRaft | undefined> {
    const v = this.disk.visible;
    const hs = v.get(HARD_STATE);
    const snap = v.get(SNAPSHOT);
    if (hs === undefined || snap === undefined) return undefined;
    const snapshot = decodeSnapshotMeta(snap);
    const applied = v.get(APPLIED);
    const entries: Entry[] = [];
    const after = entryKey(snapshot.index);
    for (const key of [...v.keys()].filter((k) => k.startsWith(ENTRY) && k > after).sort()) entries.push(decodeEntry(v.get(key)!));
    return { hardState: decodeHardState(hs), snapshot, entries, applied: applied === undefined ? snapshot : decodeSnapshotMeta(applied) };
  }

  async *stateRecords(): AsyncGenerator<[string, Uint8Array]> {
    for (const r of this.records(this.gen)) yield r;
  }

  /** The applied state and its meta at this instant, as the transport streams it to a follower. */
  stateSnapshot(): { meta: SnapshotMeta; records: [string, Uint8Array][] } {
    const applied = this.disk.visible.get(APPLIED) ?? this.disk.visible.get(SNAPSHOT)!;
    return { meta: decodeSnapshotMeta(applied), records: this.records(this.gen) };
  }

  /** As NodeStore.openStateSnapshot: what the geo source streams to the secondary. */
  async openStateSnapshot(): Promise<{ meta: SnapshotMeta; records: AsyncGenerator<[string, Uint8Array]>; close: () => Promise<void> }> {
    const view = this.stateSnapshot();
    async function* records(): AsyncGenerator<[string, Uint8Array]> {
      yield* view.records;
    }
    return { meta: view.meta, records: records(), close: async () => undefined };
  }

  private records(gen: number): [string, Uint8Array][] {
    const prefix = stateKey(gen, '');
    const out: [string, Uint8Array][] = [];
    for (const [k, value] of this.disk.visible) if (k.startsWith(prefix)) out.push([k.slice(prefix.length), value]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  write(ops: readonly BatchOp[], sync: boolean): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return this.disk.write(ops, sync);
  }

  compactLog(index: number): Promise<void> {
    const upTo = entryKey(index);
    const ops: BatchOp[] = [];
    for (const k of this.disk.visible.keys()) if (k.startsWith(ENTRY) && k <= upTo) ops.push({ type: 'del', key: k });
    return this.write(ops, false);
  }

  dropOtherGenerations(): Promise<void> {
    const keep = stateKey(this.gen, '');
    const ops: BatchOp[] = [];
    for (const k of this.disk.visible.keys()) if (k.startsWith(STATE) && !k.startsWith(keep)) ops.push({ type: 'del', key: k });
    return this.write(ops, false);
  }

  hardStateOp(hs: HardState): BatchOp {
    return { type: 'put', key: HARD_STATE, value: encodeHardState(hs) };
  }

  snapshotOp(meta: SnapshotMeta): BatchOp {
    return { type: 'put', key: SNAPSHOT, value: encodeSnapshotMeta(meta) };
  }

  appliedOp(meta: SnapshotMeta): BatchOp {
    return { type: 'put', key: APPLIED, value: encodeSnapshotMeta(meta) };
  }

  entryOp(e: Entry): BatchOp {
    return { type: 'put', key: entryKey(e.index), value: encodeEntry(e) };
  }

  deleteEntryOp(index: number): BatchOp {
    return { type: 'del', key: entryKey(index) };
  }

  stateOp(w: StateWrite): BatchOp {
    const key = stateKey(this.gen, w.key);
    return w.op === 'put' ? { type: 'put', key, value: w.value } : { type: 'del', key };
  }

  get nextGeneration(): number {
    return this.gen + 1;
  }

  stagedStateOp(gen: number, key: string, value: Uint8Array): BatchOp {
    return { type: 'put', key: stateKey(gen, key), value };
  }

  generationOp(gen: number): BatchOp {
    return { type: 'put', key: GEN, value: new TextEncoder().encode(String(gen)) };
  }

  useGeneration(gen: number): void {
    this.gen = gen;
  }
}
