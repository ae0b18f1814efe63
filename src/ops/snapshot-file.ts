// The cluster snapshot file (`keyraft cluster snapshot save FILE`): the whole
// replicated state at one applied index, for disaster recovery.
//
// Layout:
//   magic        8 bytes  "KRSNAP\r\n" (a text transfer that mangles line ends shows)
//   version      u16 BE   FORMAT_VERSION
//   header size  u32 BE
//   header       JSON (SnapshotHeader): readable without the master key, so an
//                operator can tell which cluster, index and key a file needs
//   frames       each: u32 BE ciphertext size, u8 flags (LAST_FRAME on the
//                last one), ciphertext, 16-byte GCM tag
//   checksum     SHA-256 of every byte before it
//
// A frame's plaintext is whole records: u32 BE key size, key (UTF-8), u32 BE
// value size, value. The records are the state's own (values sealed under
// data keys, data keys wrapped by the master key); the frames encrypt them
// again with AES-256-GCM under a key derived by HKDF-SHA256 from the master
// key and the header's random salt, so that a stolen file alone reveals not
// even a vault's name. Each file has its own key, so the frame's sequence
// number is its IV; the AAD is the bytes before the frames, the sequence
// number and the flags: a frame cannot be moved, dropped, taken from another
// file, nor the header edited, without GCM refusing it. A missing last frame
// or checksum is a truncated file; the checksum also tells a damaged copy
// without the key.

import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { masterKeyFingerprint } from '../crypto/masterkey.js';

const MAGIC = Buffer.from('KRSNAP\r\n', 'latin1');
export const FORMAT_VERSION = 1;
const LAST_FRAME = 1;
const TAG_BYTES = 16;
const CHECKSUM_BYTES = 32;
const SALT_BYTES = 32;
const HKDF_INFO = 'keyraft cluster snapshot v1';
/** Records are gathered into frames of about this much plaintext. */
const FRAME_BYTES = 256 * 1024;
/** A frame's size is checked against this before it is read: a damaged size field must not allocate gigabytes. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;

export interface SnapshotHeader {
  readonly format: number;
  /** The topology's name of the cluster it was taken from. */
  readonly cluster: string;
  /** The primary region's applied log index and term the state is at. */
  readonly index: number;
  readonly term: number;
  readonly records: number;
  /** Fingerprint of the master key that wraps its data keys and encrypts the file (masterKeyFingerprint). */
  readonly masterKey: string;
  readonly createdMs: number;
  /** HKDF salt, base64. */
  readonly salt: string;
}

/** A file that is not a snapshot, is damaged, truncated, or needs another key; the message is for an operator. */
export class SnapshotFileError extends Error {
  override readonly name = 'SnapshotFileError';
}

function fileKey(masterKey: Uint8Array | KeyObject, salt: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, salt, HKDF_INFO, 32));
}

function frameIv(seq: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(seq), 4);
  return iv;
}

function frameAad(prefix: Uint8Array, seq: number, flags: number): Buffer {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(seq), 0);
  tail[8] = flags;
  return Buffer.concat([prefix, tail]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * The file's bytes, in order, for `records` (exactly header.records of
 * them: any other count is the caller's bug, and throws before the file is
 * complete). `masterKey` is the raw key or a secret KeyObject of it.
 */
