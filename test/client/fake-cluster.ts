// Two regions of fake nodes for the SDK's region-aware routing: `east` the
// primary (east-1..3), `west` the secondary (west-1..2). Each node answers
// Cluster.GetStatus with the whole cluster and serves GetSecret / SetSecret the
// way a keyraft node of its region and mode would; the test scripts the state
// (which nodes run, whether east has quorum, west's mode) and stops and
// restarts nodes on their own ports.

import * as grpc from '@grpc/grpc-js';
import type { Test } from 'tap';
import { KeyraftClient, type KeyraftClientOptions } from '../../src/client/index.js';
import { FAKE_CA, FakeStatus, secretOf, startFake, type FakeServer, type Handler } from './fake-server.js';

export const EAST = ['east-1', 'east-2', 'east-3'];
export const WEST = ['west-1', 'west-2'];

/** Short cool-downs and backoffs, so that failover and failback take well under a second of client time. */
export const QUICK: Partial<KeyraftClientOptions> = { backoff: { baseMs: 5, maxMs: 50 }, endpointCooldownMs: 300, timeoutMs: 3000, attemptTimeoutMs: 1000 };

export interface ClusterState {
  /** Whether east's nodes (those running) have a leader. */
  eastQuorum: boolean;
  westMode: 'STANDBY' | 'FAILED_OVER';
  /** Whether a STANDBY west node manages to forward to east (besides east running and having quorum). */
  westForwards: boolean;
  /** Nodes GetStatus leaves out, as if they were not in the topology yet. */
  hidden: Set<string>;
  /** GetStatus fails everywhere (an older server, say). */
  statusBroken: boolean;
  /** East nodes cut off from the rest of their region: they know no leader (NO_QUORUM), while the others serve. */
  isolated: Set<string>;
}

export interface FakeCluster {
  state: ClusterState;
  address(node: string): string;
  running(node: string): boolean;
  /** How many requests of `method` reached `node`, across its restarts. */
  count(node: string, method: string): number;
  total(nodes: string[], method: string): number;
  stop(nodes: string[]): Promise<void>;
  /** Starts stopped nodes again, each on the port it had. */
  start(nodes: string[]): Promise<void>;
}

const regionOf = (node: string): string => node.split('-')[0]!;

function refuse(code: grpc.status, reason: string, text: string): never {
  throw new FakeStatus(code, reason, text);
}

