// Human-readable verdicts of a nemesis run, shared by scripts/nemesis.ts and
// the short test, so that a failure in `make test` reads like one from
// `make nemesis`.

import { formatHistory, formatOperation } from './history.js';
import type { RunResult } from './runner.js';

export function summary(r: RunResult): string {
  const regions = r.twoRegions ? `two regions, ${r.failovers} failovers (longest without a primary leader seen: ${r.longestLeaderGapMs} ms), ${r.secondaryReads} reads served by a failed-over secondary, ` : '';
  return (
    `seed ${r.seed}: ${r.operations} operations checked (${r.okOperations} ok; ${r.keyOperations} key operations, ${r.signatures} signatures), ` +
    `${regions}${r.faults} faults injected: ${r.ok ? 'PASS' : 'FAIL'}`
  );
}

/** Everything needed to understand a failing run without rerunning it. */
export function failureReport(r: RunResult): string {
  const lines = [`seed ${r.seed} FAILED`];
  if (r.error !== undefined) lines.push(`harness error: ${r.error}`);
  const lin = r.linearizability;
  if (lin.ok === false) {
    lines.push(`not linearizable: key ${lin.key} (failing keys: ${lin.failedKeys.join(', ')})`);
    lines.push(`smallest failing sub-history${lin.fullyShrunk ? '' : ' (shrink budget ran out)'}:`);
    lines.push(formatHistory(lin.minimal));
  } else if (lin.ok === 'unknown' && r.error === undefined) {
    lines.push(`linearizability undecided on ${lin.key}: ${lin.reason}`);
  }
  for (const a of r.checks.anomalies.slice(0, 10)) {
    lines.push(`${a.check}${a.key ? ` ${a.key}` : ''}${a.node ? ` on ${a.node}` : ''}: ${a.message}`);
    for (const op of a.ops.slice(0, 6)) lines.push(`    ${formatOperation(op)}`);
  }
  if (r.checks.anomalies.length > 10) lines.push(`(+${r.checks.anomalies.length - 10} more anomalies)`);
  lines.push('nemesis schedule:', r.schedule || '  (no faults)');
  if (r.keptDir !== undefined) lines.push(`node logs, history and schedule kept in ${r.keptDir}`);
  return lines.join('\n');
}
