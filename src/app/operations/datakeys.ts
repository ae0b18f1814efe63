// keyraft.v1.Cluster's data keys: their status, and the background re-seal.
// A re-seal batch runs on the primary's leader (a write): it opens values
// sealed under an old data key and seals them again under the active one,
// and the log carries the new bytes with the old ones, so that apply
// replaces only values nothing has changed since (src/vault/reseal.ts).
// Who may call these is decided before (src/auth/permissions.ts).

import { sealedKeyId } from '../../crypto/envelope.js';
import { MAX_RESEALED_PER_COMMAND, type ResealedValue } from '../../vault/index.js';
import { type CommandRunner, expectResult } from '../command-runner.js';
import type { AppDeps } from '../deps.js';
import { type OperationTable, read, write } from '../operation.js';

/** A batch's sealed bytes, old and new, stay well under the log's entry size. */
const MAX_BATCH_BYTES = 1024 * 1024;

export function dataKeyOperations(deps: AppDeps, runner: CommandRunner): OperationTable {
  const { ctx, envelope } = deps;
  const state = () => deps.app.state;

  return {
    ListDataKeys: read(async (_req: unknown, timeoutMs) => {
      await ctx.replica.linearizableRead(timeoutMs);
      const keys = state().dataKeyRecords();
      const active = keys.at(-1)?.keyId ?? '';
      const values = new Map<string, number>();
      let toReseal = 0;
      for (const ref of state().sealedValues()) {
        const keyId = sealedKeyId(ref.sealed);
        values.set(keyId, (values.get(keyId) ?? 0) + 1);
        if (keyId !== active) toReseal++;
      }
      return {
        activeKeyId: active,
        dataKeys: keys.map((k) => ({ ...k, active: k.keyId === active, values: values.get(k.keyId) ?? 0 })),
        valuesToReseal: toReseal,
      };
    }),
    ResealValues: write(async (req: { maxValues?: number }, timeoutMs) => {
      const max = req.maxValues ? Math.min(req.maxValues, MAX_RESEALED_PER_COMMAND) : MAX_RESEALED_PER_COMMAND;
      const active = envelope.activeKeyId;
      if (active === undefined) return { resealed: 0, skipped: 0, remaining: 0, activeKeyId: '' };
      const batch: ResealedValue[] = [];
      let bytes = 0;
      let remaining = 0;
      for (const ref of state().sealedValues()) {
        if (sealedKeyId(ref.sealed) === active) continue;
        remaining++;
        if (batch.length === max || bytes + 2 * ref.sealed.byteLength > MAX_BATCH_BYTES) continue;
        const plaintext = envelope.open(ref.sealed, ref.context);
        try {
          const { kind, vault, name, version } = ref;
          batch.push({ kind, vault, name, version, previous: ref.sealed, sealed: envelope.seal(plaintext, ref.context) });
        } finally {
          plaintext.fill(0);
        }
        bytes += 2 * ref.sealed.byteLength;
      }
      if (batch.length === 0) return { resealed: 0, skipped: 0, remaining, activeKeyId: active };
      const result = expectResult(await runner.run('', { op: 'resealValues', resealValues: { values: batch } }, timeoutMs, undefined), 'resealed');
      return { resealed: result.resealed, skipped: result.skipped, remaining: remaining - result.resealed, activeKeyId: active };
    }),
  };
}
