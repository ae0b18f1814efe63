// Cluster.RotateMasterKey: the online half of a master-key rotation. The
// operator first restarts every node with the new master key and the
// previous one (scripts/rotate-master-key.sh); then the primary leader
// checks that every node it reaches wraps under the new key, and proposes
// every data key rewrapped under it. Envelope.rewrap is deterministic, but
// the leader rewraps once and the log carries the result, like any command.

import { VaultError, validateRequestId } from '../../vault/index.js';
import { Code } from '../codes.js';
import type { CommandRunner } from '../command-runner.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { type OperationTable, write } from '../operation.js';

/** Data keys are installed rarely: a rotation that keeps racing one is given up, with the reason. */
const MAX_ATTEMPTS = 3;

interface RotateMasterKeyResponse {
  masterKeyFingerprint: string;
  dataKeys: number;
  checkedNodes: string[];
  unreachableNodes: string[];
}

const KEY_CHECK_TIMEOUT_MS = 3000;

export function masterKeyOperations(deps: AppDeps, runner: CommandRunner): OperationTable {
  const { ctx } = deps;
  return {
    RotateMasterKey: write(async (req: { requestId?: string }, timeoutMs, receipt): Promise<RotateMasterKeyResponse> => {
      const requestId = validateRequestId(req.requestId);
      const own = ctx.masterKeys?.();
      if (own === undefined) throw new ApiError(Code.FAILED_PRECONDITION, 'MASTER_KEY_UNKNOWN', `${ctx.nodeId} does not report its master key`);
      const fingerprint = own.masterKeyFingerprint;
      // A busy node is still checked: only one that does not answer in KEY_CHECK_TIMEOUT_MS counts as unreachable.
      const { nodes } = await deps.status.cluster(KEY_CHECK_TIMEOUT_MS);
      const reached = nodes.filter((n) => n.reachable);
      const unreached = nodes.filter((n) => !n.reachable).map((n) => n.id);
      const behind = reached.filter((n) => n.masterKeyFingerprint !== fingerprint);
      if (behind.length > 0) {
        const list = behind.map((n) => `${n.id} (${n.masterKeyFingerprint || 'unknown'})`).join(', ');
        throw new ApiError(
          Code.FAILED_PRECONDITION,
          'MASTER_KEY_NOT_EVERYWHERE',
          `not every node holds master key ${fingerprint} as its current key: ${list}; restart them with it (and the previous key) first`,
        );
      }
      // Rewrap what this leader has applied of everything committed so far;
      // a data key installed meanwhile makes apply refuse (DATA_KEYS_CHANGED),
      // and the next attempt includes it.
      const deadline = Date.now() + timeoutMs;
      let keys: { keyId: string; wrappedKey: Uint8Array }[] = [];
      for (let attempt = 1; ; attempt++) {
        await ctx.replica.linearizableRead(deadline - Date.now());
        keys = deps.app.state.dataKeys().keys.map((k) => ({ keyId: k.keyId, wrappedKey: deps.envelope.rewrap(k.keyId) }));
        try {
          await runner.run(requestId, { op: 'rotateMasterKey', rotateMasterKey: { masterKeyFingerprint: fingerprint, keys } }, deadline - Date.now(), receipt);
          break;
        } catch (e) {
          if (!(e instanceof VaultError && e.reason === 'DATA_KEYS_CHANGED') || attempt === MAX_ATTEMPTS) throw e;
        }
      }
      ctx.logger.info({ masterKey: fingerprint, dataKeys: keys.length, unreachable: unreached }, 'data keys rewrapped under the master key');
      return { masterKeyFingerprint: fingerprint, dataKeys: keys.length, checkedNodes: reached.map((n) => n.id), unreachableNodes: unreached };
    }),
  };
}
