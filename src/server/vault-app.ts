// The vault state machine as the replica's Application: decodes each
// committed command, applies it, and installs data keys into the envelope as
// they are applied, so that every node can open what any leader sealed.

import type { Logger } from 'pino';
import type { Envelope } from '../crypto/envelope.js';
import type { Application, StateWrite } from '../replica/replica.js';
import { ErrorKind, VaultError, VaultState, decodeCommand, type ApplyResult, type Command } from '../vault/index.js';

export type CommandOutcome = { result: ApplyResult } | { error: VaultError };

export class VaultApp implements Application {
  state: VaultState = VaultState.load([]);

  constructor(
    private readonly envelope: Envelope,
    private readonly logger: Logger,
  ) {}

  applyCommand(data: Uint8Array, index: number): { result: CommandOutcome; writes: readonly StateWrite[] } {
    let cmd: Command;
    try {
      cmd = decodeCommand(data);
    } catch (e) {
      // Only our own leaders write the log, so this is a bug; it must not stop the group.
      this.logger.error({ err: e, index }, 'undecodable command in the log; skipped');
      return { result: { error: new VaultError(ErrorKind.InvalidArgument, 'BAD_COMMAND', 'undecodable command') }, writes: [] };
    }
    const outcome = this.state.apply(cmd, index);
    if (cmd.op === 'installDataKey' && 'result' in outcome) {
      // A wrong master key throws here and stops the node: it could open nothing.
      this.envelope.installDataKey(cmd.installDataKey.keyId, cmd.installDataKey.wrappedKey);
    }
    const result: CommandOutcome = 'error' in outcome ? { error: outcome.error } : { result: outcome.result };
    return { result, writes: outcome.mutations };
  }

  async reload(records: AsyncIterable<[string, Uint8Array]>): Promise<void> {
    const all: [string, Uint8Array][] = [];
    for await (const r of records) all.push(r);
    this.state = VaultState.load(all);
    for (const k of this.state.dataKeys().keys) this.envelope.installDataKey(k.keyId, k.wrappedKey);
  }
}
