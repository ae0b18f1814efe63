// The Scale part of `make bench` (issue 7): a 3-node one-region cluster filled
// with N distinct 256-byte secrets. It reports how SetSecret latency grows as
// the store fills (checkpoints at N/100, N/10 and N), the snapshot a follower
// catches up from (records, bytes, time to install), each node's RSS and data
// folder, and the time from starting a node again (after SIGTERM and after
// kill -9) until it answers GetStatus and serves a GetSecret itself.

import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { KeyraftClient } from '../../src/client/index.js';
import { TestCluster, UNTHROTTLED, eventually } from '../../test/integration/cluster.js';
import { VALUE_BYTES } from './common.js';
import { Histogram } from './hist.js';

export interface ScaleOptions {
  /** Secrets to store. */
  readonly n: number;
  /** Secrets in flight while filling. */
  readonly fillConcurrency?: number;
  /** Seconds of SetSecret per concurrency at each checkpoint. */
  readonly latencySeconds?: number;
  readonly progress: (s: string) => void;
  /** Registers a cleanup for Ctrl-C and failures; returns its removal. */
  readonly onCleanup: (f: () => Promise<void>) => () => void;
}

export interface ScaleLatency {
  /** Secrets stored when measured. */
  readonly stored: number;
  readonly concurrency: number;
  readonly opsPerSec: number;
  readonly count: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface ScaleNode {
  readonly id: string;
  readonly role: string;
  readonly rssMb: number;
  /** Peak RSS of the process (VmHWM). */
  readonly peakRssMb: number;
  /** RSS after IDLE_MS without traffic: V8 shrinks its heap once allocation stops. */
  readonly idleRssMb: number;
  /** Of idleRssMb, pages of mapped files: Node's own executable (~45 MB) and the LevelDB tables it has open. */
  readonly idleFileRssMb: number;
  readonly dataDirMb: number;
}

const IDLE_MS = 20_000;

export interface ScaleRestart {
  readonly id: string;
  /** The node's role before it went down. */
  readonly role: string;
  readonly how: 'SIGTERM' | 'kill -9';
  /** From spawning the process to a GetStatus answer from it. */
  readonly statusMs: number;
  /** From spawning the process to a GetSecret it served. */
  readonly servingMs: number;
  /** RSS once serving, and a few seconds later. */
  readonly rssMbAtServing: number;
  readonly rssMbSettled: number;
  /** Of rssMbSettled, pages of mapped files. */
  readonly fileRssMbSettled: number;
}

export interface ScaleSnapshot {
  /** Records and bytes (keys + values) of a stopped node's applied state: what a snapshot streams. */
  readonly records: number;
  readonly bytes: number;
  /** A follower killed while entriesBehind secrets went in, then started again. */
  readonly catchUp?: {
    readonly id: string;
    /** Whether its log shows it installed a snapshot (rather than catching up from the log). */
    readonly installed: boolean;
    readonly entriesBehind: number;
    /** Its applied index when killed, and the leader's commit index when it started again. */
    readonly fromIndex: number;
    readonly toIndex: number;
    readonly compactEvery: number;
    /** From spawning the node to its applied index reaching the leader's commit index. */
    readonly ms: number;
  };
}

export interface ScaleResult {
  readonly target: number;
  readonly stored: number;
  readonly fillSeconds: number;
  readonly fillPerSec: number;
  readonly fillErrors: number;
  readonly latency: ScaleLatency[];
  /** RSS of every node at each checkpoint. */
  readonly rssAt: { stored: number; rssMb: Record<string, number> }[];
  readonly nodes: ScaleNode[];
  readonly restarts: ScaleRestart[];
  readonly snapshot?: ScaleSnapshot;
  readonly targets: { rssMb: number; restartMs: number; rssMet: boolean; restartMet: boolean };
}

export const RSS_TARGET_MB = 250;
export const RESTART_TARGET_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => bytes / (1024 * 1024);

function procStatus(pid: number | undefined): { rssMb: number; peakMb: number; fileMb: number } {
  const unknown = { rssMb: Number.NaN, peakMb: Number.NaN, fileMb: Number.NaN };
  if (pid === undefined) return unknown;
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024, fileMb: kb('RssFile') / 1024 };
  } catch {
    return unknown;
  }
}

function duBytes(path: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) total += duBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

