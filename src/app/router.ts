// Where a call runs, whichever front-end it came through, and its answer:
// the response or the error, with the headers naming the node that served
// it; a deadline that is never longer than the caller's.
//
// Routing, by region role and mode:
//   primary    reads here (linearizable through ReadIndex); writes on the
//              region's leader, forwarded there by a follower.
//   secondary  STANDBY: everything is forwarded to the primary region.
//              FAILED_OVER: the read-only operations of the seed are served
//              here from the replicated state; anything else is refused
//              with READ_ONLY_FAILOVER.
//   local operations run wherever they arrive.
// Sending a call to another node is the transport's (Forwarder): the node
// there authenticates the caller again and answers as if called directly.

import { ReplicaError } from '../replica/errors.js';
import { Code } from './codes.js';
import { ApiError, ThrottledError, classify } from './errors.js';
import { COMMIT_INDEX_HEADER, type NodeContext, type ResponseHeaders, responseHeaders } from './node-context.js';
import type { Operation, WriteOperation, WriteReceipt } from './operation.js';
import type { VaultThrottle } from './vault-throttle.js';
import { mark } from '../trace.js';

/** Requests without a deadline get this much time. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** Answer this much before the caller's deadline, so that it hears why. */
const DEADLINE_MARGIN_MS = 250;
/** Secondary → primary node → primary leader, at most. */
const MAX_HOPS = 2;
/** Time kept to answer the caller when forwarding got no answer. */
const FORWARD_RESERVE_MS = 100;

export interface Served<Res> {
  readonly ok: true;
  /**
   * The response message in proto-loader's shape. Served here, as the
   * operation built it: fields at their default value may be absent, bytes
   * are Uint8Arrays; forwarded, as proto-loader decodes it: every field
   * there (a message field as null), bytes as Buffers. Both encode alike.
   */
  readonly response: Res;
  readonly headers: ResponseHeaders;
}

export interface Failed {
  readonly ok: false;
  /** What classify() (src/app/errors.ts) turns into a status, a reason and a message. */
  readonly error: unknown;
  readonly headers: ResponseHeaders;
}

/** How a call ended, with the headers naming the node that answered (another node's, when forwarded). */
export type Answer<Res = unknown> = Served<Res> | Failed;

/** A call the front-end has authorized, on its way to an operation. */
export interface RoutedCall {
  /** The RPC's full path, /keyraft.v1.Secrets/SetSecret. */
  readonly path: string;
  readonly request: unknown;
  /** When the caller stops waiting, in Date.now()'s ms; Infinity when it did not say. */
  readonly deadlineMs: number;
  /** The caller's `authorization` header, passed on when the call is forwarded. */
  readonly authorization: string | undefined;
  /** How many nodes forwarded the call to this one. */
  readonly hops: number;
  /** The authenticated principal; undefined for an open call. */
  readonly principal: string | undefined;
}

/** A call sent on to another node: `hops` counts this node's forwarding too. */
export type ForwardedCall = Pick<RoutedCall, 'path' | 'request' | 'authorization' | 'hops' | 'deadlineMs'>;

/** Sends calls to another node's client port; the transport's part of routing. */
export interface Forwarder {
  /**
   * The answer of the node at `address` (its headers included), or why it
   * gave none (unreachable, or not a keyraft node's answer): then another
   * node may be asked.
   */
  forward(address: string, call: ForwardedCall): Promise<Answer | { readonly unreachable: string }>;
}

/** Milliseconds left for a call due at `deadlineMs`, capped by the default and the margin. */
export function timeLeft(deadlineMs: number): number {
  if (!Number.isFinite(deadlineMs)) return DEFAULT_TIMEOUT_MS;
  return Math.max(1, Math.min(DEFAULT_TIMEOUT_MS, deadlineMs - Date.now() - DEADLINE_MARGIN_MS));
}

/**
 * On a secondary: whether to serve here (FAILED_OVER, and the operation is
 * one of the seed's read-only list) rather than forward to the primary
 * (STANDBY). Refuses anything else while FAILED_OVER.
 */
export function servedBySecondary(node: NodeContext, failover: boolean): boolean {
  if (node.mode() !== 'FAILED_OVER') return false;
  if (!failover) {
    throw new ApiError(
      Code.FAILED_PRECONDITION,
      'READ_ONLY_FAILOVER',
      `region ${node.region} serves read-only operations while the primary region is failed over; writes resume after failback`,
    );
  }
  return true;
}

/** The hop count a call forwarded from here carries; refuses a call forwarded too often already. */
export function nextHop(node: NodeContext, hops: number): number {
  if (hops >= MAX_HOPS) throw new ApiError(Code.UNAVAILABLE, 'NOT_LEADER', `${node.nodeId} cannot serve this and it was forwarded ${hops} times already`);
  return hops + 1;
}

