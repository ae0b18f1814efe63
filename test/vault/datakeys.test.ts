// Data-key rotation and re-seal in the state machine: what apply counts, the
// policy that reads the counts, and the compare-and-swap of ResealValues.

import t from 'tap';
import { DEFAULT_DATA_KEY_POLICY, rotationDue, VaultState, type ResealedValue } from '../../src/vault/index.js';
import { Harness, T0, keyOp, recordsOf, sealed, text } from './fixtures/harness.js';

const install = (keyId: string, replacesKeyId?: string) => ({
  op: 'installDataKey' as const,
  installDataKey: { keyId, wrappedKey: new Uint8Array([keyId.length, 1]), ...(replacesKeyId === undefined ? {} : { replacesKeyId }) },
});

const tokenKey = (keyId: string, fill: number) => ({ op: 'installTokenKey' as const, installTokenKey: { keyId, sealedSeed: new Uint8Array(64).fill(fill) } });

function cluster(): Harness {
  const h = new Harness();
  h.ok(install('dk-1'));
  h.createVault('abc');
  return h;
}

t.test('apply counts the values sealed under the active key, and stamps its install time', async (t) => {
  const h = cluster();
  t.same(h.state.dataKeyUsage(), { keyId: 'dk-1', installedMs: T0, writes: 0 });
  h.setSecret('abc', 's1');
  h.setSecret('abc', 's1');
  h.ok(keyOp('abc', 'k1', { version: h.newVersion() }));
  h.ok(tokenKey('a'.repeat(43), 1));
  h.ok(tokenKey('a'.repeat(43), 1));
  // Neither a token key installed again, an update nor a delete seals anything.
  h.ok({ op: 'updateSecret', updateSecret: { vault: 'abc', name: 's1', version: '', enabled: false, replaceTags: false, tags: {} } });
  h.deleteSecret('abc', 's1');
  t.equal(h.state.dataKeyUsage()!.writes, 4);
  h.now = T0 + 1000;
  h.ok(install('dk-2', 'dk-1'));
  h.setSecret('abc', 's2');
  t.same(h.state.dataKeyUsage(), { keyId: 'dk-2', installedMs: T0 + 1000, writes: 1 });
  t.same(h.state.dataKeyRecords(), [
    { keyId: 'dk-1', installedMs: T0, writes: 4 },
    { keyId: 'dk-2', installedMs: T0 + 1000, writes: 1 },
  ]);
  const reloaded = VaultState.load(h.state.records());
  t.same(reloaded.dataKeyRecords(), h.state.dataKeyRecords(), 'the counts survive a reload');
  t.same(recordsOf(reloaded), recordsOf(h.state));
});

t.test('a rotation names the key it replaces: of two racing rotations one installs', async (t) => {
  const h = cluster();
  h.ok(install('dk-2', 'dk-1'));
  const raced = h.fail(install('dk-3', 'dk-1'));
  t.equal(raced.reason, 'DATA_KEY_ROTATED');
  t.equal(h.state.dataKeys().activeKeyId, 'dk-2');
  t.equal(h.state.dataKeys().keys.length, 2, 'no third key');
  t.equal(new Harness().fail(install('dk-1', 'dk-0')).reason, 'DATA_KEY_ROTATED', 'no key yet is not dk-0');
  t.same(new Harness().ok(install('dk-1', '')), { kind: 'none' }, '"" replaces no key');
});

t.test('the policy: due after N writes or T ms, whichever first; never before the first key', async (t) => {
  const policy = { rotateAfterWrites: 5, rotateAfterMs: 60_000 };
  t.notOk(rotationDue(undefined, policy, T0));
  t.notOk(rotationDue({ keyId: 'k', installedMs: T0, writes: 4 }, policy, T0 + 59_999));
  t.ok(rotationDue({ keyId: 'k', installedMs: T0, writes: 5 }, policy, T0));
  t.ok(rotationDue({ keyId: 'k', installedMs: T0, writes: 0 }, policy, T0 + 60_000));
  t.notOk(rotationDue({ keyId: 'k', installedMs: 0, writes: 0 }, policy, T0), 'a key of unknown age is due by writes only');
  t.same(DEFAULT_DATA_KEY_POLICY, { rotateAfterWrites: 1_000_000, rotateAfterMs: 30 * 86_400_000 });
});

