// Who is in the cluster now, and where: every region's members with their
// addresses. The topology file seeds it; after that, this node's own region
// comes from the membership it has applied (replicated), and another
// region's from what that region's nodes report of theirs (Admin.NodeStatus).
// Everything that dials a node by id (Raft links, forwarding, status, the
// geo follower) reads it here, so a member added or removed online is
// reached, or dropped, without a restart.

import { EventEmitter } from 'node:events';

export interface MapNode {
  readonly id: string;
  readonly client: string;
  readonly peer: string;
  readonly metrics?: string;
  readonly learner?: boolean;
}

export interface MapRegion {
  readonly name: string;
  readonly role: 'primary' | 'secondary';
  readonly nodes: readonly MapNode[];
}

export class ClusterMap extends EventEmitter {
  private regionList: MapRegion[];

  /** `seed`: the topology file's regions (src/topology.ts), which the transport, below it, takes by shape. */
  constructor(seed: { readonly regions: readonly MapRegion[] }) {
    super();
    this.regionList = seed.regions.map((r) => ({ name: r.name, role: r.role, nodes: r.nodes.map((n) => ({ ...n })) }));
  }

  get regions(): readonly MapRegion[] {
    return this.regionList;
  }

  region(name: string): MapRegion | undefined {
    return this.regionList.find((r) => r.name === name);
  }

  get primary(): MapRegion {
    return this.regionList.find((r) => r.role === 'primary')!;
  }

  find(id: string): { node: MapNode; region: MapRegion } | undefined {
    for (const region of this.regionList) {
      const node = region.nodes.find((n) => n.id === id);
      if (node !== undefined) return { node, region };
    }
    return undefined;
  }

  /**
   * Replaces a region's members. Members without a known address are kept
   * out: nobody could dial them. An empty list changes nothing (a node that
   * has applied no membership yet knows less than the seed).
   */
  setMembers(regionName: string, nodes: readonly MapNode[]): void {
    const known = nodes.filter((n) => n.client !== '' && n.peer !== '');
    if (known.length === 0) return;
    const i = this.regionList.findIndex((r) => r.name === regionName);
    if (i < 0) return;
    const before = this.regionList[i]!;
    const next = [...known].sort((a, b) => a.id.localeCompare(b.id)).map((n) => ({ ...n }));
    if (JSON.stringify(next) === JSON.stringify([...before.nodes].sort((a, b) => a.id.localeCompare(b.id)))) return;
    this.regionList = this.regionList.map((r, j) => (j === i ? { ...r, nodes: next } : r));
    this.emit('change', regionName);
  }
}
