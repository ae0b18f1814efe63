// Who this node is: a founder the topology lists, or a node added online
// (keyraft cluster member add), which the topology does not know. A joining
// node is started once with its region and addresses (--join); it writes
// them to member.json in its data folder, so that a restart needs no flags,
// and it never bootstraps a group of its own: it waits for its region's
// leader to send it a snapshot.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Topology, type TopologyNode, type TopologyRegion, TopologyError } from '../topology.js';

export interface JoinArgs {
  readonly region: string;
  readonly client: string;
  readonly peer: string;
  readonly metrics?: string;
  /** The REST gateway's address (src/rest), if the node serves one. */
  readonly rest?: string;
}

export interface SelfIdentity {
  readonly node: TopologyNode;
  readonly region: TopologyRegion;
  /** The founding voters to bootstrap with on a first start; none when joining. */
  readonly founders: readonly string[];
}

const MEMBER_FILE = 'member.json';

/** Records a joining node's region and addresses in its (existing) data folder. */
export function rememberJoin(dataDir: string, args: JoinArgs): void {
  writeFileSync(join(dataDir, MEMBER_FILE), JSON.stringify(args) + '\n', { mode: 0o600 });
}

export function resolveSelf(topology: Topology, id: string, dataDir: string, join_?: JoinArgs): SelfIdentity {
  const file = join(dataDir, MEMBER_FILE);
  const joining = join_ ?? (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as JoinArgs) : undefined);
  if (joining !== undefined) {
    const region = topology.regions.find((r) => r.name === joining.region);
    if (region === undefined) throw new TopologyError(`--join: no region ${JSON.stringify(joining.region)} in topology ${topology.name}`);
    const node: TopologyNode = {
      id,
      client: joining.client,
      peer: joining.peer,
      ...(joining.metrics ? { metrics: joining.metrics } : {}),
      ...(joining.rest ? { rest: joining.rest } : {}),
    };
    return { node, region, founders: [] };
  }
  for (const region of topology.regions) {
    const node = region.nodes.find((n) => n.id === id);
    if (node !== undefined) return { node, region, founders: region.nodes.map((n) => n.id) };
  }
  throw new TopologyError(`node ${id} is not in topology ${topology.name}: a node added online starts with --join REGION --client ADDR --peer ADDR`);
}
