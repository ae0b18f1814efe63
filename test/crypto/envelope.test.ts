// Envelope encryption at rest: round trips, tampering, wrong contexts, wrong
// master keys, master-key rotation by rewrapping, and the byte layouts
// documented at the top of src/crypto/envelope.ts checked against a plain
// node:crypto createDecipheriv/createCipheriv that knows nothing of Envelope.

import t from 'tap';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  Envelope,
  NoDataKeyError,
  SEALED_OVERHEAD,
  SealedDataError,
  WRAPPED_KEY_BYTES,
  WrongMasterKeyError,
  sealedKeyId,
} from '../../src/crypto/envelope.js';
import { MasterKeyError } from '../../src/crypto/masterkey.js';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const text = (u: Uint8Array): string => Buffer.from(u).toString('utf8');

/** An envelope with one data key installed, and what it took to make it. */
function ready(master: Buffer = randomBytes(32)): { env: Envelope; master: Buffer; keyId: string; wrapped: Uint8Array } {
  const env = new Envelope(master);
  const { keyId, wrapped } = env.newDataKey();
  env.installDataKey(keyId, wrapped);
  return { env, master, keyId, wrapped };
}

// --- the documented layouts, decoded independently --------------------------

function independentUnwrap(master: Buffer, keyId: string, wrapped: Uint8Array): Buffer {
  const w = Buffer.from(wrapped);
  if (w.length !== 61 || w[0] !== 0x01) throw new Error('not a v1 wrapped key');
  const d = createDecipheriv('aes-256-gcm', master, w.subarray(1, 13));
  d.setAAD(Buffer.from('keyraft data key ' + keyId, 'utf8'));
  d.setAuthTag(w.subarray(13, 29));
  return Buffer.concat([d.update(w.subarray(29, 61)), d.final()]);
}

function independentOpen(dataKey: Buffer, sealed: Uint8Array, aadText: string): Buffer {
  const s = Buffer.from(sealed);
  const d = createDecipheriv('aes-256-gcm', dataKey, s.subarray(9, 21));
  d.setAAD(Buffer.concat([s.subarray(0, 9), Buffer.from(aadText, 'utf8')]));
  d.setAuthTag(s.subarray(21, 37));
  return Buffer.concat([d.update(s.subarray(37)), d.final()]);
}

function independentSeal(dataKey: Buffer, keyId: string, plaintext: Buffer, aadText: string): Buffer {
  const header = Buffer.concat([Buffer.from([0x01]), Buffer.from(keyId, 'hex')]);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', dataKey, iv);
  c.setAAD(Buffer.concat([header, Buffer.from(aadText, 'utf8')]));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([header, iv, c.getAuthTag(), ct]);
}

function independentWrap(master: Buffer, keyId: string, dataKey: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', master, iv);
  c.setAAD(Buffer.from('keyraft data key ' + keyId, 'utf8'));
  const ct = Buffer.concat([c.update(dataKey), c.final()]);
  return Buffer.concat([Buffer.from([0x01]), iv, c.getAuthTag(), ct]);
}

t.test('the wrapped data key layout is exactly the documented one', async (t) => {
  const master = randomBytes(32);
  const env = new Envelope(master);
  const { keyId, wrapped } = env.newDataKey();
  t.match(keyId, /^[0-9a-f]{16}$/, 'key id: 16 lowercase hex characters');
  t.equal(wrapped.length, 61);
  t.equal(WRAPPED_KEY_BYTES, 61);
  t.equal(wrapped[0], 0x01, 'format version');
  const dataKey = independentUnwrap(master, keyId, wrapped);
  t.equal(dataKey.length, 32, 'a 256-bit data key');

  // And the reverse: a key wrapped by hand per the layout installs and seals.
  const handKey = randomBytes(32);
  const handId = randomBytes(8).toString('hex');
  env.installDataKey(handId, independentWrap(master, handId, handKey));
  const sealed = env.seal(utf8('hand-wrapped'), 'v/s/1');
  t.equal(text(independentOpen(handKey, sealed, 'keyraft record v/s/1')), 'hand-wrapped');
});

