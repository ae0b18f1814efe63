// Envelope encryption at rest.
//
// Records (secret values, private and symmetric key material) and backup blobs
// are sealed with AES-256-GCM under a data key. Data keys are random and are
// stored only wrapped, AES-256-GCM under the cluster master key, so the Raft
// log, snapshots and state carry ciphertext and wrapped keys, never a usable
// key. Rotating the master key re-wraps the few data keys (rewrap) and leaves
// every record as it is.
//
// During an online rotation a node holds two master keys: the current one,
// which wraps every new data key, and the previous one, which still opens the
// data keys wrapped before the rotation. GCM's tag tells which of the two
// wrapped a key; the envelope remembers it, so that the node can tell when it
// no longer needs the previous key (previousKeyNeeded).
//
// Both formats are fixed byte layouts, all offsets in bytes, and test/crypto
// decrypts them with a plain createDecipheriv to hold this description true.
//
// Wrapped data key (61 bytes):
//   [0]       format version, 0x01
//   [1..13)   IV, 12 random bytes
//   [13..29)  GCM tag, 16 bytes
//   [29..61)  the 32-byte data key, encrypted
//   cipher: AES-256-GCM, key = master key
//   AAD:    UTF-8("keyraft data key " + keyId)
//   keyId (16 lowercase hex characters) is stored next to the wrapped key by
//   the caller, not inside it; the AAD makes a wrapped key open only under
//   its own id.
//
// Sealed value (37 + n bytes for n bytes of plaintext):
//   [0]       format version, 0x01
//   [1..9)    data key id, the 8 bytes whose lowercase hex is keyId
//   [9..21)   IV, 12 random bytes
//   [21..37)  GCM tag, 16 bytes
//   [37..)    ciphertext, as long as the plaintext
//   cipher: AES-256-GCM, key = the data key named by [1..9)
//   AAD:    bytes [0..9) ‖ UTF-8("keyraft record " + context)   for seal/open
//           bytes [0..9) ‖ UTF-8("keyraft backup " + purpose)   for sealBlob/openBlob
//   Putting the header in the AAD binds the version and the key id; the two
//   prefixes keep a record from opening as a backup blob and the reverse; the
//   context (e.g. "vault/name/version") keeps a record from being moved to
//   another name or version and still opening.
//
// Random 96-bit IVs: NIST SP 800-38D allows 2^32 encryptions per key with
// random IVs; data keys are meant to be rotated (newDataKey + installDataKey)
// long before a cluster seals that many values under one of them.

