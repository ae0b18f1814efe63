// The seed's scenario against a running local cluster (make cluster): write
// secrets and keys, lose the whole primary region, measure how long until the
// secondary serves reads (RTO) while a client keeps reading, run every
// read-only operation of the seed on the secondary and check each result,
// check that every write is refused with READ_ONLY_FAILOVER, bring the
// primary back, measure how long until writes succeed and until failback
// commits, and check that everything acknowledged before is still there.
//
//   node dist/scripts/failover-scenario.js [--runs N] [--topology cluster/local.json] [--ca cluster/.data/pki/ca.crt] [--token-file cluster/.data/admin.token]

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KeyraftClient, KeyraftError } from '../src/client/index.js';
import { loadTopology } from '../src/topology.js';
import { eventually } from '../test/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface RunReport {
  rtoMs: number;
  sdkRtoMs: number;
  writesBackAfterRestartMs: number;
  writesBackAfterQuorumMs: number;
  failbackAfterRestartMs: number;
  checks: number;
}

class Check {
  count = 0;
  ok(cond: unknown, what: string): void {
    this.count++;
    if (!cond) throw new Error(`check failed: ${what}`);
  }
  async refused(p: Promise<unknown>, what: string): Promise<void> {
    this.count++;
    try {
      await p;
    } catch (e) {
      if (e instanceof KeyraftError && e.reason === 'READ_ONLY_FAILOVER') return;
      throw new Error(`${what}: expected READ_ONLY_FAILOVER, got ${e instanceof KeyraftError ? `${e.reason}: ${e.message}` : String(e)}`);
    }
    throw new Error(`${what}: expected READ_ONLY_FAILOVER, but it succeeded`);
  }
}

function step(what: string): void {
  process.stdout.write(`  ${new Date().toISOString().slice(11, 23)} ${what}\n`);
}

function script(name: string, ...args: string[]): void {
  execFileSync(join(ROOT, 'scripts', name), args, { stdio: ['ignore', 'ignore', 'inherit'], env: process.env });
}