t.test('the sealed layout is exactly the documented one, both ways', async (t) => {
  const { env, master, keyId, wrapped } = ready();
  const dataKey = independentUnwrap(master, keyId, wrapped);
  const plaintext = utf8('hunter2, the secret value');
  const context = 'vault-a/db-password/0123456789abcdef';

  const sealed = env.seal(plaintext, context);
  t.equal(sealed.length, 37 + plaintext.length, '37 bytes of overhead');
  t.equal(SEALED_OVERHEAD, 37);
  t.equal(sealed[0], 0x01, 'format version');
  t.equal(Buffer.from(sealed.subarray(1, 9)).toString('hex'), keyId, 'key id as 8 raw bytes');
  t.equal(sealedKeyId(sealed), keyId);
  t.same(independentOpen(dataKey, sealed, 'keyraft record ' + context), plaintext, 'a plain createDecipheriv opens a record');

  const blob = env.sealBlob(plaintext, 'key vault-a/k1');
  t.same(independentOpen(dataKey, blob, 'keyraft backup key vault-a/k1'), plaintext, 'and a backup blob');

  const byHand = independentSeal(dataKey, keyId, plaintext, 'keyraft record ' + context);
  t.same(env.open(byHand, context), plaintext, 'Envelope opens a value sealed by hand per the layout');
  const blobByHand = independentSeal(dataKey, keyId, plaintext, 'keyraft backup key vault-a/k1');
  t.same(env.openBlob(blobByHand, 'key vault-a/k1'), plaintext);

  // The ciphertext is not the plaintext, and the plaintext shows nowhere in it.
  t.notOk(Buffer.from(sealed).includes(plaintext.subarray(0, 7)), 'no plaintext in the sealed bytes');
});

// --- round trips -----------------------------------------------------------

t.test('seal/open round trips, random IVs, Uint8Array views', async (t) => {
  const { env, keyId } = ready();
  t.equal(env.activeKeyId, keyId);
  for (const n of [0, 1, 15, 16, 17, 255, 25 * 1024]) {
    const p = randomBytes(n);
    const s = env.seal(p, `v/s/${n}`);
    t.equal(s.length, 37 + n);
    t.same(Buffer.from(env.open(s, `v/s/${n}`)), p, `${n} bytes`);
  }
  const a = env.seal(utf8('same'), 'ctx');
  const b = env.seal(utf8('same'), 'ctx');
  t.not(Buffer.from(a).toString('hex'), Buffer.from(b).toString('hex'), 'same input, different output (random IV)');

  // Plain Uint8Arrays and views at an offset into a larger buffer both work.
  const backing = new Uint8Array(200);
  const sealed = env.seal(new Uint8Array([1, 2, 3]), 'ctx');
  backing.set(sealed, 50);
  const view = backing.subarray(50, 50 + sealed.length);
  t.same([...env.open(view, 'ctx')], [1, 2, 3], 'opens a view at an offset');
  t.equal(sealedKeyId(view), keyId);

  // Unicode contexts bind by their UTF-8 bytes.
  const u = env.seal(utf8('x'), 'vault/клю́ч/🔑');
  t.equal(text(env.open(u, 'vault/клю́ч/🔑')), 'x');
});

t.test('seal before any data key is installed throws', async (t) => {
  const env = new Envelope(randomBytes(32));
  t.equal(env.activeKeyId, undefined);
  t.throws(() => env.seal(utf8('x'), 'ctx'), NoDataKeyError);
  t.throws(() => env.sealBlob(utf8('x'), 'p'), { name: 'NoDataKeyError', message: /no data key is installed/ });
  env.newDataKey();
  t.equal(env.activeKeyId, undefined, 'newDataKey does not install');
  t.throws(() => env.seal(utf8('x'), 'ctx'), NoDataKeyError);
});

