// The workload runner of issue 6: a real cluster, several sequential clients
// doing the register workload and a few doing the key workload
// (keys-workload.ts) through the SDK while the nemesis works, a
// recorded history, the final state read from every node, and the verdict of
// the checkers. Everything it starts it also ends, pass or fail.

import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { KeyraftClient, KeyraftError } from '../../src/client/index.js';
import { DEFAULT_FAILOVER_AFTER_MS } from '../../src/topology.js';
import { TestCluster, eventually } from '../integration/cluster.js';
import { type CheckResult, runChecks } from './checks.js';
import { prng } from './fixtures.js';
import { type FinalKeys, type FinalStates, type NodeState, type Operation, type Outcome, type RegisterOp, serializeHistory } from './history.js';
import { KeyPool, keyWorkload, readFinalKeys, versionsKey } from './keys-workload.js';
import { type LinearizabilityResult, checkLinearizability } from './linearizability.js';
import { type FaultKind, Nemesis } from './nemesis.js';

/** What a run has done so far: the history and the faults injected. */
export interface RunProgress {
  readonly history: readonly Operation[];
  readonly faults: number;
}

export interface RunOptions {
  readonly seed: number;
  /** The workload runs at least this long. */
  readonly timeMs: number;
  /**
   * Then, with this, it goes on until `enough` holds (checked every 250 ms)
   * or until `maxTimeMs` from the start: a slow machine does less per
   * second, and a test that asserts what the run did must not depend on how
   * fast the machine is. The nemesis works for the first `timeMs` only: on a
   * slow machine a region it killed takes long to come back, and a storm
   * that never ends would leave no time in which the primary takes writes.
   */
  readonly untilEnough?: { readonly enough: (progress: RunProgress) => boolean; readonly maxTimeMs: number };
  /** Two regions (3+3) instead of one region of 3. */
  readonly twoRegions?: boolean;
  readonly clients?: number;
  /** Processes doing the key workload, besides the register clients (default 2). */
  readonly keyClients?: number;
  readonly keys?: number;
  /** Chance that the nemesis adds a second fault while holding one (default 0.3). */
  readonly overlap?: number;
  /**
   * Two regions whose primary always keeps a quorum: one fault at a time,
   * the next only once the region has rejoined (a restarted node is back),
   * never the whole region, and the production failover period. Every
   * failover then is a false one (the result counts them).
   */
  readonly keepPrimaryQuorum?: boolean;
  /** Passed to the nemesis: the first fault, whatever the seed says. */
  readonly firstFault?: FaultKind;
  readonly log?: (line: string) => void;
}

/** Counts of what a run did. */
export interface Tally {
  readonly operations: number;
  readonly okOperations: number;
  readonly faults: number;
  /** Ok register reads that a failed-over secondary served. */
  readonly secondaryReads: number;
  /** Key workload operations, and how many of them were ok signatures. */
  readonly keyOperations: number;
  readonly signatures: number;
}

export function tally({ history, faults }: RunProgress): Tally {
  return {
    operations: history.length,
    okOperations: history.filter((op) => (op.outcome ?? 'ok') === 'ok').length,
    faults,
    secondaryReads: countFailedOverReads(history),
    keyOperations: history.filter((op) => op.kind === 'key').length,
    signatures: history.filter((op) => op.kind === 'key' && op.action === 'sign' && op.outcome === 'ok').length,
  };
}

export interface RunResult extends Tally {
  readonly seed: number;
  readonly ok: boolean;
  readonly history: Operation[];
  readonly finalStates: FinalStates;
  readonly finalKeys: FinalKeys;
  readonly twoRegions: boolean;
  /** Automatic failovers of the secondary during the workload (its epoch before the final, manual one). */
  readonly failovers: number;
  /** The longest the secondary's leader went without seeing a primary leader (0 if it never logged a gap of 500 ms). */
  readonly longestLeaderGapMs: number;
  readonly linearizability: LinearizabilityResult;
  readonly checks: CheckResult;
  readonly schedule: string;
  /** Where the logs, history and schedule were kept; undefined when the run passed (and, with keepPrimaryQuorum, did not fail over). */
  readonly keptDir?: string;
  /** Set when the harness itself failed (no verdict on keyraft). */
  readonly error?: string;
}

const VAULT = 'jepsen';
const PRIMARY = 'east';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * 'fail' only when the error proves the write never happened. A refusal on a
 * later attempt proves nothing about an earlier attempt that timed out, so a
 * retried call that ends in a refusal is still 'unknown'.
 */
