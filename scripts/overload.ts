// Issue 19's overload run: a 3+3 cluster in a temporary folder, then three
// bursts of 5,000 concurrent calls from one channel (SetSecret, GetSecret,
// Sign RS256) while a control client, on a channel of its own, does one
// GetVault of another vault every 50 ms. The control client runs in a
// worker thread: its latencies are the server's, not the wait for this
// thread's event loop, busy with the flood's own 5,000 calls. The flood goes through a raw grpc-js
// client with no retries, so every outcome counted is the server's own.
// Prints, per phase: every node's term before and after, the outcomes by
// code and reason, the wall time, and the control client's latencies. Then
// 500 raw connections that never send a byte are opened to the same node:
// how long until it closed them all, and its open files before and after.
//
//   node dist/scripts/overload.js [--calls 5000] [--target leader|follower|secondary] [--phases SetSecret,GetSecret,Sign]
//       [--admission JSON] [--throttle JSON] [--connections JSON] [--profile DIR]
//
// --profile writes each node's CPU profile (node --cpu-prof) into DIR when
// the nodes stop at the end; open them in Chrome's DevTools.
//
// --admission, --throttle and --connections override the topology's limits. With
// '{"connectionCalls":1,"connectionQueue":1}' (nearly) every call is
// refused, and the target node's CPU per call is what a refusal costs;
// with limits too high to bind, the run is what it was before them.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { KeyraftClient, clientCredentials } from '../src/client/index.js';
import { methodDefinition, type AnyMethod } from '../src/client/proto.js';
import { TestCluster, eventually } from '../test/integration/cluster.js';
import { percentile } from './bench/common.js';
import { measureIdleConnections } from './idle-connections.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '5000' },
    target: { type: 'string', default: 'leader' },
    'control-every-ms': { type: 'string', default: '50' },
    'call-timeout-ms': { type: 'string', default: '30000' },
    admission: { type: 'string' },
    connections: { type: 'string' },
    throttle: { type: 'string' },
    phases: { type: 'string', default: 'SetSecret,GetSecret,Sign' },
    profile: { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const CONTROL_EVERY_MS = Number(values['control-every-ms']);
const CALL_TIMEOUT_MS = Number(values['call-timeout-ms']);
const VAULT = 'load';
const CONTROL_VAULT = 'control';
const KEY = 'rsa';
const IDLE_CONNECTIONS = 500;

interface Outcome {
  readonly label: string;
  readonly ms: number;
}

function outcomeOf(err: grpc.ServiceError | null): string {
  if (err === null) return 'OK';
  const reason = err.metadata?.get('keyraft-reason')[0];
  return `${grpc.status[err.code]} ${typeof reason === 'string' ? reason : '(no reason)'}`;
}

function unary(client: grpc.Client, method: AnyMethod, request: object, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err) =>
      resolve({ label: outcomeOf(err), ms: performance.now() - started }),
    );
  });
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/** CPU time (user + system) a process has used, in ms: /proc/PID/stat counts it in 1/100 s. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The control client's thread: GetVault every CONTROL_EVERY_MS between 'start' and 'stop', then its outcomes back. */
async function controlThread(): Promise<void> {
  const { address, ca, token } = workerData as { address: string; ca: Uint8Array; token: string };
  const control = new grpc.Client(address, clientCredentials(Buffer.from(ca), token));
  const getVault = methodDefinition('Vaults', 'GetVault');
  // The connection up before anything is timed (messages wait meanwhile).
  await unary(control, getVault, { name: CONTROL_VAULT }, 5000);
  let running = false;
  parentPort!.on('message', (m: string) => {
    if (m === 'stop') {
      running = false;
      return;
    }
    running = true;
    void (async () => {
      const outcomes: Outcome[] = [];
      while (running) {
        const next = Date.now() + CONTROL_EVERY_MS;
        outcomes.push(await unary(control, getVault, { name: CONTROL_VAULT }, 5000));
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      }
      parentPort!.postMessage(outcomes);
    })();
  });
  parentPort!.on('close', () => control.close());
}

