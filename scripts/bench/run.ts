// `make bench`: keyraft against etcd and against the machine's limits.
// node dist/scripts/bench/run.js --help for the flags.

import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import Table from 'cli-table3';
import { KeyraftClient } from '../../src/client/index.js';
import { ensurePki } from '../../src/ops/pki.js';
import { pkiPaths } from '../../src/transport/tls.js';
import { TestCluster, UNTHROTTLED, eventually } from '../../test/integration/cluster.js';
import { ECHO_NODE, type FromWorker, type System, type ToWorker, type WorkResult, type WorkSpec, VALUE_BYTES, median } from './common.js';
import { EtcdCluster, ensureEtcdInstalled } from './etcd.js';
import { Histogram } from './hist.js';
import { type LimitResult, cryptoLimits, diskLimits, regionDiskLimits, writeFloor } from './limits.js';
import { type ProfileSummary, summarizeProfile } from './profile.js';
import { chart } from './svg.js';
import { RESTART_TARGET_MS, RSS_TARGET_MB, type ScaleResult, runScale } from './scale.js';

// Each REST case right after its gRPC twin: the two are compared, and load from outside drifts less in seconds than in minutes.
const KEYRAFT_CASES = ['set', 'get', 'rest-get', 'sign-es256', 'rest-sign-es256', 'sign-rs256', 'encrypt-oaep256', 'encrypt-a256gcm', 'decrypt-oaep256'];
/** The cases driven over the REST gateway through the Azure SDKs, and the gRPC case each is compared with. */
const GRPC_TWIN = new Map([['rest-get', 'get'], ['rest-sign-es256', 'sign-es256']]);
const LABEL: Record<string, string> = {
  set: 'SetSecret', get: 'GetSecret', 'sign-es256': 'Sign ES256', 'sign-rs256': 'Sign RS256',
  'encrypt-oaep256': 'Encrypt RSA-OAEP-256', 'encrypt-a256gcm': 'Encrypt A256GCM', 'decrypt-oaep256': 'Decrypt RSA-OAEP-256',
  'rest-get': 'GetSecret (REST)', 'rest-sign-es256': 'Sign ES256 (REST)',
  put: 'Put', range: 'Range (linearizable)', echo: 'echo (TLS)',
};
const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const ECHO_SERVER = fileURLToPath(new URL('./echo-server.js', import.meta.url));
/** Preloaded into REST workers: *.kv.localhost resolves to 127.0.0.1. */
const KV_LOCALHOST = new URL('../../test/rest/kv-localhost.js', import.meta.url).href;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Like for like: every system runs as securely as keyraft does. */
const SECURITY = {
  keyraft: 'TLS on the client port, mutual TLS between nodes, a bearer JWT (EdDSA) on every call',
  rest: 'HTTPS (HTTP/1.1 keep-alive) on the REST port, the same bearer JWT on every call, through the Azure SDKs',
  etcd: 'TLS on the client port, mutual TLS between members, JWT auth (ES256) with the token on every call',
  echo: 'TLS (the grpc-js ceiling with encryption, no token)',
};

/** How each system confirms a linearizable read (README, "A leader answers linearizable reads under a read lease"). */
const READS = {
  lease: "the leader answers under its read lease, a ReadIndex round when it holds none (--no-lease-reads: a round for every read)",
  round: 'a ReadIndex round for every read (--no-lease-reads)',
  etcd: "a ReadIndex round for every read (etcd's server does not use its Raft library's lease-based reads)",
};

const list = (s: string) => s.split(',').map((x) => x.trim()).filter((x) => x !== '');
const program = new Command('bench')
  .description('keyraft benchmarks side by side with etcd and the limits of this machine')
  .option('--duration <s>', 'seconds per case', '5')
  .option('--warmup <s>', 'seconds of warm-up per case (not measured)', '1')
  .option('--server-warmup <s>', "seconds of load on each freshly started server for each of its cases, before the first is measured: a Node.js server's JIT compiles its hot paths over its first thousands of calls", '10')
  .option('--concurrency <list>', 'calls in flight, comma-separated', '1,16,64')
  .option('--cases <list>', `keyraft cases: ${KEYRAFT_CASES.join(',')}`, KEYRAFT_CASES.join(','))
  .option('--workers <n>', 'client processes per case (at most the concurrency)', String(Math.max(2, cpus().length)))
  .option('--clusters <list>', 'keyraft clusters, comma-separated: N (one region of N nodes) or N+M (two regions)', '3+3,3,1')
  .option('--no-keyraft', 'skip keyraft')
  .option('--no-etcd', 'skip etcd')
  .option('--no-echo', 'skip the grpc-js echo ceiling')
  .option('--no-limits', 'skip the disk and node:crypto limits')
  .option('--limit-duration <s>', 'seconds per disk and crypto limit', '1')
  .option('--scale <n>', 'Scale: secrets stored in a 3-node cluster for RSS, restart, snapshot and latency growth (0 skips it)', '100000')
  .option('--rounds <n>', 'measure every system this many times over, one after another, and report the median of each figure with the spread of the throughput', '1')
  .option('--spread-reads', 'GetSecret and Range spread over every node (member) of the region, not only the leader')
  .option('--no-lease-reads', "keyraft's leaders confirm every read with a ReadIndex round, as etcd's do, instead of answering under their read lease")
  .option('--profile', 'run the keyraft nodes under --cpu-prof and report where their time went')
  .option('--out <dir>', 'where the JSON and SVG go', join(ROOT, 'bench-results'));