export function writeOutcome(e: unknown): Outcome {
  if (!(e instanceof KeyraftError)) return 'unknown';
  const definite = e.code === grpc.status.INVALID_ARGUMENT || e.code === grpc.status.FAILED_PRECONDITION;
  return definite && e.attempts <= 1 ? 'fail' : 'unknown';
}

interface ClientCtx {
  readonly id: number;
  readonly client: KeyraftClient;
  readonly rand: () => number;
}

export async function runOnce(opts: RunOptions): Promise<RunResult> {
  const log = opts.log ?? (() => undefined);
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const keys = Array.from({ length: opts.keys ?? 4 }, (_, i) => `r${i}`);
  const twoRegions = opts.twoRegions === true || opts.keepPrimaryQuorum === true;
  const cluster = await TestCluster.create({
    regions: twoRegions
      ? [
          { name: PRIMARY, nodes: 3 },
          { name: 'west', nodes: 3 },
        ]
      : [{ name: PRIMARY, nodes: 3 }],
    failoverAfterMs: opts.keepPrimaryQuorum ? DEFAULT_FAILOVER_AFTER_MS : 2000,
    failbackAfterMs: 2000,
  });
  const history: Operation[] = [];
  const nemesis = new Nemesis(cluster, {
    seed: opts.seed,
    region: PRIMARY,
    killRegion: twoRegions && !opts.keepPrimaryQuorum,
    overlap: opts.keepPrimaryQuorum ? 0 : (opts.overlap ?? 0.3),
    awaitRejoin: opts.keepPrimaryQuorum === true,
    firstFault: opts.firstFault,
    now,
    log,
    failedOverReads: () => countFailedOverReads(history),
  });
  const clients: KeyraftClient[] = [];
  let finalStates: FinalStates = {};
  let failovers = 0;
  let finalKeys: FinalKeys = {};
  let verdict: Pick<RunResult, 'ok' | 'linearizability' | 'checks'> | undefined;
  let error: string | undefined;
  try {
    nemesis.startAll();
    const setup = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(PRIMARY), timeoutMs: 5000 });
    clients.push(setup);
    await eventually('the vault', () => setup.createVault({ name: VAULT }).then(() => true), 60_000);
    log(`  cluster up in ${Math.round(now())}ms (${cluster.nodes.length} nodes, logs in ${cluster.dir})`);

    const start = now();
    // The workload and the nemesis run until this moment; untilEnough moves it.
    let untilMs = start + (opts.untilEnough?.maxTimeMs ?? opts.timeMs);
    const until = () => untilMs;
    const ctxs: ClientCtx[] = Array.from({ length: opts.clients ?? 5 }, (_, id) => {
      const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(PRIMARY), timeoutMs: 3000, endpointCooldownMs: 500 });
      clients.push(client);
      return { id, client, rand: prng(opts.seed * 7919 + id) };
    });
    const pool = new KeyPool();
    const keyProcs = Array.from({ length: opts.keyClients ?? 2 }, (_, i) => {
      const id = ctxs.length + i;
      const client = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(PRIMARY), timeoutMs: 3000, endpointCooldownMs: 500 });
      clients.push(client);
      return { id, client, rand: prng(opts.seed * 7919 + id) };
    });
    const progress = setInterval(() => {
      const done = history.length;
      log(`  ${Math.round((now() - start) / 1000)}s: ${done} operations, ${nemesis.faults} faults`);
    }, 5000);
    const enough = opts.untilEnough?.enough;
    const check = setInterval(() => {
      if (enough === undefined || now() - start < opts.timeMs || !enough({ history, faults: nemesis.faults })) return;
      untilMs = Math.min(untilMs, now());
      clearInterval(check);
    }, 250);
    try {
      await Promise.all([
        nemesis.run(() => Math.min(untilMs, start + opts.timeMs)),
        ...ctxs.map((c) => workload(c, keys, until, now, history)),
        ...keyProcs.map((p) => keyWorkload(p, pool, { vault: VAULT, primary: PRIMARY, until, now }, history)),
      ]);
    } finally {
      clearInterval(progress);
      clearInterval(check);
    }
    log(`  workload done: ${history.length} operations, ${nemesis.faults} faults; settling`);
    const settle = now();
    failovers = await secondaryEpoch(cluster);
    finalStates = await readFinalStates(cluster, keys);
    finalKeys = await readFinalKeys(setup, VAULT, pool.names);
    log(`  final states and ${Object.keys(finalKeys).length} keys read in ${Math.round(now() - settle)}ms`);
    // The final version lists are observations too: every earlier one must be a prefix.
    for (const [name, k] of Object.entries(finalKeys)) {
      const at = now();
      history.push({ kind: 'versions', key: versionsKey(name), versions: [...k.versions], invokeMs: at, completeMs: at });
    }
    const linearizability = checkLinearizability(history);
    const checks = runChecks(history, finalStates, finalKeys);
    verdict = { ok: linearizability.ok === true && checks.ok, linearizability, checks };
    log(`  checked in ${Math.round(now() - settle)}ms since the workload ended`);
  } catch (e) {
    error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  } finally {
    nemesis.stop();
    await nemesis.heal().catch(() => undefined);
  }
  for (const c of clients) c.close();
  const ok = verdict?.ok === true && error === undefined;
  let keptDir: string | undefined;
  // A failover while the primary kept its quorum fails the run too (nemesis.ts): its logs say why.
  if (!ok || (opts.keepPrimaryQuorum === true && failovers > 0)) {
    keptDir = mkdtempSync(join(tmpdir(), `keyraft-nemesis-${opts.seed}-`));
    for (const n of cluster.nodes) if (existsSync(n.logFile)) copyFileSync(n.logFile, join(keptDir, `${n.id}.log`));
    writeFileSync(join(keptDir, 'history.json'), serializeHistory(history));
    writeFileSync(join(keptDir, 'final-states.json'), JSON.stringify(finalStates, null, 2));
    writeFileSync(join(keptDir, 'final-keys.json'), JSON.stringify(finalKeys, null, 2));
    writeFileSync(join(keptDir, 'schedule.txt'), `seed ${opts.seed}\n${nemesis.formatSchedule()}\n`);
  }
  const longestLeaderGapMs = longestLeaderGap(cluster);
  await cluster.destroy();
  return {
    seed: opts.seed,
    ok,
    ...tally({ history, faults: nemesis.faults }),
    history,
    finalStates,
    finalKeys,
    twoRegions,
    failovers,
    longestLeaderGapMs,
    linearizability: verdict?.linearizability ?? { ok: 'unknown', key: '', reason: 'not checked' },
    checks: verdict?.checks ?? { ok: false, anomalies: [] },
    schedule: nemesis.formatSchedule(),
    keptDir,
    error,
  };
}

