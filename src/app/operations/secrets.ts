// keyraft.v1.Secrets. Values are sealed on the leader before they are
// proposed (the log, the state and snapshots only ever hold ciphertext) and
// opened here, on the node that serves the read.

import { type Envelope, SealedDataError } from '../../crypto/envelope.js';
import { randomHexId } from '../../crypto/random.js';
import {
  ErrorKind,
  type ListRequest,
  type SecretAttributes,
  type SecretBackup,
  type SecretRef,
  type SecretVersionRecord,
  type SetSecretRequest,
  type UpdateSecretPropertiesRequest,
  VaultError,
  checkVersionRoom,
  validateListRequest,
  validateRequestId,
  validateSecretName,
  validateSecretRef,
  validateSetSecretRequest,
  validateUpdateSecretPropertiesRequest,
  validateVaultName,
  secretSealContext,
} from '../../vault/index.js';
import { type CommandRunner, expectResult } from '../command-runner.js';
import type { AppDeps } from '../deps.js';
import { FAILOVER_READ, type OperationTable, read, write } from '../operation.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BACKUP_FORMAT = 'keyraft-secret-backup-v1';
const BACKUP_PURPOSE = 'secret';

function badBackup(why: string): VaultError {
  return new VaultError(ErrorKind.InvalidArgument, 'BAD_BACKUP', `not a keyraft secret backup of this cluster: ${why}`);
}

interface BackupJson {
  format: string;
  name: string;
  versions: { version: string; sealedValue: string; attributes: SecretAttributes | null; createdMs: number; updatedMs: number }[];
}