export async function* encodeSnapshot(
  masterKey: Uint8Array | KeyObject,
  meta: { cluster: string; index: number; term: number; records: number; createdMs: number },
  records: AsyncIterable<[string, Uint8Array]>,
): AsyncGenerator<Uint8Array> {
  const salt = randomBytes(SALT_BYTES);
  const header: SnapshotHeader = { format: FORMAT_VERSION, ...meta, masterKey: masterKeyFingerprint(masterKey), salt: salt.toString('base64') };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const version = Buffer.alloc(2);
  version.writeUInt16BE(FORMAT_VERSION);
  const prefix = Buffer.concat([MAGIC, version, u32(headerBytes.length), headerBytes]);
  const key = fileKey(masterKey, salt);
  const checksum = createHash('sha256').update(prefix);
  let seq = 0;
  const frame = (plain: Buffer, flags: number): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, frameIv(seq));
    cipher.setAAD(frameAad(prefix, seq, flags));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    seq++;
    const out = Buffer.concat([u32(body.length), Buffer.from([flags]), body, cipher.getAuthTag()]);
    checksum.update(out);
    return out;
  };
  try {
    yield prefix;
    let parts: Buffer[] = [];
    let size = 0;
    let count = 0;
    for await (const [k, value] of records) {
      const keyBytes = Buffer.from(k, 'utf8');
      parts.push(u32(keyBytes.length), keyBytes, u32(value.length), Buffer.from(value.buffer, value.byteOffset, value.length));
      size += 8 + keyBytes.length + value.length;
      count++;
      if (size >= FRAME_BYTES) {
        yield frame(Buffer.concat(parts), 0);
        parts = [];
        size = 0;
      }
    }
    if (count !== meta.records) throw new Error(`snapshot: the header says ${meta.records} records but ${count} were read`);
    yield frame(Buffer.concat(parts), LAST_FRAME);
    yield checksum.digest();
  } finally {
    key.fill(0);
  }
}

/** Reads a file front to back in exact sizes, hashing what it reads. */
class FileReader {
  private buf = Buffer.alloc(0);
  private eof = false;
  readonly hash = createHash('sha256');
  bytes = 0;

  private constructor(private readonly fh: Awaited<ReturnType<typeof open>>, readonly path: string) {}