/** The applied state records of a stopped node: what a snapshot of it streams (see NodeStore.openStateSnapshot). */
async function stateRecords(dataDir: string): Promise<{ records: number; bytes: number }> {
  const db = new Level<string, Uint8Array>(join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    const genBytes = await db.get('s/gen');
    const gen = genBytes === undefined ? 1 : Number(new TextDecoder().decode(genBytes));
    const prefix = `v/${String(gen).padStart(8, '0')}/`;
    let records = 0;
    let bytes = 0;
    for await (const [key, value] of db.iterator({ gte: prefix, lt: prefix + '\uffff' })) {
      records++;
      bytes += Buffer.byteLength(key.slice(prefix.length)) + value.byteLength;
    }
    return { records, bytes };
  } finally {
    await db.close();
  }
}

export async function runScale(opts: ScaleOptions): Promise<ScaleResult> {
  const { n, progress } = opts;
  const fillConcurrency = opts.fillConcurrency ?? 128;
  const latencyMs = (opts.latencySeconds ?? 2) * 1000;
  // The default compaction interval (10,000) at full scale; smaller runs
  // compact proportionally so the snapshot path is still taken.
  const compactEvery = Math.min(10_000, Math.max(100, Math.floor(n / 10)));
  const checkpoints = [...new Set([Math.floor(n / 100), Math.floor(n / 10), n].filter((c) => c >= 1))];

  progress(`scale: starting 3 nodes (compactEvery ${compactEvery}) to store ${n.toLocaleString('en-US')} secrets`);
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }], compactEvery, throttle: UNTHROTTLED });
  const unregister = opts.onCleanup(() => cluster.destroy());
  const procs = new Map<string, ChildProcess>();
  const start = (id: string) => procs.set(id, cluster.start(id));
  const pid = (id: string) => procs.get(id)?.pid;
  const clients: KeyraftClient[] = [];
  const pinned = (id: string, timeoutMs = 2000) => {
    const c = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: [cluster.node(id).client], regionAware: false, retries: 0, timeoutMs });
    clients.push(c);
    return c;
  };
  try {
    for (const node of cluster.nodes) start(node.id);
    const all = cluster.endpoints('east');
    const admin = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: all, regionAware: false, timeoutMs: 20_000 });
    clients.push(admin);
    const roles = async () => {
      const s = await admin.getStatus({}, { timeoutMs: 3000 });
      return new Map(s.nodes.map((x) => [x.id, x]));
    };
    const leaderId = () =>
      eventually('a leader', async () => [...(await roles()).values()].find((x) => x.role === 'leader' && x.mode === 'SERVING')?.id, 30_000, 200);
    let leader = await leaderId();
    const vault = 'scale';
    await eventually('the vault', () => admin.createVault({ name: vault }).then(() => true), 20_000, 250);
    // Writes go to the leader first, as clients that know it do.
    const writer = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: [cluster.node(leader).client, ...all.filter((e) => e !== cluster.node(leader).client)], regionAware: false, timeoutMs: 30_000 });
    clients.push(writer);
    const value = 'v'.repeat(VALUE_BYTES);

    // ---- Filling: `fillConcurrency` SetSecret calls in flight on new names ----
    let stored = 0;
    let fillErrors = 0;
    let fillMs = 0;
    let filled = 0;
    const fillTo = async (to: number) => {
      const from = stored;
      if (to <= from) return;
      let nextName = from;
      let done = from;
      const t0 = Date.now();
      let lastReport = t0;
      const slot = async () => {
        for (;;) {
          const i = nextName++;
          if (i >= to) return;
          for (let attempt = 0; ; attempt++) {
            try {
              await writer.setSecret({ vault, name: `s-${i}`, value });
              break;
            } catch (e) {
              fillErrors++;
              if (attempt >= 20) throw e;
              await sleep(100);
            }
          }
          done++;
          const now = Date.now();
          if (now - lastReport >= 3000) {
            lastReport = now;
            const rate = ((done - from) * 1000) / (now - t0);
            progress(`scale: ${done.toLocaleString('en-US')} / ${n.toLocaleString('en-US')} stored, ${Math.round(rate)}/s, ETA ${Math.round((n - done) / Math.max(1, rate))} s${fillErrors ? `, ${fillErrors} retried` : ''}`);
          }
        }
      };
      await Promise.all(Array.from({ length: fillConcurrency }, slot));
      fillMs += Date.now() - t0;
      filled += to - from;
      stored += to - from;
    };

    // ---- Latency at a checkpoint: SetSecret on new names at concurrency 1 and 16 ----
    const latency: ScaleLatency[] = [];
    const rssAt: ScaleResult['rssAt'] = [];
    const measure = async (cp: number) => {
      rssAt.push({ stored, rssMb: Object.fromEntries(cluster.nodes.map((x) => [x.id, Math.round(procStatus(pid(x.id)).rssMb)])) });
      const at = stored;
      for (const c of [1, 16]) {
        const hist = new Histogram();
        let errors = 0;
        let count = 0;
        const t0 = Date.now();
        const until = t0 + latencyMs;
        await Promise.all(
          Array.from({ length: c }, async (_, s) => {
            for (let i = 0; Date.now() < until; i++) {
              const t = process.hrtime.bigint();
              try {
                await writer.setSecret({ vault, name: `lat-${cp}-${c}-${s}-${i}`, value });
                hist.record(Number(process.hrtime.bigint() - t) / 1000);
                count++;
              } catch {
                errors++;
                await sleep(10);
              }
            }
          }),
        );
        stored += count;
        const r: ScaleLatency = {
          stored: at, concurrency: c, opsPerSec: (count * 1000) / (Date.now() - t0), count, errors,
          p50Ms: hist.quantileMs(0.5), p99Ms: hist.quantileMs(0.99), maxMs: hist.maxUs / 1000,
        };
        latency.push(r);
        progress(`scale: ${at.toLocaleString('en-US')} stored, SetSecret c=${c}: ${Math.round(r.opsPerSec)}/s p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms${errors ? `, ${errors} errors` : ''}`);
      }
    };

    // The follower that falls behind while the last secrets go in, and
    // catches up from a snapshot after: each node compacts its log every
    // compactEvery entries, so 2 x compactEvery entries are sure to leave it
    // behind the leader's compaction point.
    const behind = 2 * compactEvery + 500;
    const killAt = n - behind > (checkpoints[checkpoints.length - 2] ?? 0) ? n - behind : undefined;
    let catchUp: ScaleSnapshot['catchUp'];
    let snapshot: ScaleSnapshot | undefined;
    for (const cp of checkpoints) {
      if (cp === n && killAt !== undefined) {
        await fillTo(killAt);
        const before = await roles();
        const lagging = [...before.values()].find((x) => x.role === 'follower')!.id;
        const fromIndex = before.get(lagging)?.appliedIndex ?? 0;
        progress(`scale: kill -9 ${lagging} (applied ${fromIndex}); writing ${behind.toLocaleString('en-US')} more so that it needs a snapshot`);
        await cluster.kill(lagging);
        await fillTo(cp);
        const after = [...(await roles()).values()].find((x) => x.role === 'leader');
        const commit = after?.commitIndex ?? 0;
        progress(`scale: starting ${lagging} again; leader ${after?.id ?? '?'} (was ${[...before.values()].find((x) => x.role === 'leader')?.id ?? '?'}) at commit ${commit}`);
        const t0 = Date.now();
        start(lagging);
        const p = pinned(lagging);
        await eventually(
          `${lagging} to catch up`,
          async () => {
            const self = (await p.getStatus({}, { timeoutMs: 1000 })).nodes.find((x) => x.id === lagging);
            return self !== undefined && self.appliedIndex >= commit ? true : undefined;
          },
          120_000,
          50,
        );
        const catchUpMs = Date.now() - t0;
        const installed = await eventually('the install in the log', async () => (/installed snapshot/.test(cluster.log(lagging)) ? true : undefined), 3000, 100).catch(() => false);
        progress(`scale: ${lagging} caught up in ${catchUpMs} ms (${installed ? 'installed a snapshot' : 'from the log, no snapshot'})`);
        if (!installed) {
          // Unexpected: keep the node logs for a look.
          const keep = mkdtempSync(join(tmpdir(), 'keyraft-scale-logs-'));
          for (const x of cluster.nodes) copyFileSync(x.logFile, join(keep, `${x.id}.log`));
          progress(`scale: no snapshot was installed; the node logs are in ${keep}`);
        }
        catchUp = { id: lagging, installed, entriesBehind: behind, fromIndex, toIndex: commit, compactEvery, ms: catchUpMs };
      } else {
        await fillTo(cp);
      }
      await measure(cp);
    }
    const fillPerSec = (filled * 1000) / Math.max(1, fillMs);

    // ---- Each node's memory and data folder, with everything stored ----
    await sleep(2000);
    const byId = await roles();
    leader = [...byId.values()].find((x) => x.role === 'leader')?.id ?? leader;
    const afterFill = new Map(cluster.nodes.map((x) => [x.id, procStatus(pid(x.id))]));
    progress(`scale: RSS right after the fill ${[...afterFill].map(([id, st]) => `${id} ${st.rssMb.toFixed(0)} MB`).join(', ')}; ${IDLE_MS / 1000} s idle`);
    await sleep(IDLE_MS);
    const nodes: ScaleNode[] = cluster.nodes.map((x) => {
      const st = afterFill.get(x.id)!;
      const idle = procStatus(pid(x.id));
      return { id: x.id, role: byId.get(x.id)?.role ?? '?', rssMb: st.rssMb, peakRssMb: idle.peakMb, idleRssMb: idle.rssMb, idleFileRssMb: idle.fileMb, dataDirMb: mb(duBytes(x.dataDir)) };
    });
    for (const x of nodes) {
      progress(`scale: ${x.id} (${x.role}) RSS ${x.rssMb.toFixed(0)} MB, ${x.idleRssMb.toFixed(0)} MB idle (peak ${x.peakRssMb.toFixed(0)} MB), data ${x.dataDirMb.toFixed(1)} MB`);
    }

    // ---- Restarts: a follower after SIGTERM, then the leader after kill -9 ----
    const restarts: ScaleRestart[] = [];
    const restart = async (id: string, how: ScaleRestart['how']) => {
      const role = byId.get(id)?.role ?? '?';
      if (how === 'SIGTERM') await cluster.stop(id);
      else await cluster.kill(id);
      if (snapshot === undefined) {
        // While it is down: the state a snapshot of this node would stream.
        const s = await stateRecords(cluster.node(id).dataDir);
        snapshot = { ...s, ...(catchUp === undefined ? {} : { catchUp }) };
        progress(`scale: the applied state (a snapshot's content): ${s.records.toLocaleString('en-US')} records, ${mb(s.bytes).toFixed(1)} MB`);
      }
      const p = pinned(id, 1000);
      const t0 = Date.now();
      start(id);
      const statusMs = await eventually(`${id} to answer GetStatus`, async () => {
        const s = await p.getStatus({}, { timeoutMs: 1000 });
        return s.nodes.some((x) => x.id === id) ? Date.now() - t0 : undefined;
      }, 120_000, 25);
      const servingMs = await eventually(`${id} to serve a GetSecret`, async () => {
        await p.getSecret({ vault, name: 's-0' }, { timeoutMs: 1000 });
        return Date.now() - t0;
      }, 120_000, 25);
      const rssMbAtServing = procStatus(pid(id)).rssMb;
      await sleep(3000);
      const settled = procStatus(pid(id));
      const rssMbSettled = settled.rssMb;
      const r: ScaleRestart = { id, role, how, statusMs, servingMs, rssMbAtServing, rssMbSettled, fileRssMbSettled: settled.fileMb };
      restarts.push(r);
      progress(`scale: ${id} (${role}, ${how}) answered GetStatus after ${statusMs} ms, served GetSecret after ${servingMs} ms; RSS ${rssMbAtServing.toFixed(0)} MB, ${rssMbSettled.toFixed(0)} MB 3 s later`);
    };
    const follower = [...byId.values()].find((x) => x.role === 'follower')!.id;
    await restart(follower, 'SIGTERM');
    await restart(leader, 'kill -9');

    const rssMax = Math.max(...nodes.map((x) => x.rssMb), ...restarts.map((r) => Math.max(r.rssMbAtServing, r.rssMbSettled)));
    const restartMax = Math.max(...restarts.map((r) => r.servingMs));
    return {
      target: n, stored, fillSeconds: fillMs / 1000, fillPerSec, fillErrors, latency, rssAt, nodes, restarts,
      ...(snapshot === undefined ? {} : { snapshot }),
      targets: { rssMb: RSS_TARGET_MB, restartMs: RESTART_TARGET_MS, rssMet: rssMax < RSS_TARGET_MB, restartMet: restartMax < RESTART_TARGET_MS },
    };
  } finally {
    for (const c of clients) c.close();
    progress('scale: stopping the cluster');
    unregister();
    await cluster.destroy();
  }
}
