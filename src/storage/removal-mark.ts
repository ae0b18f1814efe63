// A node that applied its own removal refuses to start again from its data
// folder (replica.ts reads that from its applied membership). A removed node
// that missed the commit of its removal learns of it from a peer's refusal
// instead, and its log never says so: it leaves this mark, so that it refuses
// the same way.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MARK_FILE = 'removed';

/** Records why this node knows it was removed from its region. */
export function markRemoved(dataDir: string, why: string): void {
  // Through a rename: a crash mid-write leaves no mark or a whole one.
  const tmp = join(dataDir, `${MARK_FILE}.tmp`);
  writeFileSync(tmp, `${why}\n`, { mode: 0o600 });
  renameSync(tmp, join(dataDir, MARK_FILE));
}

/** Why the folder's node was removed from its region, if a peer told it so. */
export function removalMark(dataDir: string): string | undefined {
  const path = join(dataDir, MARK_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}
