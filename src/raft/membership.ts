// Membership changes (§4, thesis §6): the node's current configuration, the
// progress entry it keeps for each member, and the rule that only one change
// is in flight at a time. The config math is in confchange.ts. What a change
// does to the node's role (the leader stepping down, or committing under the
// new quorum) stays in Raft, which owns the role.

import type { Config } from './confchange.js';
import { ConfChangeError, applyChange, assertConfig, configFromState, configMembers, isJoint, type ConfChange } from './confchange.js';
import type { RaftLog } from './log.js';
import { Progress } from './progress.js';
import type { ConfState, NodeId } from './types.js';
import { ProposalDropped } from './types.js';

/** What Membership needs of the node that owns it. */
export interface MembershipHost {
  readonly id: NodeId;
  readonly log: RaftLog;
  /** The leader's view of each member, kept to exactly the config's members. */
  readonly progress: Map<NodeId, Progress>;
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

export class Membership {
  private current: Config;
  /** Index of the last conf change proposed; another waits until it is applied. */
  pendingConfIndex = 0;

  constructor(
    private readonly host: MembershipHost,
    conf: ConfState,
  ) {
    this.current = configFromState(conf);
    this.rebuildProgress();
  }

  get config(): Config {
    return this.current;
  }

  /** Throws ProposalDropped unless `cc` may be proposed now. */
  checkProposal(cc: ConfChange): void {
    if (this.pendingConfIndex > this.host.log.applied) {
      throw new ProposalDropped('a configuration change is still pending');
    }
    try {
      applyChange(this.current, cc); // validates only
    } catch (e) {
      if (e instanceof ConfChangeError) throw new ProposalDropped(e.message);
      throw e;
    }
  }

  /** Applies a committed conf change. */
  apply(cc: ConfChange): void {
    this.install(applyChange(this.current, cc));
  }

  /** Installs the membership a snapshot carries. */
  restore(config: Config): void {
    this.install(config);
  }

  /** Joint consensus with auto-leave: the joint config is applied, so leave it. */
  get shouldAutoLeave(): boolean {
    return isJoint(this.current) && this.current.autoLeave && this.pendingConfIndex <= this.host.log.applied;
  }

  /** A new term: every member's progress starts afresh, at the end of our log. */
  resetProgress(): void {
    const progress = this.host.progress;
    for (const [id, pr] of progress) progress.set(id, this.freshProgress(id, pr.isLearner));
  }

  private install(config: Config): void {
    this.current = config;
    assertConfig(this.current);
    this.rebuildProgress();
  }

  private rebuildProgress(): void {
    const progress = this.host.progress;
    const members = configMembers(this.current);
    for (const id of [...progress.keys()]) if (!members.has(id)) progress.delete(id);
    for (const id of members) {
      const isLearner = this.current.learners.has(id) || this.current.learnersNext.has(id);
      const pr = progress.get(id);
      if (pr === undefined) {
        const fresh = this.freshProgress(id, isLearner);
        // A new member counts as active so that it can be sent a snapshot.
        fresh.recentActive = true;
        progress.set(id, fresh);
      } else {
        pr.isLearner = isLearner;
      }
    }
  }

  private freshProgress(id: NodeId, isLearner: boolean): Progress {
    const { log } = this.host;
    const fresh = new Progress(log.lastIndex + 1, this.host, isLearner);
    if (id === this.host.id) fresh.match = log.stable;
    return fresh;
  }
}