export class Router {
  /** `throttle`: the per-vault limits of the calls this node serves itself (not those it forwards). */
  constructor(
    private readonly node: NodeContext,
    private readonly forwarder: Forwarder,
    private readonly throttle?: VaultThrottle,
  ) {}

  /** Runs `op` here or forwards the call; never rejects: a failure is an Answer too. */
  async route(op: Operation, call: RoutedCall): Promise<Answer> {
    try {
      switch (op.kind) {
        case 'local':
          return this.served(await op.run(call.request, timeLeft(call.deadlineMs), call.principal));
        case 'read':
          if (this.node.regionRole === 'secondary' && !servedBySecondary(this.node, op.failover)) return await this.toPrimary(call);
          this.takeFromVault(call);
          return this.served(await op.run(call.request, timeLeft(call.deadlineMs)));
        case 'write':
          return await this.write(op, call);
      }
    } catch (e) {
      return this.failed(call.path, e);
    }
  }

  /** A failure decided here, before or instead of routing, answered with this node's headers. */
  failed(path: string, e: unknown): Failed {
    if (classify(e).internal) this.node.logger.error({ err: e, method: path }, 'request failed');
    return { ok: false, error: e, headers: responseHeaders(this.node) };
  }

  private served(response: unknown, receipt?: WriteReceipt): Served<unknown> {
    const headers = responseHeaders(this.node);
    return { ok: true, response, headers: receipt?.commitIndex === undefined ? headers : { ...headers, [COMMIT_INDEX_HEADER]: String(receipt.commitIndex) } };
  }

  private async write(op: WriteOperation, call: RoutedCall): Promise<Answer> {
    if (this.node.regionRole === 'secondary') {
      // STANDBY forwards; FAILED_OVER refuses every write.
      servedBySecondary(this.node, false);
      return this.toPrimary(call);
    }
    const deadline = Date.now() + timeLeft(call.deadlineMs);
    if (this.node.replica.isLeader) {
      this.takeFromVault(call);
      try {
        const receipt: WriteReceipt = {};
        return this.served(await op.run(call.request, deadline - Date.now(), receipt), receipt);
      } catch (e) {
        // Leadership moved between the check and the proposal: forward instead.
        if (!(e instanceof ReplicaError && e.reason === 'NOT_LEADER')) throw e;
      }
    }
    // Forward to the leader; if it does not answer, wait for the next one.
    let unreachable = '';
    for (;;) {
      const leader = await this.awaitLeader(deadline, unreachable);
      const address = this.node.clientAddress(leader);
      if (leader === this.node.nodeId || address === undefined) throw new ReplicaError('NOT_LEADER', 'leadership is moving; retry');
      const answer = await this.forward(call, [address], deadline);
      if (answer !== undefined) return answer;
      unreachable = leader;
    }
  }

  /** Per-vault throttling, before any work; a refused call takes nothing from its vault's limit. */
  private takeFromVault(call: RoutedCall): void {
    const t = this.throttle?.take(call.path, call.request);
    if (t !== undefined) throw new ThrottledError(t.retryAfterMs, t.message);
  }

  private async toPrimary(call: RoutedCall): Promise<Answer> {
    const answer = await this.forward(call, this.node.primaryAddresses, Date.now() + timeLeft(call.deadlineMs));
    if (answer === undefined) throw new ApiError(Code.UNAVAILABLE, 'PRIMARY_UNREACHABLE', 'the primary region did not answer; retry');
    return answer;
  }

  /** Waits for the region to have a leader other than `unreachable`, up to the deadline. */
  private async awaitLeader(deadline: number, unreachable: string): Promise<string> {
    for (;;) {
      const leader = this.node.replica.leader;
      if (leader !== '' && leader !== unreachable) return leader;
      if (Date.now() >= deadline) {
        const why = unreachable === '' ? 'it has no leader' : `its leader ${unreachable} does not answer and no other was elected`;
        throw new ReplicaError('NO_QUORUM', `region ${this.node.region} cannot take writes: ${why}; it may have lost its quorum`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * The answer of the first of `addresses` that gives a keyraft answer, with
   * its headers (the node that served it); undefined when none answered: the
   * caller decides what to say.
   */
  private async forward(call: RoutedCall, addresses: readonly string[], deadline: number): Promise<Answer | undefined> {
    const hops = nextHop(this.node, call.hops);
    for (const [i, address] of addresses.entries()) {
      // Share the time among the addresses left, and keep some to answer the
      // caller ourselves if none does.
      const share = (deadline - FORWARD_RESERVE_MS - Date.now()) / (addresses.length - i);
      const attemptDeadline = Date.now() + share;
      if (Date.now() >= attemptDeadline) break;
      const { path, request, authorization } = call;
      mark('forward');
      const outcome = await this.forwarder.forward(address, { path, request, authorization, hops, deadlineMs: attemptDeadline });
      if ('unreachable' in outcome) {
        this.node.logger.debug({ problem: outcome.unreachable }, 'forwarding failed');
        continue;
      }
      return outcome;
    }
    return undefined;
  }
}
