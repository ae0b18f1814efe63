// The timeline of one call: starts a keyraft region with tracing on
// (src/trace.ts), makes single calls one after another at its leader, and
// prints where a typical call spends its time, hop by hop, across the client
// and every node: the median time of each mark from the moment the client
// sent the call, one median call in full, the hops (the gap between two
// marks in a row of one process, and each message's way between processes),
// and the tail: which legs of the path the slowest calls lose their time in.
//
//   node dist/scripts/bench/timeline.js [--calls 300] [--nodes 3] [--cases set,get]
//
// A mark counts for a call when it falls between the call and its answer;
// marks seen in fewer than half of the calls (a heartbeat that happened to
// fall inside one) are left out.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import Table from 'cli-table3';
import { Command } from 'commander';
import { KeyraftClient, clientCredentials } from '../../src/client/index.js';
import { API_FILES, loadProtoRoot } from '../../src/protos.js';
import { mark, startTrace, stopTrace } from '../../src/trace.js';
import { TestCluster, UNTHROTTLED, eventually } from '../../test/integration/cluster.js';
import { identity, median, percentile } from './common.js';

const program = new Command('timeline')
  .description('where a single keyraft call spends its time, hop by hop')
  .option('--calls <n>', 'calls per case, one at a time', '300')
  .option('--nodes <n>', 'nodes in the region', '3')
  .option('--cases <list>', 'set (SetSecret), get (GetSecret)', 'set,get');
program.parse();
const o = program.opts<{ calls: string; nodes: string; cases: string }>();
const calls = Number(o.calls);
const cases = o.cases.split(',').filter((c) => c !== '');

const traceDir = mkdtempSync(join(tmpdir(), 'keyraft-trace-'));
process.env.KEYRAFT_TRACE = traceDir;
startTrace('client');

interface Mark {
  readonly at: number;
  readonly who: string;
  readonly event: string;
}

function readMarks(): Mark[] {
  const marks: Mark[] = [];
  for (const f of readdirSync(traceDir)) {
    const who = f.replace(/\.trace$/, '');
    for (const line of readFileSync(join(traceDir, f), 'utf8').split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) marks.push({ at: Number(line.slice(0, space)), who, event: line.slice(space + 1) });
    }
  }
  return marks.sort((a, b) => a.at - b.at);
}

/** One call, from the client's call to its answer. */
interface Window {
  readonly start: number;
  readonly end: number;
}

function callWindows(marks: Mark[], label: string): Window[] {
  const windows: Window[] = [];
  for (let i = 0; i < marks.length; i++) {
    const m = marks[i]!;
    if (m.who === 'client' && m.event === `call ${label}`) {
      const end = marks.find((x, j) => j > i && x.who === 'client' && x.event === `answer ${label}`);
      if (end !== undefined) windows.push({ start: m.at, end: end.at });
    }
  }
  return windows;
}

/** Each call (in time order) with the marks that fall inside it. */
function* callsWithMarks(marks: readonly Mark[], windows: readonly Window[]): Generator<[Window, Mark[]]> {
  let lo = 0;
  for (const w of windows) {
    while (lo < marks.length && marks[lo]!.at < w.start) lo++;
    let hi = lo;
    while (hi < marks.length && marks[hi]!.at <= w.end) hi++;
    yield [w, marks.slice(lo, hi)];
  }
}

function pushTo(map: Map<string, number[]>, key: string, value: number): void {
  let xs = map.get(key);
  if (xs === undefined) map.set(key, (xs = []));
  xs.push(value);
}

/** The typical call: for each (process, event, nth time in the call), its median offset from the call. */
function timeline(marks: Mark[], windows: readonly Window[], label: string, roleOf: (who: string) => string): void {
  const offsets = new Map<string, number[]>();
  for (const [w, call] of callsWithMarks(marks, windows)) {
    const nth = new Map<string, number>();
    for (const m of call) {
      const base = `${roleOf(m.who)}\t${m.event}`;
      const n = (nth.get(base) ?? 0) + 1;
      nth.set(base, n);
      pushTo(offsets, `${base}\t${n}`, m.at - w.start);
    }
  }
  const rows = [...offsets]
    .filter(([, xs]) => xs.length >= windows.length / 2)
    .map(([key, xs]) => ({ key, at: median(xs), seen: xs.length / windows.length }))
    .sort((a, b) => a.at - b.at);
  const table = new Table({ head: ['ms from call', '+ms', 'where', 'mark', 'in calls'] });
  let previous = 0;
  for (const r of rows) {
    const [who, event, n] = r.key.split('\t');
    table.push([r.at.toFixed(3), (r.at - previous).toFixed(3), who!, n === '1' ? event! : `${event} (#${n})`, `${Math.round(r.seen * 100)} %`]);
    previous = r.at;
  }
  const total = median(windows.map((w) => w.end - w.start));
  console.log(`\n${label}: ${windows.length} calls one at a time, median ${total.toFixed(3)} ms from call to answer`);
  console.log(table.toString());
  // Medians of marks that jitter apart can come out of order: one real call, the median one, in full.
  const typical = [...windows].sort((a, b) => a.end - a.start - (b.end - b.start))[Math.floor(windows.length / 2)];
  if (typical === undefined) return;
  const one = new Table({ head: ['ms from call', '+ms', 'where', 'mark'] });
  let last = typical.start;
  for (const m of marks) {
    if (m.at < typical.start || m.at > typical.end) continue;
    one.push([(m.at - typical.start).toFixed(3), (m.at - last).toFixed(3), roleOf(m.who), m.event]);
    last = m.at;
  }
  console.log(`\n${label}: the median call, every mark`);
  console.log(one.toString());
}

