// Where a node's CPU time went: a .cpuprofile (node --cpu-prof) folded into
// self time per component (our modules by folder, each npm package, Node's
// internals, idle, GC) and per function, for the benchmark's report.

import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Share of all samples, highest first. */
  readonly components: { name: string; share: number }[];
  readonly functions: { name: string; share: number }[];
}

/** src/replica/replica.js -> src/replica; node_modules/@grpc/grpc-js/... -> npm @grpc/grpc-js. */
function component(cf: CallFrame): string {
  const url = cf.url;
  if (url === '') return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
  const npm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm !== null) return `npm ${npm[1]}`;
  if (url.startsWith('node:')) return 'node: internals';
  const ours = /\/dist\/((?:src|scripts|test)\/[^/]+)/.exec(url);
  return ours !== null ? ours[1]!.replace(/\.js$/, '') : url;
}

/** A short place for a function: node:internal/http2/core, grpc-js/server-interceptors, src/replica/replica. */
function where(url: string): string {
  if (url.startsWith('node:')) return url;
  const npm = /node_modules\/(?:@[^/]+\/)?([^/]+)\/.*?([^/]+)\.[cm]?js$/.exec(url);
  if (npm !== null) return `${npm[1]}/${npm[2]}`;
  return /\/dist\/(.*)\.js$/.exec(url)?.[1] ?? url;
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byComponent = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const us = p.timeDeltas[i] ?? 0;
    const cf = frames.get(p.samples[i]!);
    if (cf === undefined) continue;
    total += us;
    const c = component(cf);
    byComponent.set(c, (byComponent.get(c) ?? 0) + us);
    const f = cf.url === '' ? cf.functionName || c : `${cf.functionName || '(anonymous)'} ${where(cf.url)}:${cf.lineNumber + 1}`;
    byFunction.set(f, (byFunction.get(f) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, share: total > 0 ? us / total : 0 }));
  return { file, totalMs: total / 1000, components: rank(byComponent), functions: rank(byFunction) };
}