program.parse();
const o = program.opts<{
  duration: string; warmup: string; serverWarmup: string; concurrency: string; cases: string; workers: string; clusters: string;
  keyraft: boolean; etcd: boolean; echo: boolean; limits: boolean; limitDuration: string; out: string; scale: string; rounds: string; profile?: boolean; spreadReads?: boolean; leaseReads: boolean;
}>();
const durationMs = Number(o.duration) * 1000;
const warmupMs = Number(o.warmup) * 1000;
const serverWarmupMs = Number(o.serverWarmup) * 1000;
const concurrencies = list(o.concurrency).map(Number);
const cases = list(o.cases);
const workers = Number(o.workers);
const clusters = list(o.clusters);
for (const c of clusters) if (!/^[1-9]\d*(\+[1-9]\d*)?$/.test(c)) program.error(`bad cluster ${c}: N or N+M`);
for (const c of cases) if (!KEYRAFT_CASES.includes(c)) program.error(`unknown case ${c}; known: ${KEYRAFT_CASES.join(', ')}`);
const rounds = Number(o.rounds);
if (!Number.isInteger(rounds) || rounds < 1) program.error('bad --rounds: a whole number, 1 or more');
const scaleN = Number(o.scale);
if (!Number.isInteger(scaleN) || scaleN < 0) program.error('bad --scale: a number of secrets, or 0');
if (!(durationMs > 0) || concurrencies.some((c) => !(c >= 1)) || !(workers >= 1)) program.error('bad --duration, --concurrency or --workers');

const t0 = Date.now();
/** Names this run's JSON, SVG and profile folder. */
const RUN_STAMP = new Date(t0).toISOString().replace(/[:.]/g, '-');
const progress = (s: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}\n`);

// ---- Everything started is stopped at the end, on failure and on Ctrl-C too ----
const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const f of cleanups.reverse()) await f().catch((e) => progress(`cleanup: ${e instanceof Error ? e.message : String(e)}`));
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    progress(`${sig}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** What a child needs beyond the parent's flags and environment: the REST workers' preload and CA. */
interface ChildSetup {
  readonly execArgv?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

function forkChild(file: string, args: string[] = [], setup: ChildSetup = {}): ChildProcess {
  // DEP0123: grpc-js puts 127.0.0.1 in TLS's server name; the certificate is still checked (scripts/lib.sh).
  const child = fork(file, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, '--disable-warning=DEP0123', ...(setup.execArgv ?? [])],
    env: { ...process.env, ...setup.env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function next(child: ChildProcess, timeoutMs: number): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`a child process did not answer in ${timeoutMs} ms`)), timeoutMs);
    const onMsg = (m: FromWorker) => done(undefined, m);
    const onExit = (code: number | null) => done(new Error(`a child process exited (${code})`));
    function done(err?: Error, m?: FromWorker): void {
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
      if (err !== undefined) reject(err);
      else if (m?.type === 'failed') reject(new Error(m.error));
      else resolve(m!);
    }
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

// ---- One case: workers in their own processes, started together, merged ----
interface CaseResult {
  system: System;
  /** keyraft: the cluster's shape, N or N+M nodes. */
  cluster?: string;
  op: string;
  label: string;
  concurrency: number;
  workers: number;
  opsPerSec: number;
  count: number;
  errors: number;
  firstError?: string;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** CPU time per call of the client processes and of the server's processes (every node or member), µs. */
  clientCpuUs: number;
  serverCpuUs?: number;
  /** A REST case: its throughput, p50 and p99 divided by its gRPC twin's (same cluster, same in flight). */
  ofGrpc?: { opsPerSec: number; p50Ms: number; p99Ms: number };
  /** Which of the --rounds measured it (from 1); 0 for a median over the rounds (combineRounds). */
  round: number;
  /** A median over the rounds: their lowest and highest throughput. */
  spread?: { minOpsPerSec: number; maxOpsPerSec: number };
}
/** Every case as measured, in every round. */
const measured: CaseResult[] = [];
let round = 1;

