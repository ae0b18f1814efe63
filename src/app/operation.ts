// An operation of the public API as the application layer runs it, for
// every front-end: what it does (run), and what the router needs to know of
// it to decide where it runs (src/app/router.ts):
//   read   any serving node, after a ReadIndex; on a FAILED_OVER secondary
//          only if it is one of the seed's read-only operations (failover).
//   write  the primary region's leader, which proposes it.
//   local  wherever it arrives, in any mode (cluster status, membership).
// run() takes the request as the API defines it (proto-loader's shape:
// camelCase, bytes as Buffer) and validates it itself.

/** What a write reports besides its response; CommandRunner.run fills it in. */
export interface WriteReceipt {
  /** The log index of the entry that carried the write, when known (see COMMIT_INDEX_HEADER). */
  commitIndex?: number;
}

// run is a method, not a function-typed property, so that TypeScript checks
// its parameters bivariantly: each operation's run takes the request type it
// validates, and one table holds them all.
export interface ReadOperation {
  readonly kind: 'read';
  readonly failover: boolean;
  run(request: unknown, timeoutMs: number): Promise<unknown>;
}

export interface WriteOperation {
  readonly kind: 'write';
  run(request: unknown, timeoutMs: number, receipt: WriteReceipt): Promise<unknown>;
}

export interface LocalOperation {
  readonly kind: 'local';
  /** `principal`: the authenticated caller, if any (GetStatus shows more to some). */
  run(request: unknown, timeoutMs: number, principal: string | undefined): Promise<unknown>;
}

export type Operation = ReadOperation | WriteOperation | LocalOperation;

/** A service's operations, by RPC name as the .proto spells it (SetSecret). */
export type OperationTable = Readonly<Record<string, Operation>>;

/** One of the seed's read-only operations: a FAILED_OVER secondary serves it. */
export const FAILOVER_READ = { failover: true } as const;

export const read = <Req>(run: (request: Req, timeoutMs: number) => Promise<unknown>, opts: { failover?: boolean } = {}): ReadOperation => ({
  kind: 'read',
  failover: opts.failover ?? false,
  run,
});

export const write = <Req>(run: (request: Req, timeoutMs: number, receipt: WriteReceipt) => Promise<unknown>): WriteOperation => ({
  kind: 'write',
  run,
});

export const local = <Req>(run: (request: Req, timeoutMs: number, principal: string | undefined) => Promise<unknown>): LocalOperation => ({
  kind: 'local',
  run,
});
