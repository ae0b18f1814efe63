// keyraft.v1.Keys. Key material is generated (or imported) on the leader and
// sealed before it is proposed; GetKey answers the public JWK only.
// Cryptographic operations change no state: any node serves them from its
// applied state after a ReadIndex, and a FAILED_OVER secondary serves them too.

import { CryptoError } from '../../crypto/errors.js';
import type { PublicJwk } from '../../crypto/jwk.js';
import { publicJwkToBytes } from '../../crypto/jwk.js';
import { generateKey, importJwk } from '../../crypto/keys.js';
import { UsableKey, randomBytesFor } from '../../crypto/operations.js';
import { randomHexId } from '../../crypto/random.js';
import { type Envelope, SealedDataError } from '../../crypto/envelope.js';
import {
  ErrorKind,
  type KeyBackup,
  type KeyBundle,
  type KeyVersionRecord,
  VaultError,
  checkVersionRoom,
  checkAlgorithmForKey,
  validateCreateKeyRequest,
  validateGetRandomBytesRequest,
  validateImportKeyRequest,
  validateKeyListRequest,
  validateKeyOperationRequest,
  validateKeyRef,
  validateRestoreKeyRequest,
  validateSignRequest,
  validateUpdateKeyPropertiesRequest,
  validateVerifyRequest,
  validateKeyName,
  keySealContext,
} from '../../vault/index.js';
import { type CommandRunner, expectResult } from '../command-runner.js';
import type { AppDeps } from '../deps.js';
import { FAILOVER_READ, type OperationTable, type WriteReceipt, read, write } from '../operation.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BACKUP_FORMAT = 'keyraft-key-backup-v1';
const BACKUP_PURPOSE = 'key';
/** Opened keys kept ready for operations; each is a few KeyObjects. */
const CACHE_SIZE = 1024;

/** The crypto layer's refusals are the client's input: INVALID_ARGUMENT with its reason. */
function cryptoFailure(e: unknown): never {
  if (e instanceof CryptoError) throw new VaultError(ErrorKind.InvalidArgument, e.reason, e.message);
  throw e;
}

/** The API's Key message: properties and the public JWK as bytes. */
const NO_BYTES = new Uint8Array();
/** keyraft.v1.JsonWebKey with every member unset: what protobuf decodes a key of another type's members to. */
const EMPTY_JWK = { crv: '', n: NO_BYTES, e: NO_BYTES, x: NO_BYTES, y: NO_BYTES, d: NO_BYTES, p: NO_BYTES, q: NO_BYTES, dp: NO_BYTES, dq: NO_BYTES, qi: NO_BYTES, k: NO_BYTES };

/**
 * The Key message, whole: an in-process front-end (the REST gateway) gets
 * this object as it is, not decoded from protobuf, so the members the key's
 * type does not have are there, empty, as a gRPC client sees them.
 */
export function keyView(b: KeyBundle) {
  const jwk = publicJwkToBytes(b.publicJwk as unknown as PublicJwk);
  return { properties: b.properties, key: { ...EMPTY_JWK, ...jwk, kid: b.properties.kid, keyOps: b.properties.keyOps } };
}

interface BackupJson {
  format: string;
  name: string;
  versions: (Omit<KeyVersionRecord, 'material'> & { material: (Omit<NonNullable<KeyVersionRecord['material']>, 'sealedPrivateJwk'> & { sealedPrivateJwk: string }) | null })[];
}