/**
 * The hops of a typical call, whose gaps add up along its path: each gap
 * between two marks in a row of one process, and each message's way between
 * processes (the call to the node, each Raft frame from the sender's write
 * to the peer's read, the reply to the client). A row is the median over the
 * calls that had it; rows seen in fewer than half of the calls are left out.
 */
function hops(marks: Mark[], windows: readonly Window[], label: string, roleOf: (who: string) => string): void {
  const rows = new Map<string, { gaps: number[]; at: number[] }>();
  const add = (row: string, gap: number, at: number) => {
    let r = rows.get(row);
    if (r === undefined) rows.set(row, (r = { gaps: [], at: [] }));
    r.gaps.push(gap);
    r.at.push(at);
  };
  for (const [w, call] of callsWithMarks(marks, windows)) {
    const nth = new Map<string, number>();
    const previous = new Map<string, { event: string; at: number }>();
    for (const [i, m] of call.entries()) {
      const seen = `${m.who} ${m.event}`;
      const n = (nth.get(seen) ?? 0) + 1;
      nth.set(seen, n);
      const event = n === 1 ? m.event : `${m.event} (#${n})`;
      const before = previous.get(m.who);
      // The client's own gap is the whole call: its two ways are the legs below.
      if (before !== undefined && m.who !== 'client') add(`${roleOf(m.who)}\t${before.event}\t${event}`, m.at - before.at, m.at - w.start);
      previous.set(m.who, { event, at: m.at });
      const to = /^frame written to (.+)$/.exec(m.event)?.[1];
      const arrived = to === undefined ? undefined : call.slice(i + 1).find((x) => x.who === to && x.event === `frame arrived from ${m.who}`);
      if (arrived !== undefined) add(`${roleOf(m.who)} → ${roleOf(to!)}\t${event}\tframe arrived`, arrived.at - m.at, arrived.at - w.start);
    }
    const stream = call.find((m) => m.event === 'stream');
    if (stream !== undefined) add(`client → ${roleOf(stream.who)}\tcall ${label}\tstream`, stream.at - w.start, stream.at - w.start);
    const reply = [...call].reverse().find((m) => m.event === 'reply');
    if (reply !== undefined) add(`${roleOf(reply.who)} → client\treply\tanswer ${label}`, w.end - reply.at, w.end - w.start);
  }
  const table = new Table({ head: ['ms from call', 'gap ms', 'where', 'from mark', 'to mark', 'in calls'] });
  for (const [row, r] of [...rows].filter(([, r]) => r.gaps.length >= windows.length / 2).sort(([, a], [, b]) => median(a.at) - median(b.at))) {
    const [where, from, to] = row.split('\t');
    table.push([median(r.at).toFixed(3), median(r.gaps).toFixed(3), where!, from!, to!, `${Math.round((r.gaps.length / windows.length) * 100)} %`]);
  }
  console.log(`\n${label}: the hops, each gap between two marks in a row of one process and each frame's way to its peer`);
  console.log(table.toString());
}

/**
 * Where the slow calls lose their time: a call's mean is its median plus
 * its tail, so each leg of the path (as the leader marks it) with its
 * median, p90, p99 and mean over all calls, and its mean over the slowest
 * 5 %; then how many of those overlapped a garbage collection in some
 * process. A write's legs split at its proposal and its apply; a read has
 * one leg inside the leader.
 */
