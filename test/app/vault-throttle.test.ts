// Per-vault throttling with Azure Key Vault's classes and weights
// (src/app/throttle-classes.ts, vault-throttle.ts, token-bucket.ts), on a
// clock the test moves: each class has its own limit per vault, key
// transactions are weighted by key type and enforced on their sum, a
// refused call takes nothing, and retry-after says exactly when it fits.

import t from 'tap';
import { RPC_PATHS } from '../../src/auth/index.js';
import { AZURE_THROTTLE_LIMITS, costOf, keyTypeName, throttleClassOf } from '../../src/app/throttle-classes.js';
import { TokenBucket } from '../../src/app/token-bucket.js';
import { type KeyTypeLookup, VaultThrottle } from '../../src/app/vault-throttle.js';

const V = '/keyraft.v1.';
const KEYS: Record<string, { kty: string; keySize: number; curve: string }> = {
  rsa2048: { kty: 'RSA', keySize: 2048, curve: '' },
  rsa3072: { kty: 'RSA', keySize: 3072, curve: '' },
  rsa4096: { kty: 'RSA', keySize: 4096, curve: '' },
  ec: { kty: 'EC', keySize: 0, curve: 'P-384' },
};
const lookup: KeyTypeLookup = (_vault, name) => KEYS[name];

function setup(limits = AZURE_THROTTLE_LIMITS) {
  const clock = { now: 1_000 };
  return { clock, throttle: new VaultThrottle(limits, lookup, () => clock.now) };
}

/** How many calls in a row go through before the first refusal (at most `max`). */
function admitted(take: () => unknown, max = 10_000): number {
  for (let i = 0; i < max; i++) if (take() !== undefined) return i;
  return max;
}

t.test('every RPC is classified on purpose: those that name no vault have no per-vault limit', async (t) => {
  const unclassified = RPC_PATHS.filter((p) => throttleClassOf(p) === undefined);
  t.same(
    unclassified.filter((p) => !p.startsWith(`${V}Cluster/`) && !p.startsWith('/grpc.')),
    [`${V}Vaults/ListVaults`, `${V}Keys/GetRandomBytes`],
  );
  t.equal(throttleClassOf(`${V}Secrets/GetSecret`), 'secrets');
  t.equal(throttleClassOf(`${V}Vaults/GetVault`), 'secrets', 'vault transactions count with secrets');
  t.equal(throttleClassOf(`${V}Keys/CreateKey`), 'keyCreate');
  t.equal(throttleClassOf(`${V}Keys/RotateKey`), 'keyCreate');
  t.equal(throttleClassOf(`${V}Keys/Sign`), 'keys');
  t.equal(throttleClassOf(`${V}Keys/GetKey`), 'keys');
});

t.test("Azure's weights: a key type's cost is the budget over its limit", async (t) => {
  const cost = (k: keyof typeof KEYS) => costOf(AZURE_THROTTLE_LIMITS, 'keys', keyTypeName(KEYS[k]!)).cost;
  t.equal(keyTypeName(KEYS.rsa4096!), 'RSA-4096');
  t.equal(keyTypeName({ kty: 'EC-HSM', keySize: 0, curve: 'P-256K' }), 'EC-P-256K');
  t.equal(cost('rsa2048'), 1);
  t.equal(cost('rsa3072'), 4);
  t.equal(cost('rsa4096'), 8, 'RSA-4096 costs 8 times RSA-2048');
  t.equal(cost('ec'), 1);
  t.same(costOf(AZURE_THROTTLE_LIMITS, 'keys', undefined), { budget: 4000, cost: 1 }, 'an unknown key costs 1');
  t.same(costOf(AZURE_THROTTLE_LIMITS, 'keyCreate', 'RSA-4096'), { budget: 20, cost: 1 }, 'creation is 20 for every key type');
});

t.test('secrets and vault transactions: 4,000 per vault per 10 s, shared by the class, separate per vault', async (t) => {
  const { clock, throttle } = setup();
  const get = (vault: string) => () => throttle.take(`${V}Secrets/GetSecret`, { vault, name: 's' });
  t.equal(admitted(get('payroll')), 4000);
  t.ok(throttle.take(`${V}Vaults/GetVault`, { name: 'PAYROLL' }), 'GetVault of the same vault (any case) is over the same limit');
  t.equal(throttle.take(`${V}Keys/Sign`, { vault: 'payroll', name: 'rsa2048' }), undefined, 'key transactions have a limit of their own');
  t.equal(admitted(get('other')), 4000, 'another vault has its own');
  t.equal(throttle.take(`${V}Vaults/ListVaults`, {}), undefined, 'calls that name no vault are not limited here');
  clock.now += 10_000;
  t.equal(admitted(get('payroll')), 4000, 'a whole window later the vault has its full limit again');
});

t.test('key transactions are enforced on their weighted sum', async (t) => {
  const { throttle } = setup();
  const sign = (name: string) => () => throttle.take(`${V}Keys/Sign`, { vault: 'v', name, algorithm: 'RS256' });
  t.equal(admitted(sign('rsa4096')), 500, '500 RSA-4096 operations fill the window');
  t.ok(sign('rsa2048')(), 'and then RSA-2048 ones are refused too');
  const fresh = throttle.take(`${V}Keys/Sign`, { vault: 'w', name: 'rsa2048' });
  t.equal(fresh, undefined);
  t.equal(admitted(sign('nothing-of-that-name')), 0, 'a call naming no known key still costs');
});

t.test('key creation: 20 per vault per 10 s', async (t) => {
  const { throttle } = setup();
  t.equal(admitted(() => throttle.take(`${V}Keys/CreateKey`, { vault: 'v', name: 'k', kty: 'EC' })), 20);
  t.equal(throttle.take(`${V}Keys/GetKey`, { vault: 'v', name: 'rsa2048' }), undefined, 'other key transactions are not held up');
});

t.test('a refused call takes nothing, and retry-after-ms says when it fits', async (t) => {
  const { clock, throttle } = setup({ ...AZURE_THROTTLE_LIMITS, secrets: 10, windowMs: 1000 });
  const set = () => throttle.take(`${V}Secrets/SetSecret`, { vault: 'v', name: 's' });
  t.equal(admitted(set), 10);
  const refused = set();
  t.equal(refused?.retryAfterMs, 100, 'one token comes back every 100 ms');
  t.match(refused?.message, /vault v is over its limit of 10 secrets and vault transactions per 1 s/);
  for (let i = 0; i < 50; i++) set();
  clock.now += 100;
  t.equal(set(), undefined, 'the refusals took nothing: after retry-after-ms the call goes');
  t.ok(set(), 'and only that one');
});

t.test('a token bucket refills at capacity per window, never beyond capacity', async (t) => {
  const b = new TokenBucket(4, 1000, 0);
  t.equal(b.take(4, 0), 0);
  t.equal(b.take(1, 0), 250);
  t.equal(b.take(2, 250), 250, 'one token back after 250 ms: the second needs 250 more');
  t.equal(b.take(9, 100_000), 0, 'a cost beyond the capacity takes the whole bucket');
  t.notOk(b.full(100_000));
  t.ok(b.full(101_000));
  t.equal(b.take(1, 50), 0, 'a clock that goes back counts as no time passing');
});
