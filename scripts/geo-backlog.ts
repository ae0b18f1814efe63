// Issue 19: the whole secondary region down for --minutes M under the heaviest
// write load the primary accepts, with the largest values (25 KiB, the most a
// secret holds). Every primary node's RSS is sampled from /proc each second
// and must stay under --bound-mb; then the secondary starts again and the
// script measures how long it takes to catch up (from a snapshot, once the
// primary has written more than raft.geoRetainBytes).
//
//   npx tsc -p tsconfig.json && node dist/scripts/geo-backlog.js --minutes 10
//
// Each writer owns one secret; when it holds the most versions a secret may
// (TOO_MANY_VERSIONS) the writer deletes and purges it and starts it again, so
// the state stays under writers x MAX_VERSIONS x 25 KiB while the log churns.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { KeyraftClient, KeyraftError } from '../src/client/index.js';
import { loadTopology } from '../src/topology.js';
import { MAX_SECRET_VALUE_BYTES, MAX_VERSIONS } from '../src/vault/index.js';
import { TestCluster, eventually } from '../test/integration/cluster.js';

const MiB = 1024 * 1024;
const VAULT = 'backlog';

const o = new Command('geo-backlog')
  .description('RSS of the primary nodes while the secondary region is down under the heaviest write load, and the catch-up after')
  .option('--minutes <m>', 'minutes with the secondary region down', '10')
  .option('--concurrency <n>', 'SetSecret calls in flight (one writer, one secret each)', '32')
  .option('--bound-mb <mb>', 'the RSS every primary node must stay under', '1024')
  .option('--sample-ms <ms>', 'how often RSS is read', '1000')
  .option('--progress-s <s>', 'seconds between progress lines', '10')
  .parse()
  .opts<{ minutes: string; concurrency: string; boundMb: string; sampleMs: string; progressS: string }>();
const minutes = Number(o.minutes);
const concurrency = Number(o.concurrency);
const boundMb = Number(o.boundMb);

const log = (s: string) => process.stdout.write(`${s}\n`);
const elapsed = (since: number) => {
  const s = Math.round((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

/** Resident set size in MB, from /proc/PID/status (VmRSS), or 0 once the process is gone. */
function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) / 1024;
  } catch {
    return 0;
  }
}

const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 3 }] });
const procs = new Map<string, ChildProcess>();
const clients: KeyraftClient[] = [];
let finished = false;
const cleanup = async () => {
  if (finished) return;
  finished = true;
  for (const c of clients) c.close();
  await cluster.destroy();
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().then(() => process.exit(130)));