const CLOCK_TICKS_PER_SEC = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time a process has used (user + system, every thread), µs; 0 once it is gone. */
function processCpuUs(pid: number): number {
  try {
    // Fields after the command name, which may hold spaces: utime and stime are the 14th and 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS_PER_SEC;
  } catch {
    return 0;
  }
}

async function runCase(
  system: System,
  op: string,
  concurrency: number,
  base: Omit<WorkSpec, 'system' | 'op' | 'concurrency' | 'worker' | 'durationMs' | 'warmupMs'>,
  cluster?: string,
  /** The server's processes, whose CPU time per call is reported. */
  serverPids: readonly number[] = [],
  workerSetup: ChildSetup = {},
  /** Only to warm the server up: run for this long, report nothing. */
  warmUpMs?: number,
): Promise<CaseResult> {
  const n = Math.min(workers, concurrency);
  const procs = Array.from({ length: n }, () => forkChild(WORKER, [], workerSetup));
  try {
    const ready = procs.map((p, i) => {
      const share = Math.floor(concurrency / n) + (i < concurrency % n ? 1 : 0);
      const spec: WorkSpec = { ...base, system, op, concurrency: share, worker: i, durationMs: warmUpMs ?? durationMs, warmupMs: warmUpMs === undefined ? warmupMs : 0 };
      const r = next(p, 60_000 + warmupMs);
      p.send({ type: 'run', spec } satisfies ToWorker);
      return r;
    });
    await Promise.all(ready);
    const done = procs.map((p) => next(p, (warmUpMs ?? durationMs) + 60_000));
    const serverCpu0 = serverPids.reduce((sum, pid) => sum + processCpuUs(pid), 0);
    for (const p of procs) p.send({ type: 'go' } satisfies ToWorker);
    const outs = (await Promise.all(done)).map((m) => (m as { result: WorkResult }).result);
    const serverCpuUs = serverPids.reduce((sum, pid) => sum + processCpuUs(pid), 0) - serverCpu0;
    const hist = new Histogram();
    for (const r of outs) hist.addSparse(r.hist, r.maxUs);
    const firstError = outs.find((r) => r.firstError !== undefined)?.firstError;
    const res: CaseResult = {
      round,
      system, ...(cluster === undefined ? {} : { cluster }), op, label: `${system}${cluster === undefined ? '' : ` ${cluster}`} ${LABEL[op] ?? op}`, concurrency, workers: n,
      opsPerSec: outs.reduce((s, r) => s + (r.count * 1000) / r.elapsedMs, 0),
      count: hist.total,
      errors: outs.reduce((s, r) => s + r.errors, 0),
      ...(firstError === undefined ? {} : { firstError }),
      p50Ms: hist.quantileMs(0.5), p99Ms: hist.quantileMs(0.99), p999Ms: hist.quantileMs(0.999), maxMs: hist.maxUs / 1000,
      clientCpuUs: outs.reduce((sum, r) => sum + r.cpuUs, 0) / Math.max(1, hist.total),
      ...(serverPids.length === 0 ? {} : { serverCpuUs: serverCpuUs / Math.max(1, hist.total) }),
    };
    if (warmUpMs !== undefined) {
      progress(`${res.label}: warmed up for ${warmUpMs} ms (${fmt(res.opsPerSec)}/s, not reported)`);
      return res;
    }
    measured.push(res);
    progress(`${res.label} c=${concurrency}: ${fmt(res.opsPerSec)}/s p50 ${ms(res.p50Ms)} p99 ${ms(res.p99Ms)}${res.errors ? `, ${res.errors} errors (${firstError})` : ''}`);
    return res;
  } finally {
    for (const p of procs) {
      p.kill('SIGKILL');
      children.delete(p);
    }
  }
}

const fmt = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const ms = (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '-');
const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : '-');

// ---- The parts of the run ----
const limits: LimitResult[] = [];

async function runLimits(): Promise<void> {
  const d = Number(o.limitDuration) * 1000;
  progress('limits: LevelDB synced writes');
  limits.push(...(await diskLimits(d)));
  progress("limits: a region's synced writes at once, through LevelDB and at the disk's floor");
  limits.push(...(await regionDiskLimits(d)));
  progress('limits: what a node spends on each SetSecret');
  limits.push(...(await writeFloor(d)));
  progress('limits: node:crypto in one thread');
  limits.push(...(await cryptoLimits(d)));
}

