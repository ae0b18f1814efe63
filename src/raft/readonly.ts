// Reads (ReadIndex, thesis §6.4): a read waits at the commit index the
// leader had when the read arrived, until a quorum has acknowledged a
// heartbeat sent after it, which proves the leader was still the leader.
// ReadOnlyQueue keeps that bookkeeping; ReadIndex is the leader's side of the
// protocol, owned by Raft, which routes read requests and heartbeat answers
// to it.

import type { RaftLog } from './log.js';
import type { Message, NodeId, ReadState } from './types.js';
import { MessageType, NONE, message } from './types.js';
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

/** What ReadIndex needs of the node that owns it. */
export interface ReadHost {
  readonly id: NodeId;
  readonly log: RaftLog;
  term(): number;
  voters(): JointVoters;
  /** Hands a read point to the host, in the next Ready. */
  addReadState(rs: ReadState): void;
  send(m: Message): void;
  bcastHeartbeat(context: Uint8Array | undefined): void;
}

/** The leader's side of ReadIndex. */
export class ReadIndex {
  private readonly readOnly = new ReadOnlyQueue();
  /** ReadIndex requests that wait for this leader's first commit in its term. */
  private pendingReadIndex: Message[] = [];

  constructor(private readonly host: ReadHost) {}

  /** A read request: the host's own (from NONE or this node) or a follower's. */
  handleReadIndex(m: Message): void {
    const log = this.host.log;
    if (this.isSingleVoter) {
      this.answerRead(m, log.committed);
      return;
    }
    // §6.4: the commit index is only known to be current once an entry of
    // this term is committed.
    if (log.term(log.committed) !== this.host.term()) {
      this.pendingReadIndex.push(m);
      return;
    }
    this.readOnly.add(log.committed, m);
    this.readOnly.recvAck(this.host.id, m.context);
    this.host.bcastHeartbeat(m.context);
  }

  /** The leader committed its first entry of the term: the reads that waited go ahead. */
  releasePendingReadIndex(): void {
    const pending = this.pendingReadIndex;
    this.pendingReadIndex = [];
    for (const m of pending) this.handleReadIndex(m);
  }

  /** `from` answered the heartbeat that carried `context`; answers the reads it confirms. */
  recvHeartbeatAck(from: NodeId, context: Uint8Array): void {
    this.readOnly.recvAck(from, context);
    for (const read of this.readOnly.release(context, this.host.voters())) this.answerRead(read.request, read.index);
  }

  /** The context of the newest read still waiting for its quorum, for heartbeats to carry. */
  get lastContext(): Uint8Array | undefined {
    return this.readOnly.lastContext;
  }

  /** Drops every waiting read: the node changed term or role. */
  clear(): void {
    this.readOnly.clear();
    this.pendingReadIndex = [];
  }

  private get isSingleVoter(): boolean {
    const { incoming, outgoing } = this.host.voters();
    return outgoing.size === 0 && incoming.size === 1 && incoming.has(this.host.id);
  }

  private answerRead(request: Message, index: number): void {
    if (request.from === NONE || request.from === this.host.id) {
      this.host.addReadState({ index, context: request.context ?? new Uint8Array() });
    } else {
      this.host.send(message({ type: MessageType.ReadIndexResp, to: request.from, index, context: request.context }));
    }
  }
}