  static async open(path: string): Promise<FileReader> {
    try {
      return new FileReader(await open(path, 'r'), path);
    } catch (e) {
      throw new SnapshotFileError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Exactly n bytes, or undefined at a clean end of file (nothing left); a partial read is a truncation. */
  async read(n: number, what: string, hashed = true): Promise<Buffer> {
    while (this.buf.length < n && !this.eof) {
      const chunk = Buffer.alloc(Math.max(n - this.buf.length, 1024 * 1024));
      const { bytesRead } = await this.fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) this.eof = true;
      this.buf = Buffer.concat([this.buf, chunk.subarray(0, bytesRead)]);
    }
    if (this.buf.length < n) throw new SnapshotFileError(`${this.path} is truncated: it ends inside the ${what} (after ${this.bytes + this.buf.length} bytes)`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.bytes += n;
    if (hashed) this.hash.update(out);
    return out;
  }

  async atEnd(): Promise<boolean> {
    if (this.buf.length > 0) return false;
    if (!this.eof) {
      const probe = Buffer.alloc(1);
      const { bytesRead } = await this.fh.read(probe, 0, 1, null);
      if (bytesRead > 0) {
        this.buf = probe;
        return false;
      }
      this.eof = true;
    }
    return true;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

async function readPrefix(r: FileReader): Promise<{ header: SnapshotHeader; prefix: Buffer }> {
  const magic = await r.read(MAGIC.length, 'magic');
  if (!magic.equals(MAGIC)) throw new SnapshotFileError(`${r.path} is not a keyraft cluster snapshot (wrong magic bytes)`);
  const fixed = await r.read(6, 'header');
  const version = fixed.readUInt16BE(0);
  if (version !== FORMAT_VERSION) throw new SnapshotFileError(`${r.path} has snapshot format ${version}; this keyraft reads format ${FORMAT_VERSION}`);
  const size = fixed.readUInt32BE(2);
  if (size > MAX_HEADER_BYTES) throw new SnapshotFileError(`${r.path} is damaged: a header of ${size} bytes`);
  const headerBytes = await r.read(size, 'header');
  let header: SnapshotHeader;
  try {
    header = JSON.parse(headerBytes.toString('utf8')) as SnapshotHeader;
  } catch {
    throw new SnapshotFileError(`${r.path} is damaged: its header is not valid JSON`);
  }
  for (const f of ['index', 'term', 'records', 'createdMs'] as const) {
    if (!Number.isSafeInteger(header[f]) || header[f] < 0) throw new SnapshotFileError(`${r.path} is damaged: header field ${f} is not a count`);
  }
  if (typeof header.masterKey !== 'string' || typeof header.salt !== 'string' || typeof header.cluster !== 'string') {
    throw new SnapshotFileError(`${r.path} is damaged: its header lacks the cluster, key fingerprint or salt`);
  }
  return { header, prefix: Buffer.concat([magic, fixed, headerBytes]) };
}

/** The header alone: needs no key, proves nothing about the rest. */
export async function readSnapshotHeader(path: string): Promise<SnapshotHeader> {
  const r = await FileReader.open(path);
  try {
    return (await readPrefix(r)).header;
  } finally {
    await r.close();
  }
}

/**
 * The records of the file, checked as they are read: a wrong master key is
 * refused before the first record, a damaged, reordered or truncated frame
 * when it is reached, and a truncated or altered file at the end. Only a
 * caller that read to the end without an error has the whole, intact state:
 * use verifySnapshot before writing anything.
 */
export async function* readSnapshot(path: string, masterKey: Uint8Array): AsyncGenerator<[string, Uint8Array], SnapshotHeader> {
  const r = await FileReader.open(path);
  let key: Buffer | undefined;
  try {
    const { header, prefix } = await readPrefix(r);
    const given = masterKeyFingerprint(masterKey);
    if (header.masterKey !== given) {
      throw new SnapshotFileError(`wrong master key: ${path} needs master key ${header.masterKey}, but the key given is ${given}`);
    }
    key = fileKey(masterKey, Buffer.from(header.salt, 'base64'));
    let count = 0;
    for (let seq = 0; ; seq++) {
      const fixed = await r.read(5, `frame ${seq}`);
      const size = fixed.readUInt32BE(0);
      const flags = fixed[4]!;
      if (size > MAX_FRAME_BYTES || (flags & ~LAST_FRAME) !== 0) throw new SnapshotFileError(`${path} is damaged: frame ${seq} has an impossible size or flags`);
      const body = await r.read(size, `frame ${seq}`);
      const tag = await r.read(TAG_BYTES, `frame ${seq}`);
      let plain: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, frameIv(seq));
        decipher.setAAD(frameAad(prefix, seq, flags));
        decipher.setAuthTag(tag);
        plain = Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        throw new SnapshotFileError(`${path} is damaged or was altered: frame ${seq} (at byte ${r.bytes - size - TAG_BYTES - 5}) fails authentication`);
      }
      for (let at = 0; at < plain.length; ) {
        const keySize = plain.readUInt32BE(at);
        const k = plain.subarray(at + 4, at + 4 + keySize).toString('utf8');
        at += 4 + keySize;
        const valueSize = plain.readUInt32BE(at);
        const value = new Uint8Array(plain.subarray(at + 4, at + 4 + valueSize));
        at += 4 + valueSize;
        count++;
        yield [k, value];
      }
      if (flags & LAST_FRAME) break;
    }
    const expected = r.hash.digest();
    const checksum = await r.read(CHECKSUM_BYTES, 'checksum', false);
    if (!checksum.equals(expected)) throw new SnapshotFileError(`${path} is damaged: its checksum does not match`);
    if (!(await r.atEnd())) throw new SnapshotFileError(`${path} is damaged: bytes follow its checksum`);
    if (count !== header.records) throw new SnapshotFileError(`${path} is damaged: its header says ${header.records} records, it holds ${count}`);
    return header;
  } finally {
    key?.fill(0);
    await r.close();
  }
}

/** Reads the whole file (see readSnapshot) and returns its header; throws SnapshotFileError on anything wrong. */
export async function verifySnapshot(path: string, masterKey: Uint8Array): Promise<SnapshotHeader> {
  const it = readSnapshot(path, masterKey);
  for (;;) {
    const next = await it.next();
    if (next.done) return next.value;
  }
}
