// Where the SDK finds the cluster: an explicit list, KEYRAFT_ENDPOINTS, or the
// topology file of the local cluster that `make cluster` starts.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { clientError } from './errors.js';

export const ENDPOINTS_ENV = 'KEYRAFT_ENDPOINTS';
const LOCAL_TOPOLOGY = join('cluster', 'local.json');

// host:port, where host may be a bracketed IPv6 literal.
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+):(\d{1,5})$/;

/** Whether `address` is host:port (what a node's client address must be to be dialled). */
export function isAddress(address: string): boolean {
  const m = ADDRESS.exec(address);
  return m !== null && Number(m[2]) <= 65535;
}

function checkAddress(address: string, where: string): string {
  const m = ADDRESS.exec(address);
  if (m === null || Number(m[2]) > 65535) {
    throw clientError(grpc.status.INVALID_ARGUMENT, 'INVALID_ENDPOINT', `${where}: ${JSON.stringify(address)} is not host:port`);
  }
  return address;
}

/** Splits `host:port,host:port`, dropping blanks and duplicates. */
export function parseEndpoints(list: string, where = 'endpoints'): string[] {
  const out: string[] = [];
  for (const part of list.split(',')) {
    const address = part.trim();
    if (address !== '' && !out.includes(address)) out.push(checkAddress(address, where));
  }
  if (out.length === 0) throw clientError(grpc.status.INVALID_ARGUMENT, 'NO_ENDPOINTS', `${where}: no endpoint given`);
  return out;
}

interface TopologyShape {
  regions?: { name?: unknown; role?: unknown; nodes?: { id?: unknown; client?: unknown }[] }[];
}

/**
 * The client addresses of a topology file such as cluster/local.json, the
 * primary region's nodes first (each region in file order): the primary is
 * where writes go, so trying it first saves a forward.
 */
export function endpointsFromTopology(path: string): string[] {
  let t: TopologyShape;
  try {
    t = JSON.parse(readFileSync(path, 'utf8')) as TopologyShape;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw clientError(grpc.status.INVALID_ARGUMENT, 'INVALID_TOPOLOGY', `cannot read topology ${path}: ${why}`);
  }
  if (typeof t !== 'object' || t === null || !Array.isArray(t.regions)) {
    throw clientError(grpc.status.INVALID_ARGUMENT, 'INVALID_TOPOLOGY', `topology ${path} has no regions`);
  }
  const rank = (role: unknown): number => (role === 'primary' ? 0 : 1);
  // Array.prototype.sort is stable, so regions of the same role keep file order.
  const regions = [...t.regions].sort((a, b) => rank(a.role) - rank(b.role));
  const out: string[] = [];
  for (const region of regions) {
    for (const node of region.nodes ?? []) {
      if (typeof node.client !== 'string') {
        throw clientError(grpc.status.INVALID_ARGUMENT, 'INVALID_TOPOLOGY', `topology ${path}: node ${String(node.id)} has no client address`);
      }
      const address = checkAddress(node.client, `topology ${path}`);
      if (!out.includes(address)) out.push(address);
    }
  }
  if (out.length === 0) throw clientError(grpc.status.INVALID_ARGUMENT, 'NO_ENDPOINTS', `topology ${path} has no nodes`);
  return out;
}

function findUp(start: string, relative: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * cluster/local.json of the checkout this module belongs to (it runs from
 * src/ or dist/src/), else of the working directory's checkout.
 */
export function findLocalTopology(cwd: string = process.cwd()): string | undefined {
  return findUp(dirname(fileURLToPath(import.meta.url)), LOCAL_TOPOLOGY) ?? findUp(cwd, LOCAL_TOPOLOGY);
}

/** KEYRAFT_ENDPOINTS when set, else the local cluster's topology. */
export function defaultEndpoints(env: NodeJS.ProcessEnv = process.env, cwd?: string): string[] {
  const fromEnv = env[ENDPOINTS_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseEndpoints(fromEnv, ENDPOINTS_ENV);
  const topology = findLocalTopology(cwd);
  if (topology === undefined) {
    throw clientError(
      grpc.status.INVALID_ARGUMENT,
      'NO_ENDPOINTS',
      `no endpoints: pass --endpoints host:port,..., set ${ENDPOINTS_ENV}, or run inside a keyraft checkout (${LOCAL_TOPOLOGY})`,
    );
  }
  return endpointsFromTopology(topology);
}

export const CA_ENV = 'KEYRAFT_CA';

/** The cluster CA's certificate file: KEYRAFT_CA when set, else the local cluster's (cluster/.data/pki/ca.crt), if there is one. */
export function defaultCaFile(env: NodeJS.ProcessEnv = process.env, cwd?: string): string | undefined {
  const fromEnv = env[CA_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv;
  const topology = findLocalTopology(cwd);
  const local = topology === undefined ? undefined : join(dirname(topology), '.data', 'pki', 'ca.crt');
  return local !== undefined && existsSync(local) ? local : undefined;
}

export const TOKEN_ENV = 'KEYRAFT_TOKEN';

/** The local cluster's administrator token file (cluster/.data/admin.token, written by `make cluster`), if there is one. */
export function defaultTokenFile(cwd?: string): string | undefined {
  const topology = findLocalTopology(cwd);
  const local = topology === undefined ? undefined : join(dirname(topology), '.data', 'admin.token');
  return local !== undefined && existsSync(local) ? local : undefined;
}
