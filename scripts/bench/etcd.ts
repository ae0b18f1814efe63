// The peer: a 3-member etcd cluster (Debian's etcd-server, installed when
// missing) on 127.0.0.1 with free ports in a temporary folder, fsync on, and
// as secure as keyraft: TLS on the client port, mutual TLS between members
// (certificates from keyraft's own PKI code) and authentication with JWT
// tokens signed ES256, which every call carries.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki } from '../../src/ops/pki.js';
import { pkiPaths } from '../../src/transport/tls.js';
import { freePort } from '../../test/integration/cluster.js';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function ensureEtcdInstalled(log: (s: string) => void): void {
  if (has('etcd') && has('etcdctl')) return;
  if (process.getuid?.() !== 0) throw new Error('etcd is missing and installing it needs root: apt-get install -y etcd-server etcd-client');
  log('installing etcd-server and etcd-client with apt-get');
  execFileSync('sh', ['-c', 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export class EtcdCluster {
  private readonly procs: ChildProcess[] = [];
  /** host:port of each member's client port (https). */
  readonly clients: string[] = [];
  /** The user the benchmark authenticates as (etcd's root: it may do anything, as the keyraft token may). */
  readonly user = 'root';
  readonly password = randomBytes(18).toString('base64url');

  private constructor(
    readonly dir: string,
    /** The CA (PEM) of the members' certificates: clients check the client port against it. */
    readonly ca: string,
    private readonly caFile: string,
  ) {}

  static async start(members = 3): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'keyraft-bench-etcd-'));
    const names = Array.from({ length: members }, (_, i) => `m${i + 1}`);
    // keyraft's node certificates carry serverAuth and clientAuth, which etcd's
    // peers need: each member is the TLS server and the TLS client of the others.
    const pkiDir = join(dir, 'pki');
    await ensurePki(pkiDir, names.map((id) => ({ id, hosts: ['127.0.0.1'] })), 'etcd-bench');
    const pki = pkiPaths(pkiDir);
    // The key pair that signs and checks the JWT tokens (etcd reads PKCS#8 and SPKI PEM).
    const jwt = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwtKey = join(dir, 'jwt.key');
    const jwtPub = join(dir, 'jwt.pub');
    writeFileSync(jwtKey, jwt.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(jwtPub, jwt.publicKey.export({ type: 'spki', format: 'pem' }));
    const c = new EtcdCluster(dir, readFileSync(pki.ca, 'utf8'), pki.ca);
    const ports = [];
    for (const name of names) ports.push({ name, client: await freePort(), peer: await freePort() });
    const initial = ports.map((p) => `${p.name}=https://127.0.0.1:${p.peer}`).join(',');
    for (const p of ports) {
      const out = openSync(join(c.dir, `${p.name}.log`), 'a');
      const [cert, key] = [pki.nodeCert(p.name), pki.nodeKey(p.name)];
      const proc = spawn(
        'etcd',
        [
          '--name', p.name,
          '--data-dir', join(c.dir, p.name),
          '--listen-client-urls', `https://127.0.0.1:${p.client}`,
          '--advertise-client-urls', `https://127.0.0.1:${p.client}`,
          '--listen-peer-urls', `https://127.0.0.1:${p.peer}`,
          '--initial-advertise-peer-urls', `https://127.0.0.1:${p.peer}`,
          '--initial-cluster', initial,
          '--initial-cluster-token', 'keyraft-bench',
          '--initial-cluster-state', 'new',
          // Clients: TLS without client certificates, as keyraft's client port
          // (they bring tokens). No --trusted-ca-file here: etcd 3.4 then asks
          // every client for a certificate, whatever --client-cert-auth says.
          '--cert-file', cert,
          '--key-file', key,
          '--client-cert-auth=false',
          // Members: mutual TLS, only certificates of the bench CA, as keyraft's peer port.
          '--peer-cert-file', cert,
          '--peer-key-file', key,
          '--peer-trusted-ca-file', pki.ca,
          '--peer-client-cert-auth',
          // ttl: a worker authenticates once, and its token must outlast the longest case.
          '--auth-token', `jwt,pub-key=${jwtPub},priv-key=${jwtKey},sign-method=ES256,ttl=24h`,
        ],
        { stdio: ['ignore', out, out] },
      );
      c.procs.push(proc);
      c.clients.push(`127.0.0.1:${p.client}`);
    }
    return c;
  }

  /** etcdctl on every member over TLS; `asUser` once authentication is on. */
  private etcdctl(args: string[], asUser: boolean): string {
    const common = ['--endpoints', this.clients.map((a) => `https://${a}`).join(','), '--cacert', this.caFile];
    if (asUser) common.push('--user', `${this.user}:${this.password}`);
    return execFileSync('etcdctl', [...common, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      // etcdctl waits forever for a member that does not answer.
      timeout: 10_000,
    });
  }

  /** The members' process ids, for the CPU they use. */
  get pids(): number[] {
    return this.procs.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  /** The leader's client address once the cluster answers, by etcdctl endpoint status. */
  async leader(timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      for (const p of this.procs) if (p.exitCode !== null) throw new Error(`an etcd member exited (${p.exitCode}); logs in ${this.dir}`);
      try {
        // Status needs no user, before or after authentication is on.
        const out = this.etcdctl(['endpoint', 'status', '-w', 'json'], false);
        // member ids are uint64: compare them as strings, not JS numbers.
        const quoted = out.replace(/"(member_id|leader)":(\d+)/g, '"$1":"$2"');
        const rows = JSON.parse(quoted) as { Endpoint: string; Status: { header: { member_id: string }; leader: string } }[];
        const lead = rows.find((r) => r.Status.leader !== '0' && r.Status.header.member_id === r.Status.leader);
        if (lead !== undefined && rows.length === this.clients.length) return lead.Endpoint.replace(/^https?:\/\//, '');
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`etcd has no leader after ${timeoutMs} ms: ${last}`);
  }

  /**
   * Turns authentication on: the root user with a random password, then
   * `auth enable` (etcdctl gives root the root role). Every KV call needs a
   * token from then on. Call it once the cluster has a leader.
   */
  enableAuth(): void {
    this.etcdctl(['user', 'add', this.user, `--new-user-password=${this.password}`], false);
    this.etcdctl(['auth', 'enable'], false);
  }

  /** The keys the Range case reads: bench/get-0 .. bench/get-(n-1). */
  seed(n: number, value: string): void {
    for (let i = 0; i < n; i++) this.etcdctl(['put', `bench/get-${i}`, value], true);
  }

  /** Kills every member and removes the folder; safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
