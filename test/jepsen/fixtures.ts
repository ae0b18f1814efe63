// Builders and generators for the checker's own tests: hand-made histories,
// random histories that are linearizable by construction, and a brute-force
// oracle to compare the real checker against on tiny histories.

import type { Outcome, RegisterOp, SecondarySource } from './history.js';

export function write(key: string, value: string, invokeMs: number, completeMs: number | undefined, outcome: Outcome = 'ok', process = 0): RegisterOp {
  return completeMs === undefined
    ? { process, kind: 'write', key, value, invokeMs, outcome }
    : { process, kind: 'write', key, value, invokeMs, completeMs, outcome };
}

export function read(key: string, value: string | undefined, invokeMs: number, completeMs: number | undefined, outcome: Outcome = 'ok', process = 0): RegisterOp {
  const op: RegisterOp = { process, kind: 'read', key, invokeMs, outcome };
  return { ...op, ...(value === undefined ? {} : { value }), ...(completeMs === undefined ? {} : { completeMs }) };
}

export function secondaryRead(key: string, value: string | undefined, invokeMs: number, completeMs: number, secondary: SecondarySource, process = 0): RegisterOp {
  return { ...read(key, value, invokeMs, completeMs, 'ok', process), secondary };
}

/** One step of a simulated register run; `before`/`after` stretch it around its linearization point. */
export interface Step {
  readonly write: boolean;
  readonly key: string;
  readonly before: number;
  readonly after: number;
  /** 'lost': an unknown write that never took effect. */
  readonly outcome: 'ok' | 'fail' | 'unknown' | 'lost';
  /** Unknown outcomes only: whether the client recorded when it gave up. */
  readonly gaveUp: boolean;
  readonly process: number;
}

export const SPACING = 10;

/**
 * Runs the steps against a sequential register, step i taking effect at
 * SPACING * (i + 1), then widens each operation around that instant. Every
 * operation still contains its own linearization point, so the history is
 * linearizable whatever the widening, yet neighbours overlap and can be
 * reordered by the checker. Written values are unique.
 */
export function linearizableHistory(steps: readonly Step[]): RegisterOp[] {
  const state = new Map<string, string>();
  return steps.map((s, i) => {
    const at = SPACING * (i + 1);
    const invoke = at - s.before;
    const complete = at + s.after;
    if (!s.write) {
      if (s.outcome === 'ok') return read(s.key, state.get(s.key), invoke, complete, 'ok', s.process);
      // A failed read's value means nothing; garbage proves the checker ignores it.
      if (s.outcome === 'fail') return read(s.key, 'garbage', invoke, complete, 'fail', s.process);
      return read(s.key, undefined, invoke, s.gaveUp ? complete : undefined, 'unknown', s.process);
    }
    const value = `v${i}`;
    if (s.outcome === 'ok' || s.outcome === 'unknown') state.set(s.key, value);
    if (s.outcome === 'ok') return write(s.key, value, invoke, complete, 'ok', s.process);
    if (s.outcome === 'fail') return write(s.key, value, invoke, complete, 'fail', s.process);
    return write(s.key, value, invoke, s.gaveUp ? complete : undefined, 'unknown', s.process);
  });
}

/**
 * Plants a stale read: for ok writes W1, W2 of one key with W1 completed
 * before W2 was invoked, a read invoked after W2 completed that returns W1's
 * (unique) value. Returns undefined when the history has no such pair.
 */
export function plantStaleRead(history: readonly RegisterOp[], pick: number, delay: number): { history: RegisterOp[]; planted: RegisterOp } | undefined {
  const writes = history.filter((op) => op.kind === 'write' && op.outcome === 'ok');
  const pairs: [RegisterOp, RegisterOp][] = [];
  for (const w1 of writes) {
    for (const w2 of writes) {
      if (w1.key === w2.key && w1.completeMs! < w2.invokeMs) pairs.push([w1, w2]);
    }
  }
  if (pairs.length === 0) return undefined;
  const [w1, w2] = pairs[pick % pairs.length]!;
  const invoke = w2.completeMs! + 1 + delay;
  const planted = read(w1.key, w1.value ?? undefined, invoke, invoke + 5, 'ok', 99);
  return { history: [...history, planted], planted };
}

/** A small deterministic PRNG (mulberry32, the simulator's) for the large generated histories. */
export { mulberry32 as prng } from '../sim/random.js';

export function randomSteps(rand: () => number, count: number, keys: readonly string[], maxJitter: number, processes = 8): Step[] {
  const outcomes: Step['outcome'][] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'fail', 'unknown', 'lost'];
  return Array.from({ length: count }, () => ({
    write: rand() < 0.5,
    key: keys[Math.floor(rand() * keys.length)]!,
    before: Math.floor(rand() * maxJitter),
    after: Math.floor(rand() * maxJitter),
    outcome: outcomes[Math.floor(rand() * outcomes.length)]!,
    gaveUp: rand() < 0.5,
    process: Math.floor(rand() * processes),
  }));
}

/**
 * The definition, searched exhaustively: some subset of the unknown writes,
 * with every ok write and ok non-secondary read, has a total order that
 * respects real time (A before B when A completed strictly before B was
 * invoked; an included unknown write never completes) and register
 * semantics per key. Exponential: tiny histories only.
 */
export function bruteForceLinearizable(history: readonly RegisterOp[]): boolean {
  const base = history.filter((op) => (op.kind === 'write' ? op.outcome === 'ok' : op.outcome === 'ok' && !op.secondary));
  const unknown = history.filter((op) => op.kind === 'write' && op.outcome === 'unknown');
  const end = (op: RegisterOp): number => (op.outcome === 'unknown' ? Infinity : op.completeMs!);
  const search = (left: RegisterOp[], state: Map<string, string | undefined>): boolean => {
    if (left.length === 0) return true;
    return left.some((op) => {
      if (left.some((p) => p !== op && end(p) < op.invokeMs)) return false;
      const rest = left.filter((p) => p !== op);
      if (op.kind === 'read') return (op.value ?? undefined) === state.get(op.key) && search(rest, state);
      return search(rest, new Map(state).set(op.key, op.value ?? undefined));
    });
  };
  for (let mask = 0; mask < 1 << unknown.length; mask++) {
    const included = unknown.filter((_, i) => (mask >> i) & 1);
    if (search([...base, ...included], new Map())) return true;
  }
  return false;
}

/** The register values the steps leave behind (what every node should hold at the end). */
export function simulatedFinal(steps: readonly Step[]): Record<string, string> {
  const final: Record<string, string> = {};
  steps.forEach((s, i) => {
    if (s.write && (s.outcome === 'ok' || s.outcome === 'unknown')) final[s.key] = `v${i}`;
  });
  return final;
}