async function main(): Promise<void> {
  const cluster = await TestCluster.create({
    regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 3 }],
    ...(values.admission === undefined ? {} : { admission: JSON.parse(values.admission) as Record<string, number> }),
    ...(values.throttle === undefined ? {} : { throttle: JSON.parse(values.throttle) as Record<string, unknown> }),
    ...(values.connections === undefined ? {} : { connections: JSON.parse(values.connections) as Record<string, number> }),
    ...(values.profile === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] }),
  });
  const cleanup = () => cluster.destroy();
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const pids = new Map(cluster.nodes.map((n) => [n.id, cluster.start(n.id).pid!]));
    const sdk = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), timeoutMs: 10_000 });
    await eventually('the vaults', async () => {
      for (const name of [VAULT, CONTROL_VAULT]) await sdk.createVault({ name }).catch((e: { reason?: string }) => {
        if (e.reason !== 'VAULT_ALREADY_EXISTS' && e.reason !== 'CONFLICT_DELETED_EXISTS') throw e;
      });
      return true;
    }, 60_000);
    await sdk.createKey({ vault: VAULT, name: KEY, kty: 'RSA', keySize: 2048 });
    const status = async (id: string) => cluster.admin<{ term: number; role: string; leader: string }>(id, 'nodeStatus', {}, 5000).catch(() => undefined);
    const eastLeader = (await status('east-1'))?.leader ?? 'east-1';
    const target =
      values.target === 'leader' ? eastLeader : values.target === 'follower' ? cluster.regionNodes('east').find((n) => n.id !== eastLeader)!.id : 'west-1';
    const address = cluster.node(target).client;
    console.log(`cluster up in ${cluster.dir}; flood and control client on ${target} (${values.target}, ${address}); east leader ${eastLeader}`);

    const credentials = cluster.clientCredentials();
    const worker = new Worker(new URL(import.meta.url), { workerData: { address, ca: cluster.ca, token: await cluster.token() } });
    worker.unref();
    const flood = new grpc.Client(address, credentials);
    const digest = Buffer.alloc(32, 7);
    const value = 'v'.repeat(256);
    const setNames: string[] = [];
    const phases: { name: string; method: AnyMethod; request: (i: number) => object }[] = [
      { name: 'SetSecret', method: methodDefinition('Secrets', 'SetSecret'), request: (i) => ({ vault: VAULT, name: `s-${i}`, value, requestId: `overload-${i}` }) },
      { name: 'GetSecret', method: methodDefinition('Secrets', 'GetSecret'), request: (i) => ({ vault: VAULT, name: setNames[i % setNames.length] ?? 's-0' }) },
      { name: 'Sign', method: methodDefinition('Keys', 'Sign'), request: () => ({ vault: VAULT, name: KEY, algorithm: 'RS256', digest }) },
    ];
    const getVault = methodDefinition('Vaults', 'GetVault');
    // The connection up before anything is timed.
    await unary(flood, getVault, { name: CONTROL_VAULT }, 5000);
    let allHeld = true;
    const chosen = new Set(values.phases.split(','));
    for (const phase of phases.filter((p) => chosen.has(p.name))) {
      const termsBefore = await Promise.all(cluster.nodes.map(async (n) => [n.id, (await status(n.id))?.term] as const));
      const controlDone = new Promise<Outcome[]>((r) => worker.once('message', r));
      worker.postMessage('start');
      await new Promise((r) => setTimeout(r, 200));
      const started = performance.now();
      const cpuBefore = cpuMs(pids.get(target)!);
      const outcomes = await Promise.all(Array.from({ length: CALLS }, (_, i) => unary(flood, phase.method, phase.request(i), CALL_TIMEOUT_MS).then((o) => ({ ...o, i }))));
      const wallMs = performance.now() - started;
      const cpuUsedMs = cpuMs(pids.get(target)!) - cpuBefore;
      await new Promise((r) => setTimeout(r, 200));
      worker.postMessage('stop');
      const controlOutcomes = await controlDone;
      if (phase.name === 'SetSecret') for (const o of outcomes) if (o.label === 'OK') setNames.push(`s-${o.i}`);
      const termsAfter = await Promise.all(cluster.nodes.map(async (n) => [n.id, (await status(n.id))?.term] as const));

      const byLabel = new Map<string, number[]>();
      for (const o of outcomes) byLabel.set(o.label, [...(byLabel.get(o.label) ?? []), o.ms]);
      const counts = new Map([...byLabel].map(([l, ms]) => [l, ms.length]));
      const controlCounts = new Map<string, number>();
      for (const o of controlOutcomes) controlCounts.set(o.label, (controlCounts.get(o.label) ?? 0) + 1);
      const lat = controlOutcomes.map((o) => o.ms).sort((a, b) => a - b);
      const termsChanged = termsBefore.some(([id, term], k) => termsAfter[k]![0] !== id || termsAfter[k]![1] !== term);
      const badOutcomes = [...counts.keys()].filter((l) => l !== 'OK' && l !== 'RESOURCE_EXHAUSTED THROTTLED');
      const held = !termsChanged && badOutcomes.length === 0 && [...controlCounts.keys()].every((l) => l === 'OK') && percentile(lat, 99) < 250;
      allHeld &&= held;
      console.log(`\n== ${phase.name}: ${CALLS} concurrent calls on one channel to ${target}`);
      console.log(`terms before: ${termsBefore.map(([id, t]) => `${id}=${t ?? '?'}`).join(' ')}`);
      console.log(`terms after:  ${termsAfter.map(([id, t]) => `${id}=${t ?? '?'}`).join(' ')}${termsChanged ? '   <- CHANGED' : ''}`);
      console.log(`wall time: ${fmt(wallMs)}; ${target}'s CPU: ${fmt(cpuUsedMs)} (${((cpuUsedMs / CALLS) * 1000).toFixed(0)} µs a call); outcomes:`);
      for (const [label, ms] of byLabel) {
        ms.sort((a, b) => a - b);
        console.log(`  ${label.padEnd(32)} ${String(ms.length).padStart(5)}   p50 ${fmt(percentile(ms, 50))}, p99 ${fmt(percentile(ms, 99))}, max ${fmt(ms.at(-1)!)}`);
      }
      console.log(
        `control GetVault (${controlOutcomes.length} calls: ${[...controlCounts].map(([l, c]) => `${l}: ${c}`).join(', ')}): ` +
          `p50 ${fmt(percentile(lat, 50))}, p99 ${fmt(percentile(lat, 99))}, max ${fmt(lat.at(-1) ?? NaN)}`,
      );
      console.log(`control latencies in order (ms): ${controlOutcomes.map((o) => o.ms.toFixed(0)).join(' ')}`);
      console.log(`targets (term unchanged, only OK/THROTTLED, control all OK with p99 < 250 ms): ${held ? 'held' : 'MISSED'}`);
    }
    // The last phase: connections that never send a call, held open on the
    // flooded node, are closed by its timeouts and its open files come back.
    const idle = await measureIdleConnections({ address, pid: pids.get(target)!, connections: IDLE_CONNECTIONS, kind: 'tcp', everyMs: 1000, limitMs: 120_000 });
    const idleHeld = idle.allClosedMs !== undefined && idle.filesBackMs !== undefined;
    console.log(`\n== ${IDLE_CONNECTIONS} idle raw connections to ${target}`);
    console.log(`open files ${idle.filesBefore} -> ${idle.filesPeak} -> ${idle.filesAfter}; all closed by the node in ${fmt(idle.allClosedMs ?? NaN)}, open files back in ${fmt(idle.filesBackMs ?? NaN)}`);
    console.log(`targets (all closed, open files back to their level): ${idleHeld ? 'held' : 'MISSED'}`);
    allHeld &&= idleHeld;
    console.log(`\nall phases: ${allHeld ? 'targets held' : 'targets MISSED'}`);
    flood.close();
    await worker.terminate();
    sdk.close();
    // A profile is written when a node exits by itself: a graceful stop.
    if (values.profile !== undefined) await Promise.all(cluster.nodes.map((n) => cluster.stop(n.id)));
  } finally {
    await cleanup();
  }
}

if (isMainThread) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  void controlThread();
}