t.test('earlier data keys keep opening after a new one is installed', async (t) => {
  const { env, keyId: k1 } = ready();
  const s1 = env.seal(utf8('one'), 'c');
  const { keyId: k2, wrapped: w2 } = env.newDataKey();
  t.not(k2, k1);
  env.installDataKey(k2, w2);
  t.equal(env.activeKeyId, k2, 'the new key is active');
  const s2 = env.seal(utf8('two'), 'c');
  t.equal(sealedKeyId(s1), k1);
  t.equal(sealedKeyId(s2), k2, 'new values are sealed under the new key');
  t.equal(text(env.open(s1, 'c')), 'one');
  t.equal(text(env.open(s2, 'c')), 'two');
  t.ok(env.hasDataKey(k1) && env.hasDataKey(k2));
  t.notOk(env.hasDataKey('0000000000000000'));
});

t.test('installing the same data key twice is harmless; a different key under the same id is refused', async (t) => {
  const { env, master, keyId, wrapped } = ready();
  const s = env.seal(utf8('v'), 'c');
  const { keyId: k2, wrapped: w2 } = env.newDataKey();
  env.installDataKey(k2, w2);
  env.installDataKey(keyId, wrapped); // a replayed log entry
  t.equal(env.activeKeyId, keyId, 'reinstalling makes it active again');
  t.equal(text(env.open(s, 'c')), 'v');
  const impostor = independentWrap(master, keyId, randomBytes(32));
  t.throws(() => env.installDataKey(keyId, impostor), { name: 'SealedDataError', reason: 'KEY_CONFLICT' });
  t.equal(text(env.open(s, 'c')), 'v', 'the installed key is kept');
});

// --- tampering ---------------------------------------------------------------

t.test('a flipped bit anywhere in a sealed value is refused (every bit)', async (t) => {
  const { env } = ready();
  const plaintext = utf8('TOP-SECRET-PLAINTEXT-42');
  const context = 'vault/name/version';
  const sealed = Buffer.from(env.seal(plaintext, context));
  const regions = (i: number): string =>
    i === 0 ? 'version' : i < 9 ? 'key id' : i < 21 ? 'IV' : i < 37 ? 'tag' : 'ciphertext';
  const seen = new Map<string, Set<string>>();
  let refused = 0;
  for (let i = 0; i < sealed.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1 << bit;
      try {
        env.open(bad, context);
        t.fail(`byte ${i} bit ${bit} (${regions(i)}) was accepted`);
      } catch (err) {
        if (!(err instanceof SealedDataError)) {
          t.fail(`byte ${i} bit ${bit}: ${String(err)}`);
          continue;
        }
        refused++;
        if (err.message.includes('TOP-SECRET') || String(err.stack).includes('TOP-SECRET')) {
          t.fail('the error carries plaintext');
        }
        const r = regions(i);
        if (!seen.has(r)) seen.set(r, new Set());
        seen.get(r)!.add(err.reason);
      }
    }
  }
  t.equal(refused, sealed.length * 8, `all ${sealed.length * 8} single-bit flips refused`);
  t.same([...seen.get('version')!], ['MALFORMED']);
  t.same([...seen.get('key id')!], ['UNKNOWN_KEY']);
  t.same([...seen.get('IV')!], ['AUTH_FAILED']);
  t.same([...seen.get('tag')!], ['AUTH_FAILED']);
  t.same([...seen.get('ciphertext')!], ['AUTH_FAILED']);
  t.equal(text(env.open(sealed, context)), 'TOP-SECRET-PLAINTEXT-42', 'the original still opens');
});

t.test('a sealed value relabelled with another installed key id is refused', async (t) => {
  const { env } = ready();
  const sealed = Buffer.from(env.seal(utf8('x'), 'c'));
  const { keyId: k2, wrapped: w2 } = env.newDataKey();
  env.installDataKey(k2, w2);
  Buffer.from(k2, 'hex').copy(sealed, 1);
  t.throws(() => env.open(sealed, 'c'), { name: 'SealedDataError', reason: 'AUTH_FAILED' });
});

t.test('a flipped bit in a backup blob is refused too', async (t) => {
  const { env } = ready();
  const blob = Buffer.from(env.sealBlob(randomBytes(100), 'secret v/s'));
  for (let i = 0; i < blob.length; i++) {
    const bad = Buffer.from(blob);
    bad[i]! ^= 0x80;
    t.throws(() => env.openBlob(bad, 'secret v/s'), SealedDataError, `byte ${i}`);
  }
});