t.test('sealedValues lists every sealed value: secret versions, key material, deleted ones, token keys', async (t) => {
  const h = cluster();
  h.setSecret('abc', 's1', 'one');
  h.setSecret('abc', 'gone', 'two');
  h.deleteSecret('abc', 'gone');
  h.ok(keyOp('abc', 'k1', { version: h.newVersion() }));
  h.ok(tokenKey('a'.repeat(43), 7));
  const refs = [...h.state.sealedValues()].map((r) => `${r.kind} ${r.vault}/${r.name} ${r.context}`);
  t.equal(refs.length, 4);
  t.match(refs[0], /^secret abc\/s1 secret\/s1\//);
  t.match(refs[1], /^secret abc\/gone secret\/gone\//);
  t.match(refs[2], /^key abc\/k1 key\/k1\//);
  t.equal(refs[3], `tokenKey /${'a'.repeat(43)} tokenkey/${'a'.repeat(43)}`);
});

t.test('ResealValues replaces only values still holding the previous bytes', async (t) => {
  const h = cluster();
  const v1 = h.setSecret('abc', 's1', 'one').version;
  const v2 = h.setSecret('abc', 's2', 'two').version;
  const kv = h.newVersion();
  h.ok(keyOp('abc', 'k1', { version: kv }));
  const tk = 'a'.repeat(43);
  h.ok(tokenKey(tk, 7));
  const keyRef = [...h.state.sealedValues()].find((r) => r.kind === 'key')!;
  // Stand-ins for the same plaintext sealed again: as long as the old bytes, and different.
  const again = (s: string) => sealed(s).map((b) => b ^ 1);
  const same = (b: Uint8Array): Uint8Array => b.map((x) => x ^ 1);

  // A write raced the re-seal of s2: the leader read the old bytes, then a new version came.
  h.setSecret('abc', 's2', 'newer');
  const values: ResealedValue[] = [
    { kind: 'secret', vault: 'abc', name: 's1', version: v1, previous: sealed('one'), sealed: again('one') },
    { kind: 'secret', vault: 'abc', name: 's2', version: v2, previous: sealed('changed'), sealed: again('changed') },
    { kind: 'secret', vault: 'abc', name: 'nope', version: v2, previous: sealed('x'), sealed: again('x') },
    { kind: 'key', vault: 'abc', name: 'K1', version: kv, previous: keyRef.sealed, sealed: same(keyRef.sealed) },
    { kind: 'tokenKey', vault: '', name: tk, version: '', previous: new Uint8Array(64).fill(7), sealed: new Uint8Array(64).fill(8) },
  ];
  const writes = h.state.dataKeyUsage()!.writes;
  t.same(h.ok({ op: 'resealValues', resealValues: { values } }), { kind: 'resealed', resealed: 3, skipped: 2 });
  t.equal(h.state.dataKeyUsage()!.writes, writes, 'a re-seal is not counted toward rotation');
  t.same(h.state.getSecret('abc', 's1', '', T0).sealedValue, again('one'));
  t.equal(text(h.state.getSecret('abc', 's2', v2, T0).sealedValue), 'sealed:two', 'the value that changed is kept');
  t.equal(text(h.state.getSecret('abc', 's2', '', T0).sealedValue), 'sealed:newer', 'the racing write is kept');
  t.same(h.state.keyForOperation('abc', 'k1', '', 'sign', T0).sealedPrivateJwk, same(keyRef.sealed));
  t.same(h.state.tokenKeys()[0]!.sealedSeed, new Uint8Array(64).fill(8));

  // Applied again (a retry): nothing still holds the previous bytes.
  t.same(h.ok({ op: 'resealValues', resealValues: { values } }), { kind: 'resealed', resealed: 0, skipped: 5 });
  t.same(recordsOf(VaultState.load(h.state.records())), recordsOf(h.state), 'the re-sealed records reload to the same state');
});

t.test('a malformed re-seal is refused whole and changes nothing', async (t) => {
  const h = cluster();
  const v1 = h.setSecret('abc', 's1', 'one').version;
  const good = { kind: 'secret', vault: 'abc', name: 's1', version: v1, previous: sealed('one'), sealed: sealed('uno') };
  const before = h.dump();
  for (const bad of [
    { ...good, kind: 'vault' },
    { ...good, sealed: new Uint8Array(3) },
    { ...good, previous: new Uint8Array() },
    { ...good, name: 7 },
    null,
  ]) {
    t.equal(h.fail({ op: 'resealValues', resealValues: { values: [good, bad] as ResealedValue[] } }).reason, 'BAD_PARAMETER', JSON.stringify(bad));
  }
  t.equal(h.fail({ op: 'resealValues', resealValues: { values: Array(257).fill(good) as ResealedValue[] } }).reason, 'BAD_PARAMETER');
  t.equal(h.fail({ op: 'resealValues', resealValues: { values: [good, , good] as ResealedValue[] } }).reason, 'BAD_PARAMETER', 'a sparse list');
  t.same(h.dump(), before);
});
