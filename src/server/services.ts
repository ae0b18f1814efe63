// Wires the public services (package keyraft.v1) to their handlers.

import type * as grpc from '@grpc/grpc-js';
import type { Envelope } from '../crypto/envelope.js';
import { randomHexId } from '../crypto/random.js';
import { ErrorKind, VaultError, encodeCommand, rotationDue, type ApplyResult, type Command, type CommandOp, type DataKeyPolicy, type VersionLimits } from '../vault/index.js';
import { seesClusterDetails } from '../auth/permissions.js';
import type { ClusterSnapshots } from '../ops/cluster-snapshot.js';
import { apiService } from './api.js';
import { CALLER_KEY } from './auth-interceptor.js';
import type { RouteOptions, Router, ServerContext, WriteReceipt } from './handler.js';
import { dataKeyHandlers } from './datakeys.js';
import { keyHandlers } from './keys.js';
import { memberHandlers } from './members.js';
import { masterKeyHandlers } from './masterkey.js';
import { principalHandlers } from './principals.js';
import { secretHandlers } from './secrets.js';
import type { StatusCollector } from './status.js';
import type { CommandOutcome, VaultApp } from '../app/vault-app.js';
import { vaultHandlers } from './vaults.js';

export interface ServiceDeps {
  readonly ctx: ServerContext;
  readonly router: Router;
  readonly status: StatusCollector;
  readonly app: VaultApp;
  readonly envelope: Envelope;
  /** The cluster's name: the issuer of its tokens. */
  readonly issuer: string;
  /** Backups of the whole state (Cluster.SaveSnapshot). */
  readonly snapshots: ClusterSnapshots;
  /** When a write first installs a new data key. */
  readonly dataKeyPolicy: DataKeyPolicy;
  /** The versions a secret or key may hold, stamped into each command that adds some. */
  readonly versionLimits: VersionLimits;
}

/** Runs commands through the log on the leader and hands back their results. */
export class CommandRunner {
  private installingKey: Promise<void> | undefined;

  constructor(private readonly deps: ServiceDeps) {}

  /**
   * Proposes `op`, waits until it is applied here, and returns its result or
   * throws its error. On success, `receipt` (the write's, from Router.write)
   * gets the log index of the entry that made the result.
   */
  async run(requestId: string, op: CommandOp, timeoutMs: number, receipt: WriteReceipt | undefined): Promise<ApplyResult> {
    // Without a client id, one is made up: the command is still applied once.
    const cmd = { requestId: requestId || randomHexId(16), timeMs: Date.now(), ...op } as Command;
    const outcome = (await this.deps.ctx.replica.propose(encodeCommand(cmd), timeoutMs)) as CommandOutcome;
    if ('error' in outcome) throw outcome.error;
    if (receipt !== undefined) receipt.commitIndex = outcome.index;
    return outcome.result;
  }

  /**
   * Makes sure a data key fit for sealing is installed before anything is
   * sealed: the first write of a new cluster proposes one (wrapped by the
   * master key), and the first write past the rotation policy proposes the
   * next. Only the primary's leader runs writes, so only it rotates; the
   * writes waiting here share one proposal, and a rotation names the key it
   * replaces, so a second leader's rotation of the same key is refused in
   * apply (DATA_KEY_ROTATED) rather than installing two keys. Writes already
   * past this check when the limit is reached still seal under the old key:
   * a key seals at most rotateAfterWrites plus the writes then in flight.
   */
  async ensureDataKey(timeoutMs: number): Promise<void> {
    const { envelope, app, dataKeyPolicy } = this.deps;
    const active = envelope.activeKeyId;
    if (active !== undefined && !rotationDue(app.state.dataKeyUsage(), dataKeyPolicy, Date.now())) return;
    this.installingKey ??= (async () => {
      const { keyId, wrapped } = envelope.newDataKey();
      const installDataKey = active === undefined ? { keyId, wrappedKey: wrapped } : { keyId, wrappedKey: wrapped, replacesKeyId: active };
      try {
        // Its own entry: the write that needed the key reports the index of its own.
        await this.run('', { op: 'installDataKey', installDataKey }, timeoutMs, undefined);
      } catch (e) {
        if (!(e instanceof VaultError && e.reason === 'DATA_KEY_ROTATED')) throw e;
      }
    })().finally(() => {
      this.installingKey = undefined;
    });
    await this.installingKey;
  }
}

/** The result of the kind a handler expects; any other is our bug. */
export function expectResult<K extends ApplyResult['kind']>(result: ApplyResult, kind: K): Extract<ApplyResult, { kind: K }> {
  if (result.kind !== kind) throw new VaultError(ErrorKind.Unavailable, 'INTERNAL', `expected a ${kind} result, got ${result.kind}`);
  return result as Extract<ApplyResult, { kind: K }>;
}

/** One of the seed's read-only operations: a FAILED_OVER secondary serves it. */
export const FAILOVER_READ: RouteOptions = { failover: true };

/** Returns the runner, which the node's bootstrap uses as well. */
export function registerPublicServices(server: grpc.Server, deps: ServiceDeps): CommandRunner {
  const runner = new CommandRunner(deps);
  server.addService(apiService('Vaults'), vaultHandlers(deps, runner));
  server.addService(apiService('Secrets'), secretHandlers(deps, runner));
  server.addService(apiService('Keys'), keyHandlers(deps, runner));
  server.addService(apiService('Cluster'), {
    getStatus: deps.router.local(async (_req: unknown, _timeLeft, metadata) => {
      const status = await deps.status.cluster();
      const principal = metadata.get(CALLER_KEY)[0];
      const assignments = typeof principal === 'string' ? deps.app.directory.roleAssignments(principal) : [];
      // The peer port is the cluster's inside: its addresses are for Cluster Administrators.
      return seesClusterDetails(assignments) ? status : { ...status, nodes: status.nodes.map((n) => ({ ...n, peerAddress: '' })) };
    }),
    failover: deps.router.local((req: { reason?: string }) => deps.status.transition('FAILED_OVER', req.reason ?? '')),
    failback: deps.router.local((req: { reason?: string }) => deps.status.transition('STANDBY', req.reason ?? '')),
    ...principalHandlers(deps, runner),
    ...memberHandlers(deps),
    saveSnapshot: deps.router.stream(apiService('Cluster').SaveSnapshot!, (_req: unknown, timeoutMs) => deps.snapshots.save(timeoutMs)),
    ...masterKeyHandlers(deps, runner),
    ...dataKeyHandlers(deps, runner),
  });
  return runner;
}
