// The checks of issue 6 besides linearizability, as pure functions over a
// recorded history (see history.ts for its time and process conventions) and
// the final state read from each node once the cluster has healed and settled.
//
// Each check is sound in the sense that it only reports what no correct
// execution could produce; where the history leaves room (unknown outcomes,
// concurrent operations, writes whose log index is not known) it gives the
// system the benefit of the doubt.

import { createPublicKey, verify } from 'node:crypto';
import {
  completeOf,
  type FinalKeys,
  type FinalStates,
  type History,
  isKeyOp,
  isRegisterOp,
  type KeyOp,
  isVersionsOp,
  type Operation,
  type RegisterOp,
  valueOf,
  type VersionsOp,
} from './history.js';

export type CheckName = 'lost-write' | 'phantom-read' | 'versions' | 'convergence' | 'secondary-read' | 'keys';

export interface Anomaly {
  readonly check: CheckName;
  readonly key?: string;
  readonly node?: string;
  readonly message: string;
  /** The operations that show it, for the report. */
  readonly ops: readonly Operation[];
}

export interface CheckResult {
  readonly ok: boolean;
  readonly anomalies: Anomaly[];
}

function result(anomalies: Anomaly[]): CheckResult {
  return { ok: anomalies.length === 0, anomalies };
}

function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    let group = groups.get(k);
    if (!group) groups.set(k, (group = []));
    group.push(item);
  }
  return groups;
}

function writesByKey(history: History): Map<string, RegisterOp[]> {
  return groupBy(
    history.filter((op): op is RegisterOp => isRegisterOp(op) && op.kind === 'write'),
    (op) => op.key,
  );
}

const show = (v: string | undefined): string => (v === undefined ? 'not found' : JSON.stringify(v));

/**
 * No acknowledged write is missing at the end: on every node, each key that
 * some ok or unknown write touched must hold the value of a write that could
 * have been the last one in a linearization. That is an unknown write (it may
 * have landed at any time, even last), or an ok write W that no ok write
 * followed in real time (none invoked after W completed); failed writes never
 * count. "Not found" is acceptable only if no write was acknowledged.
 * Assumes no deletes, and final states read after every in-flight write has
 * either landed or been abandoned.
 */
export function checkNoLostWrites(history: History, finalStates: FinalStates): CheckResult {
  const anomalies: Anomaly[] = [];
  for (const [key, writes] of writesByKey(history)) {
    const acked = writes.filter((w) => w.outcome === 'ok');
    const unknown = writes.filter((w) => w.outcome === 'unknown');
    if (acked.length === 0 && unknown.length === 0) continue;
    const lastInvoke = acked.reduce((max, w) => Math.max(max, w.invokeMs), -Infinity);
    const couldBeLast = (w: RegisterOp): boolean => w.outcome === 'unknown' || (w.outcome === 'ok' && (completeOf(w) ?? Infinity) >= lastInvoke);
    const lastAcked = acked.filter(couldBeLast);
    const allowed = new Set<string | undefined>(writes.filter(couldBeLast).map(valueOf));
    if (acked.length === 0) allowed.add(undefined);
    for (const [node, state] of Object.entries(finalStates)) {
      const final = valueOf({ value: state[key] });
      if (allowed.has(final)) continue;
      const source = writes.filter((w) => valueOf(w) === final);
      const why =
        final === undefined
          ? 'the key is not found'
          : source.length === 0
            ? `it holds ${show(final)}, which no write wrote`
            : source.every((w) => w.outcome === 'fail')
              ? `it holds ${show(final)}, written only by a write that failed`
              : `it holds ${show(final)}, from a write that an acknowledged write followed`;
      anomalies.push({
        check: 'lost-write',
        key,
        node,
        message: `node ${node}, key ${key}: ${why}; the last acknowledged writes were ${lastAcked.map((w) => show(valueOf(w))).join(', ')}`,
        ops: [...source, ...lastAcked],
      });
    }
  }
  return result(anomalies);
}