function tail(marks: Mark[], gcs: readonly Mark[], windows: readonly Window[], label: string, leaderId: string): void {
  const legs = new Map<string, number[]>();
  const slowLegs = new Map<string, number[]>();
  const durations = windows.map((w) => w.end - w.start).sort((a, b) => a - b);
  const slowFrom = percentile(durations, 95);
  let slowCalls = 0;
  let slowWithGc = 0;
  for (const [w, call] of callsWithMarks(marks, windows)) {
    const leader = call.filter((m) => m.who === leaderId);
    const first = (event: string) => leader.find((m) => m.event === event)?.at;
    const stream = first('stream');
    const reply = first('reply');
    if (stream === undefined || reply === undefined) continue;
    const propose = first('propose');
    const apply = [...leader].reverse().find((m) => m.event === 'apply')?.at;
    const inside: [string, number][] =
      propose !== undefined && apply !== undefined
        ? [['leader: to propose', propose - stream], ['replication (quorum write)', apply - propose], ['leader: apply to reply', reply - apply]]
        : [['leader: to reply', reply - stream]];
    const isSlow = w.end - w.start >= slowFrom;
    for (const [leg, ms] of [['client → leader', stream - w.start], ...inside, ['leader → client', w.end - reply]] as [string, number][]) {
      pushTo(legs, leg, ms);
      if (isSlow) pushTo(slowLegs, leg, ms);
    }
    if (isSlow) {
      slowCalls++;
      // One that began before the call may still pause it: any that overlaps the call counts.
      if (gcs.some((g) => g.at <= w.end && g.at + Number(g.event.split(' ')[2]) >= w.start)) slowWithGc++;
    }
  }
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const table = new Table({ head: ['leg', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'mean ms, slowest 5 %'] });
  for (const [leg, xs] of legs) {
    const sorted = [...xs].sort((a, b) => a - b);
    table.push([leg, ...[50, 90, 99].map((p) => percentile(sorted, p).toFixed(3)), mean(xs).toFixed(3), mean(slowLegs.get(leg) ?? []).toFixed(3)]);
  }
  const p = (x: number) => percentile(durations, x).toFixed(3);
  console.log(`\n${label}: the tail. Calls p50 ${p(50)} ms, p90 ${p(90)}, p99 ${p(99)}, mean ${mean(durations).toFixed(3)}; by leg, and the slowest 5 % (from ${slowFrom.toFixed(3)} ms):`);
  console.log(table.toString());
  console.log(`${slowWithGc} of the ${slowCalls} slowest calls overlapped a garbage collection in some process.`);
}

async function main(): Promise<void> {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: Number(o.nodes) }], throttle: UNTHROTTLED });
  try {
    for (const n of cluster.nodes) cluster.start(n.id);
    const admin = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints('east'), regionAware: false, timeoutMs: 20_000 });
    const leader = await eventually(
      'a leader',
      async () => (await admin.getStatus({}, { timeoutMs: 2000 })).nodes.find((n) => n.role === 'leader' && n.mode === 'SERVING')?.clientAddress,
      30_000,
      250,
    );
    const leaderId = cluster.nodes.find((n) => n.client === leader)?.id ?? '';
    const vault = 'timeline';
    await admin.createVault({ name: vault });
    await admin.setSecret({ vault, name: 'read-me', value: 'x'.repeat(256) });
    admin.close();

    const root = loadProtoRoot(...API_FILES);
    const type = (name: string) => root.lookupType(`keyraft.v1.${name}`);
    const client = new grpc.Client(leader, clientCredentials(cluster.ca.toString(), await cluster.token()));
    const unary = (method: string, request: object, req: string) =>
      new Promise<void>((resolve, reject) => {
        const bytes = Buffer.from(type(req).encode(type(req).fromObject(request)).finish());
        client.makeUnaryRequest(`/keyraft.v1.${method}`, identity, identity, bytes, { deadline: Date.now() + 10_000 }, (e) => (e ? reject(e) : resolve()));
      });
    const value = 'x'.repeat(256);
    const run: Record<string, (i: number) => Promise<void>> = {
      set: (i) => unary('Secrets/SetSecret', { vault, name: `s${Math.floor(i / 100)}`, value }, 'SetSecretRequest'),
      get: () => unary('Secrets/GetSecret', { vault, name: 'read-me' }, 'GetSecretRequest'),
    };
    for (const c of cases) {
      const op = run[c];
      if (op === undefined) throw new Error(`unknown case ${c}`);
      for (let i = 0; i < 20; i++) await op(i + 1_000_000); // warm-up, not marked
      for (let i = 0; i < calls; i++) {
        mark(`call ${c}`);
        await op(i);
        mark(`answer ${c}`);
        // Back to back, as the bench's single caller: an idle pause would add the machine's wake-up time to every hop.
        await new Promise((r) => setImmediate(r));
      }
    }
    client.close();
    await new Promise((r) => setTimeout(r, 500)); // every node flushes its marks
    stopTrace();
    // Collections are not steps of the path: the tail counts them apart.
    const isGc = (m: Mark) => m.event.startsWith('gc ');
    const all = readMarks();
    const marks = all.filter((m) => !isGc(m));
    const gcs = all.filter(isGc);
    const roleOf = (who: string) => (who === 'client' ? 'client' : who === leaderId ? `${who} (leader)` : who);
    for (const c of cases) {
      const windows = callWindows(marks, c);
      timeline(marks, windows, c, roleOf);
      hops(marks, windows, c, roleOf);
      tail(marks, gcs, windows, c, leaderId);
    }
  } finally {
    await cluster.destroy();
    rmSync(traceDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
