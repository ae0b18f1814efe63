// The cluster's shape, read from a JSON file such as cluster/local.json:
// regions of nodes, each node with a client address and a peer address.

import { readFileSync } from 'node:fs';
import { DEFAULT_DATA_KEY_POLICY, type DataKeyPolicy } from './vault/index.js';

export interface TopologyNode {
  readonly id: string;
  /** host:port of the public gRPC API. */
  readonly client: string;
  /** host:port of the node-to-node gRPC API. */
  readonly peer: string;
  /** host:port of the HTTPS operations port: /metrics (Prometheus) and / (the status page); none when absent. */
  readonly metrics?: string;
}

export interface TopologyRegion {
  readonly name: string;
  readonly role: 'primary' | 'secondary';
  /** Simulated one-way latency added to traffic that crosses into this region. */
  readonly latencyMs: number;
  readonly nodes: readonly TopologyNode[];
}

export interface RaftTiming {
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly compactEvery: number;
  /** Log entries a primary keeps for a lagging secondary before it must take a snapshot. */
  readonly geoRetainEntries: number;
  /** Bytes of entry data in one append to a follower (one entry always goes, however large). */
  readonly maxBytesPerMessage: number;
  /** Bytes of data the leader lets wait for commitment; past it, writes are refused as THROTTLED. */
  readonly maxUncommittedBytes: number;
}

export interface Topology {
  readonly name: string;
  readonly regions: readonly TopologyRegion[];
  readonly failoverAfterMs: number;
  readonly failbackAfterMs: number;
  readonly raft: RaftTiming;
  /** When the primary's leader replaces the active data key (README, "Data keys"). */
  readonly dataKeys: DataKeyPolicy;
}

const DEFAULT_RAFT: RaftTiming = {
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  compactEvery: 10_000,
  geoRetainEntries: 200_000,
  maxBytesPerMessage: 1024 * 1024,
  maxUncommittedBytes: 32 * 1024 * 1024,
};

export class TopologyError extends Error {
  override name = 'TopologyError';
}

function fail(what: string): never {
  throw new TopologyError(`topology: ${what}`);
}

function dataKeyPolicy(json: unknown): DataKeyPolicy {
  if (json === undefined) return DEFAULT_DATA_KEY_POLICY;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('dataKeys must be an object');
  const given = json as Record<string, unknown>;
  for (const field of Object.keys(given)) {
    if (!Object.hasOwn(DEFAULT_DATA_KEY_POLICY, field)) fail(`dataKeys.${field} is not a setting (rotateAfterWrites, rotateAfterMs)`);
    const v = given[field];
    if (!Number.isSafeInteger(v) || (v as number) < 1) fail(`dataKeys.${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return { ...DEFAULT_DATA_KEY_POLICY, ...(given as Partial<DataKeyPolicy>) };
}

function raftSettings(json: unknown): RaftTiming {
  const given = (json ?? {}) as Partial<RaftTiming>;
  for (const field of ['maxBytesPerMessage', 'maxUncommittedBytes'] as const) {
    const v = given[field];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) fail(`raft.${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return { ...DEFAULT_RAFT, ...given };
}

/** Parses and checks a topology: unique ids and addresses, one primary region. */
export function parseTopology(json: unknown): Topology {
  if (typeof json !== 'object' || json === null) fail('not an object');
  const t = json as Partial<Topology>;
  if (!Array.isArray(t.regions) || t.regions.length === 0) fail('no regions');
  const ids = new Set<string>();
  const addresses = new Set<string>();
  const regions = t.regions.map((r): TopologyRegion => {
    if (typeof r.name !== 'string' || r.name === '') fail('a region without a name');
    if (r.role !== 'primary' && r.role !== 'secondary') fail(`region ${r.name}: role must be primary or secondary`);
    if (!Array.isArray(r.nodes) || r.nodes.length === 0) fail(`region ${r.name} has no nodes`);
    for (const n of r.nodes) {
      if (typeof n.id !== 'string' || !/^[a-z0-9-]+$/.test(n.id)) fail(`region ${r.name}: bad node id ${JSON.stringify(n.id)}`);
      if (ids.has(n.id)) fail(`node id ${n.id} appears twice`);
      ids.add(n.id);
      for (const a of n.metrics === undefined ? [n.client, n.peer] : [n.client, n.peer, n.metrics]) {
        if (typeof a !== 'string' || !/^[^:]+:\d+$/.test(a)) fail(`node ${n.id}: bad address ${JSON.stringify(a)}`);
        if (addresses.has(a)) fail(`address ${a} is used twice`);
        addresses.add(a);
      }
    }
    return { name: r.name, role: r.role, latencyMs: r.latencyMs ?? 0, nodes: r.nodes };
  });
  if (regions.filter((r) => r.role === 'primary').length !== 1) fail('exactly one region must be primary');
  return {
    name: t.name ?? 'cluster',
    regions,
    failoverAfterMs: t.failoverAfterMs ?? 3000,
    failbackAfterMs: t.failbackAfterMs ?? 3000,
    raft: raftSettings(t.raft),
    dataKeys: dataKeyPolicy(t.dataKeys),
  };
}

export function loadTopology(path: string): Topology {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TopologyError(`cannot read topology ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseTopology(json);
}

export function findNode(t: Topology, id: string): { node: TopologyNode; region: TopologyRegion } {
  for (const region of t.regions) {
    const node = region.nodes.find((n) => n.id === id);
    if (node !== undefined) return { node, region };
  }
  throw new TopologyError(`node ${id} is not in topology ${t.name}`);
}

export function allNodes(t: Topology): { node: TopologyNode; region: TopologyRegion }[] {
  return t.regions.flatMap((region) => region.nodes.map((node) => ({ node, region })));
}
