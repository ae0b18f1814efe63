// Loading a state from its records builds it incrementally (no global sort,
// vaults may come after their entries) and keeps a version index only for
// secrets with many versions: whatever the order the records come in, the
// loaded state must be the same state, answer the same queries and go on
// applying commands identically.

import t from 'tap';
import { VaultState } from '../../src/vault/index.js';
import { decodeVersion } from '../../src/vault/records.js';
import { Harness, recordsOf, ver } from './fixtures/harness.js';

const VAULTS = ['Zeta', 'alpha', 'Mid'];

/** Secrets of 1, 3 and 20 versions (past the index threshold), some updated or deleted. */
function build(): Harness {
  const h = new Harness();
  for (const v of VAULTS) h.createVault(v, 7);
  let n = 0;
  for (const v of VAULTS) {
    for (let s = 0; s < 24; s++) {
      const versions = s % 7 === 0 ? 20 : s % 3 === 0 ? 3 : 1;
      // Version ids out of creation order, as random ids are.
      for (let k = 0; k < versions; k++) h.setSecret(v, `Sec-${s}`, `value-${s}-${k}`, k % 2 ? { tags: { b: '1', a: '2' } } : {}, ver(((n++ * 7919) % 5000) + 1));
      if (versions > 8) {
        const page = h.state.listSecretVersions(v, `Sec-${s}`, 25, '').secrets;
        h.ok({ op: 'updateSecret', updateSecret: { vault: v, name: `Sec-${s}`, version: page[3]!.version, enabled: false, replaceTags: false, tags: {} } });
      }
      if (s % 5 === 0) h.deleteSecret(v, `Sec-${s}`);
      h.now += 1000;
    }
  }
  return h;
}

/** Every version of every live secret, as each state answers. */
function answers(state: VaultState, nowMs: number): unknown[] {
  const out: unknown[] = [];
  for (const v of VAULTS) {
    for (let s = 0; s < 24; s++) {
      if (s % 5 === 0) continue;
      const page = state.listSecretVersions(v, `Sec-${s}`, 25, '');
      out.push(page);
      for (const x of page.secrets) {
        try {
          out.push(state.getSecret(v, `Sec-${s}`, x.version, nowMs));
        } catch (e) {
          out.push((e as { reason?: string }).reason); // a disabled version is refused, the same way
        }
      }
    }
  }
  return out;
}

function shuffle<T>(items: T[], seed: number): T[] {
  const a = items.slice();
  let x = seed;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const h = build();
const records = [...h.state.records()];
const byKey = records.slice().sort(([a], [b]) => (a < b ? -1 : 1));
const expected = recordsOf(h.state);
const expectedAnswers = answers(h.state, h.now);

t.test('any order of the records loads the same state', async (t) => {
  const orders: [string, (readonly [string, Uint8Array])[]][] = [
    ['as records() gives them', records],
    ['LevelDB key order (vaults after their entries)', byKey],
    ['reversed', byKey.slice().reverse()],
    ['shuffled', shuffle(records, 42)],
  ];
  for (const [label, order] of orders) {
    const loaded = VaultState.load(order);
    t.same(recordsOf(loaded), expected, `${label}: same records`);
    t.same(answers(loaded, h.now), expectedAnswers, `${label}: same answers, including secrets past the version index threshold`);
  }
});

t.test('the streaming loader gives the same state as load()', async (t) => {
  const loader = VaultState.loader();
  for (const [k, v] of byKey) loader.add(k, v);
  t.same(recordsOf(loader.finish()), expected);
});

t.test('a loaded state goes on applying commands as the original does', async (t) => {
  const again = new Harness();
  again.state = VaultState.load(shuffle(records, 7));
  again.now = h.now;
  again.index = h.index;
  for (const x of [h, again]) {
    // A 21st version of an indexed secret, a second one of a plain secret, and an update found by id.
    x.setSecret('Mid', 'Sec-7', 'late', {}, ver(9001));
    x.setSecret('Mid', 'Sec-1', 'late', {}, ver(9002));
    x.ok({ op: 'updateSecret', updateSecret: { vault: 'Mid', name: 'Sec-7', version: ver(9001), enabled: false, replaceTags: false, tags: {} } });
  }
  t.same(recordsOf(again.state), recordsOf(h.state));
  t.same(answers(again.state, h.now), answers(h.state, h.now));
});

t.test('broken record sets are refused with the same checks as before', async (t) => {
  const without = (pred: (k: string) => boolean) => byKey.filter(([k]) => !pred(k));
  t.throws(() => VaultState.load(without((k) => k === 'vault/mid')), /of a missing vault mid/);
  t.throws(() => VaultState.load(without((k) => k === 'secret/mid/sec-7')), /of a missing secret mid\/sec-7/);
  t.throws(() => VaultState.load(without((k) => k.startsWith('secretv/mid/sec-8/'))), /secret mid\/sec-8 has no versions/);
  const secondOf7 = byKey.find(([k, v]) => k.startsWith('secretv/mid/sec-7/') && decodeVersion(v).seq === 4)![0];
  t.throws(() => VaultState.load(without((k) => k === secondOf7)), /gap in version order/);
  t.throws(() => VaultState.load(without((k) => k === secondOf7).reverse()), /gap in version order/);
});
