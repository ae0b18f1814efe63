// The vault state machine as the replica's Application: decodes each
// committed command, applies it, and installs data keys into the envelope as
// they are applied, so that every node can open what any leader sealed.
//
// In the secondary region the log holds GeoEntries instead: primary entries
// shipped in order (applied with the primary's indexes, so the secondary's
// state is always a prefix of the primary's) and mode transitions.

import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthDirectory } from './authorize.js';
import { tokenKeyFromSeed } from '../auth/tokens.js';
import type { Envelope } from '../crypto/envelope.js';
import { type GeoEntry, type SnapshotPart, decodeGeoEntry, isGeoEntryData } from '../geo/codec.js';
import { GEO_META_KEY, GEO_STAGE_PREFIX, type GeoMeta, decodeGeoMeta, encodeGeoMeta, initialGeoMeta, isGeoRecord } from '../geo/geo-state.js';
import type { Application, StateWrite } from '../replica/replica.js';
import { EntryType } from '../raft/index.js';
import { ErrorKind, VaultError, VaultState, decodeCommand, tokenKeySealContext, type ApplyResult, type Command } from '../vault/index.js';

/** `index`: the log index of the entry that made `result` (the first one's for a deduplicated retry), when known. */
export type CommandOutcome = { result: ApplyResult; index?: number } | { error: VaultError };

/** What applying a GeoEntry answers its proposer. */
export interface GeoOutcome {
  geo: GeoMeta;
}

/** What applying a log entry answers its proposer: a vault command's outcome, or a geo entry's. */
export type VaultAppResult = CommandOutcome | GeoOutcome;

export class VaultApp implements Application<VaultAppResult> {
  state: VaultState = VaultState.load([]);
  geo: GeoMeta = initialGeoMeta();
  /** Records of a primary snapshot being received (persisted under GEO_STAGE_PREFIX). */
  private staged = new Map<string, Uint8Array>();
  /** The token keys of the state, opened, newest first. */
  private openedTokenKeys: readonly KeyObject[] = [];

  constructor(
    private readonly envelope: Envelope,
    private readonly logger: Logger,
  ) {}

  /** What the client port's authorization reads: the replicated principals, assignments and token keys. */
  readonly directory: AuthDirectory = {
    principal: (name) => this.state.principal(name),
    roleAssignments: (principal) => this.state.roleAssignments(principal),
    tokenKeys: () => this.openedTokenKeys,
  };

  /**
   * Opens every token key of the state. Only the sealed seeds are
   * replicated and stored; the opened keys live in memory, like data keys.
   * A seed that does not open throws and stops the node, as a data key that
   * does not unwrap does: it could check no token.
   */
  private openTokenKeys(): void {
    this.openedTokenKeys = this.state.tokenKeys().map(({ keyId, sealedSeed }) => {
      const seed = this.envelope.open(sealedSeed, tokenKeySealContext(keyId));
      try {
        return tokenKeyFromSeed(seed);
      } finally {
        seed.fill(0);
      }
    });
  }

  applyCommand(data: Uint8Array, index: number): { result: VaultAppResult; writes: readonly StateWrite[] } {
    if (isGeoEntryData(data)) return this.applyGeo(data, index);
    const { outcome, writes } = this.applyVault(data, index);
    return { result: outcome, writes };
  }

  private applyVault(data: Uint8Array, index: number): { outcome: CommandOutcome; writes: StateWrite[] } {
    let cmd: Command;
    try {
      cmd = decodeCommand(data);
    } catch (e) {
      // Only our own leaders write the log, so this is a bug; it must not stop the group.
      this.logger.error({ err: e, index }, 'undecodable command in the log; skipped');
      return { outcome: { error: new VaultError(ErrorKind.InvalidArgument, 'BAD_COMMAND', 'undecodable command') }, writes: [] };
    }
    const outcome = this.state.apply(cmd, index);
    if (cmd.op === 'installDataKey' && 'result' in outcome) {
      // A wrong master key throws here and stops the node: it could open nothing.
      this.envelope.installDataKey(cmd.installDataKey.keyId, cmd.installDataKey.wrappedKey);
    }
    if (cmd.op === 'rotateMasterKey' && 'result' in outcome) {
      // A node without the new master key stops here, as with a data key it
      // cannot unwrap: it could not read its own state after a restart.
      for (const k of cmd.rotateMasterKey.keys) this.envelope.adoptRewrapped(k.keyId, k.wrappedKey);
    }
    if (cmd.op === 'installTokenKey' && 'result' in outcome) this.openTokenKeys();
    return { outcome: 'error' in outcome ? { error: outcome.error } : { result: outcome.result, index: outcome.index }, writes: outcome.mutations };
  }

