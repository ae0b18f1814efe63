// Why a proposal or a read did not complete, with a reason the server maps to
// a gRPC status (NOT_LEADER is handled by forwarding; the rest reach clients).

export type ReplicaReason = 'NOT_LEADER' | 'NO_QUORUM' | 'DEADLINE_EXCEEDED' | 'PROPOSAL_LOST' | 'UNKNOWN_OUTCOME' | 'SHUTTING_DOWN' | 'THROTTLED';

export class ReplicaError extends Error {
  override name = 'ReplicaError';

  constructor(
    readonly reason: ReplicaReason,
    message: string,
    /** THROTTLED: how long the client should wait before trying again. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
