// The checks besides linearizability, each on histories that must pass and on
// the anomaly it exists to catch.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import {
  checkKeys,
  checkNodesConverged,
  checkNoLostWrites,
  checkReadsOfWrittenValues,
  checkSecondaryReads,
  checkVersionsMonotonic,
  runChecks,
} from './checks.js';
import { linearizableHistory, read, secondaryRead, simulatedFinal, type Step, write } from './fixtures.js';
import type { FinalKeys, KeyOp, PublicJwk, VersionsOp } from './history.js';
import type { CheckResult } from './checks.js';

/** Exactly these anomalies, in this order (t.match alone would allow more). */
function only(t: Test, r: CheckResult, patterns: object[], message?: string): void {
  t.equal(r.anomalies.length, patterns.length, `${message ?? 'anomalies'}: ${r.anomalies.map((a) => a.message).join(' | ')}`);
  t.match(r.anomalies, patterns, message ?? 'anomalies match');
}

const versions = (key: string, list: string[], invokeMs: number, completeMs: number, outcome?: 'ok' | 'fail'): VersionsOp =>
  outcome ? { kind: 'versions', key, versions: list, invokeMs, completeMs, outcome } : { kind: 'versions', key, versions: list, invokeMs, completeMs };

t.test('no acknowledged write missing at the end', async (t) => {
  const w1 = write('x', '1', 0, 10);
  const w2 = write('x', '2', 20, 30);
  const h = [w1, w2, write('y', 'a', 0, 10)];
  t.ok(checkNoLostWrites(h, { n1: { x: '2', y: 'a' }, n2: { x: '2', y: 'a', other: 'z' } }).ok, 'keys outside the history are not judged');

  const lost = checkNoLostWrites(h, { n1: { x: '2', y: 'a' }, n2: { x: '1', y: 'a' } });
  t.equal(lost.anomalies.length, 1);
  t.match(lost.anomalies[0], { check: 'lost-write', key: 'x', node: 'n2', message: /followed/, ops: [w1, w2] });

  only(t, checkNoLostWrites(h, { n1: { y: 'a' } }), [{ key: 'x', message: /not found/ }]);
  only(t, checkNoLostWrites(h, { n1: { x: null, y: 'a' } }), [{ key: 'x', message: /not found/ }], 'null is not found');
  only(t, checkNoLostWrites(h, { n1: { x: '7', y: 'a' } }), [{ message: /no write wrote/ }]);
  only(t, checkNoLostWrites([...h, write('x', '3', 40, 50, 'fail')], { n1: { x: '3', y: 'a' } }), [{ message: /failed/ }]);
});

t.test('concurrent and unknown writes may legitimately end up last', async (t) => {
  const w1 = write('x', '1', 0, 25);
  const w2 = write('x', '2', 20, 30);
  t.ok(checkNoLostWrites([w1, w2], { n: { x: '1' } }).ok, 'w1 overlaps w2, so it may have landed last');
  const early = write('x', 'u', 0, undefined, 'unknown');
  t.ok(checkNoLostWrites([early, w1, w2], { n: { x: 'u' } }).ok, 'an unknown write may land after everything');
  t.ok(checkNoLostWrites([early], { n: {} }).ok, 'or never, when nothing was acknowledged');
  t.ok(checkNoLostWrites([early], { n: { x: 'u' } }).ok);
  t.notOk(checkNoLostWrites([write('x', '1', 0, 10), w2, write('x', '3', 31, 40, 'unknown')], { n: { x: '1' } }).ok, 'an unknown write does not excuse an older value');
});

t.test('no read returns a value never written', async (t) => {
  const h = [write('x', '1', 0, 10), write('x', 'u', 5, undefined, 'unknown'), read('x', undefined, 0, 3), read('x', '1', 12, 20), read('x', 'u', 100, 110)];
  t.ok(checkReadsOfWrittenValues(h).ok);
  t.ok(checkReadsOfWrittenValues([...h, read('x', 'junk', 20, 30, 'fail')]).ok, 'failed reads say nothing');
  t.ok(checkReadsOfWrittenValues([read('x', '9', 0, 10), write('x', '9', 10, 20)]).ok, 'a write invoked as the read returns may be seen');

  const ghost = read('x', 'ghost', 20, 30);
  only(t, checkReadsOfWrittenValues([...h, ghost]), [{ check: 'phantom-read', key: 'x', message: /never written/, ops: [ghost] }]);
  only(t, checkReadsOfWrittenValues([...h, read('y', '1', 20, 30)]), [{ key: 'y' }], 'a value written to another key does not count');
  const failed = write('x', 'f', 0, 10, 'fail');
  only(t, checkReadsOfWrittenValues([failed, read('x', 'f', 20, 30)]), [{ message: /failed/ }]);
  only(t, checkReadsOfWrittenValues([read('x', 'later', 0, 10), write('x', 'later', 11, 20)]), [{ message: /after the read completed/ }]);
  only(t, checkReadsOfWrittenValues([secondaryRead('x', 'ghost', 0, 10, { region: 'eu', primaryIndex: 1 })]), [{ message: /never written/ }], 'secondary reads too');
});