t.test('truncated, extended and malformed input is refused as malformed or unauthenticated', async (t) => {
  const { env } = ready();
  const sealed = Buffer.from(env.seal(utf8('some value'), 'c'));
  for (const n of [0, 1, 9, 21, 36]) {
    t.throws(() => env.open(sealed.subarray(0, n), 'c'), { name: 'SealedDataError', reason: 'MALFORMED' }, `${n} bytes`);
  }
  for (const n of [37, sealed.length - 1]) {
    t.throws(() => env.open(sealed.subarray(0, n), 'c'), { name: 'SealedDataError', reason: 'AUTH_FAILED' }, `cut to ${n}`);
  }
  t.throws(() => env.open(Buffer.concat([sealed, Buffer.from([0])]), 'c'), { name: 'SealedDataError', reason: 'AUTH_FAILED' }, 'a byte appended');
  t.throws(() => env.open(Buffer.from('not sealed at all, just some text here'), 'c'), { name: 'SealedDataError', reason: 'MALFORMED' });
  t.throws(() => env.open('string' as unknown as Uint8Array, 'c'), { name: 'SealedDataError', reason: 'MALFORMED' });
  t.throws(() => env.open(null as unknown as Uint8Array, 'c'), { name: 'SealedDataError', reason: 'MALFORMED' });
  t.throws(() => sealedKeyId(Buffer.alloc(10)), SealedDataError);
  const v2 = Buffer.from(sealed);
  v2[0] = 0x02;
  t.throws(() => env.open(v2, 'c'), { name: 'SealedDataError', reason: 'MALFORMED', message: /unknown format version 2/ });
});

t.test('a value sealed with a data key this envelope does not have names the missing key', async (t) => {
  const a = ready();
  const b = ready(a.master); // same master, but its own data key
  const sealed = a.env.seal(utf8('x'), 'c');
  t.throws(() => b.env.open(sealed, 'c'), {
    name: 'SealedDataError',
    reason: 'UNKNOWN_KEY',
    message: `sealed value names data key ${a.keyId}, which is not installed`,
  });
});

// --- contexts and purposes --------------------------------------------------

t.test('the wrong context is refused', async (t) => {
  const { env } = ready();
  const sealed = env.seal(utf8('pw'), 'vault/db/v1');
  for (const other of ['vault/db/v2', 'vault/db2/v1', 'other/db/v1', 'vault/db/v1 ', '', 'VAULT/db/v1']) {
    const err = t.throws(() => env.open(sealed, other), { name: 'SealedDataError', reason: 'AUTH_FAILED' }, JSON.stringify(other)) as Error;
    t.match(err.message, JSON.stringify(other), 'names the context');
    t.notMatch(err.message, /pw/);
  }
  t.equal(text(env.open(sealed, 'vault/db/v1')), 'pw');
});

t.test('a record does not open as a backup blob, nor the reverse', async (t) => {
  const { env } = ready();
  const rec = env.seal(utf8('r'), 'x');
  const blob = env.sealBlob(utf8('b'), 'x');
  t.throws(() => env.openBlob(rec, 'x'), { name: 'SealedDataError', reason: 'AUTH_FAILED' });
  t.throws(() => env.open(blob, 'x'), { name: 'SealedDataError', reason: 'AUTH_FAILED' });
  t.throws(() => env.openBlob(blob, 'y'), { name: 'SealedDataError', reason: 'AUTH_FAILED', message: /purpose "y"/ });
  t.equal(text(env.openBlob(blob, 'x')), 'b');
});

t.test('contexts that are not well-formed Unicode are refused', async (t) => {
  const { env } = ready();
  // '\uD800' and '\uDBFF' both encode as U+FFFD: they would share one AAD.
  t.throws(() => env.seal(utf8('x'), 'a\uD800'), TypeError);
  t.throws(() => env.open(env.seal(utf8('x'), 'a'), 'a\uDBFF'), TypeError);
  t.throws(() => env.sealBlob(utf8('x'), 42 as unknown as string), TypeError);
  t.throws(() => env.seal('text' as unknown as Uint8Array, 'c'), TypeError);
});