try {
  const { raft } = loadTopology(cluster.topologyFile);
  log(`geo-backlog: a 3+3 cluster in ${cluster.dir}; the secondary region down for ${minutes} min; ${concurrency} SetSecret in flight with ${MAX_SECRET_VALUE_BYTES}-byte values`);
  const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
  log(`  the log: compacted every ${raft.compactEvery} entries or ${mib(raft.compactEveryBytes)}; kept for the secondary up to ${raft.geoRetainEntries} entries or ${mib(raft.geoRetainBytes)}`);
  log(`  the state: at most ${concurrency} secrets x ${MAX_VERSIONS} versions x ${MAX_SECRET_VALUE_BYTES} bytes = ${mib(concurrency * MAX_VERSIONS * MAX_SECRET_VALUE_BYTES)}; bound: ${boundMb} MB RSS per primary node`);
  for (const n of cluster.nodes) procs.set(n.id, cluster.start(n.id));
  const east = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: cluster.endpoints('east'), timeoutMs: 30_000 });
  clients.push(east);
  await eventually('the vault', () => east.createVault({ name: VAULT }).then(() => true), 120_000);
  await eventually('the secondary region in STANDBY', async () => (await east.getStatus({})).nodes.filter((n) => n.region === 'west' && n.mode === 'STANDBY').length === 3 || undefined, 120_000);

  const primary = cluster.regionNodes('east');
  const peak = new Map(primary.map((n) => [n.id, 0]));
  const now = new Map(primary.map((n) => [n.id, 0]));
  const sample = () => {
    for (const n of primary) {
      const mb = rssMb(procs.get(n.id)?.pid);
      now.set(n.id, mb);
      peak.set(n.id, Math.max(peak.get(n.id)!, mb));
    }
  };
  const sampler = setInterval(sample, Number(o.sampleMs));
  sample();
  log(`  RSS before: ${primary.map((n) => `${n.id} ${now.get(n.id)!.toFixed(0)} MB`).join(', ')}`);

  await Promise.all(cluster.regionNodes('west').map((n) => cluster.stop(n.id)));
  log('  the secondary region is stopped (SIGTERM); writing');

  const started = Date.now();
  const deadline = started + minutes * 60_000;
  let writes = 0;
  let restarts = 0;
  const errors = new Map<string, number>();
  const value = 'x'.repeat(MAX_SECRET_VALUE_BYTES);
  const writer = async (w: number) => {
    const name = `w${w}`;
    while (Date.now() < deadline) {
      try {
        await east.setSecret({ vault: VAULT, name, value });
        writes++;
      } catch (e) {
        const reason = e instanceof KeyraftError ? e.reason : String(e);
        if (reason === 'TOO_MANY_VERSIONS') {
          await east.deleteSecret({ vault: VAULT, name }).catch(() => undefined);
          await east.purgeDeletedSecret({ vault: VAULT, name }).catch(() => undefined);
          restarts++;
          continue;
        }
        errors.set(reason, (errors.get(reason) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  let lastWrites = 0;
  const progress = setInterval(() => {
    const rate = (writes - lastWrites) / Number(o.progressS);
    lastWrites = writes;
    const rss = primary.map((n) => `${n.id} ${now.get(n.id)!.toFixed(0)} (peak ${peak.get(n.id)!.toFixed(0)})`).join(', ');
    log(`  [${elapsed(started)}] ${writes.toLocaleString('en-US')} writes, ${rate.toFixed(0)}/s, ${((rate * MAX_SECRET_VALUE_BYTES) / MiB).toFixed(1)} MiB/s; RSS MB ${rss}`);
  }, Number(o.progressS) * 1000);
  await Promise.all(Array.from({ length: concurrency }, (_, w) => writer(w)));
  clearInterval(progress);
  const writeSeconds = (Date.now() - started) / 1000;
  const status = await east.getStatus({});
  const target = Math.max(...status.nodes.filter((n) => n.region === 'east').map((n) => n.commitIndex));
  log(`  wrote ${writes.toLocaleString('en-US')} values (${(writes / writeSeconds).toFixed(0)}/s, ${((writes * MAX_SECRET_VALUE_BYTES) / MiB).toFixed(0)} MiB) in ${writeSeconds.toFixed(0)} s; ${restarts} secrets started again at ${MAX_VERSIONS} versions; primary commit index ${target}`);
  if (errors.size > 0) log(`  errors: ${JSON.stringify(Object.fromEntries(errors))}`);

  const restartedAt = Date.now();
  for (const n of cluster.regionNodes('west')) procs.set(n.id, cluster.start(n.id));
  log('  the secondary region is starting again');
  const catchUp = setInterval(() => {
    void east.getStatus({}).then(
      (s) => log(`  [${elapsed(restartedAt)}] secondary at ${s.nodes.filter((n) => n.region === 'west').map((n) => `${n.id} ${n.reachable ? n.primaryIndex : '-'}`).join(', ')} of ${target}`),
      () => undefined,
    );
  }, Number(o.progressS) * 1000);
  await eventually(
    `the secondary to reach index ${target}`,
    async () => (await east.getStatus({})).nodes.filter((n) => n.region === 'west').every((n) => n.reachable && n.primaryIndex >= target) || undefined,
    3_600_000,
    500,
  );
  clearInterval(catchUp);
  const catchUpS = (Date.now() - restartedAt) / 1000;
  clearInterval(sampler);
  sample();
  const snapshot = cluster.regionNodes('west').some((n) => cluster.log(n.id).includes('installed a primary snapshot'));

  log('');
  log(`geo-backlog: ${minutes} min with the secondary region down, ${writes.toLocaleString('en-US')} writes of ${MAX_SECRET_VALUE_BYTES} bytes (${(writes / writeSeconds).toFixed(0)}/s)`);
  log(`  ${'node'.padEnd(8)} ${'peak RSS MB'.padStart(12)} ${'bound MB'.padStart(9)}  within`);
  let within = true;
  for (const n of primary) {
    const ok = peak.get(n.id)! < boundMb;
    within &&= ok;
    log(`  ${n.id.padEnd(8)} ${peak.get(n.id)!.toFixed(0).padStart(12)} ${String(boundMb).padStart(9)}  ${ok ? 'yes' : 'NO'}`);
  }
  log(`  the secondary caught up to index ${target} in ${catchUpS.toFixed(1)} s after it started again${snapshot ? ', from a primary snapshot' : ', from the log'}`);
  await cleanup();
  process.exit(within ? 0 : 1);
} catch (e) {
  log(`geo-backlog failed: ${e instanceof Error ? e.message : String(e)}`);
  await cleanup();
  process.exit(1);
}
