// The rules an operator's membership change follows, as pure functions of a
// leader's view, so that the running system (membership-ops.ts) and the
// deterministic simulator (test/sim) drive changes by the same rules.

import type { ConfState } from '../raft/index.js';

/** How far behind the leader's commit index a learner may be and still be promoted. */
export const PROMOTE_SLACK_ENTRIES = 1000;

/** What a leader knows of its group: RawNode.status() has it. */
export interface LeaderView {
  readonly id: string;
  readonly commit: number;
  readonly conf: ConfState;
  readonly progress: ReadonlyMap<string, { readonly match: number; readonly isLearner: boolean }>;
}

/**
 * Why the learner `id` may not be promoted yet, or undefined: it has acknowledged
 * nothing, or is more than PROMOTE_SLACK_ENTRIES behind the commit index (a voter
 * the quorum would wait for).
 */
export function promotionProblem(view: LeaderView, id: string): string | undefined {
  const match = view.progress.get(id)?.match ?? 0;
  if (match === 0 || match + PROMOTE_SLACK_ENTRIES < view.commit) return `${id} has index ${match} of the leader's ${view.commit}: it has not caught up yet`;
  return undefined;
}

/** The voter, other than the leader, with the longest log, if one has acknowledged the whole commit index. */
export function handOverTarget(view: LeaderView): string | undefined {
  let best: string | undefined;
  let bestMatch = -1;
  for (const [id, pr] of view.progress) {
    if (id === view.id || pr.isLearner || !view.conf.voters.includes(id)) continue;
    if (pr.match > bestMatch) {
      best = id;
      bestMatch = pr.match;
    }
  }
  return bestMatch >= view.commit ? best : undefined;
}