export function keyOperations(deps: AppDeps, runner: CommandRunner): OperationTable {
  const { ctx, envelope } = deps;
  const state = () => deps.app.state;
  const linearize = (timeoutMs: number) => ctx.replica.linearizableRead(timeoutMs);
  const cache = new Map<string, UsableKey>();

  const seal = (name: string, version: string, privateJwk: object): Uint8Array =>
    envelope.seal(encoder.encode(JSON.stringify(privateJwk)), keySealContext(name, version));

  /** The key's usable form, opened once and kept (a version's material never changes). */
  const usable = (kid: string, kty: string, name: string, version: string, sealed: Uint8Array): UsableKey => {
    let key = cache.get(kid);
    if (key !== undefined) return key;
    let jwk: object;
    try {
      jwk = JSON.parse(decoder.decode(envelope.open(sealed, keySealContext(name, version)))) as object;
    } catch (e) {
      if (e instanceof SealedDataError) throw new VaultError(ErrorKind.Unavailable, 'SEALED_DATA_UNREADABLE', `key ${kid} cannot be opened on this node`);
      throw e;
    }
    key = UsableKey.fromPrivateJwk(kty as never, jwk as never);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(kid, key);
    return key;
  };

  /** Checks the key allows `op` now, and the algorithm suits it; returns the key to use. */
  const keyFor = async (r: { vault: string; name: string; version: string; algorithm: string }, op: string, timeoutMs: number) => {
    await linearize(timeoutMs);
    const k = state().keyForOperation(r.vault, r.name, r.version, op, Date.now());
    checkAlgorithmForKey(r.algorithm, k);
    return { kid: k.kid, key: usable(k.kid, k.kty, k.name, k.version, k.sealedPrivateJwk) };
  };

  const addVersion = async (
    requestId: string,
    target: { vault: string; name: string },
    material: { kty: string; keySize?: number; curve?: string; publicJwk: object; privateJwk: object },
    attributes: { keyOps: string[]; enabled: boolean; notBefore: number; expires: number; tags: Record<string, string>; exportable: boolean },
    rotation: boolean,
    timeoutMs: number,
    receipt: WriteReceipt,
  ) => {
    const maxVersions = deps.versionLimits.maxVersionsPerKey;
    // Early and clear; apply checks again against the state it changes.
    checkVersionRoom('key', target.name, state().versionCount('key', target.vault, target.name), 1, maxVersions);
    const deadline = Date.now() + timeoutMs;
    await runner.ensureDataKey(timeoutMs);
    const version = randomHexId(16);
    const result = await runner.run(
      requestId,
      {
        op: 'createKeyVersion',
        createKeyVersion: {
          vault: target.vault,
          name: target.name,
          version,
          material: {
            kty: material.kty,
            keySize: material.keySize ?? 0,
            curve: material.curve ?? '',
            publicJwk: JSON.stringify(material.publicJwk),
            sealedPrivateJwk: seal(target.name, version, material.privateJwk),
          },
          attributes,
          rotation,
          maxVersions,
        },
      },
      Math.max(1, deadline - Date.now()),
      receipt,
    );
    return keyView(expectResult(result, 'key').key);
  };

  const cipher = (op: 'encrypt' | 'decrypt' | 'wrapKey' | 'unwrapKey') =>
    read(
      async (req: Parameters<typeof validateKeyOperationRequest>[0], timeoutMs) => {
        const r = validateKeyOperationRequest(req, op);
        const { kid, key } = await keyFor(r, op, timeoutMs);
        try {
          const input = { value: r.value, iv: r.iv.length > 0 ? r.iv : undefined, aad: r.aad.length > 0 ? r.aad : undefined, tag: r.tag.length > 0 ? r.tag : undefined };
          const out =
            op === 'encrypt'
              ? await key.encrypt(r.algorithm, input)
              : op === 'decrypt'
                ? await key.decrypt(r.algorithm, input)
                : op === 'wrapKey'
                  ? await key.wrapKey(r.algorithm, r.value)
                  : await key.unwrapKey(r.algorithm, r.value);
          const o = out as { value: Uint8Array; iv?: Uint8Array; tag?: Uint8Array; aad?: Uint8Array };
          return { kid, value: o.value, iv: o.iv ?? new Uint8Array(), tag: o.tag ?? new Uint8Array(), aad: o.aad ?? new Uint8Array() };
        } catch (e) {
          return cryptoFailure(e);
        }
      },
      FAILOVER_READ,
    );

  return {
    CreateKey: write(async (req: Parameters<typeof validateCreateKeyRequest>[0], timeoutMs, receipt) => {
      const v = validateCreateKeyRequest(req);
      const material = await generateKey({ kty: v.kty, keySize: v.keySize, curve: v.curve }).catch(cryptoFailure);
      const { keyOps, enabled, notBefore, expires, tags, exportable } = v;
      return addVersion(v.requestId, v, material, { keyOps, enabled, notBefore, expires, tags, exportable }, false, timeoutMs, receipt);
    }),
    ImportKey: write(async (req: Parameters<typeof validateImportKeyRequest>[0], timeoutMs, receipt) => {
      const v = validateImportKeyRequest(req);
      let material;
      try {
        material = importJwk(v.key as never);
      } catch (e) {
        cryptoFailure(e);
      }
      const { keyOps, enabled, notBefore, expires, tags, exportable } = v;
      return addVersion(v.requestId, v, material, { keyOps, enabled, notBefore, expires, tags, exportable }, false, timeoutMs, receipt);
    }),
    RotateKey: write(async (req: Parameters<typeof validateKeyRef>[0], timeoutMs, receipt) => {
      const r = validateKeyRef(req);
      await linearize(timeoutMs);
      const spec = state().latestKeySpec(r.vault, r.name);
      const material = await generateKey({ kty: spec.kty as never, keySize: spec.keySize, curve: spec.curve as never }).catch(cryptoFailure);
      return addVersion(r.requestId, r, material, spec.attributes, true, timeoutMs, receipt);
    }),
    GetKey: read(async (req: Parameters<typeof validateKeyRef>[0], timeoutMs) => {
      const r = validateKeyRef(req);
      await linearize(timeoutMs);
      return keyView(state().getKey(r.vault, r.name, r.version));
    }, FAILOVER_READ),
    ListKeys: read(async (req: Parameters<typeof validateKeyListRequest>[0], timeoutMs) => {
      const l = validateKeyListRequest(req);
      await linearize(timeoutMs);
      return state().listKeys(l.vault, l.pageSize, l.pageToken);
    }, FAILOVER_READ),
    ListKeyVersions: read(async (req: Parameters<typeof validateKeyListRequest>[0], timeoutMs) => {
      const l = validateKeyListRequest(req);
      await linearize(timeoutMs);
      return state().listKeyVersions(l.vault, l.name ?? validateKeyName(undefined), l.pageSize, l.pageToken);
    }),
    UpdateKeyProperties: write(async (req: Parameters<typeof validateUpdateKeyPropertiesRequest>[0], timeoutMs, receipt) => {
      const u = validateUpdateKeyPropertiesRequest(req);
      const result = await runner.run(
        u.requestId,
        {
          op: 'updateKey',
          updateKey: {
            vault: u.vault,
            name: u.name,
            version: u.version,
            enabled: u.enabled,
            notBefore: u.notBefore,
            expires: u.expires,
            replaceKeyOps: u.keyOps !== undefined,
            keyOps: u.keyOps ?? [],
            replaceTags: u.tags !== undefined,
            tags: u.tags ?? {},
          },
        },
        timeoutMs,
        receipt,
      );
      return keyView(expectResult(result, 'key').key);
    }),
    DeleteKey: write(async (req: Parameters<typeof validateKeyRef>[0], timeoutMs, receipt) => {
      const r = validateKeyRef(req);
      const d = expectResult(await runner.run(r.requestId, { op: 'deleteKey', deleteKey: { vault: r.vault, name: r.name } }, timeoutMs, receipt), 'deletedKey').deletedKey;
      return { ...d, key: keyView(d.key) };
    }),
    GetDeletedKey: read(async (req: Parameters<typeof validateKeyRef>[0], timeoutMs) => {
      const r = validateKeyRef(req);
      await linearize(timeoutMs);
      const d = state().getDeletedKey(r.vault, r.name, Date.now());
      return { ...d, key: keyView(d.key) };
    }),
    ListDeletedKeys: read(async (req: Parameters<typeof validateKeyListRequest>[0], timeoutMs) => {
      const l = validateKeyListRequest(req);
      await linearize(timeoutMs);
      const page = state().listDeletedKeys(l.vault, l.pageSize, l.pageToken, Date.now());
      return { keys: page.keys.map((d) => ({ ...d, key: keyView(d.key) })), nextPageToken: page.nextPageToken };
    }),
    RecoverDeletedKey: write(async (req: Parameters<typeof validateKeyRef>[0], timeoutMs, receipt) => {
      const r = validateKeyRef(req);
      return keyView(expectResult(await runner.run(r.requestId, { op: 'recoverKey', recoverKey: { vault: r.vault, name: r.name } }, timeoutMs, receipt), 'key').key);
    }),
    PurgeDeletedKey: write(async (req: Parameters<typeof validateKeyRef>[0], timeoutMs, receipt) => {
      const r = validateKeyRef(req);
      await runner.run(r.requestId, { op: 'purgeKey', purgeKey: { vault: r.vault, name: r.name } }, timeoutMs, receipt);
      return {};
    }),
    BackupKey: read(async (req: Parameters<typeof validateKeyRef>[0], timeoutMs) => {
      const r = validateKeyRef(req);
      await linearize(timeoutMs);
      return { value: keyBackupBlob(state().backupKey(r.vault, r.name), envelope) };
    }, FAILOVER_READ),
    RestoreKey: write(async (req: Parameters<typeof validateRestoreKeyRequest>[0], timeoutMs, receipt) => {
      const r = validateRestoreKeyRequest(req);
      const { name, versions } = parseBackup(r.backup, (b) => envelope.openBlob(b, BACKUP_PURPOSE));
      const maxVersions = deps.versionLimits.maxVersionsPerKey;
      checkVersionRoom('key', name, 0, versions.length, maxVersions);
      const result = await runner.run(r.requestId, { op: 'restoreKey', restoreKey: { vault: r.vault, name, versions, maxVersions } }, timeoutMs, receipt);
      return keyView(expectResult(result, 'key').key);
    }),
    Encrypt: cipher('encrypt'),
    Decrypt: cipher('decrypt'),
    WrapKey: cipher('wrapKey'),
    UnwrapKey: cipher('unwrapKey'),
    Sign: read(async (req: Parameters<typeof validateSignRequest>[0], timeoutMs) => {
      const r = validateSignRequest(req);
      const { kid, key } = await keyFor(r, 'sign', timeoutMs);
      const value = await key.sign(r.algorithm, r.digest).catch(cryptoFailure);
      return { kid, value, iv: new Uint8Array(), tag: new Uint8Array(), aad: new Uint8Array() };
    }, FAILOVER_READ),
    Verify: read(async (req: Parameters<typeof validateVerifyRequest>[0], timeoutMs) => {
      const r = validateVerifyRequest(req);
      const { key } = await keyFor(r, 'verify', timeoutMs);
      return { value: await key.verify(r.algorithm, r.digest, r.signature).catch(cryptoFailure) };
    }, FAILOVER_READ),
    GetRandomBytes: read(async (req: Parameters<typeof validateGetRandomBytesRequest>[0]) => {
      const { count } = validateGetRandomBytesRequest(req);
      return { value: randomBytesFor(count) };
    }),
  };
}

