// An envelope holding the current master key and the previous one (online
// master-key rotation): it opens data keys wrapped under either, wraps new
// ones under the current key only, refuses a key wrapped under neither, and
// knows when the previous key is no longer needed.

import t from 'tap';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Envelope, SealedDataError, WrongMasterKeyError } from '../../src/crypto/envelope.js';

/** Unwraps with plain node:crypto (layout in src/crypto/envelope.ts); throws when `master` did not wrap it. */
function unwrapWith(master: Buffer, keyId: string, wrapped: Uint8Array): Buffer {
  const w = Buffer.from(wrapped);
  const d = createDecipheriv('aes-256-gcm', master, w.subarray(1, 13));
  d.setAAD(Buffer.from('keyraft data key ' + keyId, 'utf8'));
  d.setAuthTag(w.subarray(13, 29));
  return Buffer.concat([d.update(w.subarray(29, 61)), d.final()]);
}

/** Wraps `raw` as data key `keyId` under `master` with plain node:crypto. */
function wrapWith(master: Buffer, keyId: string, raw: Buffer): Uint8Array {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', master, iv);
  c.setAAD(Buffer.from('keyraft data key ' + keyId, 'utf8'));
  const ct = Buffer.concat([c.update(raw), c.final()]);
  return Buffer.concat([Buffer.from([1]), iv, c.getAuthTag(), ct]);
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (u: Uint8Array) => Buffer.from(u).toString('utf8');

t.test('opens data keys wrapped under either key, wraps new ones under the current key only', async (t) => {
  const oldMaster = randomBytes(32);
  const newMaster = randomBytes(32);
  const before = new Envelope(oldMaster);
  const a = before.newDataKey();
  before.installDataKey(a.keyId, a.wrapped);
  const sealedA = before.seal(utf8('under a'), 'v/s/1');

  const both = new Envelope(newMaster, oldMaster);
  t.notOk(both.previousKeyNeeded, 'nothing installed: nothing needs the previous key');
  both.installDataKey(a.keyId, a.wrapped);
  t.ok(both.previousKeyNeeded, 'a data key wrapped under the previous key needs it');
  t.equal(text(both.open(sealedA, 'v/s/1')), 'under a', 'what the old key sealed opens');

  const b = both.newDataKey();
  t.same(unwrapWith(newMaster, b.keyId, b.wrapped).length, 32, 'a new data key is wrapped under the current key');
  t.throws(() => unwrapWith(oldMaster, b.keyId, b.wrapped), 'and not under the previous one');
  both.installDataKey(b.keyId, b.wrapped);
  t.equal(both.activeKeyId, b.keyId);
  const sealedB = both.seal(utf8('under b'), 'v/s/2');

  // The rotation: the data key under the current key, same material.
  const rewrapped = both.rewrap(a.keyId);
  t.same(unwrapWith(newMaster, a.keyId, rewrapped), unwrapWith(oldMaster, a.keyId, a.wrapped), 'rewrap() without a key wraps under the current one');
  const otherNode = new Envelope(newMaster, oldMaster);
  otherNode.installDataKey(a.keyId, a.wrapped);
  t.same(Buffer.from(otherNode.rewrap(a.keyId)), Buffer.from(rewrapped), 'deterministic across nodes');
  both.adoptRewrapped(a.keyId, rewrapped);
  t.notOk(both.previousKeyNeeded, 'after the rewrap nothing needs the previous key');
  t.equal(both.activeKeyId, b.keyId, 'adopting a new wrapping does not change the active key');

  const onlyNew = new Envelope(newMaster);
  onlyNew.installDataKey(a.keyId, rewrapped);
  onlyNew.installDataKey(b.keyId, b.wrapped);
  t.equal(text(onlyNew.open(sealedA, 'v/s/1')), 'under a', 'the new key alone opens everything once rewrapped');
  t.equal(text(onlyNew.open(sealedB, 'v/s/2')), 'under b');
  t.notOk(onlyNew.previousKeyNeeded);
});

t.test('wrong keys are refused, with a message that says what to do', async (t) => {
  const oldMaster = randomBytes(32);
  const newMaster = randomBytes(32);
  const other = randomBytes(32);
  const before = new Envelope(oldMaster);
  const a = before.newDataKey();

  const onlyNew = new Envelope(newMaster);
  const e1 = t.throws(() => onlyNew.installDataKey(a.keyId, a.wrapped), WrongMasterKeyError) as Error;
  t.match(e1.message, /previous master key too/, 'a node given only the new key is told it may need the previous one');
  t.notOk(onlyNew.hasDataKey(a.keyId), 'and installs nothing');

  const wrongPair = new Envelope(newMaster, other);
  const e2 = t.throws(() => wrongPair.installDataKey(a.keyId, a.wrapped), WrongMasterKeyError) as Error;
  t.match(e2.message, /neither the master key nor the previous master key/);
  t.notOk(wrongPair.previousKeyNeeded);

  // A new wrapping must open under the current key, to the same key material.
  const both = new Envelope(newMaster, oldMaster);
  both.installDataKey(a.keyId, a.wrapped);
  t.throws(() => both.adoptRewrapped(a.keyId, a.wrapped), WrongMasterKeyError, 'the old wrapping is not a rotation');
  const impostor = new Envelope(newMaster).newDataKey();
  t.throws(() => both.adoptRewrapped(a.keyId, impostor.wrapped), WrongMasterKeyError, "another key's wrapping does not open under this id (AAD)");
  t.throws(() => both.adoptRewrapped(a.keyId, wrapWith(newMaster, a.keyId, randomBytes(32))), { name: 'SealedDataError', reason: 'KEY_CONFLICT' }, 'other key material under the same id');
  t.throws(() => both.adoptRewrapped('0000000000000000', a.wrapped), SealedDataError, 'an unknown key id');
  t.ok(both.previousKeyNeeded, 'a refused wrapping changes nothing');

  // A node given the keys the other way round (current = old) still opens both.
  const swapped = new Envelope(oldMaster, newMaster);
  swapped.installDataKey(a.keyId, both.rewrap(a.keyId));
  t.ok(swapped.previousKeyNeeded);
});