t.test('version lists only grow', async (t) => {
  const h = [
    versions('s', [], 0, 5),
    versions('s', ['v1'], 10, 20),
    versions('s', ['v1', 'v2'], 30, 40),
    versions('s', ['v1'], 35, 45), // overlaps the longer one: may be older
    versions('s', ['v1', 'v2', 'v3'], 50, 60),
    versions('t', ['a'], 0, 100),
    versions('s', ['zzz'], 70, 80, 'fail'),
  ];
  t.ok(checkVersionsMonotonic(h).ok);

  const shrunk = versions('s', ['v1', 'v3'], 70, 80);
  const r = checkVersionsMonotonic([...h, shrunk]);
  only(t, r, [
    { check: 'versions', key: 's', message: /diverge/ },
    { check: 'versions', key: 's', message: /went backwards: lost v2/, ops: [h[4], shrunk] },
  ]);
  only(t, checkVersionsMonotonic([...h, versions('s', ['v1'], 70, 80)]), [{ message: /lost v2, v3/ }], 'a prefix, but shorter than one seen before');
  only(t, checkVersionsMonotonic([versions('s', ['a', 'b'], 0, 10), versions('s', ['b', 'a'], 20, 30)]), [{ message: /diverge/ }, { message: /reordered/ }]);
  only(t, checkVersionsMonotonic([versions('s', ['a', 'b'], 0, 10), versions('s', ['a', 'c'], 5, 15)]), [{ message: /diverge/ }], 'even when concurrent');
  only(t, checkVersionsMonotonic([versions('s', ['a', 'a'], 0, 10)]), [{ message: /twice/ }]);
});

t.test('every node ends with the same state', async (t) => {
  t.ok(checkNodesConverged({}).ok);
  t.ok(checkNodesConverged({ a: { x: '1', y: null }, b: { x: '1' }, c: { x: '1', y: undefined } }).ok, 'absent, null and undefined all mean not found');
  const r = checkNodesConverged({ a: { x: '1', y: '2' }, b: { x: '1', y: '3' }, c: { x: '1' } });
  only(t, r, [{ check: 'convergence', key: 'y', message: 'nodes disagree on y: a="2", b="3", c=not found' }]);
});

t.test('secondary reads are neither from the future nor older than their index', async (t) => {
  const eu = (primaryIndex: number) => ({ region: 'eu', primaryIndex });
  const w1 = { ...write('x', 'a', 0, 10), primaryIndex: 3 };
  const w2 = { ...write('x', 'b', 20, 30), primaryIndex: 7 };
  const ok = [w1, w2, secondaryRead('x', undefined, 0, 5, eu(2)), secondaryRead('x', 'a', 40, 45, eu(5)), secondaryRead('x', 'b', 50, 55, eu(7))];
  t.ok(checkSecondaryReads(ok).ok);

  const future = secondaryRead('x', 'b', 60, 65, eu(6), 1);
  only(t, checkSecondaryReads([w1, w2, future]), [{ check: 'secondary-read', message: /from the future: "b" was committed at index 7/, ops: [w1, w2, future] }]);
  only(t, checkSecondaryReads([w1, w2, secondaryRead('x', 'a', 60, 65, eu(2))]), [{ message: /from the future/ }]);
  only(t, checkSecondaryReads([w1, w2, secondaryRead('x', 'a', 60, 65, eu(9))]), [{ message: /older than its index: "a" was overwritten at index 7/ }]);
  only(t, checkSecondaryReads([w1, w2, secondaryRead('x', undefined, 60, 65, eu(4))]), [{ message: /"not found", though the key was written at index 3/ }]);
  only(t, checkSecondaryReads([w1, secondaryRead('x', 'q', 60, 65, eu(4))]), [{ message: /never written/ }]);

  t.ok(checkSecondaryReads([w1, w2, { ...write('x', 'e', 40, 50, 'fail'), primaryIndex: 8 }, read('x', 'e', 60, 70)]).ok, 'linearizable reads are not judged here');
});

