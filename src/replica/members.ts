// The addresses of a region's members, as replicated state. Raft's
// configuration names members only by id; the conf change that adds a member
// carries its addresses (ConfChange.context, as etcd's does), and every node
// keeps them as records applied with the entry, so that they go into
// snapshots, survive restarts and reach a new member with its first snapshot.
// A member removed is remembered (a tombstone) so that its traffic is refused
// until an operator adds it again: a removed node does not rejoin on its own.

import type { ConfChange, ConfState } from '../raft/index.js';
import { ConfChangeType } from '../raft/index.js';
import type { StateWrite } from '../storage/store.js';

export interface MemberAddress {
  readonly client: string;
  readonly peer: string;
  /** The HTTPS operations port, if the member has one. */
  readonly metrics?: string;
}

export interface MemberInfo extends MemberAddress {
  readonly id: string;
  readonly role: 'voter' | 'learner';
}

const ADDRESS_PREFIX = 'member/address/';
const REMOVED_PREFIX = 'member/removed/';

/** Whether a state record is a membership record (local to a region: never shipped to another). */
export function isMemberRecord(key: string): boolean {
  return key.startsWith('member/');
}

const ADDRESS = /^[^:\s]+:\d{1,5}$/;

/** Why `a` cannot be a member's addresses, or undefined. */
export function addressProblem(a: Partial<MemberAddress>): string | undefined {
  for (const [name, value] of [['client', a.client], ['peer', a.peer]] as const) {
    if (typeof value !== 'string' || !ADDRESS.test(value)) return `${name} address ${JSON.stringify(value ?? '')} is not host:port`;
  }
  if (a.metrics !== undefined && a.metrics !== '' && !ADDRESS.test(a.metrics)) return `metrics address ${JSON.stringify(a.metrics)} is not host:port`;
  return undefined;
}

export function encodeMemberContext(a: MemberAddress): string {
  return JSON.stringify({ client: a.client, peer: a.peer, ...(a.metrics ? { metrics: a.metrics } : {}) });
}

function decodeAddress(text: string): MemberAddress | undefined {
  try {
    const a = JSON.parse(text) as Partial<MemberAddress>;
    return addressProblem(a) === undefined ? { client: a.client!, peer: a.peer!, ...(a.metrics ? { metrics: a.metrics } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** A removed node does not start again from its data folder: why, and what the operator does instead. */
export class RemovedNodeError extends Error {
  constructor(id: string, how: string) {
    super(`${id} was removed from its region's membership (${how}); it does not rejoin on its own: wipe its data folder and add it again (keyraft cluster member add)`);
    this.name = 'RemovedNodeError';
  }
}

export class MemberBook {
  private readonly addresses = new Map<string, MemberAddress>();
  private readonly removed = new Set<string>();

  /** Seeds addresses a founding topology gives (not replicated: every founder has the same file). */
  constructor(seed: ReadonlyMap<string, MemberAddress> = new Map()) {
    for (const [id, a] of seed) this.addresses.set(id, a);
  }

  /** Takes a membership record read back from the store. */
  load(key: string, value: Uint8Array): void {
    const text = Buffer.from(value).toString('utf8');
    if (key.startsWith(ADDRESS_PREFIX)) {
      const a = decodeAddress(text);
      if (a !== undefined) this.addresses.set(key.slice(ADDRESS_PREFIX.length), a);
    } else if (key.startsWith(REMOVED_PREFIX)) {
      this.removed.add(key.slice(REMOVED_PREFIX.length));
    }
  }

  /** Applies a committed conf change; returns the records to write with it. */
  apply(cc: ConfChange): StateWrite[] {
    const writes: StateWrite[] = [];
    const address = cc.context === undefined ? undefined : decodeAddress(cc.context);
    for (const c of cc.changes) {
      if (c.type === ConfChangeType.Remove) {
        this.removed.add(c.node);
        this.addresses.delete(c.node);
        writes.push({ op: 'put', key: REMOVED_PREFIX + c.node, value: Buffer.from('1') }, { op: 'del', key: ADDRESS_PREFIX + c.node });
        continue;
      }
      if (this.removed.delete(c.node)) writes.push({ op: 'del', key: REMOVED_PREFIX + c.node });
      if (address !== undefined && c.type === ConfChangeType.AddLearner) {
        this.addresses.set(c.node, address);
        writes.push({ op: 'put', key: ADDRESS_PREFIX + c.node, value: Buffer.from(encodeMemberContext(address)) });
      } else {
        // A promotion keeps the address the learner was added with; a
        // founder's comes from the topology, and is written down here so
        // that the record outlives the topology file.
        const known = this.addresses.get(c.node);
        if (known !== undefined) writes.push({ op: 'put', key: ADDRESS_PREFIX + c.node, value: Buffer.from(encodeMemberContext(known)) });
      }
    }
    return writes;
  }

  isRemoved(id: string): boolean {
    return this.removed.has(id);
  }

  address(id: string): MemberAddress | undefined {
    return this.addresses.get(id);
  }

  /** The members of `conf`, with what is known of their addresses. */
  members(conf: ConfState): MemberInfo[] {
    const voters = new Set([...conf.voters, ...conf.votersOutgoing]);
    const learners = new Set([...conf.learners, ...conf.learnersNext].filter((id) => !voters.has(id)));
    const out: MemberInfo[] = [];
    for (const [ids, role] of [[voters, 'voter'], [learners, 'learner']] as const) {
      for (const id of [...ids].sort()) {
        const a = this.addresses.get(id);
        out.push({ id, role, client: a?.client ?? '', peer: a?.peer ?? '', ...(a?.metrics ? { metrics: a.metrics } : {}) });
      }
    }
    return out;
  }
}
