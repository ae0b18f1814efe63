// How an operation changes the state: a command proposed through the log on
// the primary's leader, whose result (or error) comes back once it is
// applied here.

import { randomHexId } from '../crypto/random.js';
import { ErrorKind, VaultError, encodeCommand, rotationDue, type ApplyResult, type Command, type CommandOp } from '../vault/index.js';
import type { AppDeps } from './deps.js';
import type { WriteReceipt } from './operation.js';
import type { CommandOutcome } from './vault-app.js';

/** Runs commands through the log on the leader and hands back their results. */
export class CommandRunner {
  private installingKey: Promise<void> | undefined;

  constructor(private readonly deps: Pick<AppDeps, 'ctx' | 'app' | 'envelope' | 'dataKeyPolicy'>) {}

  /**
   * Proposes `op`, waits until it is applied here, and returns its result or
   * throws its error. On success, `receipt` (the write operation's, from the router)
   * gets the log index of the entry that made the result.
   */
  async run(requestId: string, op: CommandOp, timeoutMs: number, receipt: WriteReceipt | undefined): Promise<ApplyResult> {
    // Without a client id, one is made up: the command is still applied once.
    const cmd = { requestId: requestId || randomHexId(16), timeMs: Date.now(), ...op } as Command;
    const outcome = await this.deps.ctx.replica.propose(encodeCommand(cmd), timeoutMs);
    // A vault command's entry applies to a CommandOutcome; a geo outcome here is a bug of ours.
    if ('geo' in outcome) throw new Error('a vault command was applied as a geo entry');
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

/** The result of the kind an operation expects; any other is our bug. */
export function expectResult<K extends ApplyResult['kind']>(result: ApplyResult, kind: K): Extract<ApplyResult, { kind: K }> {
  if (result.kind !== kind) throw new VaultError(ErrorKind.Unavailable, 'INTERNAL', `expected a ${kind} result, got ${result.kind}`);
  return result as Extract<ApplyResult, { kind: K }>;
}