export function secretOperations(deps: AppDeps, runner: CommandRunner): OperationTable {
  const { ctx, envelope } = deps;
  const state = () => deps.app.state;
  const linearize = (timeoutMs: number) => ctx.replica.linearizableRead(timeoutMs);

  const open = (sealed: Uint8Array, name: string, version: string): string => {
    try {
      return decoder.decode(envelope.open(sealed, secretSealContext(name, version)));
    } catch (e) {
      if (e instanceof SealedDataError) throw new VaultError(ErrorKind.Unavailable, 'SEALED_DATA_UNREADABLE', `version ${version} cannot be opened on this node`);
      throw e;
    }
  };

  return {
    SetSecret: write(async (req: SetSecretRequest, timeoutMs, receipt) => {
      const v = validateSetSecretRequest(req);
      const maxVersions = deps.versionLimits.maxVersionsPerSecret;
      // Early and clear; apply checks again against the state it changes.
      checkVersionRoom('secret', v.name, state().versionCount('secret', v.vault, v.name), 1, maxVersions);
      const deadline = Date.now() + timeoutMs;
      await runner.ensureDataKey(timeoutMs);
      const version = randomHexId(16);
      const sealedValue = envelope.seal(encoder.encode(v.value), secretSealContext(v.name, version));
      const attributes = { contentType: v.contentType, tags: v.tags, enabled: v.enabled, notBefore: v.notBefore, expires: v.expires };
      const result = await runner.run(
        v.requestId,
        { op: 'setSecret', setSecret: { vault: v.vault, name: v.name, version, sealedValue, attributes, maxVersions } },
        Math.max(1, deadline - Date.now()),
        receipt,
      );
      // A retried request answers the version its first attempt created.
      const properties = expectResult(result, 'secret').secret;
      return { properties, value: properties.version === version ? v.value : open(state().getSecret(v.vault, v.name, properties.version, Date.now()).sealedValue, v.name, properties.version) };
    }),
    GetSecret: read(async (req: SecretRef, timeoutMs) => {
      const r = validateSecretRef(req);
      await linearize(timeoutMs);
      const s = state().getSecret(r.vault, r.name, r.version, Date.now());
      return { properties: s.properties, value: open(s.sealedValue, s.properties.name, s.properties.version) };
    }, FAILOVER_READ),
    ListSecrets: read(async (req: ListRequest, timeoutMs) => {
      const l = validateListRequest(req);
      await linearize(timeoutMs);
      return state().listSecrets(l.vault ?? validateVaultName(undefined), l.pageSize, l.pageToken);
    }, FAILOVER_READ),
    ListSecretVersions: read(async (req: ListRequest, timeoutMs) => {
      const l = validateListRequest(req);
      await linearize(timeoutMs);
      return state().listSecretVersions(l.vault ?? validateVaultName(undefined), l.name ?? validateSecretName(undefined), l.pageSize, l.pageToken);
    }),
    UpdateSecretProperties: write(async (req: UpdateSecretPropertiesRequest, timeoutMs, receipt) => {
      const u = validateUpdateSecretPropertiesRequest(req);
      const result = await runner.run(
        u.requestId,
        {
          op: 'updateSecret',
          updateSecret: {
            vault: u.vault,
            name: u.name,
            version: u.version,
            contentType: u.contentType,
            enabled: u.enabled,
            notBefore: u.notBefore,
            expires: u.expires,
            replaceTags: u.tags !== undefined,
            tags: u.tags ?? {},
          },
        },
        timeoutMs,
        receipt,
      );
      return expectResult(result, 'secret').secret;
    }),
    DeleteSecret: write(async (req: SecretRef, timeoutMs, receipt) => {
      const r = validateSecretRef(req);
      const result = await runner.run(r.requestId, { op: 'deleteSecret', deleteSecret: { vault: r.vault, name: r.name } }, timeoutMs, receipt);
      return expectResult(result, 'deletedSecret').deletedSecret;
    }),
    GetDeletedSecret: read(async (req: SecretRef, timeoutMs) => {
      const r = validateSecretRef(req);
      await linearize(timeoutMs);
      return state().getDeletedSecret(r.vault, r.name, Date.now());
    }),
    ListDeletedSecrets: read(async (req: ListRequest, timeoutMs) => {
      const l = validateListRequest(req);
      await linearize(timeoutMs);
      return state().listDeletedSecrets(l.vault ?? validateVaultName(undefined), l.pageSize, l.pageToken, Date.now());
    }),
    RecoverDeletedSecret: write(async (req: SecretRef, timeoutMs, receipt) => {
      const r = validateSecretRef(req);
      const result = await runner.run(r.requestId, { op: 'recoverSecret', recoverSecret: { vault: r.vault, name: r.name } }, timeoutMs, receipt);
      return expectResult(result, 'secret').secret;
    }),
    PurgeDeletedSecret: write(async (req: SecretRef, timeoutMs, receipt) => {
      const r = validateSecretRef(req);
      await runner.run(r.requestId, { op: 'purgeSecret', purgeSecret: { vault: r.vault, name: r.name } }, timeoutMs, receipt);
      return {};
    }),
    BackupSecret: read(async (req: SecretRef, timeoutMs) => {
      const r = validateSecretRef(req);
      await linearize(timeoutMs);
      return { value: secretBackupBlob(state().backupSecret(r.vault, r.name), envelope) };
    }, FAILOVER_READ),
    RestoreSecret: write(async (req: { vault: string; backup: Uint8Array; requestId?: string }, timeoutMs, receipt) => {
      const vault = validateVaultName(req.vault);
      const requestId = validateRequestId(req.requestId);
      const backup = parseBackup(req.backup, (sealed) => envelope.openBlob(sealed, BACKUP_PURPOSE));
      const maxVersions = deps.versionLimits.maxVersionsPerSecret;
      checkVersionRoom('secret', backup.name, 0, backup.versions.length, maxVersions);
      const result = await runner.run(requestId, { op: 'restoreSecret', restoreSecret: { vault, name: backup.name, versions: backup.versions, maxVersions } }, timeoutMs, receipt);
      return expectResult(result, 'secret').secret;
    }),
  };
}

/** The BackupSecret blob; test/app/backup-size.test.ts checks the largest one fits a client message. */
export function secretBackupBlob(backup: SecretBackup, envelope: Envelope): Buffer {
  const json: BackupJson = {
    format: BACKUP_FORMAT,
    name: backup.name,
    versions: backup.versions.map((v) => ({ ...v, sealedValue: Buffer.from(v.sealedValue).toString('base64') })),
  };
  // The blob is sealed as a whole; the values inside stay sealed as well.
  return Buffer.from(envelope.sealBlob(encoder.encode(JSON.stringify(json)), BACKUP_PURPOSE));
}

function parseBackup(blob: Uint8Array | undefined, openBlob: (b: Uint8Array) => Uint8Array): { name: string; versions: SecretVersionRecord[] } {
  if (!(blob instanceof Uint8Array) || blob.length === 0) throw badBackup('empty');
  let json: BackupJson;
  try {
    json = JSON.parse(decoder.decode(openBlob(blob))) as BackupJson;
  } catch (e) {
    if (e instanceof SealedDataError || e instanceof SyntaxError) throw badBackup('it does not open with this cluster\'s keys');
    throw e;
  }
  if (json.format !== BACKUP_FORMAT || !Array.isArray(json.versions) || json.versions.length === 0) throw badBackup('unknown format');
  const name = validateSecretName(json.name);
  const versions = json.versions.map((v) => ({ ...v, sealedValue: new Uint8Array(Buffer.from(String(v.sealedValue), 'base64')) }));
  return { name, versions };
}