async function runEcho(): Promise<void> {
  progress('grpc-js echo ceiling: starting the echo server (TLS)');
  // A PKI of its own for the echo server's certificate, as keyraft's nodes have.
  const pkiDir = mkdtempSync(join(tmpdir(), 'keyraft-bench-echo-'));
  const removePki = async () => rmSync(pkiDir, { recursive: true, force: true });
  cleanups.push(removePki);
  let server: ChildProcess | undefined;
  try {
    await ensurePki(pkiDir, [{ id: ECHO_NODE, hosts: ['127.0.0.1'] }], 'echo-bench');
    server = forkChild(ECHO_SERVER, [pkiDir]);
    const m = await next(server, 10_000);
    if (m.type !== 'listening') throw new Error('the echo server did not start');
    const base = { endpoints: [`127.0.0.1:${m.port}`], ca: readFileSync(pkiPaths(pkiDir).ca, 'utf8') };
    const pids = server.pid === undefined ? [] : [server.pid];
    await warmUp('echo', ['echo'], base, undefined, pids);
    for (const c of concurrencies) await runCase('echo', 'echo', c, base, undefined, pids);
  } finally {
    server?.kill('SIGKILL');
    cleanups.splice(cleanups.indexOf(removePki), 1);
    await removePki();
  }
}

/**
 * Load on a fresh server, each of its cases in turn at 16 in flight, before
 * anything is measured. Each case gets the whole --server-warmup: with a
 * quarter of 10 s each, keyraft's SetSecret at 1 in flight measured 430/s,
 * against 550/s after 10 s.
 */
async function warmUp(system: System, ops: readonly string[], base: Parameters<typeof runCase>[3], cluster: string | undefined, pids: readonly number[], setup: (op: string) => ChildSetup = () => ({})): Promise<void> {
  if (serverWarmupMs <= 0) return;
  for (const op of ops) await runCase(system, op, 16, base, cluster, pids, setup(op), serverWarmupMs);
}

async function runKeyraft(shape: string): Promise<void> {
  const regions = shape.split('+').map((n, i) => ({ name: i === 0 ? 'east' : 'west', nodes: Number(n) }));
  progress(`keyraft ${shape}: starting ${regions.map((r) => `${r.nodes} in ${r.name}`).join(', ')}`);
  const profileDir = join(o.out, `${RUN_STAMP}-profiles`, rounds === 1 ? shape : `${shape}-round-${round}`);
  const cluster = await TestCluster.create({ regions, throttle: UNTHROTTLED, leaseReads: o.leaseReads, ...(o.profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}) });
  const stop = async () => {
    await cluster.destroy();
  };
  const nodeOfPid = new Map<number, string>();
  cleanups.push(stop);
  let admin: KeyraftClient | undefined;
  let leaderId = '';
  try {
    for (const n of cluster.nodes) nodeOfPid.set(cluster.start(n.id).pid ?? -1, n.id);
    const primary = cluster.endpoints('east');
    admin = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: primary, regionAware: false, timeoutMs: 20_000 });
    const a = admin;
    const leader = await eventually(
      'a keyraft leader',
      async () => {
        const s = await a.getStatus({}, { timeoutMs: 2000 });
        return s.nodes.find((n) => n.region === 'east' && n.role === 'leader' && n.mode === 'SERVING')?.clientAddress;
      },
      30_000,
      250,
    );
    leaderId = cluster.nodes.find((n) => n.client === leader)?.id ?? '';
    // The leader first: both systems are driven at their leader.
    const endpoints = [leader, ...primary.filter((e) => e !== leader)];
    progress(`keyraft: leader ${leader}; creating the vault, keys and secrets`);
    const vault = 'bench';
    await a.createVault({ name: vault });
    await a.createKey({ vault, name: 'es256', kty: 'EC', curve: 'P-256' });
    await a.createKey({ vault, name: 'rsa', kty: 'RSA', keySize: 2048 });
    await a.createKey({ vault, name: 'aes', kty: 'oct', keySize: 256 });
    const value = 'x'.repeat(256);
    for (let i = 0; i < 16; i++) await a.setSecret({ vault, name: `get-${i}`, value });
    const ct = await a.encrypt({ vault, name: 'rsa', algorithm: 'RSA-OAEP-256', value: Buffer.alloc(32, 7) });
    // REST: the leader's gateway, as an application would name the vault.
    const restPort = cluster.node(leaderId).rest.split(':').at(-1);
    const base = {
      endpoints, vault, ca: cluster.ca.toString(), token: await cluster.token(), getNames: 16, ciphertext: Buffer.from(ct.value).toString('base64'),
      vaultUrl: `https://${vault}.kv.localhost:${restPort}`,
      ...(o.spreadReads ? { readEndpoints: endpoints } : {}),
    };
    const restSetup = { execArgv: ['--import', KV_LOCALHOST], env: { NODE_EXTRA_CA_CERTS: pkiPaths(cluster.pkiDir).ca } };
    const pids = [...nodeOfPid.keys()].filter((pid) => pid > 0);
    const setup = (op: string) => (GRPC_TWIN.has(op) ? restSetup : {});
    await warmUp('keyraft', cases, base, shape, pids, setup);
    for (const op of cases) {
      for (const c of concurrencies) await runCase('keyraft', op, c, base, shape, pids, setup(op));
    }
  } finally {
    admin?.close();
    progress('keyraft: stopping the cluster');
    // SIGTERM first when profiling: a node writes its profile as it exits.
    if (o.profile) for (const n of cluster.nodes) await cluster.stop(n.id).catch(() => undefined);
    cleanups.splice(cleanups.indexOf(stop), 1);
    await stop();
    if (o.profile) readProfiles(profileDir, nodeOfPid, leaderId, shape);
  }
}

