// The audit log: one JSON line per client request, whichever front-end it
// came through (refusals by admission control: one per method and caller
// each second), appended to <data-dir>/audit.log (0600): who called what,
// on which vault and object, and how it ended. It holds names, versions and
// request ids only: the fields are picked from the request one by one, so a
// secret value, plaintext, ciphertext, digest or key material can never
// reach it. Written through pino's asynchronous destination (sonic-boom): a
// request does not wait for the disk. Lines are gathered up to BUFFER_BYTES
// or FLUSH_EVERY_MS, whichever comes first: one write per line cost the
// leader about 4 % of its CPU at 2,000 calls/s (issue 22).

import pino from 'pino';
import { Code } from './codes.js';

export interface AuditEntry {
  /** The RPC's full path, /keyraft.v1.Secrets/GetSecret (a REST call names the RPC it runs). */
  readonly path: string;
  /** The caller's address, as its front-end reports it (grpc-js: ipv4:127.0.0.1:5000). */
  readonly peer: string;
  /** Undefined when the caller was not authenticated (or needed not be). */
  readonly principal: string | undefined;
  /** The request as decoded; undefined when it never arrived (a refused token). */
  readonly request: unknown;
  /** Which field names the vault (Vaults RPCs: `name`). */
  readonly vaultField: 'vault' | 'name' | undefined;
  readonly code: number;
  /** The keyraft reason of a refusal or error; undefined on success. */
  readonly reason: string | undefined;
  /** From the call's headers arriving to its answer leaving. */
  readonly elapsedMs: number;
}

const str = (o: Record<string, unknown>, k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);

/** The audit line's fields of an entry: names and ids only. */
export function auditFields(e: AuditEntry): Record<string, unknown> {
  const r = typeof e.request === 'object' && e.request !== null ? (e.request as Record<string, unknown>) : {};
  const vaultsRpc = e.vaultField === 'name';
  return {
    principal: e.principal ?? null,
    rpc: e.path,
    vault: e.vaultField === undefined ? null : (str(r, e.vaultField) ?? null),
    name: vaultsRpc ? null : (str(r, 'name') ?? null),
    version: str(r, 'version') ?? null,
    code: e.code,
    reason: e.reason ?? null,
    requestId: str(r, 'requestId') ?? null,
    caller: e.peer,
    ms: Math.round(e.elapsedMs * 1000) / 1000,
  };
}

/** How often the refusals counted by recordThrottled are written. */
const THROTTLED_EVERY_MS = 1000;
/** Lines are written once this much is buffered... */
const BUFFER_BYTES = 8 * 1024;
/** ...or this long after the last write. */
const FLUSH_EVERY_MS = 200;

export class AuditLog {
  private readonly destination: ReturnType<typeof pino.destination>;
  /** Refusals not written yet, by method and caller. */
  private readonly throttled = new Map<string, { path: string; peer: string; count: number }>();
  private throttledTimer: NodeJS.Timeout | undefined;
  private readonly flushTimer: NodeJS.Timeout;
  /** Lines written since the last flush, which may still be in the buffer. */
  private unflushed = false;

  constructor(
    file: string,
    private readonly who: { node: string; region: string },
  ) {
    this.destination = pino.destination({ dest: file, sync: false, mode: 0o600, mkdir: true, minLength: BUFFER_BYTES });
    // Lines written while the file was still opening wait in the buffer: a flush then would do nothing.
    this.destination.once('ready', () => this.destination.flush());
    this.flushTimer = setInterval(() => {
      if (!this.unflushed) return;
      this.unflushed = false;
      this.destination.flush();
    }, FLUSH_EVERY_MS).unref();
  }

  record(entry: AuditEntry): void {
    this.write(auditFields(entry));
  }

  private write(fields: Record<string, unknown>): void {
    const line = { time: new Date().toISOString(), node: this.who.node, region: this.who.region, ...fields };
    this.destination.write(`${JSON.stringify(line)}\n`);
    this.unflushed = true;
  }

  /**
   * A call that admission control refused before its caller was known.
   * Written once a second per method and caller, with how many there were: a
   * flood of refusals costs one line a second, not one line (and ~40 µs of
   * a node that is already over its limit) a call.
   */
  recordThrottled(path: string, peer: string): void {
    const key = `${path} ${peer}`;
    const seen = this.throttled.get(key);
    if (seen !== undefined) {
      seen.count++;
      return;
    }
    this.throttled.set(key, { path, peer, count: 1 });
    this.throttledTimer ??= setTimeout(() => this.writeThrottled(), THROTTLED_EVERY_MS).unref();
  }

  private writeThrottled(): void {
    this.throttledTimer = undefined;
    for (const { path, peer, count } of this.throttled.values()) {
      const fields = auditFields({ path, peer, principal: undefined, request: undefined, vaultField: undefined, code: Code.RESOURCE_EXHAUSTED, reason: 'THROTTLED', elapsedMs: 0 });
      this.write({ ...fields, count });
    }
    this.throttled.clear();
  }

  /** Flushes what is buffered; the file may not be open yet if nothing was written. */
  close(): void {
    clearTimeout(this.throttledTimer);
    clearInterval(this.flushTimer);
    this.writeThrottled();
    try {
      this.destination.flushSync();
    } catch {
      // not open yet: nothing to flush
    }
    this.destination.end();
  }
}
