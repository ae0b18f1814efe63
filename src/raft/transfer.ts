// Leadership transfer (thesis §3.10): the leader brings the transferee's log
// up to date, then tells it to campaign at once (TimeoutNow). The transferee's
// campaign carries TRANSFER_CONTEXT, which lets it past the voters' lease.
// LeaderTransfer is the leader's side, owned by Raft; while it runs, Raft
// refuses proposals, and abandons it after an election timeout.

import type { RaftLog } from './log.js';
import type { Progress } from './progress.js';
import type { Message, NodeId } from './types.js';
import { MessageType, NONE, message } from './types.js';

export const TRANSFER_CONTEXT = new TextEncoder().encode('transfer');

export function isTransferCampaign(context: Uint8Array | undefined): boolean {
  return context !== undefined && Buffer.from(context).equals(TRANSFER_CONTEXT);
}

/** What LeaderTransfer needs of the node that owns it. */
export interface TransferHost {
  readonly id: NodeId;
  readonly log: RaftLog;
  readonly progress: ReadonlyMap<NodeId, Progress>;
  send(m: Message): void;
  sendAppend(to: NodeId): void;
  /** Restarts the leader's election timer, which also times the transfer. */
  resetElectionElapsed(): void;
}

export class LeaderTransfer {
  private leadTransferee: NodeId = NONE;

  constructor(private readonly host: TransferHost) {}

  /** The node leadership is moving to, or NONE. */
  get transferee(): NodeId {
    return this.leadTransferee;
  }

  handleTransferLeader(transferee: NodeId): void {
    const pr = this.host.progress.get(transferee);
    if (pr === undefined || pr.isLearner || transferee === this.host.id) return;
    if (this.leadTransferee === transferee) return;
    this.abortLeaderTransfer();
    // The transfer must finish within an election timeout.
    this.host.resetElectionElapsed();
    this.leadTransferee = transferee;
    if (pr.match === this.host.log.lastIndex) this.host.send(message({ type: MessageType.TimeoutNow, to: transferee }));
    else this.host.sendAppend(transferee);
  }

  /** `from` accepted appends up to pr.match: once the transferee holds our whole log, it campaigns. */
  appendAccepted(from: NodeId, pr: Progress): void {
    if (from === this.leadTransferee && pr.match === this.host.log.lastIndex) {
      this.host.send(message({ type: MessageType.TimeoutNow, to: from }));
    }
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }
}
