// The history model shared by the workload runner and the checkers. Plain data
// only, so that a recorded history can be saved as JSON and replayed through
// the checkers later (a failing run must be reproducible without a cluster).
//
// Time: every invokeMs/completeMs of one history comes from one monotonic
// clock (the runner's). Operation A precedes B in real time only when
// A.completeMs < B.invokeMs; equal instants count as concurrent, because a
// millisecond clock cannot order them and the checkers must not invent an
// order that would turn into a false alarm.
//
// Processes are sequential, as in Jepsen: a process invokes its next
// operation only once the previous one completed or was given up on.

/**
 * 'ok': acknowledged. 'fail': definitely had no effect (refused by validation,
 * NOT_LEADER before proposing, ...). 'unknown': timed out or lost its
 * connection, so it may take effect at any moment after its invocation, even
 * after the client gave up, or never.
 */
export type Outcome = 'ok' | 'fail' | 'unknown';

/** Where a read served by a secondary (a stale, non-linearizable read) came from. */
export interface SecondarySource {
  readonly region: string;
  /** The primary's log index that the serving replica's state reflects. */
  readonly primaryIndex: number;
}

/** One register operation: SetSecret (write) or GetSecret (read) on one name. */
export interface RegisterOp {
  /** Client id. */
  readonly process: number;
  readonly kind: 'write' | 'read';
  readonly key: string;
  /** Write: the value written. Read: the value returned; null or absent is "not found". */
  readonly value?: string | null;
  readonly invokeMs: number;
  /** Absent (or null, after JSON) when an unknown operation never returned. */
  readonly completeMs?: number | null;
  readonly outcome: Outcome;
  /**
   * Reads only: present when a secondary served the read. Such reads are
   * stale by design, so the linearizability checker skips them and
   * checkSecondaryReads judges them instead.
   */
  readonly secondary?: SecondarySource;
  /** Acknowledged writes only, when known: the primary's log index that committed it. */
  readonly primaryIndex?: number;
}

/** One ListSecretVersions observation: the version ids of a name, oldest first. */
export interface VersionsOp {
  readonly process?: number;
  readonly kind: 'versions';
  readonly key: string;
  readonly versions: readonly string[];
  readonly invokeMs: number;
  readonly completeMs: number;
  /** Only 'ok' observations carry information; absent means 'ok'. */
  readonly outcome?: Outcome;
}

/**
 * One operation of the key workload on the key named `key`. Key names are
 * never reused, and deleted keys are not recovered during a run, so an
 * acknowledged delete is final.
 */
export interface KeyOp {
  readonly process: number;
  readonly kind: 'key';
  readonly action: 'create' | 'rotate' | 'delete' | 'sign' | 'verify';
  readonly key: string;
  readonly invokeMs: number;
  readonly completeMs?: number | null;
  readonly outcome: Outcome;
  /**
   * create/rotate: the version made. sign: the version the response's kid
   * names (the latest one, as no version is asked for). verify: the version
   * asked for (that of the signature's sign).
   */
  readonly version?: string;
  /** sign/verify: the signed message (base64url); the digest is its SHA-256. */
  readonly message?: string;
  /** sign (ok): the signature returned; verify: the signature checked (base64url, ES256, r||s). */
  readonly signature?: string;
  /** verify (ok): the answer. */
  readonly verified?: boolean;
  /** Present when a failed-over secondary served it (sign and verify only). */
  readonly secondary?: SecondarySource;
}

export type Operation = RegisterOp | VersionsOp | KeyOp;
export type History = readonly Operation[];

/** Final state of one node: register value per key (null or absent: not found). */
export type NodeState = Readonly<Record<string, string | null | undefined>>;
/** Final state per node id. */
export type FinalStates = Readonly<Record<string, NodeState>>;

/** An EC public key as node:crypto imports it (JWK members base64url). */
export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y: string;
}

/** What the primary holds at the end for one key name: versions oldest first, and their public keys. */
export interface FinalKey {
  readonly versions: readonly string[];
  readonly publicKeys: Readonly<Record<string, PublicJwk>>;
}
/** Final keys by name; a name absent here never came to exist. */
export type FinalKeys = Readonly<Record<string, FinalKey>>;

export function isRegisterOp(op: Operation): op is RegisterOp {
  return op.kind === 'write' || op.kind === 'read';
}

export function isVersionsOp(op: Operation): op is VersionsOp {
  return op.kind === 'versions';
}

export function isKeyOp(op: Operation): op is KeyOp {
  return op.kind === 'key';
}

/** The value as the checkers compare it: "not found" is always undefined. */
export function valueOf(op: { readonly value?: string | null }): string | undefined {
  return op.value ?? undefined;
}

/** Completion time with JSON's null folded into undefined. */
export function completeOf(op: Operation): number | undefined {
  return op.completeMs ?? undefined;
}