import { createHmac, createCipheriv, createDecipheriv, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { MASTER_KEY_BYTES, MasterKeyError } from './masterkey.js';
import { randomNonSecret } from './random.js';

export const FORMAT_VERSION = 0x01;
export const DATA_KEY_BYTES = 32;
export const KEY_ID_BYTES = 8;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const WRAPPED_KEY_BYTES = 1 + IV_BYTES + TAG_BYTES + DATA_KEY_BYTES;
export const SEALED_OVERHEAD = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;

const HEADER_BYTES = 1 + KEY_ID_BYTES;
const WRAP_AAD_PREFIX = 'keyraft data key ';
const RECORD_AAD_PREFIX = 'keyraft record ';
const BLOB_AAD_PREFIX = 'keyraft backup ';
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;
const CIPHER = 'aes-256-gcm';

/** No master key this node holds authenticates a wrapped data key: a wrong key, or a rotation that needs the previous key too. */
export class WrongMasterKeyError extends Error {
  override readonly name = 'WrongMasterKeyError';
  constructor(readonly keyId: string, hasPrevious: boolean) {
    super(
      hasPrevious
        ? `neither the master key nor the previous master key opens data key ${keyId}: wrong master key?`
        : `the master key does not open data key ${keyId}: wrong master key, or a master-key rotation ` +
            'this node has not applied yet (then start it with the previous master key too)',
    );
  }
}

export type SealedDataReason = 'MALFORMED' | 'UNKNOWN_KEY' | 'AUTH_FAILED' | 'KEY_CONFLICT';

/**
 * A sealed value (or wrapped data key) that cannot be opened. The message
 * names the reason and the context, never any plaintext.
 */
export class SealedDataError extends Error {
  override readonly name = 'SealedDataError';
  constructor(readonly reason: SealedDataReason, message: string) {
    super(message);
  }
}

/** seal/sealBlob called before any data key was installed. */
export class NoDataKeyError extends Error {
  override readonly name = 'NoDataKeyError';
  constructor() {
    super('no data key is installed: install one (newDataKey + installDataKey) before sealing');
  }
}

/** The key id a sealed value was made with, without opening it (for data-key rotation). */
export function sealedKeyId(sealed: Uint8Array): string {
  checkSealedShape(sealed);
  return bytes(sealed).toString('hex', 1, HEADER_BYTES);
}

export class Envelope {
  // Key material lives in KeyObjects: outside the JS heap, printed by
  // util.inspect as nothing but their type, and never turned into a string.
  // Private fields keep them out of inspect/JSON output of the Envelope too.
  readonly #master: KeyObject;
  readonly #previous: KeyObject | undefined;
  readonly #dataKeys = new Map<string, KeyObject>();
  /** The installed data keys whose wrapping only the previous master key opens. */
  readonly #underPrevious = new Set<string>();
  #active: string | undefined;

  /**
   * Copies the keys: the caller may zero its buffers afterwards.
   * `previousMasterKey` only opens; everything new is wrapped under `masterKey`.
   */
  constructor(masterKey: Uint8Array, previousMasterKey?: Uint8Array) {
    this.#master = masterKeyObject(masterKey);
    if (previousMasterKey !== undefined) this.#previous = masterKeyObject(previousMasterKey);
  }

  /** Whether some installed data key is still wrapped only under the previous master key. */
  get previousKeyNeeded(): boolean {
    return this.#underPrevious.size > 0;
  }

  get activeKeyId(): string | undefined {
    return this.#active;
  }

  hasDataKey(keyId: string): boolean {
    return this.#dataKeys.has(keyId);
  }

  /**
   * A fresh random data key, wrapped under this envelope's master key. Not
   * installed: the leader proposes it, and every node installs it when the
   * command is applied, so all nodes switch keys at the same log index.
   */
  newDataKey(): { keyId: string; wrapped: Uint8Array } {
    const keyId = randomBytes(KEY_ID_BYTES).toString('hex');
    const raw = randomBytes(DATA_KEY_BYTES);
    try {
      return { keyId, wrapped: wrapDataKey(this.#master, keyId, raw) };
    } finally {
      raw.fill(0);
    }
  }

  /**
   * Unwraps a data key and makes it the active key for sealing. Keys installed
   * earlier stay available for opening. Installing the same id again with the
   * same key is harmless (a replayed log entry); with a different key it is
   * refused.
   */
  installDataKey(keyId: string, wrapped: Uint8Array): void {
    checkKeyId(keyId);
    const raw = this.#unwrap(keyId, wrapped);
    try {
      const existing = this.#dataKeys.get(keyId);
      if (existing !== undefined) {
        const old = existing.export();
        try {
          if (!timingSafeEqual(old, raw)) {
            throw new SealedDataError('KEY_CONFLICT', `data key ${keyId} is already installed with different key material`);
          }
        } finally {
          old.fill(0);
        }
      } else {
        this.#dataKeys.set(keyId, createSecretKey(raw));
      }
      this.#active = keyId;
    } finally {
      raw.fill(0);
    }
  }

  /**
   * Takes an installed data key's new wrapping (a master-key rotation being
   * applied): it must open under the current master key to the same key
   * material. The active key does not change.
   */
  adoptRewrapped(keyId: string, wrapped: Uint8Array): void {
    const key = this.#dataKeys.get(keyId);
    if (key === undefined) {
      throw new SealedDataError('UNKNOWN_KEY', `cannot adopt a new wrapping of data key ${printableId(keyId)}: it is not installed`);
    }
    const raw = unwrapDataKey(this.#master, keyId, wrapped);
    if (raw === undefined) throw new WrongMasterKeyError(keyId, false);
    const old = key.export();
    try {
      if (!timingSafeEqual(old, raw)) {
        throw new SealedDataError('KEY_CONFLICT', `the new wrapping of data key ${keyId} holds different key material`);
      }
      this.#underPrevious.delete(keyId);
    } finally {
      old.fill(0);
      raw.fill(0);
    }
  }

  /** The raw data key, unwrapped under the current master key or else the previous one; the caller zeroes it. */
  #unwrap(keyId: string, wrapped: Uint8Array): Buffer {
    const raw = unwrapDataKey(this.#master, keyId, wrapped);
    if (raw !== undefined) {
      this.#underPrevious.delete(keyId);
      return raw;
    }
    const old = this.#previous === undefined ? undefined : unwrapDataKey(this.#previous, keyId, wrapped);
    if (old === undefined) throw new WrongMasterKeyError(keyId, this.#previous !== undefined);
    this.#underPrevious.add(keyId);
    return old;
  }

  /**
   * The installed data key `keyId`, wrapped under `newMasterKey` (master-key
   * rotation). Deterministic: every node rewraps to the same bytes, so their
   * states stay identical. Its IV comes from the new key and the key id; a
   * (master key, key id) pair only ever wraps that one data key, so an IV is
   * never reused for another plaintext. Without `newMasterKey`, under this
   * envelope's current master key (the online rotation).
   */
  rewrap(keyId: string, newMasterKey?: Uint8Array): Uint8Array {
    const key = this.#dataKeys.get(keyId);
    if (key === undefined) {
      throw new SealedDataError('UNKNOWN_KEY', `cannot rewrap data key ${printableId(keyId)}: it is not installed`);
    }
    const master = newMasterKey === undefined ? this.#master : masterKeyObject(newMasterKey);
    const raw = key.export();
    const iv = createHmac('sha256', master).update(`keyraft rewrap iv ${keyId}`).digest().subarray(0, IV_BYTES);
    try {
      return wrapDataKey(master, keyId, raw, iv);
    } finally {
      raw.fill(0);
    }
  }

  /** Seals a record under the active data key, bound to `context` (e.g. "vault/name/version"). */
  seal(plaintext: Uint8Array, context: string): Uint8Array {
    return this.#seal(plaintext, RECORD_AAD_PREFIX, checkLabel(context, 'context'));
  }

  /** Opens what seal() produced for the same context. */
  open(sealed: Uint8Array, context: string): Uint8Array {
    return this.#open(sealed, RECORD_AAD_PREFIX, checkLabel(context, 'context'), 'context');
  }

  /** Seals a backup blob; any node holding the same data keys opens it. */
  sealBlob(plaintext: Uint8Array, purpose: string): Uint8Array {
    return this.#seal(plaintext, BLOB_AAD_PREFIX, checkLabel(purpose, 'purpose'));
  }

  /** Opens what sealBlob() produced for the same purpose. */
  openBlob(sealed: Uint8Array, purpose: string): Uint8Array {
    return this.#open(sealed, BLOB_AAD_PREFIX, checkLabel(purpose, 'purpose'), 'purpose');
  }

  #seal(plaintext: Uint8Array, prefix: string, label: string): Uint8Array {
    if (!(plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array');
    const keyId = this.#active;
    const key = keyId === undefined ? undefined : this.#dataKeys.get(keyId);
    if (keyId === undefined || key === undefined) throw new NoDataKeyError();

    // Buffer.alloc: a fresh, unpooled buffer, so the result's ArrayBuffer holds
    // nothing but the sealed value.
    const out = Buffer.alloc(SEALED_OVERHEAD + plaintext.length);
    out[0] = FORMAT_VERSION;
    out.write(keyId, 1, KEY_ID_BYTES, 'hex');
    const iv = randomNonSecret(IV_BYTES);
    iv.copy(out, HEADER_BYTES);

    const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(sealAad(out, prefix, label));
    const ct = cipher.update(plaintext);
    const rest = cipher.final();
    ct.copy(out, SEALED_OVERHEAD);
    rest.copy(out, SEALED_OVERHEAD + ct.length);
    cipher.getAuthTag().copy(out, HEADER_BYTES + IV_BYTES);
    return out;
  }

  #open(sealed: Uint8Array, prefix: string, label: string, labelName: string): Uint8Array {
    checkSealedShape(sealed);
    const buf = bytes(sealed);
    const keyId = buf.toString('hex', 1, HEADER_BYTES);
    const key = this.#dataKeys.get(keyId);
    if (key === undefined) {
      throw new SealedDataError('UNKNOWN_KEY', `sealed value names data key ${keyId}, which is not installed`);
    }
    const iv = buf.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    const tag = buf.subarray(HEADER_BYTES + IV_BYTES, SEALED_OVERHEAD);
    const ct = buf.subarray(SEALED_OVERHEAD);

    const decipher = createDecipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(sealAad(buf, prefix, label));
    decipher.setAuthTag(tag);
    // GCM hands out plaintext before it has checked the tag: it is wiped, not
    // returned, when the check fails.
    const pt = decipher.update(ct);
    try {
      const rest = decipher.final();
      return rest.length === 0 ? pt : Buffer.concat([pt, rest]);
    } catch {
      pt.fill(0);
      throw new SealedDataError(
        'AUTH_FAILED',
        `sealed value does not authenticate for ${labelName} ${JSON.stringify(label)}: tampered with, or sealed for another ${labelName}`,
      );
    }
  }
}

function masterKeyObject(masterKey: Uint8Array): KeyObject {
  if (!(masterKey instanceof Uint8Array) || masterKey.length !== MASTER_KEY_BYTES) {
    const got = masterKey instanceof Uint8Array ? `${masterKey.length} bytes` : typeof masterKey;
    throw new MasterKeyError(`a master key is exactly ${MASTER_KEY_BYTES} bytes, got ${got}`);
  }
  return createSecretKey(masterKey);
}

function wrapDataKey(master: KeyObject, keyId: string, raw: Uint8Array, iv: Buffer = randomBytes(IV_BYTES)): Uint8Array {
  const out = Buffer.alloc(WRAPPED_KEY_BYTES);
  out[0] = FORMAT_VERSION;
  iv.copy(out, 1);
  const cipher = createCipheriv(CIPHER, master, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(WRAP_AAD_PREFIX + keyId, 'utf8'));
  const ct = cipher.update(raw);
  const rest = cipher.final();
  try {
    ct.copy(out, 1 + IV_BYTES + TAG_BYTES);
    cipher.getAuthTag().copy(out, 1 + IV_BYTES);
  } finally {
    ct.fill(0);
  }
  if (rest.length !== 0) throw new Error('AES-GCM returned trailing output'); // cannot happen: GCM is a stream mode
  return out;
}

/** The raw data key, or undefined when `master` does not authenticate it; the caller zeroes it. */
function unwrapDataKey(master: KeyObject, keyId: string, wrapped: Uint8Array): Buffer | undefined {
  if (!(wrapped instanceof Uint8Array) || wrapped.length !== WRAPPED_KEY_BYTES) {
    const got = wrapped instanceof Uint8Array ? `${wrapped.length} bytes` : typeof wrapped;
    throw new SealedDataError('MALFORMED', `wrapped data key ${keyId} is malformed: expected ${WRAPPED_KEY_BYTES} bytes, got ${got}`);
  }
  const buf = bytes(wrapped);
  if (buf[0] !== FORMAT_VERSION) {
    throw new SealedDataError('MALFORMED', `wrapped data key ${keyId} has unknown format version ${buf[0]}`);
  }
  const iv = buf.subarray(1, 1 + IV_BYTES);
  const tag = buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const ct = buf.subarray(1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv(CIPHER, master, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(WRAP_AAD_PREFIX + keyId, 'utf8'));
  decipher.setAuthTag(tag);
  const raw = decipher.update(ct);
  try {
    decipher.final();
  } catch {
    raw.fill(0);
    return undefined;
  }
  return raw;
}

function sealAad(header: Buffer, prefix: string, label: string): Buffer {
  return Buffer.concat([header.subarray(0, HEADER_BYTES), Buffer.from(prefix + label, 'utf8')]);
}

function checkSealedShape(sealed: Uint8Array): void {
  if (!(sealed instanceof Uint8Array)) {
    throw new SealedDataError('MALFORMED', `sealed value must be bytes, got ${typeof sealed}`);
  }
  if (sealed.length < SEALED_OVERHEAD) {
    throw new SealedDataError('MALFORMED', `sealed value is ${sealed.length} bytes: too short to be sealed data (at least ${SEALED_OVERHEAD})`);
  }
  if (sealed[0] !== FORMAT_VERSION) {
    throw new SealedDataError('MALFORMED', `sealed value has unknown format version ${sealed[0]}`);
  }
}

function checkKeyId(keyId: string): void {
  if (typeof keyId !== 'string' || !KEY_ID_PATTERN.test(keyId)) {
    throw new SealedDataError('MALFORMED', `data key id ${printableId(keyId)} is not 16 lowercase hex characters`);
  }
}

// A context or purpose string with a lone surrogate encodes to U+FFFD in
// UTF-8, so two different strings would share one AAD; refusing them keeps
// the binding exact.
function checkLabel(label: string, what: string): string {
  if (typeof label !== 'string') throw new TypeError(`${what} must be a string`);
  if (Buffer.from(label, 'utf8').toString('utf8') !== label) {
    throw new TypeError(`${what} is not well-formed Unicode (lone surrogate)`);
  }
  return label;
}

// Ids come from storage or callers; bounded so a garbage value cannot flood a message.
function printableId(keyId: unknown): string {
  const s = typeof keyId === 'string' ? keyId : String(keyId);
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s);
}

// A Buffer view over the same memory: no copy of sealed bytes.
function bytes(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