/** The BackupKey blob; test/app/backup-size.test.ts checks the largest one fits a client message. */
export function keyBackupBlob(backup: KeyBackup, envelope: Envelope): Buffer {
  const json: BackupJson = {
    format: BACKUP_FORMAT,
    name: backup.name,
    versions: backup.versions.map((v) => ({
      ...v,
      material: v.material === null ? null : { ...v.material, sealedPrivateJwk: Buffer.from(v.material.sealedPrivateJwk).toString('base64') },
    })),
  };
  // Sealed as a whole; the private parts inside stay sealed as well.
  return Buffer.from(envelope.sealBlob(encoder.encode(JSON.stringify(json)), BACKUP_PURPOSE));
}

function parseBackup(blob: Uint8Array, openBlob: (b: Uint8Array) => Uint8Array): { name: string; versions: KeyVersionRecord[] } {
  const bad = (why: string) => new VaultError(ErrorKind.InvalidArgument, 'BAD_BACKUP', `not a keyraft key backup of this cluster: ${why}`);
  let json: BackupJson;
  try {
    json = JSON.parse(decoder.decode(openBlob(blob))) as BackupJson;
  } catch (e) {
    if (e instanceof SealedDataError || e instanceof SyntaxError) throw bad("it does not open with this cluster's keys");
    throw e;
  }
  if (json.format !== BACKUP_FORMAT || !Array.isArray(json.versions) || json.versions.length === 0) throw bad('unknown format');
  const name = validateKeyName(json.name);
  const versions = json.versions.map((v) => ({
    ...v,
    material: v.material === null ? null : { ...v.material, sealedPrivateJwk: new Uint8Array(Buffer.from(String(v.material.sealedPrivateJwk), 'base64')) },
  }));
  return { name, versions };
}