// --- master keys -------------------------------------------------------------

t.test('the wrong master key → WrongMasterKeyError with a clear message', async (t) => {
  const { keyId, wrapped } = ready();
  const other = new Envelope(randomBytes(32));
  const err = t.throws(() => other.installDataKey(keyId, wrapped), WrongMasterKeyError) as WrongMasterKeyError;
  t.match(err.message, `the master key does not open data key ${keyId}: wrong master key`);
  t.equal(err.keyId, keyId);
  t.equal(other.activeKeyId, undefined, 'nothing installed');
  t.notOk(other.hasDataKey(keyId));
});

t.test('a wrapped key opens only under its own id, and a tampered wrapped key is refused', async (t) => {
  const master = randomBytes(32);
  const env = new Envelope(master);
  const { keyId, wrapped } = env.newDataKey();
  const otherId = keyId === '0123456789abcdef' ? 'fedcba9876543210' : '0123456789abcdef';
  t.throws(() => env.installDataKey(otherId, wrapped), WrongMasterKeyError, 'the id is bound by the AAD');
  for (let i = 0; i < wrapped.length; i++) {
    const bad = Buffer.from(wrapped);
    bad[i]! ^= 0x01;
    if (i === 0) t.throws(() => env.installDataKey(keyId, bad), { name: 'SealedDataError', reason: 'MALFORMED' });
    else t.throws(() => env.installDataKey(keyId, bad), WrongMasterKeyError, `byte ${i}`);
  }
  t.throws(() => env.installDataKey(keyId, Buffer.from(wrapped).subarray(0, 60)), { name: 'SealedDataError', reason: 'MALFORMED' });
  t.throws(() => env.installDataKey('XYZ', wrapped), { name: 'SealedDataError', reason: 'MALFORMED', message: /16 lowercase hex/ });
  t.throws(() => env.installDataKey(keyId.toUpperCase(), wrapped), { name: 'SealedDataError', reason: 'MALFORMED' });
  const long = t.throws(() => env.installDataKey('z'.repeat(500), wrapped), SealedDataError) as Error;
  t.ok(long.message.length < 200, 'a garbage id is cut short in the message');
  t.throws(() => env.installDataKey(7 as unknown as string, wrapped), { name: 'SealedDataError', reason: 'MALFORMED' });
  t.throws(() => env.installDataKey(keyId, 'wrapped' as unknown as Uint8Array), { name: 'SealedDataError', reason: 'MALFORMED' });
  t.equal(env.activeKeyId, undefined);
  env.installDataKey(keyId, wrapped);
  t.equal(env.activeKeyId, keyId, 'the genuine one still installs');
});

t.test('a master key must be 32 bytes', async (t) => {
  for (const n of [0, 16, 31, 33, 64]) {
    t.throws(() => new Envelope(randomBytes(n)), { name: 'MasterKeyError', message: `a master key is exactly 32 bytes, got ${n} bytes` });
  }
  t.throws(() => new Envelope('k'.repeat(32) as unknown as Buffer), MasterKeyError);
  const { env, keyId } = ready();
  t.throws(() => env.rewrap(keyId, randomBytes(16)), MasterKeyError);
});

t.test('the envelope copies the master key: zeroing the caller\'s buffer changes nothing', async (t) => {
  const master = randomBytes(32);
  const copy = Buffer.from(master);
  const env = new Envelope(master);
  master.fill(0);
  const { keyId, wrapped } = env.newDataKey();
  t.equal(independentUnwrap(copy, keyId, wrapped).length, 32, 'still wraps under the original key');
  env.installDataKey(keyId, wrapped);
  t.equal(text(env.open(env.seal(utf8('ok'), 'c'), 'c')), 'ok');
});

t.test('no key material shows in inspect or JSON output of an envelope', async (t) => {
  const { env, master, keyId, wrapped } = ready();
  const dataKey = independentUnwrap(master, keyId, wrapped);
  const shown = inspect(env, { depth: 10, showHidden: true }) + JSON.stringify(env) + String(env);
  for (const k of [master, dataKey]) {
    t.notOk(shown.includes(k.toString('hex')), 'no hex');
    t.notOk(shown.includes(k.toString('base64')), 'no base64');
    t.notOk(shown.includes(k.toString('hex').slice(0, 8)), 'not even a hex prefix');
  }
});