const profiles: (ProfileSummary & { cluster: string; node: string; leader: boolean })[] = [];

function readProfiles(dir: string, nodeOfPid: Map<number, string>, leaderId: string, cluster: string): void {
  if (!existsSync(dir)) {
    progress(`no profiles in ${dir}`);
    return;
  }
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>: thread 0 is the node's event loop; the others are
    // its crypto worker threads (RSA, ECDSA presignatures), left in the folder.
    const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\./.exec(f);
    const node = m?.[2] === '0' ? nodeOfPid.get(Number(m[1])) : undefined;
    if (node !== undefined) profiles.push({ ...summarizeProfile(join(dir, f)), cluster, node, leader: node === leaderId });
  }
}

async function runEtcd(): Promise<void> {
  ensureEtcdInstalled(progress);
  progress('etcd: starting 3 members (client TLS, peer mutual TLS, JWT auth)');
  const etcd = await EtcdCluster.start(3);
  const stop = () => etcd.stop();
  cleanups.push(stop);
  try {
    const leader = await etcd.leader();
    progress(`etcd: leader ${leader}; turning authentication on`);
    etcd.enableAuth();
    // The keys Range reads, as keyraft's GetSecret reads its 16 secrets.
    etcd.seed(16, 'x'.repeat(256));
    const base = { endpoints: [leader], ca: etcd.ca, user: etcd.user, password: etcd.password, ...(o.spreadReads ? { readEndpoints: etcd.clients } : {}) };
    await warmUp('etcd', ['put', 'range'], base, undefined, etcd.pids);
    for (const c of concurrencies) await runCase('etcd', 'put', c, base, undefined, etcd.pids);
    for (const c of concurrencies) await runCase('etcd', 'range', c, base, undefined, etcd.pids);
  } finally {
    progress('etcd: stopping');
    cleanups.splice(cleanups.indexOf(stop), 1);
    await stop();
  }
}

let scale: ScaleResult | undefined;

async function runScalePart(): Promise<void> {
  scale = await runScale({
    n: scaleN,
    progress,
    onCleanup: (f) => {
      cleanups.push(f);
      return () => {
        const i = cleanups.indexOf(f);
        if (i >= 0) cleanups.splice(i, 1);
      };
    },
  });
}

