// Real keyraft node processes for integration tests: each cluster gets a
// temporary folder (topology, master key, PKI, data), free ports on
// 127.0.0.1, and is torn down — every process killed, every file removed — by
// the test that made it. Tests talk to it the way users do: over TLS, with
// the cluster CA (`ca`) and an administrator's token (`token`) on the
// client port, and the operator's certificate on the peer port.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { clientCredentials } from '../../src/client/index.js';
import { createMasterKeyFile } from '../../src/crypto/masterkey.js';
import { issueTokenAsOperator } from '../../src/ops/issue-token.js';
import { ADMIN_PRINCIPAL } from '../../src/app/bootstrap.js';
import { ensurePki, hostsOf, issueMemberCertificate } from '../../src/ops/pki.js';
import type { ConnectionLimits } from '../../src/transport/connections.js';
import { adminCall } from '../../src/transport/peer-service.js';
import { channelCredentials, operatorTls } from '../../src/transport/tls.js';
import { ROOT } from '../root.js';

export { atLeast, eventually } from '../wait.js';

// The repository, whether this runs from test/ (tests) or dist/test/ (scripts).
export const NODE_ENTRY = join(ROOT, 'dist/src/node.js');
/**
 * Node flags every keyraft node runs with, as scripts/start-node.sh passes
 * them: a young generation of 2 x 8 MB instead of 2 x 16 MB, which V8 also
 * gives back once the node is idle (measured with 100,000 secrets); and no
 * DEP0123 warning (an IP address as TLS server name, which grpc-js sets for
 * 127.0.0.1 peers) in the JSON log.
 */
export const NODE_FLAGS = ['--max-semi-space-size=8', '--disable-warning=DEP0123'];
/**
 * The environment every keyraft node runs with, as scripts/start-node.sh sets
 * it. glibc raises its mmap threshold to the largest mapped block freed (up
 * to 32 MB): from then on the state's long-lived 256 KB slabs (keptBytes)
 * land in the heap among short-lived buffers, whose holes stay resident when
 * freed. A fixed threshold keeps every block of 128 KB or more in a mapping
 * of its own, returned when freed: 15-25 MB less per node with 100,000
 * secrets.
 */
export const NODE_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** Ports already given out by this process: the OS may offer a just-closed one again. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/**
 * Nodes get ports below Linux's ephemeral range (32768-60999): a port handed
 * out there is free when checked, but an outgoing connection of any process
 * (every node connects to its peers, and reconnects while they start) may
 * take it before the node binds it. Below the range only another test
 * process picking the same random port can, which a bind check narrows to
 * the moment between the check and the node's start.
 */
const PORTS_FROM = 20_000;
const PORTS_TO = 32_767;

