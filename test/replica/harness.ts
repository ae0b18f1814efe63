// A real Replica on a real store in a temporary folder, for the replica's
// unit tests: the caller scripts its peers. Stopped and removed at teardown.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import type { Test } from 'tap';
import { type Message, MessageType, message } from '../../src/raft/index.js';
import { Replica, type ReplicaOptions } from '../../src/replica/replica.js';
import { NodeStore } from '../../src/storage/store.js';

export interface HarnessOptions {
  readonly founders: readonly string[];
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly logger?: Logger;
  /** Runs before the replica opens the store: to watch what it writes. */
  readonly onStore?: (store: NodeStore) => void;
  /** Anything else the replica is given. */
  readonly options?: Partial<ReplicaOptions>;
}

/** Replica `a` of `founders`, opened; the caller starts it with its transport. */
export async function openReplica(t: Test, opts: HarnessOptions): Promise<{ replica: Replica; store: NodeStore }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-replica-'));
  const store = await NodeStore.open(join(dir, 'db'));
  opts.onStore?.(store);
  const replica = new Replica({
    id: 'a',
    founders: opts.founders,
    tickMs: opts.tickMs,
    electionTicks: opts.electionTicks,
    heartbeatTicks: 1,
    retention: { compactEvery: 1000, compactEveryBytes: 1 << 30, readerEntries: 1000, readerBytes: 1 << 30 },
    store,
    app: { applyCommand: (_data, index) => ({ result: index, writes: [] }), reload: async () => undefined },
    logger: opts.logger ?? pino({ level: 'silent' }),
    ...opts.options,
    leaseReads: opts.options?.leaseReads ?? true,
  });
  t.teardown(async () => {
    await replica.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await replica.open();
  return { replica, store };
}

/** A one-node group, elected and ready for proposals. */
export async function singleLeader(t: Test, options: Partial<ReplicaOptions> = {}, onStore?: (store: NodeStore) => void): Promise<Replica> {
  const { replica } = await openReplica(t, { founders: ['a'], tickMs: 10, electionTicks: 5, options, ...(onStore ? { onStore } : {}) });
  replica.start({ send: () => undefined, sendSnapshot: () => undefined });
  const deadline = Date.now() + 30_000;
  while (!replica.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.ok(replica.isLeader, 'a single founder elects itself');
  return replica;
}

/** What a healthy follower `from` answers replica `a`'s message with: a vote, an acknowledgement; nothing to the rest. */
export function followerAnswer(from: string, m: Message): Message | undefined {
  const reply = { from, to: 'a', term: m.term };
  switch (m.type) {
    case MessageType.PreVote:
      return message({ ...reply, type: MessageType.PreVoteResp });
    case MessageType.Vote:
      return message({ ...reply, type: MessageType.VoteResp });
    case MessageType.App:
      return message({ ...reply, type: MessageType.AppResp, index: m.index + m.entries.length });
    case MessageType.Heartbeat:
      return message({ ...reply, type: MessageType.HeartbeatResp, context: m.context });
    default:
      return undefined;
  }
}