function countFailedOverReads(history: readonly Operation[]): number {
  return history.filter((op) => op.kind === 'read' && op.outcome === 'ok' && op.secondary !== undefined).length;
}

/** One process: one operation at a time until the deadline. */
async function workload(c: ClientCtx, keys: readonly string[], until: () => number, now: () => number, history: Operation[]): Promise<void> {
  let n = 0;
  while (now() < until()) {
    const key = keys[Math.floor(c.rand() * keys.length)]!;
    const r = c.rand();
    if (r < 0.45) {
      const value = `p${c.id}-${n++}`;
      const invokeMs = now();
      // The primary log index of the write's entry (keyraft-commit-index), which places it exactly for checkSecondaryReads.
      let primaryIndex: number | undefined;
      try {
        await c.client.setSecret({ vault: VAULT, name: key, value }, { onServedBy: (s) => (primaryIndex = s.commitIndex) });
        history.push({ process: c.id, kind: 'write', key, value, invokeMs, completeMs: now(), outcome: 'ok', ...(primaryIndex === undefined ? {} : { primaryIndex }) });
      } catch (e) {
        const outcome = writeOutcome(e);
        const op: RegisterOp = { process: c.id, kind: 'write', key, value, invokeMs, outcome };
        history.push(outcome === 'fail' ? { ...op, completeMs: now() } : op);
      }
    } else if (r < 0.9) {
      const invokeMs = now();
      let secondary: RegisterOp['secondary'];
      const onServedBy = (s: { region: string; mode: string; metadata: Record<string, string> }) => {
        // Only a failed-over secondary answers from its own (stale) state; a standby one forwards.
        secondary = s.region !== PRIMARY && s.mode === 'FAILED_OVER' ? { region: s.region, primaryIndex: Number(s.metadata['keyraft-primary-index'] ?? 0) } : undefined;
      };
      try {
        const s = await c.client.getSecret({ vault: VAULT, name: key }, { onServedBy });
        history.push({ process: c.id, kind: 'read', key, value: s.value, invokeMs, completeMs: now(), outcome: 'ok', ...(secondary ? { secondary } : {}) });
      } catch (e) {
        if (e instanceof KeyraftError && e.code === grpc.status.NOT_FOUND && e.reason === 'SECRET_NOT_FOUND') {
          const served = e.servedBy;
          if (served) onServedBy(served);
          history.push({ process: c.id, kind: 'read', key, value: null, invokeMs, completeMs: now(), outcome: 'ok', ...(secondary ? { secondary } : {}) });
        } else {
          // A read that failed changed nothing and told nothing.
          history.push({ process: c.id, kind: 'read', key, invokeMs, completeMs: now(), outcome: 'fail' });
        }
      }
    } else {
      const invokeMs = now();
      try {
        const versions: string[] = [];
        for await (const v of c.client.listAllSecretVersions(VAULT, key, { pageSize: 25 })) versions.push(v.version);
        history.push({ process: c.id, kind: 'versions', key, versions, invokeMs, completeMs: now() });
      } catch {
        // NOT_FOUND before the first write, or a fault: no observation.
      }
    }
  }
}

