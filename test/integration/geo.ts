// What the tests of two regions share: the log index a write landed at, and
// waiting until the secondary region has applied the primary's log that far.

import type { KeyraftClient, ServedBy } from '../../src/client/index.js';
import { eventually } from './cluster.js';

/** Runs a write and gives the primary log index of the entry that carried it (keyraft-commit-index). */
export async function indexOf(write: (opts: { onServedBy: (s: ServedBy) => void }) => Promise<unknown>): Promise<number> {
  let index: number | undefined;
  await write({ onServedBy: (s) => (index = s.commitIndex) });
  if (index === undefined) throw new Error('the write was acknowledged without keyraft-commit-index');
  return index;
}

/**
 * Replication to the secondary is asynchronous: a test that acts on what the
 * secondary holds first waits until every secondary node has applied the
 * primary's log up to `index`.
 */
export async function secondaryHas(client: KeyraftClient, index: number, timeoutMs = 60_000): Promise<void> {
  await eventually(
    `every west node to apply the primary's log up to index ${index}`,
    async () => {
      const behind = (await client.getStatus({})).nodes.filter((n) => n.region === 'west' && !(n.reachable && n.primaryIndex >= index));
      if (behind.length === 0) return true;
      throw new Error(`behind: ${behind.map((n) => `${n.id} at ${n.reachable ? n.primaryIndex : 'unreachable'}`).join(', ')}`);
    },
    timeoutMs,
  );
}