/**
 * No read returns a value never written: every ok read (secondary reads
 * included) that found a value must have a write of that value on the same
 * key, ok or unknown, invoked no later than the read completed. A value that
 * only a failed write, or only a later write, wrote is reported as such.
 */
export function checkReadsOfWrittenValues(history: History): CheckResult {
  const anomalies: Anomaly[] = [];
  const writes = writesByKey(history);
  for (const op of history) {
    if (!isRegisterOp(op) || op.kind !== 'read' || op.outcome !== 'ok') continue;
    const v = valueOf(op);
    if (v === undefined) continue;
    const same = (writes.get(op.key) ?? []).filter((w) => valueOf(w) === v);
    const effective = same.filter((w) => w.outcome !== 'fail');
    if (effective.some((w) => w.invokeMs <= (completeOf(op) ?? Infinity))) continue;
    const why =
      effective.length > 0
        ? 'written only by writes invoked after the read completed'
        : same.length > 0
          ? 'written only by writes that failed'
          : 'never written';
    anomalies.push({ check: 'phantom-read', key: op.key, message: `read of ${op.key} returned ${show(v)}, ${why}`, ops: [...same, op] });
  }
  return result(anomalies);
}

const isPrefix = (a: readonly string[], b: readonly string[]): boolean =>
  a.length <= b.length && a.every((v, i) => v === b[i]);

/**
 * Version lists only grow, in order: on each key, (1) every ok observation is
 * a prefix of the longest one, since all of them are states of one growing
 * list however stale; (2) an observation is a prefix-extension of every
 * observation that completed before it was invoked, so no version ever
 * disappears; and (3) no list names a version twice.
 */
export function checkVersionsMonotonic(history: History): CheckResult {
  const anomalies: Anomaly[] = [];
  const observations = history.filter((op): op is VersionsOp => isVersionsOp(op) && (op.outcome ?? 'ok') === 'ok');
  for (const [key, obs] of groupBy(observations, (op) => op.key)) {
    for (const o of obs) {
      if (new Set(o.versions).size !== o.versions.length) {
        anomalies.push({ check: 'versions', key, message: `versions of ${key} list a version twice`, ops: [o] });
      }
    }
    const longest = obs.reduce((a, b) => (b.versions.length > a.versions.length ? b : a));
    for (const o of obs) {
      if (!isPrefix(o.versions, longest.versions)) {
        anomalies.push({ check: 'versions', key, message: `versions of ${key} diverge: neither list is a prefix of the other`, ops: [o, longest] });
      }
    }
    // Sweep by completion: `widest` is the longest observation completed before the current invocation.
    const done = [...obs].sort((a, b) => a.completeMs - b.completeMs);
    const invoked = [...obs].sort((a, b) => a.invokeMs - b.invokeMs);
    let widest: VersionsOp | undefined;
    let i = 0;
    for (const o of invoked) {
      for (; i < done.length && done[i]!.completeMs < o.invokeMs; i++) {
        if (!widest || done[i]!.versions.length > widest.versions.length) widest = done[i];
      }
      if (widest && !isPrefix(widest.versions, o.versions)) {
        const lost = widest.versions.filter((v) => !o.versions.includes(v));
        const what = lost.length > 0 ? `lost ${lost.join(', ')}` : 'reordered';
        anomalies.push({ check: 'versions', key, message: `versions of ${key} went backwards: ${what} since an earlier observation`, ops: [widest, o] });
      }
    }
  }
  return result(anomalies);
}

/** Every node ends with the same state: same value (or "not found") for every key any node holds. */
export function checkNodesConverged(finalStates: FinalStates): CheckResult {
  const anomalies: Anomaly[] = [];
  const nodes = Object.keys(finalStates).sort();
  const keys = new Set(nodes.flatMap((n) => Object.keys(finalStates[n] ?? {})));
  for (const key of [...keys].sort()) {
    const values = nodes.map((n) => valueOf({ value: finalStates[n]?.[key] }));
    if (new Set(values).size <= 1) continue;
    const listing = nodes.map((n, i) => `${n}=${show(values[i])}`).join(', ');
    anomalies.push({ check: 'convergence', key, message: `nodes disagree on ${key}: ${listing}`, ops: [] });
  }
  return result(anomalies);
}