/** After the heal: every node answers for every key, each through a client pinned to it. */
/**
 * A STANDBY secondary forwards reads to the primary, and a FAILED_OVER one
 * may legitimately lag: to compare the secondary's own state, wait until
 * every secondary node reflects the primary's last committed entry, then
 * fail it over by hand so that it answers from its state.
 */
async function failOverCaughtUp(cluster: TestCluster): Promise<void> {
  const secondary = cluster.nodes.filter((n) => n.region !== PRIMARY);
  if (secondary.length === 0) return;
  type Status = { commitIndex: string | number; primaryIndex: string | number; mode: string };
  await eventually(
    'the secondary region to catch up with the primary',
    async () => {
      const primary = await Promise.all(cluster.regionNodes(PRIMARY).map((n) => cluster.admin<Status>(n.id, 'nodeStatus', {})));
      const commit = Math.max(...primary.map((s) => Number(s.commitIndex)));
      const behind = await Promise.all(secondary.map((n) => cluster.admin<Status>(n.id, 'nodeStatus', {})));
      return behind.every((s) => Number(s.primaryIndex) >= commit) ? true : undefined;
    },
    60_000,
    250,
  );
  const west = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [secondary[0]!.client], timeoutMs: 5000 });
  try {
    await west.failover({ reason: 'nemesis: compare the secondary state' });
  } finally {
    west.close();
  }
  await eventually(
    'the secondary to serve from its own state',
    async () => {
      const modes = await Promise.all(secondary.map((n) => cluster.admin<Status>(n.id, 'nodeStatus', {})));
      return modes.every((s) => s.mode === 'FAILED_OVER') ? true : undefined;
    },
    30_000,
    200,
  );
}

/** The longest gap without a primary leader that a secondary node logged (src/geo/follower.ts). */
function longestLeaderGap(cluster: TestCluster): number {
  let longest = 0;
  for (const n of cluster.nodes.filter((x) => x.region !== PRIMARY && existsSync(x.logFile))) {
    for (const line of readFileSync(n.logFile, 'utf8').split('\n')) {
      if (!line.includes('a primary leader seen again')) continue;
      longest = Math.max(longest, Number((JSON.parse(line) as { gapMs?: number }).gapMs ?? 0));
    }
  }
  return longest;
}

/** The secondary's epoch: how many times it failed over. */
async function secondaryEpoch(cluster: TestCluster): Promise<number> {
  let epoch = 0;
  for (const n of cluster.nodes.filter((x) => x.region !== PRIMARY)) {
    const s = await cluster.admin<{ epoch: number | string }>(n.id, 'nodeStatus', {}).catch(() => undefined);
    if (s !== undefined) epoch = Math.max(epoch, Number(s.epoch));
  }
  return epoch;
}

async function readFinalStates(cluster: TestCluster, keys: readonly string[]): Promise<FinalStates> {
  await sleep(2000);
  const states: Record<string, NodeState> = {};
  const primaryFirst = [...cluster.regionNodes(PRIMARY), ...cluster.nodes.filter((n) => n.region !== PRIMARY)];
  for (const n of primaryFirst) {
    if (n.region !== PRIMARY && Object.keys(states).length === cluster.regionNodes(PRIMARY).length) await failOverCaughtUp(cluster);
    const pinned = new KeyraftClient({ ca: cluster.ca, token: cluster.token, regionAware: false, endpoints: [n.client], retries: 3, timeoutMs: 3000 });
    try {
      const state: Record<string, string | null> = {};
      for (const key of keys) {
        state[key] = await eventually(
          `${key} on ${n.id}`,
          () =>
            pinned.getSecret({ vault: VAULT, name: key }).then(
              (s): string | null => s.value,
              (e: unknown) => {
                if (e instanceof KeyraftError && e.reason === 'SECRET_NOT_FOUND') return null;
                throw e;
              },
            ),
          30_000,
          200,
        );
      }
      states[n.id] = state;
    } finally {
      pinned.close();
    }
  }
  return states;
}