async function run(topologyPath: string, ca: Buffer, token: string, runNo: number): Promise<RunReport> {
  const topology = loadTopology(topologyPath);
  const primary = topology.regions.find((r) => r.role === 'primary')!;
  const secondary = topology.regions.find((r) => r.role === 'secondary')!;
  const all = new KeyraftClient({ ca, token, endpoints: topology.regions.flatMap((r) => r.nodes.map((n) => n.client)), timeoutMs: 10_000 });
  const east = new KeyraftClient({ ca, token, regionAware: false, endpoints: primary.nodes.map((n) => n.client), timeoutMs: 5000 });
  const west = new KeyraftClient({ ca, token, regionAware: false, endpoints: secondary.nodes.map((n) => n.client), timeoutMs: 5000, retries: 2 });
  const c = new Check();
  try {
    const vault = `failover-${Date.now().toString(36)}-${runNo}`;
    step(`writing secrets and keys in vault ${vault}`);
    await east.createVault({ name: vault });
    const secrets = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const value = `value-${i}-${Math.random().toString(36).slice(2)}`;
      await east.setSecret({ vault, name: `secret-${i}`, value });
      secrets.set(`secret-${i}`, value);
    }
    const rsa = await east.createKey({ vault, name: 'rsa', kty: 'RSA', keySize: 2048 });
    const ec = await east.createKey({ vault, name: 'ec', kty: 'EC', curve: 'P-256' });
    const oct = await east.createKey({ vault, name: 'aes', kty: 'oct', keySize: 256 });
    const digest = createHash('sha256').update('the seed says: you do not need to take any action').digest();
    const rsaSig = await east.sign({ vault, name: 'rsa', algorithm: 'RS256', digest });
    const ecSig = await east.sign({ vault, name: 'ec', algorithm: 'ES256', digest });
    const plaintext = Buffer.from('encrypted before the failover');
    const rsaCt = await east.encrypt({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: plaintext });
    const gcm = await east.encrypt({ vault, name: 'aes', algorithm: 'A256GCM', value: plaintext });
    const dataKey = Buffer.alloc(32, 7);
    const wrapped = await east.wrapKey({ vault, name: 'aes', algorithm: 'A256KW', value: dataKey });

    step('waiting for the secondary to catch up');
    await eventually('the secondary caught up', async () => ((await all.getStatus({})).nodes.every((n) => !n.reachable || n.geoLagEntries === 0) ? true : undefined), 20_000, 100);

    step(`killing region ${primary.name}`);
    const killedAt = Date.now();
    script('kill-region.sh', primary.name);
    // Clients that keep reading: the RTO is when a read first succeeds again,
    // from a client of the secondary, and from an application's SDK client
    // that was given every endpoint and told nothing.
    const readAgain = (client: KeyraftClient) =>
      eventually(
        'reads after the loss',
        async () => ((await client.getSecret({ vault, name: 'secret-0' }, { timeoutMs: 500 })).value === secrets.get('secret-0') ? Date.now() - killedAt : undefined),
        30_000,
        50,
      );
    const [rtoMs, sdkRtoMs] = await Promise.all([readAgain(west), readAgain(all)]);
    step(`the secondary serves reads after ${rtoMs} ms (an SDK client with every endpoint reads again after ${sdkRtoMs} ms)`);

    // The seed's list, each checked against what was written.
    // Every page: a cluster that has run the scenario before holds more vaults than one page.
    let listedVault = false;
    for await (const v of west.listAllVaults()) listedVault ||= v.name === vault;
    c.ok(listedVault, 'list vaults');
    c.ok((await west.getVault({ name: vault })).name === vault, 'get vault properties');
    const listed: string[] = [];
    for await (const p of west.listAllSecrets(vault)) listed.push(p.name);
    c.ok(listed.length === secrets.size, `list secrets (${listed.length})`);
    for (const [name, value] of secrets) c.ok((await west.getSecret({ vault, name })).value === value, `get secret ${name}`);
    const keys: string[] = [];
    for await (const k of west.listAllKeys(vault)) keys.push(k.name);
    c.ok(keys.length === 3, 'list keys');
    const rsaNow = await west.getKey({ vault, name: 'rsa' });
    c.ok(Buffer.from(rsaNow.key!.n).equals(Buffer.from(rsa.key!.n)), 'get key: the same public key');
    c.ok((await west.getKey({ vault, name: 'ec' })).properties!.version === ec.properties!.version, 'get key (EC)');
    const enc = await west.encrypt({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: plaintext });
    c.ok(Buffer.from((await west.decrypt({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: enc.value })).value).equals(plaintext), 'encrypt + decrypt');
    c.ok(Buffer.from((await west.decrypt({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: rsaCt.value })).value).equals(plaintext), 'decrypt (RSA, from before)');
    const gcmPlain = await west.decrypt({ vault, name: 'aes', algorithm: 'A256GCM', value: gcm.value, iv: gcm.iv, tag: gcm.tag });
    c.ok(Buffer.from(gcmPlain.value).equals(plaintext), 'decrypt (AES-GCM, from before)');
    c.ok(Buffer.from((await west.unwrapKey({ vault, name: 'aes', algorithm: 'A256KW', value: wrapped.value })).value).equals(dataKey), 'unwrap (from before)');
    const rewrapped = await west.wrapKey({ vault, name: 'aes', algorithm: 'A256KW', value: dataKey });
    c.ok(Buffer.from(rewrapped.value).equals(Buffer.from(wrapped.value)), 'wrap (AES-KW is deterministic)');
    c.ok((await west.verify({ vault, name: 'rsa', algorithm: 'RS256', digest, signature: rsaSig.value })).value, 'verify (RSA, from before)');
    c.ok((await west.verify({ vault, name: 'ec', algorithm: 'ES256', digest, signature: ecSig.value })).value, 'verify (EC, from before)');
    const newSig = await west.sign({ vault, name: 'ec', algorithm: 'ES256', digest });
    c.ok((await west.verify({ vault, name: 'ec', algorithm: 'ES256', digest, signature: newSig.value })).value, 'sign');
    c.ok((await west.backupSecret({ vault, name: 'secret-1' })).value.length > 0, 'backup secret');
    c.ok((await west.backupKey({ vault, name: 'rsa' })).value.length > 0, 'backup key');
    void oct;

    await c.refused(west.setSecret({ vault, name: 'new', value: 'x' }), 'set secret');
    await c.refused(west.createVault({ name: `${vault}-x` }), 'create vault');
    await c.refused(west.deleteSecret({ vault, name: 'secret-1' }), 'delete secret');
    await c.refused(west.updateSecretProperties({ vault, name: 'secret-1', enabled: false }), 'update secret');
    await c.refused(west.createKey({ vault, name: 'new-key', kty: 'EC' }), 'create key');
    await c.refused(west.rotateKey({ vault, name: 'rsa' }), 'rotate key');
    await c.refused(west.deleteKey({ vault, name: 'rsa' }), 'delete key');
    await c.refused(west.updateKeyProperties({ vault, name: 'rsa', enabled: false }), 'update key');
    await c.refused(west.deleteVault({ name: vault }), 'delete vault');
    step(`${c.count} checks passed on the failed-over secondary`);

    step(`restarting region ${primary.name}`);
    const restartedAt = Date.now();
    script('start-region.sh', primary.name);
    const quorumAt = await eventually(
      'a primary leader',
      async () => ((await west.getStatus({}, { timeoutMs: 500 })).regions.find((r) => r.name === primary.name)?.leader ? Date.now() : undefined),
      30_000,
      50,
    );
    const writesBackAt = await eventually(
      'writes on the primary',
      async () => ((await east.setSecret({ vault, name: 'after', value: 'failback' }, { timeoutMs: 1000 })).value === 'failback' ? Date.now() : undefined),
      30_000,
      50,
    );
    secrets.set('after', 'failback');
    const failbackAt = await eventually('failback', async () => ((await west.getStatus({}, { timeoutMs: 500 })).regions.find((r) => r.name === secondary.name)?.mode === 'STANDBY' ? Date.now() : undefined), 60_000, 100);
    for (const [name, value] of secrets) c.ok((await all.getSecret({ vault, name })).value === value, `after failback: ${name}`);
    c.ok((await all.verify({ vault, name: 'rsa', algorithm: 'RS256', digest, signature: rsaSig.value })).value, 'after failback: verify');
    return {
      rtoMs,
      sdkRtoMs,
      writesBackAfterRestartMs: writesBackAt - restartedAt,
      writesBackAfterQuorumMs: Math.max(0, writesBackAt - quorumAt),
      failbackAfterRestartMs: failbackAt - restartedAt,
      checks: c.count,
    };
  } finally {
    all.close();
    east.close();
    west.close();
  }
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return `median ${median} ms, max ${sorted[sorted.length - 1]} ms`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1' },
      topology: { type: 'string', default: join(ROOT, 'cluster/local.json') },
      ca: { type: 'string', default: join(ROOT, 'cluster/.data/pki/ca.crt') },
      'token-file': { type: 'string', default: join(ROOT, 'cluster/.data/admin.token') },
    },
  });
  const ca = readFileSync(values.ca!);
  const token = readFileSync(values['token-file']!, 'utf8').trim();
  const runs = Number(values.runs);
  const reports: RunReport[] = [];
  for (let i = 1; i <= runs; i++) {
    console.log(`run ${i}/${runs}`);
    try {
      const r = await run(values.topology!, ca, token, i);
      reports.push(r);
      console.log(
        `run ${i} passed: RTO ${r.rtoMs} ms (SDK client ${r.sdkRtoMs} ms); writes back ${r.writesBackAfterRestartMs} ms after restart (${r.writesBackAfterQuorumMs} ms after quorum); failback ${r.failbackAfterRestartMs} ms after restart; ${r.checks} checks`,
      );
    } catch (e) {
      console.log(`run ${i} FAILED: ${e instanceof Error ? e.message : String(e)}`);
      try {
        script('start-region.sh', loadTopology(values.topology!).regions.find((r) => r.role === 'primary')!.name);
      } catch {
        // best effort: leave the cluster whole for the next attempt
      }
      return 1;
    }
  }
  console.log('\nreport');
  console.log(`  runs passed in a row:        ${reports.length}`);
  console.log(`  RTO (reads on the secondary): ${stats(reports.map((r) => r.rtoMs))}`);
  console.log(`  RTO (an SDK client, all endpoints): ${stats(reports.map((r) => r.sdkRtoMs))}`);
  console.log(`  writes back after quorum:     ${stats(reports.map((r) => r.writesBackAfterQuorumMs))}`);
  console.log(`  writes back after restart:    ${stats(reports.map((r) => r.writesBackAfterRestartMs))}`);
  console.log(`  failback after restart:       ${stats(reports.map((r) => r.failbackAfterRestartMs))}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`failover-test: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  },
);