async function anyFreePort(): Promise<number> {
  for (;;) {
    const port = PORTS_FROM + Math.floor(Math.random() * (PORTS_TO - PORTS_FROM + 1));
    if (await canBind(port)) return port;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Per-vault limits too high to bind, for benchmarks: they measure what a
 * node can do, and Azure's defaults (4,000 secrets or key transactions per
 * vault per 10 s) would refuse most of a run on one vault.
 */
export const UNTHROTTLED = {
  secrets: 1e9,
  keyCreate: 1e9,
  keys: Object.fromEntries(['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P-256', 'EC-P-384', 'EC-P-521', 'EC-P-256K'].map((k) => [k, 1e9])),
};

export interface ClusterOptions {
  /** Nodes per region; one region unless more are named. */
  readonly regions?: readonly { name: string; nodes: number }[];
  readonly compactEvery?: number;
  readonly tickMs?: number;
  readonly failoverAfterMs?: number;
  readonly failbackAfterMs?: number;
  readonly geoRetainEntries?: number;
  /** Byte bounds of the log (src/replica/retention.ts); the production defaults when absent. */
  readonly geoRetainBytes?: number;
  readonly compactEveryBytes?: number;
  /** The topology's version caps; the defaults when absent. */
  readonly limits?: { readonly maxVersionsPerSecret?: number; readonly maxVersionsPerKey?: number };
  /** Simulated latency of traffic into the secondary region. */
  readonly latencyMs?: number;
  /** Flags for node itself, before the script (e.g. --cpu-prof for the benchmark). */
  readonly nodeArgs?: readonly string[];
  /** The topology's data-key rotation policy; the production default when absent. */
  readonly dataKeys?: { readonly rotateAfterWrites?: number; readonly rotateAfterMs?: number };
  /** The topology's connection limits and timeouts (src/transport/connections.ts); the production defaults when absent. */
  readonly connections?: Partial<ConnectionLimits>;
  /** The topology's admission limits and per-vault throttling; the production defaults when absent. */
  readonly admission?: Record<string, number>;
  readonly throttle?: Record<string, unknown>;
  /** The topology's leaseReads (src/replica/read-lease.ts); on when absent. */
  readonly leaseReads?: boolean;
}

export interface NodeInfo {
  readonly id: string;
  readonly region: string;
  readonly client: string;
  readonly peer: string;
  /** The HTTPS port of /metrics. */
  readonly metrics: string;
  /** The HTTPS port of the REST gateway (Azure Key Vault's API), in the topology; a node added online gets it with --rest (joinArgs). */
  readonly rest: string;
  readonly dataDir: string;
  readonly logFile: string;
}

export class TestCluster {
  readonly nodes: NodeInfo[] = [];
  private readonly procs = new Map<string, ChildProcess>();
  private operatorCredentials: grpc.ChannelCredentials | undefined;
  private adminToken: Promise<string> | undefined;

  private constructor(
    readonly dir: string,
    readonly topologyFile: string,
    readonly masterKeyFile: string,
    private readonly nodeArgs: readonly string[],
  ) {}

  /** The cluster's PKI (src/ops/pki.ts): the CA, a certificate per node, the operator's. */
  get pkiDir(): string {
    return join(this.dir, 'pki');
  }

  /** The cluster CA's certificate, which a client needs to trust the nodes. */
  get ca(): Buffer {
    return readFileSync(join(this.pkiDir, 'ca.crt'));
  }

  /** TLS as the operator, for the Admin service on a peer port. */
  operator(): grpc.ChannelCredentials {
    this.operatorCredentials ??= channelCredentials(operatorTls(this.pkiDir));
    return this.operatorCredentials;
  }

  /**
   * The bootstrap administrator's token, for clients (`token: cluster.token`).
   * A function, because the primary's leader makes the token key only once
   * the cluster is up: a client made before gets it on its first call.
   */
  readonly token = (): Promise<string> => {
    this.adminToken ??= this.issueToken(ADMIN_PRINCIPAL).catch((e: unknown) => {
      this.adminToken = undefined;
      throw e;
    });
    return this.adminToken;
  };

  /** TLS to the cluster CA with the administrator's token: for raw gRPC clients of the client port. */
  clientCredentials(): grpc.ChannelCredentials {
    return clientCredentials(this.ca, this.token);
  }

  /**
   * A token for `principal` from Admin.IssueToken, as the operator, from the
   * first node that answers with one: running ones first, then the others,
   * which a script may have started.
   */
  async issueToken(principal: string, ttlMs = 3_600_000, waitMs = 60_000): Promise<string> {
    const peers = () => [...this.nodes].sort((a, b) => Number(this.isRunning(b.id)) - Number(this.isRunning(a.id))).map((n) => n.peer);
    return (await issueTokenAsOperator({ peers, operator: this.operator(), principal, ttlMs, waitMs })).token;
  }

  /** One unary call of the Admin service on a node's peer port, as the operator. */
  admin<T>(id: string, method: string, request: object, timeoutMs = 2000): Promise<T> {
    return adminCall<T>(this.node(id).peer, this.operator(), method, request, timeoutMs);
  }

  static async create(opts: ClusterOptions = {}): Promise<TestCluster> {
    if (!existsSync(NODE_ENTRY)) throw new Error(`${NODE_ENTRY} is missing: run make build first`);
    const dir = mkdtempSync(join(tmpdir(), 'keyraft-it-'));
    const regions = opts.regions ?? [{ name: 'east', nodes: 3 }];
    const topology = {
      name: 'test',
      regions: [] as unknown[],
      failoverAfterMs: opts.failoverAfterMs ?? 3000,
      failbackAfterMs: opts.failbackAfterMs ?? 3000,
      raft: {
        tickMs: opts.tickMs ?? 50,
        electionTicks: 10,
        heartbeatTicks: 1,
        compactEvery: opts.compactEvery ?? 10_000,
        geoRetainEntries: opts.geoRetainEntries ?? 200_000,
        ...(opts.geoRetainBytes === undefined ? {} : { geoRetainBytes: opts.geoRetainBytes }),
        ...(opts.compactEveryBytes === undefined ? {} : { compactEveryBytes: opts.compactEveryBytes }),
      },
      ...(opts.dataKeys === undefined ? {} : { dataKeys: opts.dataKeys }),
      ...(opts.connections === undefined ? {} : { connections: opts.connections }),
      ...(opts.admission === undefined ? {} : { admission: opts.admission }),
      ...(opts.throttle === undefined ? {} : { throttle: opts.throttle }),
      ...(opts.limits === undefined ? {} : { limits: opts.limits }),
      ...(opts.leaseReads === undefined ? {} : { leaseReads: opts.leaseReads }),
    };
    const cluster = new TestCluster(dir, join(dir, 'topology.json'), join(dir, 'master.key'), opts.nodeArgs ?? []);
    for (const [i, r] of regions.entries()) {
      const nodes = [];
      for (let n = 1; n <= r.nodes; n++) {
        const id = `${r.name}-${n}`;
        const node: NodeInfo = {
          id,
          region: r.name,
          client: `127.0.0.1:${await freePort()}`,
          peer: `127.0.0.1:${await freePort()}`,
          metrics: `127.0.0.1:${await freePort()}`,
          rest: `127.0.0.1:${await freePort()}`,
          dataDir: join(dir, id),
          logFile: join(dir, `${id}.log`),
        };
        cluster.nodes.push(node);
        nodes.push({ id, client: node.client, peer: node.peer, metrics: node.metrics, rest: node.rest });
      }
      topology.regions.push({ name: r.name, role: i === 0 ? 'primary' : 'secondary', latencyMs: i === 0 ? 0 : (opts.latencyMs ?? 0), nodes });
    }
    writeFileSync(cluster.topologyFile, JSON.stringify(topology, null, 2));
    createMasterKeyFile(cluster.masterKeyFile);
    await ensurePki(cluster.pkiDir, cluster.nodes.map((n) => ({ id: n.id, hosts: hostsOf([n.client, n.peer]) })));
    return cluster;
  }

  /**
   * A node the topology does not list, for `member add` (its certificate
   * names its region); start it with `start(id, cluster.joinArgs(id))`.
   * Reusing an id (a replaced node) keeps its addresses and wipes its data.
   */
  async newNode(region: string, id: string): Promise<NodeInfo> {
    let node = this.nodes.find((n) => n.id === id);
    if (node === undefined) {
      node = {
        id,
        region,
        client: `127.0.0.1:${await freePort()}`,
        peer: `127.0.0.1:${await freePort()}`,
        metrics: `127.0.0.1:${await freePort()}`,
        rest: `127.0.0.1:${await freePort()}`,
        dataDir: join(this.dir, id),
        logFile: join(this.dir, `${id}.log`),
      };
      this.nodes.push(node);
    }
    rmSync(node.dataDir, { recursive: true, force: true });
    await issueMemberCertificate(this.pkiDir, { id, region, hosts: hostsOf([node.client, node.peer]) });
    return node;
  }

  /** The flags of a joining node's first start. */
  /** A request by hand to a node's REST gateway, for `vault`'s host name, trusting the cluster CA. */
  restRequest(
    id: string,
    vault: string,
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    const port = Number(this.node(id).rest.split(':')[1]);
    const host = `${vault}.kv.localhost`;
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', servername: host, port, method, path, headers: { host: `${host}:${port}`, ...headers }, ca: this.ca, agent: false, timeout: 10_000 }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString())).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.end(body);
    });
  }

  joinArgs(id: string): string[] {
    const n = this.node(id);
    return ['--join', n.region, '--client', n.client, '--peer', n.peer, '--metrics', n.metrics, '--rest', n.rest];
  }

  node(id: string): NodeInfo {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  endpoints(region?: string): string[] {
    return this.nodes.filter((n) => region === undefined || n.region === region).map((n) => n.client);
  }

  /** The process id of a running node. */
  pid(id: string): number {
    const pid = this.isRunning(id) ? this.procs.get(id)?.pid : undefined;
    if (pid === undefined) throw new Error(`${id} is not running`);
    return pid;
  }

  isRunning(id: string): boolean {
    const p = this.procs.get(id);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Starts a node; `extraArgs` override flags (e.g. another master key). */
  start(id: string, extraArgs: string[] = []): ChildProcess {
    if (this.isRunning(id)) throw new Error(`${id} is already running`);
    const n = this.node(id);
    const args = [
      ...NODE_FLAGS,
      ...this.nodeArgs,
      NODE_ENTRY,
      '--topology', this.topologyFile,
      '--node', id,
      '--data-dir', n.dataDir,
      '--master-key', this.masterKeyFile,
      '--pki', this.pkiDir,
      '--fault-injection',
      ...extraArgs,
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...NODE_ENV } });
    const log = (chunk: Buffer) => writeFileSync(n.logFile, chunk, { flag: 'a' });
    proc.stdout!.on('data', log);
    proc.stderr!.on('data', log);
    this.procs.set(id, proc);
    return proc;
  }

  startAll(): void {
    for (const n of this.nodes) this.start(n.id);
  }

  regionNodes(region: string): NodeInfo[] {
    return this.nodes.filter((n) => n.region === region);
  }

  /** Fault injection: drops all traffic between the two groups of nodes, both ways. */
  async partition(a: readonly string[], b: readonly string[]): Promise<void> {
    await Promise.all([...a.map((id) => this.setFaults(id, [...b])), ...b.map((id) => this.setFaults(id, [...a]))]);
  }

  async heal(): Promise<void> {
    await Promise.all(this.nodes.filter((n) => this.isRunning(n.id)).map((n) => this.setFaults(n.id, [])));
  }

  private async setFaults(id: string, dropPeers: string[]): Promise<void> {
    await this.admin(id, 'setFaults', { dropPeers, merge: false }, 3000);
  }

  /** kill -9, and wait until the process is gone. */
  async kill(id: string): Promise<void> {
    await this.signal(id, 'SIGKILL');
  }

  /** SIGTERM: a graceful drain. */
  async stop(id: string): Promise<void> {
    await this.signal(id, 'SIGTERM');
  }

  private async signal(id: string, signal: NodeJS.Signals): Promise<void> {
    const p = this.procs.get(id);
    if (p === undefined || !this.isRunning(id)) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await exited;
  }

  /** Resolves with the exit code once the node's process ends. */
  exited(id: string): Promise<number | null> {
    const p = this.procs.get(id);
    if (p === undefined) return Promise.resolve(null);
    if (!this.isRunning(id)) return Promise.resolve(p.exitCode);
    return new Promise((r) => p.once('exit', (code) => r(code)));
  }

  log(id: string): string {
    const f = this.node(id).logFile;
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Kills every process and removes the folder (kept, logs and data, with KEYRAFT_KEEP_TEST_DIRS=1). */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.id)));
    if (process.env.KEYRAFT_KEEP_TEST_DIRS !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}