  private applyGeo(data: Uint8Array, index: number): { result: GeoOutcome; writes: StateWrite[] } {
    let entry: GeoEntry;
    try {
      entry = decodeGeoEntry(data);
    } catch (e) {
      this.logger.error({ err: e, index }, 'undecodable geo entry in the log; skipped');
      return { result: { geo: { ...this.geo } }, writes: [] };
    }
    const writes: StateWrite[] = [];
    const geo = this.geo;
    if (entry.kind === 'shipped') {
      for (const e of entry.shipped.entries) {
        if (e.index <= geo.cursor) continue; // shipped twice: already applied
        if (e.index !== geo.cursor + 1) {
          this.logger.error({ expected: geo.cursor + 1, got: e.index }, 'gap in shipped primary entries; the rest of the batch is skipped');
          break;
        }
        if (e.type === EntryType.Normal && e.data.length > 0) writes.push(...this.applyVault(e.data, e.index).writes);
        geo.cursor = e.index;
        geo.appliedAtMs = entry.shipped.appliedAtMs;
      }
    } else if (entry.kind === 'snapshotPart') {
      writes.push(...this.applySnapshotPart(entry.snapshotPart));
    } else {
      const t = entry.transition;
      if (t.mode === 'FAILED_OVER' || t.mode === 'STANDBY') {
        if (t.mode !== geo.mode) this.logger.warn({ mode: t.mode, epoch: t.epoch, reason: t.reason }, 'region mode changes');
        geo.mode = t.mode;
        geo.epoch = Math.max(geo.epoch, t.epoch);
        geo.lastTransitionMs = t.atMs;
        geo.lastTransitionReason = t.reason;
        geo.manual = t.mode === 'FAILED_OVER' && t.manual;
      }
    }
    writes.push({ op: 'put', key: GEO_META_KEY, value: encodeGeoMeta(geo) });
    return { result: { geo: { ...geo } }, writes };
  }

  /**
   * A part of a primary snapshot, for a secondary too far behind for entries:
   * parts are staged (persisted, so a restart keeps them); the last one swaps
   * the whole state for the staged one, at the snapshot's primary index.
   */
  private applySnapshotPart(part: SnapshotPart): StateWrite[] {
    const writes: StateWrite[] = [];
    const geo = this.geo;
    if (part.seq === 0) {
      // A new transfer: whatever an abandoned one staged goes.
      for (const key of this.staged.keys()) writes.push({ op: 'del', key: GEO_STAGE_PREFIX + key });
      this.staged.clear();
      geo.staging = part.transfer;
    }
    if (part.transfer !== geo.staging || part.primaryIndex <= geo.cursor) return writes;
    for (const r of part.records) {
      this.staged.set(r.key, r.value);
      writes.push({ op: 'put', key: GEO_STAGE_PREFIX + r.key, value: r.value });
    }
    if (!part.last) return writes;
    for (const [key] of this.state.records()) writes.push({ op: 'del', key });
    for (const [key, value] of this.staged) writes.push({ op: 'del', key: GEO_STAGE_PREFIX + key }, { op: 'put', key, value });
    this.state = VaultState.load(this.staged);
    for (const k of this.state.dataKeys().keys) this.envelope.installDataKey(k.keyId, k.wrappedKey);
    this.openTokenKeys();
    this.staged = new Map();
    geo.staging = '';
    geo.cursor = part.primaryIndex;
    this.logger.info({ primaryIndex: part.primaryIndex }, 'installed a primary snapshot');
    return writes;
  }

  /** Streams the vault records into the new state as they are read: a restart holds no copy of them all. */
  async reload(records: AsyncIterable<[string, Uint8Array]>): Promise<void> {
    const loader = VaultState.loader();
    let geo = initialGeoMeta();
    this.staged = new Map();
    for await (const [key, value] of records) {
      if (key === GEO_META_KEY) geo = decodeGeoMeta(value);
      else if (key.startsWith(GEO_STAGE_PREFIX)) this.staged.set(key.slice(GEO_STAGE_PREFIX.length), value);
      else if (!isGeoRecord(key)) loader.add(key, value);
    }
    this.state = loader.finish();
    this.geo = geo;
    for (const k of this.state.dataKeys().keys) this.envelope.installDataKey(k.keyId, k.wrappedKey);
    this.openTokenKeys();
  }
}