/**
 * Reads served by a secondary (RegisterOp.secondary set, outcome ok):
 * (1) monotonic: a process never reads from a region a primaryIndex lower
 * than one it already read from that region (over all keys, since the index
 * is the region's position in the one primary log);
 * (2) neither from the future nor older than their own index P: the state at
 * P holds the value of the key's last write at or below P. Acknowledged
 * writes whose primaryIndex is known (the server's keyraft-commit-index) are
 * placed exactly; the others (unknown outcome, or ok without an index) are
 * placed as tightly as real time allows, the primary log being one sequence:
 * a write lies above every known index acknowledged before it was invoked
 * and, if it was acknowledged, below every known index invoked after that.
 * So a read at P may return the value of the highest known write at or below
 * P (or "not found" if there is none), unless an unindexed acknowledged write
 * surely lies between the two; or the value of an unindexed write that could
 * lie above that highest known write and at or below P. Nothing else: not a
 * value whose write is known or bound to lie above P (from the future), nor
 * one overwritten at or below P (older than its index).
 */
export function checkSecondaryReads(history: History): CheckResult {
  const anomalies: Anomaly[] = [];
  const reads = history.filter(
    (op): op is RegisterOp & Required<Pick<RegisterOp, 'secondary'>> =>
      isRegisterOp(op) && op.kind === 'read' && op.outcome === 'ok' && op.secondary !== undefined,
  );

  for (const group of groupBy(reads, (r) => `${r.process}\u0000${r.secondary.region}`).values()) {
    let seen: (typeof reads)[number] | undefined;
    for (const r of [...group].sort((a, b) => a.invokeMs - b.invokeMs)) {
      if (seen && (completeOf(seen) ?? Infinity) <= r.invokeMs && r.secondary.primaryIndex < seen.secondary.primaryIndex) {
        anomalies.push({
          check: 'secondary-read',
          key: r.key,
          message: `p${r.process} read from ${r.secondary.region} at index ${r.secondary.primaryIndex} after it had seen index ${seen.secondary.primaryIndex} there`,
          ops: [seen, r],
        });
      }
      if (!seen || r.secondary.primaryIndex > seen.secondary.primaryIndex) seen = r;
    }
  }

  const known = (w: RegisterOp): boolean => w.outcome === 'ok' && w.primaryIndex !== undefined;
  const knownWrites = history.filter((op): op is RegisterOp => isRegisterOp(op) && op.kind === 'write' && known(op));
  /** An unindexed write's index lies in (above, below), by real time against the known ones. */
  const placed = (w: RegisterOp): Floating => {
    let above = 0;
    let below = Infinity;
    const acked = w.outcome === 'ok' ? completeOf(w) : undefined;
    for (const k of knownWrites) {
      if (completeOf(k)! < w.invokeMs) above = Math.max(above, k.primaryIndex!);
      if (acked !== undefined && acked < k.invokeMs) below = Math.min(below, k.primaryIndex!);
    }
    return { write: w, above, below };
  };
  const byKey = new Map<string, { indexed: RegisterOp[]; floating: Floating[] }>();
  for (const [key, writes] of writesByKey(history)) {
    const effective = writes.filter((w) => w.outcome !== 'fail');
    byKey.set(key, {
      indexed: effective.filter(known).sort((a, b) => a.primaryIndex! - b.primaryIndex!),
      floating: effective.filter((w) => !known(w)).map(placed),
    });
  }

  for (const r of reads) {
    const p = r.secondary.primaryIndex;
    const { indexed, floating } = byKey.get(r.key) ?? { indexed: [], floating: [] };
    const atOrBelow = indexed.filter((w) => w.primaryIndex! <= p);
    const topIndex = atOrBelow.at(-1)?.primaryIndex ?? 0;
    const current = atOrBelow.filter((w) => w.primaryIndex === topIndex);
    // Could lie in (topIndex, p]; surely does (an acknowledged one).
    const possible = floating.filter((f) => Math.max(f.above, topIndex) + 1 <= Math.min(p, f.below - 1));
    const between = possible.filter((f) => f.write.outcome === 'ok' && f.above >= topIndex && f.below <= p + 1);
    const allowed = new Set<string | undefined>(possible.map((f) => valueOf(f.write)));
    if (between.length === 0) {
      for (const w of current) allowed.add(valueOf(w));
      if (current.length === 0) allowed.add(undefined);
    }
    const v = valueOf(r);
    if (allowed.has(v)) continue;

    const sameValue = floating.filter((f) => valueOf(f.write) === v);
    const future = indexed.filter((w) => valueOf(w) === v && w.primaryIndex! > p);
    const older = atOrBelow.filter((w) => valueOf(w) === v);
    let why: string;
    let shown: RegisterOp[];
    if (sameValue.some((f) => f.above >= p)) {
      const f = sameValue.find((x) => x.above >= p)!;
      why = `from the future: ${show(v)} was written after index ${f.above} was acknowledged`;
      shown = [...knownWrites.filter((k) => k.primaryIndex === f.above), f.write];
    } else if (sameValue.length > 0) {
      const f = sameValue[0]!;
      why = `older than its index: ${show(v)} was acknowledged before index ${f.below} was written, and overwritten at index ${topIndex}`;
      shown = [f.write, ...current];
    } else if (future.length > 0) {
      why = `from the future: ${show(v)} was committed at index ${future[0]!.primaryIndex}`;
      shown = [...atOrBelow, ...future];
    } else if (between.length > 0 && (older.length > 0 || (v === undefined && current.length === 0))) {
      const f = between[0]!;
      why = `older than its index: ${show(v)} was overwritten by ${show(valueOf(f.write))}, written between indexes ${f.above} and ${f.below}`;
      shown = [...current, f.write];
    } else if (older.length > 0) {
      why = `older than its index: ${show(v)} was overwritten at index ${topIndex}`;
      shown = [...older, ...current];
    } else if (v === undefined) {
      why = `"not found", though the key was written at index ${topIndex}`;
      shown = current;
    } else {
      why = `${show(v)} was never written`;
      shown = [];
    }
    anomalies.push({
      check: 'secondary-read',
      key: r.key,
      message: `read of ${r.key} from ${r.secondary.region} at index ${p} is ${why}`,
      ops: [...new Set([...shown, r])],
    });
  }
  return result(anomalies);
}

