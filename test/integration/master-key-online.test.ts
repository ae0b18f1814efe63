// Online master-key rotation on a two-region cluster, under a steady client
// workload (writes, reads and signs through both regions' endpoints) that
// must see zero failed requests: every node is restarted, one at a time,
// with the new master key and the previous one; a rotation is refused while
// the secondary still runs with the old key only, and a node given only the
// new key before the rotation refuses to start; then the rotation, more
// writes, every node restarted with the new key alone, and every old and new
// secret and key read and used on the primary and on the failed-over
// secondary. The old key alone is refused at the end.

import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { KeyraftClient, KeyraftError } from '../../src/client/index.js';
import { createMasterKeyFile, loadMasterKey, masterKeyFingerprint } from '../../src/crypto/masterkey.js';
import { readKeyStamp } from '../../src/storage/keystamp.js';
import { TestCluster, eventually } from './cluster.js';
import { ROOT } from '../root.js';

t.setTimeout(600_000);

const ROLLING = join(ROOT, 'dist/scripts/rolling.js');
const VAULT = 'mkonline';
const DIGEST = Buffer.alloc(32, 7);

interface KeyStatus {
  id: string;
  leader: string;
  masterKeyFingerprint: string;
  previousMasterKeyFingerprint: string;
  previousMasterKeyNeeded: boolean;
}

/** scripts/rolling.js wait NODE: until NODE has applied what its leader had committed when it came back. */
function waitCaughtUp(cluster: TestCluster, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [ROLLING, '--topology', cluster.topologyFile, '--pki', cluster.pkiDir, 'wait', id], { timeout: 90_000 }, (err, _out, stderr) =>
      err === null ? resolve() : reject(new Error(`${id} did not catch up: ${stderr}\n${id}'s log ends:\n${cluster.log(id).slice(-4000)}`)),
    );
  });
}

/** Every node of `region`, followers first and the leader last: drained, started with `args`, caught up. */
async function rollingRestart(cluster: TestCluster, region: string, args: string[]): Promise<void> {
  const nodes = cluster.regionNodes(region);
  const leader = (await Promise.all(nodes.map((n) => cluster.admin<KeyStatus>(n.id, 'nodeStatus', {}).then((s) => s.leader, () => '')))).find((l) => l !== '');
  for (const n of [...nodes.filter((n) => n.id !== leader), ...nodes.filter((n) => n.id === leader)]) {
    await cluster.stop(n.id);
    cluster.start(n.id, args);
    await waitCaughtUp(cluster, n.id);
  }
}

