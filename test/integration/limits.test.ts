// Bytes, not counts (issue 19), on real nodes in two regions: a secret and a
// key filled to their version caps with the largest versions the vault
// accepts refuse one more version and change nothing; their backups (larger
// than grpc's default 4 MiB message) restore after a purge through the
// primary's leader, a primary follower and a STANDBY secondary node, which
// forwards; and a secondary that was down while the primary wrote more than
// geoRetainBytes catches up from a snapshot.

import { generateKeyPairSync } from 'node:crypto';
import t, { type Test } from 'tap';
import { KeyraftClient, KeyraftError } from '../../src/client/index.js';
import { MAX_CONTENT_TYPE, MAX_SECRET_VALUE_BYTES, MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE } from '../../src/vault/index.js';
import { TestCluster, eventually } from './cluster.js';
import { indexOf, secondaryHas } from './geo.js';

t.setTimeout(900_000);

const VAULT = 'limits';
/**
 * Caps lowered in the topology, to what still makes each backup larger than
 * grpc's default 4 MiB (a secret version with the worst tags is about 80 KB,
 * a key version about 50 KB), to keep the suite's time; that the default
 * cap's largest backups fit the client port's message is
 * test/server/backup-size.test.ts.
 */
const SECRET_CAP = 60;
const KEY_CAP = 90;
const MiB = 1024 * 1024;
/** Characters JSON escapes to six bytes: the largest backup for the tags' size. */
const worst = (n: number, first: string) => first + '\u0001'.repeat(n - 1);
const tags = Object.fromEntries(Array.from({ length: MAX_TAGS }, (_, i) => [worst(MAX_TAG_KEY, String.fromCharCode(0x41 + i)), worst(MAX_TAG_VALUE, 'v')]));
const largest = (i: number) => `${i}:`.padEnd(MAX_SECRET_VALUE_BYTES, 'x');

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof KeyraftError) return e.reason;
    throw e;
  }
}

const cluster = await TestCluster.create({
  regions: [
    { name: 'east', nodes: 3 },
    { name: 'west', nodes: 3 },
  ],
  geoRetainBytes: 2 * MiB,
  limits: { maxVersionsPerSecret: SECRET_CAP, maxVersionsPerKey: KEY_CAP },
  compactEveryBytes: 512 * 1024,
});
t.teardown(() => cluster.destroy());
cluster.startAll();
const clients: KeyraftClient[] = [];
const clientOf = (endpoints: string[]) => {
  const c = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints, timeoutMs: 60_000 });
  clients.push(c);
  return c;
};
t.teardown(() => clients.forEach((c) => c.close()));
const east = clientOf(cluster.endpoints('east'));
await eventually('the vault', () => east.createVault({ name: VAULT }).then(() => true), 60_000);

t.test('a secret and a key hold at most their caps of versions: one more is TOO_MANY_VERSIONS and changes nothing', async (t) => {
  const contentType = worst(MAX_CONTENT_TYPE, 'c');
  for (let i = 0; i < SECRET_CAP; i++) await east.setSecret({ vault: VAULT, name: 'full', value: largest(i), contentType, tags });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey.export({ format: 'jwk' });
  const b = (s: string | undefined) => Buffer.from(s!, 'base64url');
  const key = { kty: 'RSA', n: b(rsa.n), e: b(rsa.e), d: b(rsa.d), p: b(rsa.p), q: b(rsa.q), dp: b(rsa.dp), dq: b(rsa.dq), qi: b(rsa.qi) } as never;
  // ImportKey onto an existing name adds a version, as in Azure.
  for (let i = 0; i < KEY_CAP; i++) await east.importKey({ vault: VAULT, name: 'full', key, tags });
  const latest = async () => [await east.getSecret({ vault: VAULT, name: 'full' }), await east.getKey({ vault: VAULT, name: 'full' })];
  const before = await latest();
  t.equal(await reason(east.setSecret({ vault: VAULT, name: 'full', value: 'one more' })), 'TOO_MANY_VERSIONS');
  t.equal(await reason(east.importKey({ vault: VAULT, name: 'full', key })), 'TOO_MANY_VERSIONS');
  t.equal(await reason(east.rotateKey({ vault: VAULT, name: 'full' })), 'TOO_MANY_VERSIONS');
  t.same(await latest(), before, 'the latest versions are the same');
  t.equal(await countVersions('secret'), SECRET_CAP);
  t.equal(await countVersions('key'), KEY_CAP);
});