function reportScale(s: ScaleResult): void {
  const plain = { style: { head: [], border: [] } };
  const mark = (met: boolean) => (met ? 'met' : 'MISSED');
  console.log(`\nScale: ${fmt(s.stored)} secrets of ${VALUE_BYTES} B in 3 nodes, one region (filled at ${fmt(s.fillPerSec)}/s, ${s.fillSeconds.toFixed(0)} s)`);
  const lat = new Table({ ...plain, head: ['SetSecret with … stored', 'in flight', 'calls/s', 'p50 ms', 'p99 ms', 'p50 growth', 'p99 growth', 'RSS MB (nodes)'] });
  for (const r of s.latency) {
    const first = s.latency.find((x) => x.concurrency === r.concurrency)!;
    const rss = s.rssAt.find((x) => x.stored === r.stored);
    lat.push([fmt(r.stored), r.concurrency, fmt(r.opsPerSec), ms(r.p50Ms), ms(r.p99Ms), ratio(r.p50Ms, first.p50Ms), ratio(r.p99Ms, first.p99Ms), r.concurrency === 1 && rss !== undefined ? Object.values(rss.rssMb).join(' / ') : '']);
  }
  console.log(lat.toString());
  const t = new Table({ ...plain, head: ['Scale', 'value', `target`, ''] });
  for (const x of s.nodes) {
    t.push([`${x.id} (${x.role}) RSS after the fill (peak)`, `${x.rssMb.toFixed(0)} MB (${x.peakRssMb.toFixed(0)} MB)`, `< ${RSS_TARGET_MB} MB`, mark(x.rssMb < RSS_TARGET_MB)]);
    t.push([`${x.id} RSS after 20 s idle`, `${x.idleRssMb.toFixed(0)} MB (${x.idleFileRssMb.toFixed(0)} MB of it file-backed)`, `< ${RSS_TARGET_MB} MB`, mark(x.idleRssMb < RSS_TARGET_MB)]);
  }
  for (const x of s.nodes) t.push([`${x.id} data folder`, `${x.dataDirMb.toFixed(1)} MB`, '', '']);
  for (const r of s.restarts) {
    t.push([`${r.id} (${r.role}) ${r.how}: start to serving`, `${fmt(r.servingMs)} ms (GetStatus ${fmt(r.statusMs)} ms)`, `< ${RESTART_TARGET_MS / 1000} s`, mark(r.servingMs < RESTART_TARGET_MS)]);
    t.push([`${r.id} RSS after restart (3 s later)`, `${r.rssMbAtServing.toFixed(0)} MB (${r.rssMbSettled.toFixed(0)} MB, ${r.fileRssMbSettled.toFixed(0)} MB of it file-backed)`, `< ${RSS_TARGET_MB} MB`, mark(Math.max(r.rssMbAtServing, r.rssMbSettled) < RSS_TARGET_MB)]);
  }
  if (s.snapshot !== undefined) {
    t.push(['snapshot (applied state records)', `${fmt(s.snapshot.records)} records, ${(s.snapshot.bytes / (1024 * 1024)).toFixed(1)} MB`, '', '']);
    const c = s.snapshot.catchUp;
    if (c !== undefined) t.push([`${c.id} catch-up, ${fmt(c.entriesBehind)} entries behind`, `${fmt(c.ms)} ms (${c.installed ? 'snapshot installed' : 'from the log'})`, '', '']);
  }
  console.log(t.toString());
  console.log(`Targets: RSS under ${RSS_TARGET_MB} MB ${mark(s.targets.rssMet)}; restart to serving under ${RESTART_TARGET_MS / 1000} s ${mark(s.targets.restartMet)}`);
}

// ---- The report ----
const pct = (share: number) => `${(100 * share).toFixed(1)} %`;

/**
 * One row per case: with --rounds, the median of each figure over the
 * rounds (a run-to-run spread of about 10 % on this kind of machine would
 * otherwise decide a ratio near 1.00x), and the rounds' lowest and highest
 * throughput.
 */
function combineRounds(all: readonly CaseResult[]): CaseResult[] {
  if (rounds === 1) return [...all];
  const byCase = new Map<string, CaseResult[]>();
  for (const r of all) {
    const key = `${r.label}\t${r.concurrency}`;
    byCase.set(key, [...(byCase.get(key) ?? []), r]);
  }
  return [...byCase.values()].map((rs) => {
    const mid = (figure: (r: CaseResult) => number) => median(rs.map(figure));
    const throughputs = rs.map((r) => r.opsPerSec);
    const firstError = rs.find((r) => r.firstError !== undefined)?.firstError;
    const { serverCpuUs } = rs[0]!;
    return {
      ...rs[0]!,
      round: 0,
      opsPerSec: mid((r) => r.opsPerSec),
      count: rs.reduce((sum, r) => sum + r.count, 0),
      errors: rs.reduce((sum, r) => sum + r.errors, 0),
      ...(firstError === undefined ? {} : { firstError }),
      p50Ms: mid((r) => r.p50Ms),
      p99Ms: mid((r) => r.p99Ms),
      p999Ms: mid((r) => r.p999Ms),
      maxMs: Math.max(...rs.map((r) => r.maxMs)),
      clientCpuUs: mid((r) => r.clientCpuUs),
      ...(serverCpuUs === undefined ? {} : { serverCpuUs: mid((r) => r.serverCpuUs ?? NaN) }),
      spread: { minOpsPerSec: Math.min(...throughputs), maxOpsPerSec: Math.max(...throughputs) },
    };
  });
}