/** Writes, reads and signs in a loop through `endpoints` until stopped; counts what fails. */
class Workload {
  readonly written = new Map<string, string>();
  readonly failures: string[] = [];
  calls = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(private readonly client: KeyraftClient, private readonly prefix: string) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const name = `${this.prefix}-${i}`;
      await this.attempt(`set ${name}`, async () => {
        await this.client.setSecret({ vault: VAULT, name, value: `value of ${name}`, requestId: `${name}-req` });
        this.written.set(name, `value of ${name}`);
      });
      const names = [...this.written.keys()];
      const pick = names[Math.floor(Math.random() * names.length)];
      if (pick !== undefined) {
        await this.attempt(`get ${pick}`, async () => {
          const s = await this.client.getSecret({ vault: VAULT, name: pick });
          if (s.value !== this.written.get(pick)) throw new Error(`read ${s.value} for ${pick}`);
        });
      }
      await this.attempt('sign', async () => {
        const sig = await this.client.sign({ vault: VAULT, name: 'signer', algorithm: 'ES256', digest: DIGEST });
        if (sig.value.length !== 64) throw new Error('a short signature');
      });
    }
  }

  private async attempt(what: string, call: () => Promise<void>): Promise<void> {
    this.calls++;
    try {
      await call();
    } catch (e) {
      this.failures.push(`${what}: ${e instanceof KeyraftError ? `${e.reason} ${e.message}` : String(e)}`);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

t.test('the master key rotates with every node serving, and no client request fails', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 3 }] });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const client = (endpoints: string[]) => {
    const c = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints, timeoutMs: 10_000 });
    t.teardown(() => c.close());
    return c;
  };
  const east = client(cluster.endpoints('east'));
  const west = client(cluster.endpoints('west'));
  const oldKey = cluster.masterKeyFile;
  const newKey = join(cluster.dir, 'new.key');
  createMasterKeyFile(newKey);
  const oldFp = masterKeyFingerprint(loadMasterKey(oldKey));
  const newFp = masterKeyFingerprint(loadMasterKey(newKey));
  const keyStatus = (id: string) => cluster.admin<KeyStatus>(id, 'nodeStatus', {});

  await eventually('the vault', () => east.createVault({ name: VAULT }).then(() => true), 60_000);
  const before = new Map<string, string>();
  for (let i = 0; i < 5; i++) {
    before.set(`old-${i}`, `old value ${i}`);
    await east.setSecret({ vault: VAULT, name: `old-${i}`, value: `old value ${i}` });
  }
  await east.createKey({ vault: VAULT, name: 'signer', kty: 'EC', curve: 'P-256' });
  const oldSig = (await east.sign({ vault: VAULT, name: 'signer', algorithm: 'ES256', digest: DIGEST })).value;
  await eventually('the secondary to hold the key', () => west.getKey({ vault: VAULT, name: 'signer' }).then(() => true), 60_000);
  t.same((await keyStatus('east-1')).masterKeyFingerprint, oldFp, 'a node reports its master key by fingerprint');

  const workloads = [new Workload(east, 'e'), new Workload(west, 'w')];
  const started = Date.now();
  const both = ['--master-key', newKey, '--previous-master-key', oldKey];
  await rollingRestart(cluster, 'east', both);

  // West still has only the old key: the rotation is refused, naming its nodes.
  const refused = await east.rotateMasterKey().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(refused instanceof KeyraftError, 'the rotation is refused while the secondary has the old key only');
  if (refused instanceof KeyraftError) {
    t.equal(refused.reason, 'MASTER_KEY_NOT_EVERYWHERE');
    t.match(refused.message, /west-1.*west-2.*west-3/, 'and names the nodes');
  }

  // A node given only the new key before the rotation refuses to start, and says why.
  await cluster.stop('west-1');
  cluster.start('west-1', ['--master-key', newKey]);
  t.not(await cluster.exited('west-1'), 0, 'only the new key, before the rotation: refused');
  t.match(cluster.log('west-1'), /wrong master key.*previous master key too/);
  cluster.start('west-1');
  await waitCaughtUp(cluster, 'west-1');

  await rollingRestart(cluster, 'west', both);
  for (const n of cluster.nodes) {
    const s = await keyStatus(n.id);
    t.same([s.masterKeyFingerprint, s.previousMasterKeyFingerprint, s.previousMasterKeyNeeded], [newFp, oldFp, true], `${n.id} holds both keys and needs the old one`);
  }

  const rotated = await east.rotateMasterKey();
  t.equal(rotated.masterKeyFingerprint, newFp);
  t.ok(rotated.dataKeys >= 1, `${rotated.dataKeys} data keys rewrapped`);
  t.same([...rotated.checkedNodes].sort(), cluster.nodes.map((n) => n.id).sort(), 'every node was checked');
  t.same(rotated.unreachableNodes, []);
  for (const n of cluster.nodes) {
    await eventually(`${n.id} to need the old key no more`, async () => !(await keyStatus(n.id)).previousMasterKeyNeeded, 30_000);
    await eventually(`${n.id}'s data folder restamped`, async () => readKeyStamp(n.dataDir) === newFp, 10_000);
  }

  const after = new Map<string, string>();
  for (let i = 0; i < 5; i++) {
    after.set(`new-${i}`, `new value ${i}`);
    await east.setSecret({ vault: VAULT, name: `new-${i}`, value: `new value ${i}` });
  }
  await rollingRestart(cluster, 'east', ['--master-key', newKey]);
  await rollingRestart(cluster, 'west', ['--master-key', newKey]);
  const rotationMs = Date.now() - started;
  await Promise.all(workloads.map((w) => w.stop()));
  const calls = workloads.reduce((n, w) => n + w.calls, 0);
  t.same(workloads.flatMap((w) => w.failures), [], `zero failed client requests out of ${calls} during ${rotationMs} ms of rotation`);
  t.comment(`${calls} client calls, rotation with four rolling restarts in ${rotationMs} ms`);

  // Everything written, before, during and after, reads back and the key signs: on the primary...
  const everything = new Map([...before, ...after, ...workloads.flatMap((w) => [...w.written])]);
  const check = async (c: KeyraftClient, where: string) => {
    let wrong = 0;
    for (const [name, value] of everything) if ((await c.getSecret({ vault: VAULT, name })).value !== value) wrong++;
    t.equal(wrong, 0, `${everything.size} secrets read back on ${where}`);
    t.ok((await c.verify({ vault: VAULT, name: 'signer', algorithm: 'ES256', digest: DIGEST, signature: oldSig })).value, `the old signature verifies on ${where}`);
    const sig = (await c.sign({ vault: VAULT, name: 'signer', algorithm: 'ES256', digest: DIGEST })).value;
    t.ok((await c.verify({ vault: VAULT, name: 'signer', algorithm: 'ES256', digest: DIGEST, signature: sig })).value, `and it signs on ${where}`);
  };
  await check(east, 'the primary');
  // ...and on the secondary, serving from its own state once failed over.
  const lastName = [...everything.keys()].pop()!;
  await eventually('the secondary to catch up', () => west.getSecret({ vault: VAULT, name: lastName }).then(() => true), 30_000);
  const region = await west.failover({ reason: 'master-key rotation test' });
  t.equal(region.mode, 'FAILED_OVER');
  await check(west, 'the failed-over secondary');

  // The old key alone is refused now, before anything changes.
  await cluster.stop('east-2');
  cluster.start('east-2', ['--master-key', oldKey]);
  t.not(await cluster.exited('east-2'), 0, 'the old master key alone is refused after the rotation');
  t.match(cluster.log('east-2'), /wrong master key/);
});
