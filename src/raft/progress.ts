// What the leader knows of each follower's log, and the flow control that
// bounds how much it sends ahead of the follower's acknowledgements.

import { invariant } from './types.js';

export enum ProgressState {
  /** One append in flight at a time, until the follower's log position is found. */
  Probe = 'probe',
  /** Optimistic: pipelines appends, up to the in-flight limit. */
  Replicate = 'replicate',
  /** Waiting for the follower to install a snapshot. */
  Snapshot = 'snapshot',
}

/**
 * A bounded FIFO of the append messages still in flight: the last index each
 * carried, and its bytes of entry data. Full at `capacity` messages or at
 * `maxBytes` (etcd's MaxInflightBytes; soft: the message that crosses it
 * goes), so that what one follower has in flight, and what the leader may
 * send it in one turn, is bounded in bytes too.
 */
export class Inflights {
  private readonly messages: { lastIndex: number; bytes: number }[] = [];
  private bytes = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes: number = Infinity,
  ) {
    invariant(capacity > 0, 'inflight capacity must be positive');
  }

  get full(): boolean {
    return this.messages.length >= this.capacity || this.bytes >= this.maxBytes;
  }

  get count(): number {
    return this.messages.length;
  }

  add(lastIndex: number, bytes: number): void {
    invariant(!this.full, 'inflights overflow');
    const previous = this.messages[this.messages.length - 1];
    invariant(previous === undefined || lastIndex >= previous.lastIndex, 'inflights must be added in order');
    this.messages.push({ lastIndex, bytes });
    this.bytes += bytes;
  }

  /** Frees every message whose entries are all at or below `index`. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.messages.length && this.messages[n]!.lastIndex <= index) this.bytes -= this.messages[n++]!.bytes;
    if (n > 0) this.messages.splice(0, n);
  }

  freeFirstOne(): void {
    const first = this.messages.shift();
    if (first !== undefined) this.bytes -= first.bytes;
  }

  reset(): void {
    this.messages.length = 0;
    this.bytes = 0;
  }
}

export class Progress {
  /** Highest index known to be in the follower's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state = ProgressState.Probe;
  /** In Probe: an append was sent and no answer has come yet. */
  probeSent = false;
  /** In Snapshot: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    limits: { readonly maxInflight: number; readonly maxInflightBytes: number },
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(limits.maxInflight, limits.maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // Coming back from a snapshot, resume right after it: the follower has it
    // now or will ask again.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged up to n. Returns false if that is old news. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** An append carrying entries up to `lastIndex`, with `bytes` of data, was sent. */
  sentEntries(lastIndex: number, entryCount: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an append at `rejected`; `hint` is where it suggests
   * trying next. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      // Stale if the rejected index is already matched.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In Probe the rejection must be for the one append we sent (next - 1).
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  get isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full;
      case ProgressState.Snapshot:
        return true;
    }
  }
}
