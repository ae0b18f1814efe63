// ReadIndex bookkeeping (Raft §6.4): a read waits at the commit index the
// leader had when the read arrived, until a quorum has acknowledged a
// heartbeat sent after it, which proves the leader was still the leader.

import type { Message, NodeId } from './types.js';
import type { JointVoters } from './quorum.js';
import { VoteResult, jointVote } from './quorum.js';

interface PendingRead {
  readonly index: number;
  readonly request: Message;
  readonly acks: Map<NodeId, boolean>;
}

export function contextKey(context: Uint8Array | undefined): string {
  return context === undefined ? '' : Buffer.from(context).toString('base64');
}

export class ReadOnlyQueue {
  private readonly queue: PendingRead[] = [];
  private readonly byKey = new Map<string, PendingRead>();

  /** Queues a read at `index`; a repeated context is ignored. */
  add(index: number, request: Message): void {
    const key = contextKey(request.context);
    if (this.byKey.has(key)) return;
    const read: PendingRead = { index, request, acks: new Map() };
    this.queue.push(read);
    this.byKey.set(key, read);
  }

  /** Records that `from` answered the heartbeat that carried `context`. */
  recvAck(from: NodeId, context: Uint8Array | undefined): void {
    this.byKey.get(contextKey(context))?.acks.set(from, true);
  }

  /**
   * Returns the reads that are now safe to serve: the one named by `context`
   * once a quorum acknowledged it, and every read queued before it (a quorum
   * that confirmed a later heartbeat confirms the earlier ones too).
   */
  release(context: Uint8Array | undefined, voters: JointVoters): { index: number; request: Message }[] {
    const key = contextKey(context);
    const read = this.byKey.get(key);
    if (read === undefined || jointVote(voters, read.acks) !== VoteResult.Won) return [];
    const position = this.queue.indexOf(read);
    const released = this.queue.splice(0, position + 1);
    for (const r of released) this.byKey.delete(contextKey(r.request.context));
    return released.map((r) => ({ index: r.index, request: r.request }));
  }

  get lastContext(): Uint8Array | undefined {
    return this.queue[this.queue.length - 1]?.request.context;
  }

  get size(): number {
    return this.queue.length;
  }

  clear(): void {
    this.queue.length = 0;
    this.byKey.clear();
  }
}