t.test('writes without a known index are placed by real time', async (t) => {
  const eu = (primaryIndex: number) => ({ region: 'eu', primaryIndex });
  const w1 = { ...write('x', 'a', 0, 10), primaryIndex: 3 };
  const w2 = { ...write('x', 'b', 20, 30), primaryIndex: 7 };
  // Concurrent with w2, after w1: anywhere above 3.
  const unknown = write('x', 'c', 25, undefined, 'unknown');
  t.ok(checkSecondaryReads([w1, w2, unknown, secondaryRead('x', 'c', 60, 65, eu(5)), secondaryRead('x', 'c', 60, 65, eu(9))]).ok, 'an unknown write may have committed anywhere after what preceded it');
  t.ok(checkSecondaryReads([w1, w2, unknown, secondaryRead('x', 'a', 60, 65, eu(5))]).ok, 'or not yet');
  const late = write('x', 'd', 40, 50);
  only(t, checkSecondaryReads([w1, w2, late, secondaryRead('x', 'd', 60, 65, eu(4))]), [{ message: /from the future: "d" was written after index 7 was acknowledged/ }]);
  t.ok(checkSecondaryReads([w1, w2, late, secondaryRead('x', 'd', 60, 65, eu(8))]).ok, 'an acknowledged write without an index lies above what preceded it');
  // Acknowledged between w1 and w2: its index is in (3, 7).
  const middle = write('x', 'm', 12, 15);
  t.ok(checkSecondaryReads([w1, w2, middle, secondaryRead('x', 'm', 60, 65, eu(5)), secondaryRead('x', 'a', 60, 65, eu(5))]).ok, 'either side of it, where it may lie');
  only(t, checkSecondaryReads([w1, w2, middle, secondaryRead('x', 'm', 60, 65, eu(9))]), [{ message: /older than its index: "m" was acknowledged before index 7 was written, and overwritten at index 7/ }]);
  only(t, checkSecondaryReads([w1, w2, middle, secondaryRead('x', 'a', 60, 65, eu(6))]), [{ message: /older than its index: "a" was overwritten by "m", written between indexes 3 and 7/ }]);
});

t.test('secondary reads checked against the commit index of each acknowledged write', async (t) => {
  // Three clients write x and y through the primary (indexes from
  // keyraft-commit-index; other keys' entries in between), while a fourth
  // reads from the failed-over secondary eu.
  const eu = (primaryIndex: number) => ({ region: 'eu', primaryIndex });
  const x1 = { ...write('x', 'x1', 0, 8, 'ok', 1), primaryIndex: 4 };
  const y1 = { ...write('y', 'y1', 2, 9, 'ok', 2), primaryIndex: 5 };
  const x2 = { ...write('x', 'x2', 10, 18, 'ok', 1), primaryIndex: 9 };
  const y2 = { ...write('y', 'y2', 12, 30, 'unknown', 2), completeMs: 30 };
  const x3 = { ...write('x', 'x3', 20, 28, 'ok', 3), primaryIndex: 12 };
  const writes = [x1, y1, x2, y2, x3];
  const good = [
    ...writes,
    secondaryRead('x', undefined, 1, 3, eu(3), 4),
    secondaryRead('x', 'x1', 5, 7, eu(6), 4),
    secondaryRead('y', 'y1', 11, 13, eu(8), 4),
    secondaryRead('x', 'x2', 14, 16, eu(11), 4),
    secondaryRead('y', 'y2', 17, 19, eu(11), 4),
    secondaryRead('x', 'x3', 31, 33, eu(12), 4),
  ];
  t.ok(checkSecondaryReads(good).ok, 'a correct history');

  const fromFuture = secondaryRead('x', 'x3', 40, 42, eu(10), 5);
  only(t, checkSecondaryReads([...writes, fromFuture]), [{ check: 'secondary-read', key: 'x', message: 'read of x from eu at index 10 is from the future: "x3" was committed at index 12', ops: [x1, x2, x3, fromFuture] }], 'a read from the future');

  const older = secondaryRead('x', 'x1', 40, 42, eu(10), 5);
  only(t, checkSecondaryReads([...writes, older]), [{ check: 'secondary-read', key: 'x', message: 'read of x from eu at index 10 is older than its index: "x1" was overwritten at index 9', ops: [x1, x2, older] }], 'a read of a state older than its index');

  const monotonic = [...good, secondaryRead('y', 'y1', 34, 36, eu(8), 4)];
  only(t, checkSecondaryReads(monotonic), [{ message: 'p4 read from eu at index 8 after it had seen index 12 there' }], 'and still never back in time for one client');
});

