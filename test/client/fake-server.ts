// An in-process stand-in for a keyraft node's transport: a grpc-js server on
// 127.0.0.1 with the public API's services, whose handlers each test writes.
// It fakes only what the SDK's routing and retries see (statuses, trailers,
// metadata), not the vault. It speaks TLS, as every keyraft port does, with
// a certificate of a CA made for this process (FAKE_CA).

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ensurePki } from '../../src/ops/pki.js';
import { API_FILES, GRPC_LOADER_OPTIONS } from '../../src/protos.js';
import { clientPortCredentials, nodeTls } from '../../src/transport/tls.js';

const TLS = await (async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-fake-pki-'));
  try {
    await ensurePki(dir, [{ id: 'fake', hosts: [] }]);
    return nodeTls(dir, 'fake');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
/** The CA the fake servers' certificate chains to: what a client of them needs. */
export const FAKE_CA = TLS.ca;

const definition = protoLoader.loadSync(API_FILES, GRPC_LOADER_OPTIONS);
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  keyraft: { v1: Record<'Vaults' | 'Secrets' | 'Keys' | 'Cluster', grpc.ServiceClientConstructor> };
};

/** A handler answers a request (a value) or fails (a thrown FakeStatus); `hang` never answers. */
export type Handler = (request: Record<string, unknown>, call: grpc.ServerUnaryCall<unknown, unknown>) => unknown;

export const hang = Symbol('hang');

export class FakeStatus extends Error {
  constructor(
    readonly code: grpc.status,
    readonly reason: string,
    text: string,
    /** More trailers (e.g. retry-after-ms). */
    readonly trailers: Record<string, string> = {},
  ) {
    super(text);
  }
}

export interface FakeServer {
  address: string;
  node: string;
  /** Every request each method received, in order. */
  calls: Map<string, Record<string, unknown>[]>;
  close(): Promise<void>;
}

export interface FakeOptions {
  /** Default east. */
  region?: string;
  /** Read at every response, so that a test can fail a region over. Default SERVING. */
  mode?: () => string;
  /** Default: one the OS picks. A fake restarted on its old port is the same node come back. */
  port?: number;
  /** More `keyraft-*` response headers for a method's answers (e.g. keyraft-commit-index). */
  headers?: (method: string) => Record<string, string>;
}

/** Metadata a keyraft node attaches to every response. */
function identity(node: string, o: FakeOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('keyraft-region', o.region ?? 'east');
  md.set('keyraft-node', node);
  md.set('keyraft-mode', o.mode?.() ?? 'SERVING');
  return md;
}

export async function startFake(node: string, handlers: Record<string, Handler>, options: FakeOptions = {}): Promise<FakeServer> {
  const server = new grpc.Server();
  const calls = new Map<string, Record<string, unknown>[]>();
  for (const service of ['Vaults', 'Secrets', 'Keys', 'Cluster'] as const) {
    const def = pkg.keyraft.v1[service].service;
    const impl: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(def)) {
      impl[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const request = call.request as Record<string, unknown>;
        calls.set(method, [...(calls.get(method) ?? []), request]);
        const handler = handlers[method];
        const headers = identity(node, options);
        for (const [k, v] of Object.entries(options.headers?.(method) ?? {})) headers.set(k, v);
        call.sendMetadata(headers);
        if (handler === undefined) {
          callback({ code: grpc.status.UNIMPLEMENTED, details: `UNIMPLEMENTED: ${method}` });
          return;
        }
        try {
          const response = handler(request, call);
          if (response !== hang) callback(null, response);
        } catch (e) {
          const s = e instanceof FakeStatus ? e : new FakeStatus(grpc.status.INTERNAL, 'INTERNAL', String(e));
          const trailers = identity(node, options);
          trailers.set('keyraft-reason', s.reason);
          for (const [k, v] of Object.entries(s.trailers)) trailers.set(k, v);
          callback({ code: s.code, details: `${s.reason}: ${s.message}`, metadata: trailers });
        }
      };
    }
    server.addService(def, impl);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, clientPortCredentials(TLS), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    node,
    calls,
    close: () => new Promise<void>((resolve) => {
      server.forceShutdown();
      resolve();
    }),
  };
}

/** An address where nothing listens: a port the OS handed out and took back. */
export async function deadAddress(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** A minimal SecretProperties / Secret for answers. */
export function secretOf(name: string, version: string, value = 's3cr3t'): Record<string, unknown> {
  return { properties: { vault: 'v1', name, version, id: `keyraft://v1/secrets/${name}/${version}`, enabled: true, created: 1700000000 }, value };
}