function reportProfiles(cluster: string): void {
  const plain = { style: { head: [], border: [] } };
  const mine = profiles.filter((p) => p.cluster === cluster);
  const leader = mine.find((p) => p.leader) ?? mine[0];
  if (leader === undefined) return;
  console.log(`\nkeyraft ${cluster}: where ${leader.node}'s time went (the leader, --cpu-prof over its whole life, ${fmt(leader.totalMs)} ms sampled; profiles in ${dirname(leader.file)})`);
  const t = new Table({ ...plain, head: ['component', 'share', 'function', 'share'] });
  for (let i = 0; i < Math.max(leader.components.length, leader.functions.length); i++) {
    const c = leader.components[i];
    const f = leader.functions[i];
    t.push([c?.name ?? '', c ? pct(c.share) : '', f?.name ?? '', f ? pct(f.share) : '']);
  }
  console.log(t.toString());
  for (const p of mine.filter((x) => x !== leader)) {
    console.log(`${p.node}: ${p.components.slice(0, 5).map((c) => `${c.name} ${pct(c.share)}`).join(', ')}`);
  }
}
function report(meta: Record<string, unknown>, results: CaseResult[]): void {
  const plain = { style: { head: [], border: [] } };
  const callsPerSec = (r: CaseResult) => (r.spread === undefined ? fmt(r.opsPerSec) : `${fmt(r.opsPerSec)} (${fmt(r.spread.minOpsPerSec)}-${fmt(r.spread.maxOpsPerSec)})`);
  const main = new Table({ ...plain, head: ['case', 'in flight', rounds === 1 ? 'calls/s' : `calls/s (${rounds} rounds: lowest-highest)`, 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'server CPU µs/call', 'client CPU µs/call'] });
  for (const r of results) main.push([r.label, r.concurrency, callsPerSec(r), ms(r.p50Ms), ms(r.p99Ms), ms(r.p999Ms), r.errors, r.serverCpuUs === undefined ? '-' : fmt(r.serverCpuUs), fmt(r.clientCpuUs)]);
  if (rounds > 1) console.log(`\nEach figure is the median of ${rounds} rounds, each of which measured every system in turn.`);
  console.log('\nThroughput and latency (client processes over gRPC, the (REST) cases over HTTPS through the Azure SDKs, 127.0.0.1; CPU per call: every server process (all nodes or members) and every client process)');
  console.log(`Security, like for like: keyraft ${SECURITY.keyraft}; keyraft REST ${SECURITY.rest}; etcd ${SECURITY.etcd}; echo ${SECURITY.echo}.`);
  console.log(`Linearizable reads: keyraft ${READS[o.leaseReads ? 'lease' : 'round']}; etcd ${READS.etcd}.`);
  console.log(main.toString());

  const find = (system: System, op: string, c: number, cluster?: string) =>
    results.find((r) => r.system === system && r.op === op && r.concurrency === c && r.cluster === cluster);
  const rest = new Table({ ...plain, head: ['keyraft REST / gRPC', 'keyraft nodes', 'in flight', 'REST calls/s', 'throughput', 'p50', 'p99'] });
  for (const r of results) {
    const twin = GRPC_TWIN.get(r.op);
    const g = twin === undefined ? undefined : find('keyraft', twin, r.concurrency, r.cluster);
    if (g === undefined) continue;
    r.ofGrpc = { opsPerSec: r.opsPerSec / g.opsPerSec, p50Ms: r.p50Ms / g.p50Ms, p99Ms: r.p99Ms / g.p99Ms };
    rest.push([`${LABEL[r.op]} / ${LABEL[g.op]}`, r.cluster, r.concurrency, fmt(r.opsPerSec), ratio(r.opsPerSec, g.opsPerSec), ratio(r.p50Ms, g.p50Ms), ratio(r.p99Ms, g.p99Ms)]);
  }
  if (rest.length > 0) {
    console.log('\nkeyraft over REST (Azure SDKs) against gRPC, same run (throughput: higher is better; p50, p99: lower is better)');
    console.log(rest.toString());
  }
  const ratios = new Table({ ...plain, head: ['keyraft / etcd (3 members)', 'keyraft nodes', 'in flight', 'throughput', 'p99'] });
  for (const shape of clusters) {
    for (const [k, e] of [['set', 'put'], ['get', 'range']] as const) {
      for (const c of concurrencies) {
        const kr = find('keyraft', k, c, shape);
        const er = find('etcd', e, c);
        if (kr !== undefined && er !== undefined) ratios.push([`${LABEL[k]} / ${LABEL[e]}`, shape, c, ratio(kr.opsPerSec, er.opsPerSec), ratio(kr.p99Ms, er.p99Ms)]);
      }
    }
  }
  if (ratios.length > 0) {
    console.log('\nkeyraft against etcd (throughput: higher is better; p99: lower is better)');
    console.log(ratios.toString());
  }
  if (limits.length > 0) {
    const t = new Table({ ...plain, head: ['limit (one thread, one at a time)', 'ops/s', 'records/s'] });
    for (const l of limits) t.push([l.name, fmt(l.opsPerSec), l.recordsPerSec === undefined ? '' : fmt(l.recordsPerSec)]);
    console.log('\nThe limits of this machine');
    console.log(t.toString());
  }
  // Each cluster operation against the lower of the echo ceiling and node:crypto's own rate.
  const echoMax = Math.max(0, ...results.filter((r) => r.system === 'echo').map((r) => r.opsPerSec));
  const cryptoOf: Record<string, string> = {
    'sign-es256': 'ES256 sign (digest, in one thread)', 'sign-rs256': 'RS256 sign (UsableKey, digest)',
    'encrypt-oaep256': 'RSA-OAEP-256 encrypt (UsableKey)', 'encrypt-a256gcm': 'A256GCM encrypt 256 B (UsableKey)', 'decrypt-oaep256': 'RSA-OAEP-256 decrypt (UsableKey)',
  };
  if (echoMax > 0) {
    const t = new Table({ ...plain, head: ['keyraft case (best in flight)', 'keyraft nodes', 'calls/s', 'ceiling', 'of ceiling'] });
    for (const shape of clusters) {
      // The REST cases' reference is their gRPC twin (above), not grpc-js's ceiling.
      for (const op of cases.filter((x) => !GRPC_TWIN.has(x))) {
        const best = results.filter((r) => r.system === 'keyraft' && r.cluster === shape && r.op === op).sort((a, b) => b.opsPerSec - a.opsPerSec)[0];
        if (best === undefined) continue;
        const cr = limits.find((l) => l.name === cryptoOf[op])?.opsPerSec;
        const ceiling = cr === undefined ? echoMax : Math.min(cr, echoMax);
        const source = cr !== undefined && cr < echoMax ? 'crypto' : 'echo';
        t.push([`${LABEL[op]} (${best.concurrency})`, shape, fmt(best.opsPerSec), `${fmt(ceiling)} (${source})`, `${((100 * best.opsPerSec) / ceiling).toFixed(0)} %`]);
      }
    }
    console.log(`\nAgainst the ceilings (grpc-js echo over TLS best: ${fmt(echoMax)}/s)`);
    console.log(t.toString());
  }

  if (scale !== undefined) reportScale(scale);
  for (const shape of clusters) reportProfiles(shape);

  mkdirSync(o.out, { recursive: true });
  const json = join(o.out, `${RUN_STAMP}.json`);
  const svg = join(o.out, `${RUN_STAMP}.svg`);
  writeFileSync(json, JSON.stringify({ ...meta, results, ...(rounds === 1 ? {} : { everyRound: measured }), limits, ...(scale === undefined ? {} : { scale }), ...(profiles.length > 0 ? { profiles } : {}) }, null, 2) + '\n');
  const bySeries = new Map<string, { x: number; y: number; c: number }[]>();
  for (const r of results) {
    if (r.system === 'echo') continue;
    const pts = bySeries.get(r.label) ?? [];
    pts.push({ x: r.opsPerSec, y: r.p99Ms, c: r.concurrency });
    bySeries.set(r.label, pts);
  }
  writeFileSync(svg, chart(`p99 latency against throughput — keyraft ${clusters.join(' and ')} nodes, etcd 3 members`, [...bySeries].map(([label, points]) => ({ label, points }))));
  console.log(`\nJSON: ${json}\nSVG:  ${svg}`);
}

async function main(): Promise<void> {
  const meta: Record<string, unknown> = {
    started: new Date(t0).toISOString(), node: process.version, cpus: cpus().length, durationMs, warmupMs, serverWarmupMs, concurrencies, workers, rounds, security: SECURITY,
    reads: { keyraft: READS[o.leaseReads ? 'lease' : 'round'], etcd: READS.etcd },
  };
  if (o.limits) await runLimits();
  if (o.keyraft) meta.keyraftClusters = clusters;
  for (round = 1; round <= rounds; round++) {
    if (rounds > 1) progress(`round ${round} of ${rounds}`);
    if (o.echo) await runEcho();
    if (o.keyraft) for (const shape of clusters) await runKeyraft(shape);
    if (o.etcd) await runEtcd();
  }
  if (scaleN > 0) await runScalePart();
  progress('done');
  report(meta, combineRounds(measured));
}

main()
  .catch((e) => {
    progress(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