async function countVersions(kind: 'secret' | 'key'): Promise<number> {
  let n = 0;
  let pageToken = '';
  do {
    const page =
      kind === 'secret'
        ? await east.listSecretVersions({ vault: VAULT, name: 'full', pageToken }).then((p) => ({ items: p.secrets.length, next: p.nextPageToken }))
        : await east.listKeyVersions({ vault: VAULT, name: 'full', pageToken }).then((p) => ({ items: p.keys.length, next: p.nextPageToken }));
    n += page.items;
    pageToken = page.next;
  } while (pageToken !== '');
  return n;
}

t.test('their backups restore after a purge through the leader, a primary follower and a STANDBY secondary node', async (t) => {
  const nodes = (await east.getStatus({})).nodes;
  const leader = nodes.find((n) => n.region === 'east' && n.role === 'leader')!;
  const follower = nodes.find((n) => n.region === 'east' && n.role === 'follower')!;
  const standby = nodes.find((n) => n.region === 'west')!;
  t.equal(standby.mode, 'STANDBY');
  const latest = await east.getSecret({ vault: VAULT, name: 'full' });
  const latestKey = await east.getKey({ vault: VAULT, name: 'full' });
  for (const node of [leader, follower, standby]) {
    const via = clientOf([node.clientAddress]);
    await roundTrip(t, `${node.id} (${node.region === 'west' ? 'standby, forwarded' : node.role})`, {
      backup: () => via.backupSecret({ vault: VAULT, name: 'full' }),
      remove: async () => {
        await east.deleteSecret({ vault: VAULT, name: 'full' });
        await eventually('the purge', () => east.purgeDeletedSecret({ vault: VAULT, name: 'full' }).then(() => true), 30_000);
      },
      restore: (backup) => via.restoreSecret({ vault: VAULT, backup }),
      check: async () => {
        t.equal(await countVersions('secret'), SECRET_CAP, 'every version back');
        t.same(await east.getSecret({ vault: VAULT, name: 'full' }), latest, 'the latest version as it was');
      },
    });
    await roundTrip(t, `${node.id} key`, {
      backup: () => via.backupKey({ vault: VAULT, name: 'full' }),
      remove: async () => {
        await east.deleteKey({ vault: VAULT, name: 'full' });
        await eventually('the purge', () => east.purgeDeletedKey({ vault: VAULT, name: 'full' }).then(() => true), 30_000);
      },
      restore: (backup) => via.restoreKey({ vault: VAULT, backup }),
      check: async () => {
        t.equal(await countVersions('key'), KEY_CAP, 'every version back');
        t.same(await east.getKey({ vault: VAULT, name: 'full' }), latestKey, 'the latest version as it was');
      },
    });
  }
});

async function roundTrip(
  t: Test,
  via: string,
  steps: { backup: () => Promise<{ value: Uint8Array }>; remove: () => Promise<void>; restore: (b: Uint8Array) => Promise<unknown>; check: () => Promise<void> },
): Promise<void> {
  const { value } = await steps.backup();
  t.ok(value.length > 4 * MiB, `${via}: a backup of ${(value.length / MiB).toFixed(1)} MiB, past grpc's default message limit`);
  await steps.remove();
  await steps.restore(value);
  await steps.check();
}

t.test('a secondary down while the primary wrote more than geoRetainBytes catches up from a snapshot', async (t) => {
  const snapshots = () => cluster.regionNodes('west').map((n) => cluster.log(n.id).split('installed a primary snapshot').length - 1).reduce((a, b) => a + b, 0);
  await secondaryHas(east, await indexOf((o) => east.setSecret({ vault: VAULT, name: 'mark', value: 'before' }, o)));
  const before = snapshots();
  await Promise.all(cluster.regionNodes('west').map((n) => cluster.kill(n.id)));
  // 3 MiB of values, past the 2 MiB kept for the secondary.
  let last = 0;
  for (let i = 0; i < 120; i++) last = await indexOf((o) => east.setSecret({ vault: VAULT, name: `g${i}`, value: largest(i) }, o));
  for (const n of cluster.regionNodes('west')) cluster.start(n.id);
  await secondaryHas(east, last, 120_000);
  t.ok(snapshots() > before, 'the secondary took a snapshot');
  // The secondary's leader may still be settling after the restart and the install.
  await eventually('the failover', () => east.failover({ reason: 'read the secondary' }).then(() => true), 60_000);
  const west = clientOf(cluster.endpoints('west'));
  await eventually('west serves', () => west.getSecret({ vault: VAULT, name: 'g119' }).then(() => true), 30_000);
  t.equal((await west.getSecret({ vault: VAULT, name: 'g0' })).value, largest(0));
  t.equal((await west.getSecret({ vault: VAULT, name: 'g119' })).value, largest(119));
  await eventually('the failback', () => east.failback({}).then(() => true), 60_000);
});
