// The cluster's shape, read from a JSON file such as cluster/local.json:
// regions of nodes, each node with a client address and a peer address (and,
// optionally, an operations port and a REST gateway port).

import { readFileSync } from 'node:fs';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from './transport/connections.js';
import { AZURE_THROTTLE_LIMITS, type ThrottleLimits } from './app/throttle-classes.js';
import type { AdmissionSettings } from './server/admission-interceptor.js';
import { DEFAULT_DATA_KEY_POLICY, DEFAULT_VERSION_LIMITS, MAX_VERSIONS, type DataKeyPolicy, type VersionLimits, validateVaultName } from './vault/index.js';

export interface TopologyNode {
  readonly id: string;
  /** host:port of the public gRPC API. */
  readonly client: string;
  /** host:port of the node-to-node gRPC API. */
  readonly peer: string;
  /** host:port of the HTTPS operations port: /metrics (Prometheus) and / (the status page); none when absent. */
  readonly metrics?: string;
  /** host:port of the HTTPS REST gateway (Azure Key Vault's data-plane API, src/rest/gateway.ts); none when absent. */
  readonly rest?: string;
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
  /**
   * Whether a region's leader answers linearizable reads under a lease
   * (src/replica/read-lease.ts), trusting that no node's clock stops or slows
   * by 10 % while the others' run; false: a ReadIndex round for every read.
   */
  readonly leaseReads: boolean;
  /** When the primary's leader replaces the active data key (README, "Data keys"). */
  readonly dataKeys: DataKeyPolicy;
  /** Connection limits, timeouts and keepalive of every port (README, "Connections"). */
  readonly connections: ConnectionLimits;
  /** Calls each node works on at once, and lets wait, on its client port (src/server/admission.ts). */
  readonly admission: AdmissionSettings;
  /** Per-vault limits by Azure Key Vault's classes (src/app/throttle-classes.ts); `keys` given are merged with Azure's. */
  readonly throttle: ThrottleLimits;
  /** What one object may hold (README, "Limits"). */
  readonly limits: VersionLimits;
  /** The vault the REST gateway serves to a host that names none (https://localhost:PORT, https://127.0.0.1:PORT). */
  readonly defaultVault: string;
}

/** A valid vault name (3-24 characters) that says what it is; a topology names another with `defaultVault`. */
export const DEFAULT_VAULT = 'default';

const MiB = 1024 * 1024;

/**
 * No primary leader seen for this long: the secondary fails over. Above the
 * longest the primary went without a leader that the secondary could see in
 * its ordinary elections under the nemesis (scripts/nemesis.ts
 * --keep-quorum, issue 22), and short enough for an RTO under 2 s.
 */
export const DEFAULT_FAILOVER_AFTER_MS = 1500;
/** The log a primary node holds stays under compactEveryBytes + geoRetainBytes (src/replica/retention.ts). */
const DEFAULT_RAFT: RaftTiming = {
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  compactEvery: 10_000,
  compactEveryBytes: 64 * MiB,
  geoRetainEntries: 200_000,
  geoRetainBytes: 256 * MiB,
  maxBytesPerMessage: MiB,
  maxUncommittedBytes: 32 * MiB,
};

/**
 * For a 2-core machine (README, "Overload"; scripts/overload.ts): 64 calls
 * in progress per connection are what the benchmarks keep in flight for
 * full throughput (group commit); a node's queue is about half a second of
 * SetSecret at the ~2,000/s it serves, beyond which a wait only uses up the
 * callers' deadlines. A connection may queue one more round of its calls:
 * what it queues is work the node takes on for one client in one burst,
 * and with refusals made cheap (the gate in admission-interceptor.ts) that
 * work is what others wait behind. On the 5,000-SetSecret flood, a control
 * client's p99 was 204 and 314 ms with 256 queued per connection, 132 and
 * 137 ms with 64.
 */
export const DEFAULT_ADMISSION: AdmissionSettings = {
  nodeCalls: 256,
  nodeQueue: 1024,
  connectionCalls: 64,
  connectionQueue: 64,
  operatorCalls: 16,
  operatorQueue: 64,
  retryAfterMs: 100,
};

export class TopologyError extends Error {
  override name = 'TopologyError';
}

function fail(what: string): never {
  throw new TopologyError(`topology: ${what}`);
}

/** A section of positive integers, each defaulted; `open` lets it name fields the defaults do not have. */
function positiveIntegers<T extends object>(json: unknown, defaults: T, section: string, open = false): T {
  if (json === undefined) return defaults;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(`${section} must be an object`);
  const given = json as Record<string, unknown>;
  for (const field of Object.keys(given)) {
    if (!open && !Object.hasOwn(defaults, field)) fail(`${section}.${field} is not a setting (${Object.keys(defaults).join(', ')})`);
    const v = given[field];
    if (!Number.isSafeInteger(v) || (v as number) < 1) fail(`${section}.${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return { ...defaults, ...(given as Partial<T>) };
}

function throttleLimits(json: unknown): ThrottleLimits {
  if (json === undefined) return AZURE_THROTTLE_LIMITS;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('throttle must be an object');
  const { keys, ...scalars } = json as Record<string, unknown>;
  const { keys: defaultKeys, ...defaultScalars } = AZURE_THROTTLE_LIMITS;
  return { ...positiveIntegers(scalars, defaultScalars, 'throttle'), keys: positiveIntegers(keys, defaultKeys, 'throttle.keys', true) };
}

/** The caps may be lowered, never raised past MAX_VERSIONS: past it a backup could outgrow one message. */
function versionLimits(json: unknown): VersionLimits {
  const limits = positiveIntegers(json, DEFAULT_VERSION_LIMITS, 'limits');
  for (const [field, v] of Object.entries(limits)) if (v > MAX_VERSIONS) fail(`limits.${field} must be at most ${MAX_VERSIONS}, got ${v}`);
  return limits;
}

function defaultVault(json: unknown): string {
  if (json === undefined) return DEFAULT_VAULT;
  try {
    return validateVaultName(json);
  } catch (e) {
    fail(`defaultVault: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function flag(json: unknown, byDefault: boolean, name: string): boolean {
  if (json === undefined) return byDefault;
  if (typeof json !== 'boolean') fail(`${name} must be true or false`);
  return json;
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
      // Every port of every node is its own: the optional ones (operations, REST) too.
      for (const a of [n.client, n.peer, ...[n.metrics, n.rest].filter((x) => x !== undefined)]) {
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
    failoverAfterMs: t.failoverAfterMs ?? DEFAULT_FAILOVER_AFTER_MS,
    failbackAfterMs: t.failbackAfterMs ?? 3000,
    raft: positiveIntegers(t.raft, DEFAULT_RAFT, 'raft'),
    leaseReads: flag(t.leaseReads, true, 'leaseReads'),
    dataKeys: positiveIntegers(t.dataKeys, DEFAULT_DATA_KEY_POLICY, 'dataKeys'),
    connections: positiveIntegers(t.connections, DEFAULT_CONNECTION_LIMITS, 'connections'),
    admission: positiveIntegers(t.admission, DEFAULT_ADMISSION, 'admission'),
    throttle: throttleLimits(t.throttle),
    limits: versionLimits(t.limits),
    defaultVault: defaultVault(t.defaultVault),
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