/** Starts the cluster; the test's teardown stops every node. */
export async function fakeCluster(t: Test, state: Partial<ClusterState> = {}): Promise<FakeCluster> {
  const s: ClusterState = { eastQuorum: true, westMode: 'STANDBY', westForwards: true, hidden: new Set(), statusBroken: false, isolated: new Set(), ...state };
  const servers = new Map<string, FakeServer>();
  const ports = new Map<string, number>();
  const counts = new Map<string, number>();
  const eastServes = (): boolean => s.eastQuorum && EAST.some((n) => servers.has(n));
  /** East's mode as `node` sees it. */
  const eastMode = (node?: string): string => (eastServes() && (node === undefined || !s.isolated.has(node)) ? 'SERVING' : 'NO_QUORUM');

  const status = (answeredBy: string): unknown => {
    if (s.statusBroken) refuse(grpc.status.INTERNAL, 'INTERNAL', 'status is broken');
    const nodes = [...EAST, ...WEST]
      .filter((n) => !s.hidden.has(n))
      .map((n) => ({
        id: n,
        region: regionOf(n),
        clientAddress: `127.0.0.1:${ports.get(n)}`,
        reachable: servers.has(n),
        mode: regionOf(n) === 'east' ? eastMode(n) : s.westMode,
      }));
    const eastSeen = eastMode(regionOf(answeredBy) === 'east' ? answeredBy : undefined);
    const regions = [
      { name: 'east', role: 'primary', mode: eastSeen, leader: eastSeen === 'SERVING' ? EAST.find((n) => servers.has(n) && !s.isolated.has(n)) : '' },
      { name: 'west', role: 'secondary', mode: s.westMode, leader: 'west-1' },
    ];
    return { nodes, regions, answeredBy };
  };

  const handlers = (node: string): Record<string, Handler> => {
    const counted = (method: string, h: Handler): Handler => (req, call) => {
      counts.set(`${node}/${method}`, (counts.get(`${node}/${method}`) ?? 0) + 1);
      return h(req, call);
    };
    const primary = (answer: (req: Record<string, unknown>) => unknown): Handler => (req) => {
      if (eastMode(node) !== 'SERVING') refuse(grpc.status.UNAVAILABLE, 'NO_QUORUM', 'region east has no leader: it may have lost its quorum');
      return answer(req);
    };
    const standby = (answer: (req: Record<string, unknown>) => unknown): unknown =>
      s.westForwards && eastServes() ? answer({}) : refuse(grpc.status.UNAVAILABLE, 'PRIMARY_UNREACHABLE', 'the primary region did not answer; retry');
    const read = (req: Record<string, unknown>): unknown => secretOf(String(req['name']), 'v1');
    const write = (req: Record<string, unknown>): unknown => secretOf(String(req['name'] ?? 'db'), 'v2');
    if (regionOf(node) === 'east') {
      return {
        GetStatus: counted('GetStatus', () => status(node)),
        GetSecret: counted('GetSecret', primary(read)),
        SetSecret: counted('SetSecret', primary(write)),
      };
    }
    return {
      GetStatus: counted('GetStatus', () => status(node)),
      GetSecret: counted('GetSecret', (req) => (s.westMode === 'FAILED_OVER' ? read(req) : standby(() => read(req)))),
      SetSecret: counted('SetSecret', (req) =>
        s.westMode === 'FAILED_OVER'
          ? refuse(grpc.status.FAILED_PRECONDITION, 'READ_ONLY_FAILOVER', 'region west serves read-only operations while the primary region is failed over')
          : standby(() => write(req)),
      ),
    };
  };

  const start = async (nodes: string[]): Promise<void> => {
    for (const n of nodes) {
      if (servers.has(n)) continue;
      const mode = regionOf(n) === 'east' ? () => eastMode(n) : () => s.westMode;
      const port = ports.get(n);
      const server = await startFake(n, handlers(n), { region: regionOf(n), mode, ...(port !== undefined ? { port } : {}) });
      ports.set(n, Number(server.address.split(':')[1]));
      servers.set(n, server);
    }
  };
  const stop = async (nodes: string[]): Promise<void> => {
    for (const n of nodes) {
      await servers.get(n)?.close();
      servers.delete(n);
    }
  };

  await start([...EAST, ...WEST]);
  t.teardown(() => stop([...servers.keys()]));
  return {
    state: s,
    address: (n) => `127.0.0.1:${ports.get(n)}`,
    running: (n) => servers.has(n),
    count: (n, method) => counts.get(`${n}/${method}`) ?? 0,
    total: (nodes, method) => nodes.reduce((sum, n) => sum + (counts.get(`${n}/${method}`) ?? 0), 0),
    stop,
    start,
  };
}

/** A client of the cluster, closed by the test's teardown. */
export function clientOf(t: Test, endpoints: string[], options: Partial<KeyraftClientOptions> = {}): KeyraftClient {
  const client = new KeyraftClient({ endpoints, ca: FAKE_CA, ...QUICK, ...options });
  t.teardown(() => client.close());
  return client;
}

/** Calls `f` until `done` says its result is what was awaited, or `ms` pass; the last result. */
export async function until<T>(ms: number, f: () => Promise<T>, done: (r: T) => boolean, pauseMs = 50): Promise<{ result: T; ok: boolean; tookMs: number }> {
  const started = Date.now();
  for (;;) {
    const result = await f();
    if (done(result)) return { result, ok: true, tookMs: Date.now() - started };
    if (Date.now() - started > ms) return { result, ok: false, tookMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