t.test('a client never sees a region go back in time', async (t) => {
  const at = (region: string, primaryIndex: number) => ({ region, primaryIndex });
  const w = { ...write('x', 'a', 0, 10), primaryIndex: 1 };
  const y = { ...write('y', 'b', 0, 10), primaryIndex: 2 };
  const seen = secondaryRead('x', 'a', 20, 30, at('eu', 9), 1);
  const older = secondaryRead('y', 'b', 40, 50, at('eu', 5), 1);
  const r = checkSecondaryReads([w, y, seen, older]);
  only(t, r, [{ check: 'secondary-read', message: 'p1 read from eu at index 5 after it had seen index 9 there', ops: [seen, older] }]);
  t.ok(checkSecondaryReads([w, y, seen, secondaryRead('y', 'b', 40, 50, at('eu', 5), 2)]).ok, 'another client may see an older state');
  t.ok(checkSecondaryReads([w, y, seen, secondaryRead('y', 'b', 40, 50, at('us', 5), 1)]).ok, 'and so may another region');
  t.ok(checkSecondaryReads([w, y, seen, secondaryRead('y', 'b', 25, 50, at('eu', 5), 1)]).ok, 'overlapping reads are not ordered');
});

t.test('runChecks gathers every anomaly', async (t) => {
  const h = [write('x', '1', 0, 10), write('x', '2', 20, 30), read('x', 'ghost', 40, 50), versions('s', ['a'], 0, 10), versions('s', [], 20, 30)];
  const r = runChecks(h, { n1: { x: '1' }, n2: { x: '2' } });
  t.equal(r.ok, false);
  t.same(r.anomalies.map((a) => a.check).sort(), ['convergence', 'lost-write', 'phantom-read', 'versions']);
});

