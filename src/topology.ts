// The cluster's shape, read from a JSON file such as cluster/local.json:
// regions of nodes, each node with a client address and a peer address.

import { readFileSync } from 'node:fs';
import { DEFAULT_DATA_KEY_POLICY, DEFAULT_VERSION_LIMITS, MAX_VERSIONS, type DataKeyPolicy, type VersionLimits } from './vault/index.js';

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
  /** Compact the log once this many entries, or this many bytes of entry data, were applied since the last compaction. */
  readonly compactEvery: number;
  readonly compactEveryBytes: number;
  /** What a primary keeps of its log for a lagging secondary: past either, the secondary must take a snapshot. */
  readonly geoRetainEntries: number;
  readonly geoRetainBytes: number;
}

export interface Topology {
  readonly name: string;
  readonly regions: readonly TopologyRegion[];
  readonly failoverAfterMs: number;
  readonly failbackAfterMs: number;
  readonly raft: RaftTiming;
  /** When the primary's leader replaces the active data key (README, "Data keys"). */
  readonly dataKeys: DataKeyPolicy;
  /** What one object may hold (README, "Limits"). */
  readonly limits: VersionLimits;
}

const MiB = 1024 * 1024;
/** The log a primary node holds stays under compactEveryBytes + geoRetainBytes (src/replica/retention.ts). */
const DEFAULT_RAFT: RaftTiming = {
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  compactEvery: 10_000,
  compactEveryBytes: 64 * MiB,
  geoRetainEntries: 200_000,
  geoRetainBytes: 256 * MiB,
};

export class TopologyError extends Error {
  override name = 'TopologyError';
}

function fail(what: string): never {
  throw new TopologyError(`topology: ${what}`);
}

/** An object of the settings `defaults` names, none other. */
function settings(json: unknown, what: string, defaults: object): Record<string, unknown> {
  if (json === undefined) return {};
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(`${what} must be an object`);
  for (const field of Object.keys(json)) {
    if (!Object.hasOwn(defaults, field)) fail(`${what}.${field} is not a setting (${Object.keys(defaults).join(', ')})`);
  }
  return json as Record<string, unknown>;
}

function dataKeyPolicy(json: unknown): DataKeyPolicy {
  const given = settings(json, 'dataKeys', DEFAULT_DATA_KEY_POLICY);
  for (const [field, v] of Object.entries(given)) {
    if (!Number.isSafeInteger(v) || (v as number) < 1) fail(`dataKeys.${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return { ...DEFAULT_DATA_KEY_POLICY, ...(given as Partial<DataKeyPolicy>) };
}

/** The caps may be lowered, never raised past MAX_VERSIONS: past it a backup could outgrow one message. */
function versionLimits(json: unknown): VersionLimits {
  const given = settings(json, 'limits', DEFAULT_VERSION_LIMITS);
  for (const [field, v] of Object.entries(given)) {
    if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > MAX_VERSIONS) {
      fail(`limits.${field} must be an integer from 1 to ${MAX_VERSIONS}, got ${JSON.stringify(v)}`);
    }
  }
  return { ...DEFAULT_VERSION_LIMITS, ...(given as Partial<VersionLimits>) };
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
    raft: { ...DEFAULT_RAFT, ...(t.raft ?? {}) },
    dataKeys: dataKeyPolicy(t.dataKeys),
    limits: versionLimits(t.limits),
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
