// What the benchmark's parent and its worker processes share.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';

/** The cases a worker knows how to drive. */
export type System = 'keyraft' | 'etcd' | 'echo';

export interface WorkSpec {
  readonly system: System;
  /** keyraft: set | get | sign-es256 | sign-rs256 | encrypt-oaep256 | encrypt-a256gcm | decrypt-oaep256 | rest-get | rest-sign-es256; etcd: put | range; echo: echo */
  readonly op: string;
  readonly endpoints: string[];
  /**
   * --spread-reads: the nodes (or members) the read cases (GetSecret, Range)
   * spread their calls over, each slot of each worker on one of them; the
   * other cases, and reads without it, go to endpoints[0] (the leader).
   */
  readonly readEndpoints?: string[];
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly worker: number;
  /** keyraft: the vault and what the cases read (base64 ciphertext for decrypt). */
  readonly vault?: string;
  /**
   * Every system: the CA certificate (PEM) the worker checks the server's TLS
   * certificate against (keyraft's cluster CA, etcd's or the echo server's
   * bench CA): every system is driven over TLS.
   */
  readonly ca?: string;
  /** keyraft: the bearer token of every call. */
  readonly token?: string;
  /** keyraft's rest-* cases: the vault on the leader's REST gateway, https://{vault}.kv.localhost:{port}. */
  readonly vaultUrl?: string;
  /** etcd: the user and password the worker authenticates with once; the token it gets rides on every call. */
  readonly user?: string;
  readonly password?: string;
  readonly ciphertext?: string;
  readonly getNames?: number;
}

export type ToWorker = { type: 'run'; spec: WorkSpec } | { type: 'go' };

export interface WorkResult {
  readonly count: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedMs: number;
  readonly maxUs: number;
  readonly hist: [number, number][];
  /** CPU time this worker used while measuring (user + system), µs. */
  readonly cpuUs: number;
}

export type FromWorker = { type: 'ready' } | { type: 'result'; result: WorkResult } | { type: 'failed'; error: string } | { type: 'listening'; port: number };

export const VALUE_BYTES = 256;

/** For bytes sent and received as they are (the echo service; requests encoded beforehand). */
export const identity = (b: Buffer): Buffer => b;

/** The grpc-js ceiling: a unary method that returns its request's bytes. */
export const ECHO_SERVICE: grpc.ServiceDefinition = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** The echo server's certificate in its PKI folder (nodes/echo.crt): it serves TLS. */
export const ECHO_NODE = 'echo';

/** scripts/bench/etcd/rpc.proto, from src (tsx) or dist. */
export function etcdProtoFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'scripts/bench/etcd/rpc.proto');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find scripts/bench/etcd/rpc.proto');
    dir = parent;
  }
}

/** The middle value; with an even count, halfway between the two middle ones; NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return Number.isInteger(mid) ? (s[mid - 1]! + s[mid]!) / 2 : s[Math.floor(mid)]!;
}

/** The value at percentile `p` (0-100) of `sorted`, ascending; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