/** An EC P-256 key version made locally: its public JWK, and ES256 over SHA-256 with its private key. */
function ecVersion(): { jwk: PublicJwk; sign: (message: string) => string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const j = publicKey.export({ format: 'jwk' });
  return {
    jwk: { kty: j.kty!, crv: j.crv!, x: j.x!, y: j.y! },
    // What the server does: sign the digest (node:crypto hashes the message itself, to the same effect).
    sign: (message) => sign('sha256', Buffer.from(message, 'base64url'), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url'),
  };
}

t.test('key workload: signatures, deletes, versions', async (t) => {
  const v1 = ecVersion();
  const v2 = ecVersion();
  const finalKeys: FinalKeys = { k: { versions: ['v1', 'v2'], publicKeys: { v1: v1.jwk, v2: v2.jwk } } };
  const m1 = randomBytes(16).toString('base64url');
  const m2 = randomBytes(16).toString('base64url');
  const op = (action: KeyOp['action'], invokeMs: number, completeMs: number, extra: Partial<KeyOp> = {}): KeyOp => ({
    process: 0,
    kind: 'key',
    action,
    key: 'k',
    invokeMs,
    completeMs,
    outcome: 'ok',
    ...extra,
  });
  const create = op('create', 0, 10, { version: 'v1' });
  const sign1 = op('sign', 20, 30, { version: 'v1', message: m1, signature: v1.sign(m1) });
  const rotate = op('rotate', 40, 50, { version: 'v2' });
  const sign2 = op('sign', 60, 70, { version: 'v2', message: m2, signature: v2.sign(m2) });
  const verify1 = op('verify', 80, 90, { version: 'v1', message: m1, signature: sign1.signature!, verified: true });
  const del = op('delete', 100, 110);
  const good = [create, sign1, rotate, sign2, verify1, del, op('sign', 120, 130, { outcome: 'fail' }), op('verify', 120, 130, { outcome: 'fail' })];
  t.ok(checkKeys(good, finalKeys).ok, 'a correct run passes');
  // The digest the workload sends is SHA-256 of the message: the local check agrees with a digest-level signature.
  t.equal(createHash('sha256').update(Buffer.from(m1, 'base64url')).digest().length, 32);
  t.ok(checkKeys([...good, op('sign', 105, 115, { version: 'v2', message: m2, signature: v2.sign(m2) })], finalKeys).ok, 'a sign concurrent with the delete may succeed');

  only(t, checkKeys([create, op('sign', 20, 30, { version: 'v1', message: m1, signature: v2.sign(m1) })], finalKeys), [{ check: 'keys', message: /does not verify/ }], 'a signature by another key');
  only(t, checkKeys([create, op('sign', 20, 30, { version: 'v1', message: m1, signature: v1.sign(m2) })], finalKeys), [{ message: /does not verify/ }], 'a signature of another message');
  only(t, checkKeys([create, op('sign', 20, 30, { version: 'v9', message: m1, signature: v1.sign(m1) })], finalKeys), [{ message: /does not exist/ }], 'an unknown version');
  const late = op('sign', 120, 130, { version: 'v2', message: m2, signature: v2.sign(m2) });
  only(t, checkKeys([...good, late], finalKeys), [{ message: /delete had been acknowledged/, ops: [del, late] }], 'a sign after an acknowledged delete');
  only(t, checkKeys([...good, op('verify', 120, 130, { version: 'v1', message: m1, signature: sign1.signature!, verified: true })], finalKeys), [{ message: /verify of key k succeeded/ }], 'a verify after it');
  const fromSecondary = { ...late, secondary: { region: 'west', primaryIndex: 3 } };
  t.ok(checkKeys([...good, fromSecondary], finalKeys).ok, 'a failed-over secondary may serve a stale state');
  only(t, checkKeys([...good, op('verify', 80, 90, { version: 'v1', message: m1, signature: sign1.signature!, verified: false })], finalKeys), [{ message: /answered false/ }], 'an acknowledged signature that does not verify');
  t.ok(checkKeys([...good, op('verify', 80, 90, { version: 'v1', message: m1, signature: v2.sign(m1), verified: false })], finalKeys).ok, 'false for a signature never acknowledged is fine');
  const stale = op('sign', 60, 70, { version: 'v1', message: m2, signature: v1.sign(m2) });
  only(t, checkKeys([create, rotate, stale], finalKeys), [{ message: /older than version v2/, ops: [rotate, stale] }], 'a sign with a version older than an acknowledged rotation');
  t.ok(checkKeys([create, { ...rotate, completeMs: 65 }, stale], finalKeys).ok, 'unless the rotation was concurrent');
  only(t, checkKeys([create, op('rotate', 40, 50, { version: 'v3' })], finalKeys), [{ message: /v3 of key k was acknowledged \(rotate\) but is gone/ }], 'a lost version');
  only(t, checkKeys([create], {}), [{ message: /gone at the end/ }], 'a lost key');

  const r = runChecks([create, sign1, versions('key:k', ['v1', 'v2'], 0, 10), versions('key:k', ['v1'], 20, 30)], {}, finalKeys);
  t.same(r.anomalies.map((a) => a.check), ['versions'], 'key version lists are judged like secret ones');
});

const step: fc.Arbitrary<Step> = fc.record({
  write: fc.boolean(),
  key: fc.constantFrom('x', 'y', 'z'),
  before: fc.nat(35),
  after: fc.nat(35),
  outcome: fc.constantFrom('ok', 'ok', 'ok', 'fail', 'unknown', 'lost') as fc.Arbitrary<Step['outcome']>,
  gaveUp: fc.boolean(),
  process: fc.nat(5),
});

t.test('correct random runs pass every check', async (t) => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), fc.array(fc.nat(35), { minLength: 2, maxLength: 60 }), (steps, jitter) => {
      const final = simulatedFinal(steps);
      // A version list appended to at each step and observed with jitter.
      const observed = jitter.map((j, i): VersionsOp => {
        const at = 10 * (i + 1);
        return versions('s', Array.from({ length: i }, (_, v) => `v${v}`), at - j, at + (jitter[i - 1] ?? 0));
      });
      const r = runChecks([...linearizableHistory(steps), ...observed], { n1: final, n2: { ...final } });
      return r.ok;
    }),
    { numRuns: 300 },
  );
  t.pass('no anomaly in 300 correct runs');
});