/** A write whose log index is not known, with the bounds real time gives it: above < index < below. */
interface Floating {
  readonly write: RegisterOp;
  readonly above: number;
  readonly below: number;
}

/** Whether an ES256 signature (r||s) over SHA-256(message) verifies under the public key, checked locally. */
export function signatureVerifies(jwk: FinalKeys[string]['publicKeys'][string], message: string, signature: string): boolean {
  try {
    const key = createPublicKey({ format: 'jwk', key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } });
    return verify('sha256', Buffer.from(message, 'base64url'), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * The key workload (KeyOp, see history.ts) against the keys the primary holds
 * at the end (deleted ones recovered to read them):
 * (1) every acknowledged create/rotate's version is in the key's final list
 *     (versions are only ever added; the VersionsOp observations of `key:NAME`
 *     are judged by checkVersionsMonotonic);
 * (2) every acknowledged Sign's signature verifies, with node:crypto, under
 *     the public key of the exact version its kid named;
 * (3) no Sign, Verify or Rotate is acknowledged if invoked after a delete of
 *     that key was acknowledged (names are never reused nor recovered during
 *     a run, so such a delete is final);
 * (4) a Sign (of the latest version) invoked after a create/rotate of that
 *     key was acknowledged uses that version or a later one;
 * (5) an acknowledged Verify of a signature an acknowledged Sign returned
 *     (same version and message) answers true.
 * A failed-over secondary serves Sign and Verify from a stale state by design:
 * (3) and (4) skip what it served; (2) and (5) still hold.
 */
export function checkKeys(history: History, finalKeys: FinalKeys): CheckResult {
  const anomalies: Anomaly[] = [];
  const ops = history.filter(isKeyOp);
  const add = (key: string, message: string, shown: KeyOp[]) => anomalies.push({ check: 'keys', key, message, ops: shown });
  const acked = (action: KeyOp['action']) => (op: KeyOp) => op.action === action && op.outcome === 'ok';
  const signed = new Map<string, KeyOp>();
  for (const [key, keyOps] of groupBy(ops, (op) => op.key)) {
    const final = finalKeys[key];
    const position = (version: string | undefined): number => (version === undefined || final === undefined ? -1 : final.versions.indexOf(version));
    const made = keyOps.filter((op) => (op.action === 'create' || op.action === 'rotate') && op.outcome === 'ok');
    for (const op of made) {
      if (position(op.version) < 0) add(key, `version ${op.version} of key ${key} was acknowledged (${op.action}) but is gone at the end`, [op]);
    }
    const deletes = keyOps.filter(acked('delete'));
    const firstDeleted = deletes.reduce((min, d) => Math.min(min, completeOf(d) ?? Infinity), Infinity);
    for (const op of keyOps) {
      if (op.outcome !== 'ok' || op.secondary !== undefined) continue;
      if ((op.action === 'sign' || op.action === 'verify' || op.action === 'rotate') && op.invokeMs > firstDeleted) {
        const d = deletes.find((x) => completeOf(x) === firstDeleted)!;
        add(key, `${op.action} of key ${key} succeeded though its delete had been acknowledged before it was invoked`, [d, op]);
      }
    }
    for (const op of keyOps.filter(acked('sign'))) {
      signed.set(`${key}\u0000${op.version}\u0000${op.message}\u0000${op.signature}`, op);
      const jwk = op.version === undefined ? undefined : final?.publicKeys[op.version];
      if (jwk === undefined) {
        add(key, `sign of key ${key} named version ${op.version}, which does not exist at the end`, [op]);
      } else if (!signatureVerifies(jwk, op.message!, op.signature!)) {
        add(key, `the signature sign of key ${key} returned does not verify under version ${op.version}'s public key`, [op]);
      }
      if (op.secondary !== undefined) continue;
      const before = made.filter((m) => (completeOf(m) ?? Infinity) < op.invokeMs);
      const newest = before.reduce<KeyOp | undefined>((a, m) => (a === undefined || position(m.version) > position(a.version) ? m : a), undefined);
      if (newest !== undefined && position(op.version) >= 0 && position(op.version) < position(newest.version)) {
        add(key, `sign of key ${key} used version ${op.version}, older than version ${newest.version} acknowledged before it was invoked`, [newest, op]);
      }
    }
  }
  for (const op of ops.filter(acked('verify'))) {
    const source = signed.get(`${op.key}\u0000${op.version}\u0000${op.message}\u0000${op.signature}`);
    if (source !== undefined && op.verified !== true) add(op.key, `verify of an acknowledged signature of key ${op.key} (version ${op.version}) answered false`, [source, op]);
  }
  return result(anomalies);
}

/** Every check of this file at once, for the runner. */
export function runChecks(history: History, finalStates: FinalStates, finalKeys: FinalKeys = {}): CheckResult {
  return result([
    ...checkNoLostWrites(history, finalStates).anomalies,
    ...checkReadsOfWrittenValues(history).anomalies,
    ...checkVersionsMonotonic(history).anomalies,
    ...checkNodesConverged(finalStates).anomalies,
    ...checkSecondaryReads(history).anomalies,
    ...checkKeys(history, finalKeys).anomalies,
  ]);
}
