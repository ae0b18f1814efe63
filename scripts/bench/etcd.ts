// The peer: a 3-member etcd cluster (Debian's etcd-server, installed when
// missing) on 127.0.0.1 with free ports in a temporary folder, fsync on.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  readonly clients: string[] = [];

  private constructor(readonly dir: string) {}

  static async start(members = 3): Promise<EtcdCluster> {
    const c = new EtcdCluster(mkdtempSync(join(tmpdir(), 'keyraft-bench-etcd-')));
    const ports = [];
    for (let i = 1; i <= members; i++) ports.push({ name: `m${i}`, client: await freePort(), peer: await freePort() });
    const initial = ports.map((p) => `${p.name}=http://127.0.0.1:${p.peer}`).join(',');
    for (const p of ports) {
      const out = openSync(join(c.dir, `${p.name}.log`), 'a');
      const proc = spawn(
        'etcd',
        [
          '--name', p.name,
          '--data-dir', join(c.dir, p.name),
          '--listen-client-urls', `http://127.0.0.1:${p.client}`,
          '--advertise-client-urls', `http://127.0.0.1:${p.client}`,
          '--listen-peer-urls', `http://127.0.0.1:${p.peer}`,
          '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
          '--initial-cluster', initial,
          '--initial-cluster-token', 'keyraft-bench',
          '--initial-cluster-state', 'new',
        ],
        { stdio: ['ignore', out, out] },
      );
      c.procs.push(proc);
      c.clients.push(`127.0.0.1:${p.client}`);
    }
    return c;
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
        const out = execFileSync('etcdctl', ['--endpoints', this.clients.join(','), 'endpoint', 'status', '-w', 'json'], {
          env: { ...process.env, ETCDCTL_API: '3' },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 5000,
        });
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

  /** The keys the Range case reads: bench/get-0 .. bench/get-(n-1). */
  seed(n: number, value: string): void {
    for (let i = 0; i < n; i++) {
      execFileSync('etcdctl', ['--endpoints', this.clients.join(','), 'put', `bench/get-${i}`, value], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'ignore', timeout: 5000 });
    }
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
