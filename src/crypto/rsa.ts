// RSA signatures over a digest the client computed (Azure's Sign/Verify).
// crypto.sign hashes its input again whatever the algorithm argument, so the
// encodings of RFC 8017 are built here and only the raw RSA operation is left
// to node:crypto (OpenSSL, with its blinding of private operations).

import { constants, createHash, publicDecrypt, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { rsaPrivate } from './rsa-private.js';

export type HashName = 'sha256' | 'sha384' | 'sha512';

export const HASH_BYTES: Readonly<Record<HashName, number>> = { sha256: 32, sha384: 48, sha512: 64 };

// DER of DigestInfo { AlgorithmIdentifier { hash OID, NULL }, OCTET STRING (hLen) }
// up to the digest itself (RFC 8017 §9.2, note 1).
const DIGEST_INFO_PREFIX: Readonly<Record<HashName, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/** RSASSA-PKCS1-v1_5 over a digest: OpenSSL adds the type-1 padding. */
export function pkcs1Sign(privateKey: KeyObject, hash: HashName, digest: Buffer): Promise<Buffer> {
  return rsaPrivate({ op: 'sign', key: privateKey, padding: constants.RSA_PKCS1_PADDING, data: Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]) });
}

/**
 * Verification by re-encoding and comparing the whole encoded message (RFC
 * 8017 §8.2.2), rather than parsing the padding: a lenient parser is what
 * signature forgeries against PKCS#1 v1.5 feed on.
 */
export function pkcs1Verify(publicKey: KeyObject, modBits: number, hash: HashName, digest: Buffer, signature: Buffer): boolean {
  const k = Math.ceil(modBits / 8);
  if (signature.length !== k) return false;
  const t = Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
  const expected = Buffer.alloc(k, 0xff);
  expected[0] = 0x00;
  expected[1] = 0x01;
  expected[k - t.length - 1] = 0x00;
  t.copy(expected, k - t.length);
  const em = rawPublic(publicKey, signature);
  return em !== undefined && em.length === k && timingSafeEqual(em, expected);
}

/** RSASSA-PSS over a digest, salt length = hash length, MGF1 with the same hash (RFC 8017 §9.1.1). */
export function pssSign(privateKey: KeyObject, modBits: number, hash: HashName, digest: Buffer): Promise<Buffer> {
  const k = Math.ceil(modBits / 8);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = HASH_BYTES[hash];
  const sLen = hLen;
  // emLen >= hLen + sLen + 2 holds for every size keyraft allows (255 >= 130).
  const salt = randomBytes(sLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - sLen - hLen - 2] = 0x01;
  salt.copy(db, emLen - sLen - hLen - 1);
  xorInto(db, mgf1(hash, h, db.length));
  db[0] = db[0]! & (0xff >> (8 * emLen - emBits));
  // The RSA input is k bytes; when emLen < k the leading byte is zero.
  const em = Buffer.concat([Buffer.alloc(k - emLen), db, h, Buffer.from([0xbc])]);
  return rsaPrivate({ op: 'sign', key: privateKey, padding: constants.RSA_NO_PADDING, data: em });
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with sLen = hLen; false for anything malformed. */
export function pssVerify(publicKey: KeyObject, modBits: number, hash: HashName, digest: Buffer, signature: Buffer): boolean {
  const k = Math.ceil(modBits / 8);
  if (signature.length !== k) return false;
  const m = rawPublic(publicKey, signature);
  if (m === undefined || m.length !== k) return false;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = HASH_BYTES[hash];
  const sLen = hLen;
  for (let i = 0; i < k - emLen; i++) if (m[i] !== 0) return false;
  const em = m.subarray(k - emLen);
  if (em[emLen - 1] !== 0xbc) return false;
  const zeroBits = 8 * emLen - emBits;
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  if ((db[0]! & ~(0xff >> zeroBits) & 0xff) !== 0) return false;
  xorInto(db, mgf1(hash, h, db.length));
  db[0] = db[0]! & (0xff >> zeroBits);
  const psLen = emLen - hLen - sLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(db.length - sLen);
  const h2 = createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  return timingSafeEqual(h, h2);
}

/** s^e mod n, or undefined when OpenSSL refuses the input (s >= n). */
function rawPublic(publicKey: KeyObject, signature: Buffer): Buffer | undefined {
  try {
    return publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return undefined;
  }
}

function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let i = 0, have = 0; have < length; i++, have += HASH_BYTES[hash]) {
    counter.writeUInt32BE(i);
    blocks.push(createHash(hash).update(seed).update(counter).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function xorInto(target: Buffer, mask: Buffer): void {
  for (let i = 0; i < target.length; i++) target[i] = target[i]! ^ mask[i]!;
}