// --- master-key rotation -----------------------------------------------------

t.test('rewrap under a new master key; a fresh envelope on the new key opens old records', async (t) => {
  const { env, master: oldMaster, keyId: k1, wrapped: w1 } = ready();
  const r1 = env.seal(utf8('first'), 'v/a/1');
  const { keyId: k2, wrapped: w2 } = env.newDataKey();
  env.installDataKey(k2, w2);
  const r2 = env.seal(utf8('second'), 'v/b/1');
  const b2 = env.sealBlob(utf8('backup'), 'secret v/b');

  const newMaster = randomBytes(32);
  const rw1 = env.rewrap(k1, newMaster);
  const rw2 = env.rewrap(k2, newMaster);
  t.equal(rw1.length, 61);
  t.not(Buffer.from(rw1).toString('hex'), Buffer.from(w1).toString('hex'), 'a new wrapping');
  t.same(independentUnwrap(newMaster, k1, rw1), independentUnwrap(oldMaster, k1, w1), 'of the same data key');

  const fresh = new Envelope(newMaster);
  fresh.installDataKey(k1, rw1);
  fresh.installDataKey(k2, rw2);
  t.equal(text(fresh.open(r1, 'v/a/1')), 'first', 'records are not rewritten and still open');
  t.equal(text(fresh.open(r2, 'v/b/1')), 'second');
  t.equal(text(fresh.openBlob(b2, 'secret v/b')), 'backup');
  t.equal(fresh.activeKeyId, k2);

  t.throws(() => new Envelope(oldMaster).installDataKey(k1, rw1), WrongMasterKeyError, 'the old master no longer opens it');
  t.throws(() => new Envelope(newMaster).installDataKey(k1, w1), WrongMasterKeyError, 'nor the new master the old wrapping');
  t.throws(() => env.rewrap('0000000000000000', newMaster), { name: 'SealedDataError', reason: 'UNKNOWN_KEY' });
});

// --- across nodes ------------------------------------------------------------

t.test('a backup blob made by one node opens on another with the same data keys', async (t) => {
  const master = randomBytes(32);
  const leader = new Envelope(master);
  const { keyId, wrapped } = leader.newDataKey();
  // Every node installs the wrapped key the leader proposed.
  const nodes = [leader, new Envelope(Buffer.from(master)), new Envelope(Buffer.from(master))];
  for (const n of nodes) n.installDataKey(keyId, wrapped);
  const payload = randomBytes(4096);
  const blob = nodes[1]!.sealBlob(payload, 'key vault-a/signing');
  for (const n of nodes) t.same(Buffer.from(n.openBlob(blob, 'key vault-a/signing')), payload);
  const rec = leader.seal(payload, 'vault-a/s/1');
  for (const n of nodes) t.same(Buffer.from(n.open(rec, 'vault-a/s/1')), payload, 'records too');
});

t.test('rewrap is deterministic, so every node rotates to the same bytes', async (t) => {
  const master = randomBytes(32);
  const next = randomBytes(32);
  const a = new Envelope(master);
  const { keyId, wrapped } = a.newDataKey();
  a.installDataKey(keyId, wrapped);
  const b = new Envelope(master);
  b.installDataKey(keyId, wrapped);
  t.same(Buffer.from(a.rewrap(keyId, next)), Buffer.from(b.rewrap(keyId, next)), 'two nodes, the same rewrapped bytes');
  const other = a.newDataKey();
  a.installDataKey(other.keyId, other.wrapped);
  t.notSame(Buffer.from(a.rewrap(other.keyId, next)).subarray(1, 13), Buffer.from(a.rewrap(keyId, next)).subarray(1, 13), 'another key id, another IV');
  const c = new Envelope(next);
  c.installDataKey(keyId, a.rewrap(keyId, next));
  t.ok(c.hasDataKey(keyId), 'the new master key opens it');
});