/**
 * What is wrong with a history's shape (not its consistency): the checkers
 * assume these hold, so a runner bug shows up here rather than as a bogus
 * anomaly.
 */
export function validateHistory(history: History): string[] {
  const problems: string[] = [];
  history.forEach((op, i) => {
    const where = `operation ${i} (${formatOperation(op)})`;
    if (typeof op.key !== 'string') problems.push(`${where}: key must be a string`);
    if (!Number.isFinite(op.invokeMs)) problems.push(`${where}: invokeMs must be a finite number`);
    const complete = completeOf(op);
    if (complete !== undefined && !(complete >= op.invokeMs)) problems.push(`${where}: completes before it is invoked`);
    if (isVersionsOp(op)) {
      if (!Array.isArray(op.versions) || op.versions.some((v) => typeof v !== 'string')) {
        problems.push(`${where}: versions must be a list of strings`);
      }
      if (complete === undefined) problems.push(`${where}: a versions observation needs completeMs`);
      return;
    }
    if (isKeyOp(op)) {
      if (!['create', 'rotate', 'delete', 'sign', 'verify'].includes(op.action)) problems.push(`${where}: bad key action`);
      if (!['ok', 'fail', 'unknown'].includes(op.outcome)) problems.push(`${where}: bad outcome`);
      if (op.outcome === 'ok' && complete === undefined) problems.push(`${where}: an ok operation needs completeMs`);
      if (op.outcome === 'ok' && op.action === 'sign' && (op.version === undefined || op.message === undefined || op.signature === undefined)) {
        problems.push(`${where}: an ok sign needs its version, message and signature`);
      }
      if (op.outcome === 'ok' && op.action === 'verify' && typeof op.verified !== 'boolean') problems.push(`${where}: an ok verify needs its answer`);
      return;
    }
    if (!isRegisterOp(op)) {
      problems.push(`${where}: unknown kind ${JSON.stringify((op as { kind: unknown }).kind)}`);
      return;
    }
    if (!['ok', 'fail', 'unknown'].includes(op.outcome)) problems.push(`${where}: bad outcome`);
    if (op.outcome === 'ok' && complete === undefined) problems.push(`${where}: an ok operation needs completeMs`);
    if (op.kind === 'write' && typeof op.value !== 'string') problems.push(`${where}: a write needs a string value`);
    if (op.kind === 'read' && op.value != null && typeof op.value !== 'string') problems.push(`${where}: bad read value`);
    if (op.secondary && op.kind !== 'read') problems.push(`${where}: only reads come from a secondary`);
  });
  return problems;
}

/** Throws on a malformed history, listing the first problems. */
export function assertValidHistory(history: History): void {
  const problems = validateHistory(history);
  if (problems.length > 0) {
    throw new Error(`malformed history: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`);
  }
}

export function serializeHistory(history: History): string {
  return JSON.stringify(history);
}

/** Parses and validates; undefined fields come back absent, which every checker treats alike. */
export function parseHistory(json: string): Operation[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error('a history is a JSON array of operations');
  const history = parsed as Operation[];
  assertValidHistory(history);
  return history;
}

/** One line per operation, for failure reports meant for people. */
export function formatOperation(op: Operation): string {
  const complete = completeOf(op);
  const span = `[${op.invokeMs}, ${complete ?? '∞'}]`;
  const who = op.process === undefined ? '' : `p${op.process} `;
  if (isVersionsOp(op)) return `${who}versions ${op.key} → [${op.versions.join(', ')}] ${span}`;
  if (isKeyOp(op)) {
    const version = op.version === undefined ? '' : `/${op.version.slice(0, 8)}`;
    const answer = op.action === 'verify' && op.outcome === 'ok' ? ` → ${op.verified}` : '';
    const sig = op.signature === undefined ? '' : ` sig ${op.signature.slice(0, 10)}…`;
    const extra = op.secondary ? ` from ${op.secondary.region}@${op.secondary.primaryIndex}` : '';
    return `${who}${op.action} key ${op.key}${version}${sig}${answer} ${op.outcome}${extra} ${span}`;
  }
  const value = op.kind === 'read' && op.outcome !== 'ok' ? '?' : (valueOf(op) ?? 'not found');
  const arrow = op.kind === 'write' ? `write ${op.key} := ${value}` : `read ${op.key} → ${value}`;
  const extra = op.secondary ? ` from ${op.secondary.region}@${op.secondary.primaryIndex}` : '';
  const index = op.primaryIndex === undefined ? '' : ` @${op.primaryIndex}`;
  return `${who}${arrow} ${op.outcome}${extra}${index} ${span}`;
}

export function formatHistory(history: History): string {
  return [...history]
    .sort((a, b) => a.invokeMs - b.invokeMs)
    .map((op) => `  ${formatOperation(op)}`)
    .join('\n');
}
