// Issue 19's idle connections: opens N connections to a node's client port
// that never send a byte (--kind tcp), or complete TLS and send nothing
// (tls), or send the HTTP/2 preface and then answer nothing, not even a ping
// (h2); prints the node's open files (/proc/PID/fd) as they go, the time
// until the node has closed them all, and until its open files are back to
// their level before.
//
//   node dist/scripts/idle-connections.js [--connections 500] [--kind tcp|tls|h2] [--every-ms 1000] [--limit-s 600]
//     --cluster                      a 3-node cluster of its own in a temporary folder, with the topology's
//                                    default connection settings, or --connections-json '{"handshakeTimeoutMs":2000}'
//     --node east-1 [--data cluster/.data] [--topology cluster/local.json]
//                                    a node of the local cluster (make cluster): the default
//     --address HOST:PORT --pid PID [--ca FILE]
//                                    any node on this machine
//
// measureIdleConnections() is the same run for other scripts (the overload run).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadTopology, findNode } from '../src/topology.js';
import { TestCluster, eventually } from '../test/integration/cluster.js';
import { type IdleKind, openFiles, openIdle } from '../test/integration/raw-connections.js';

export interface IdleRunOptions {
  /** The node's client port, host:port. */
  readonly address: string;
  readonly pid: number;
  readonly connections: number;
  readonly kind: IdleKind;
  /** The cluster CA, for the tls and h2 kinds. */
  readonly ca?: Buffer;
  readonly everyMs: number;
  /** The longest the run waits for the node to close them and its open files to settle. */
  readonly limitMs: number;
  /** Each sample as it is taken. */
  readonly onSample?: (s: IdleSample) => void;
}

export interface IdleSample {
  readonly ms: number;
  readonly openFiles: number;
  /** Of the connections made, those the node has not closed yet. */
  readonly stillOpen: number;
}

export interface IdleReport {
  readonly filesBefore: number;
  readonly filesPeak: number;
  readonly filesAfter: number;
  /** From the first connection made until the node had closed the last; undefined if it did not within the limit. */
  readonly allClosedMs: number | undefined;
  /** Until the open files were back to their level before (within 3); undefined if they were not. */
  readonly filesBackMs: number | undefined;
}

/** Files the node's own connections and LevelDB open and close meanwhile. */
const SLACK = 3;

/** The node's open files once they held still for five samples: a node just started still opens connections. */
async function steadyOpenFiles(pid: number, everyMs: number): Promise<number> {
  const seen: number[] = [];
  return eventually(
    'the open files to hold still',
    async () => {
      seen.push(openFiles(pid));
      const last = seen.slice(-5);
      return last.length === 5 && last.every((n) => n === last[0]) ? last[0] : undefined;
    },
    120_000,
    everyMs,
  );
}

export async function measureIdleConnections(o: IdleRunOptions): Promise<IdleReport> {
  const filesBefore = await steadyOpenFiles(o.pid, o.everyMs);
  const started = performance.now();
  const made = Array.from({ length: o.connections }, () => openIdle(o.address, o.kind, { ca: o.ca }));
  let stillOpen = made.length;
  let allClosedMs: number | undefined;
  for (const c of made) {
    void c.closed.then(() => {
      if (--stillOpen === 0) allClosedMs = performance.now() - started;
    });
  }
  let filesPeak = filesBefore;
  let filesAfter = filesBefore;
  let filesBackMs: number | undefined;
  try {
    await eventually(
      'the idle connections to be closed and the open files to settle',
      async () => {
        filesAfter = openFiles(o.pid);
        filesPeak = Math.max(filesPeak, filesAfter);
        const ms = performance.now() - started;
        o.onSample?.({ ms, openFiles: filesAfter, stillOpen });
        if (filesBackMs === undefined && stillOpen === 0 && filesAfter <= filesBefore + SLACK) filesBackMs = ms;
        return filesBackMs;
      },
      o.limitMs,
      o.everyMs,
    );
  } catch {
    // The report says what did not happen in time.
  } finally {
    for (const c of made) c.destroy();
  }
  return { filesBefore, filesPeak, filesAfter, allClosedMs, filesBackMs };
}

function printReport(r: IdleReport, o: IdleRunOptions): void {
  const s = (ms: number | undefined) => (ms === undefined ? `not within ${o.limitMs / 1000} s` : `${(ms / 1000).toFixed(1)} s`);
  console.log(`${o.connections} ${o.kind} connections to ${o.address} (pid ${o.pid})`);
  console.log(`open files: ${r.filesBefore} before, ${r.filesPeak} at the peak, ${r.filesAfter} after`);
  console.log(`all closed by the node after ${s(r.allClosedMs)}; open files back to their level after ${s(r.filesBackMs)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '500' },
      kind: { type: 'string', default: 'tcp' },
      'every-ms': { type: 'string', default: '1000' },
      'limit-s': { type: 'string', default: '600' },
      cluster: { type: 'boolean', default: false },
      'connections-json': { type: 'string' },
      node: { type: 'string', default: 'east-1' },
      data: { type: 'string', default: 'cluster/.data' },
      topology: { type: 'string', default: 'cluster/local.json' },
      address: { type: 'string' },
      pid: { type: 'string' },
      ca: { type: 'string' },
    },
  });
  const kind = values.kind as IdleKind;
  if (!['tcp', 'tls', 'h2'].includes(kind)) throw new Error(`--kind must be tcp, tls or h2, not ${kind}`);
  let cluster: TestCluster | undefined;
  let target: { address: string; pid: number; ca: Buffer | undefined };
  if (values.cluster) {
    const connections = values['connections-json'] === undefined ? undefined : (JSON.parse(values['connections-json']) as object);
    cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }], ...(connections === undefined ? {} : { connections }) });
    const destroy = () => void cluster?.destroy().finally(() => process.exit(1));
    process.once('SIGINT', destroy).once('SIGTERM', destroy);
    cluster.startAll();
    await eventually('the cluster to serve', async () => (await cluster!.token()) !== '', 60_000);
    target = { address: cluster.node('east-1').client, pid: cluster.pid('east-1'), ca: cluster.ca };
  } else if (values.address !== undefined) {
    if (values.pid === undefined) throw new Error('--address needs --pid: the open files are read from /proc/PID/fd');
    target = { address: values.address, pid: Number(values.pid), ca: values.ca === undefined ? undefined : readFileSync(values.ca) };
  } else {
    const node = findNode(loadTopology(values.topology!), values.node!).node;
    const pid = Number(readFileSync(join(values.data!, values.node!, 'pid'), 'utf8').trim());
    target = { address: node.client, pid, ca: readFileSync(values.ca ?? join(values.data!, 'pki', 'ca.crt')) };
  }
  const options: IdleRunOptions = {
    ...target,
    connections: Number(values.connections),
    kind,
    everyMs: Number(values['every-ms']),
    limitMs: Number(values['limit-s']) * 1000,
    onSample: (s) => console.log(`${(s.ms / 1000).toFixed(1).padStart(6)} s  open files ${String(s.openFiles).padStart(5)}  connections still open ${s.stillOpen}`),
  };
  try {
    printReport(await measureIdleConnections(options), options);
  } finally {
    await cluster?.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
