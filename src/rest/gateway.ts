// The REST gateway (DESIGN §7, issue 20): an HTTPS port on every node that
// serves Azure Key Vault's data-plane API, so that the unmodified Azure SDKs
// work against keyraft. It is an adapter and nothing more: each request goes
// through the wire modules of this folder (challenge, api-version, route
// table, shapes, errors) to one call of the application layer's unary entry
// (`backend`: authenticate, authorize, throttle, route or forward, run,
// audit), the same entry the gRPC port uses, and back.
//
// One request, in order:
//   1. the managed-identity token endpoint (identity.ts) is answered first:
//      it is how a client gets its token;
//   2. no `Authorization: Bearer ...` → 401 with the challenge, before
//      anything else is looked at (the SDKs' first request of each client);
//   3. the vault, from the Host header (host.ts);
//   4. api-version (api-version.ts), the route (routes.ts: 404, 405);
//   5. the body, bounded (request-body.ts: 413, 503), and the RPC's request
//      built from it (400 BadParameter);
//   6. the backend call, with the client's x-ms-client-request-id as the
//      request id of a write (the SDK sends the same one on each retry), and
//      a deadline: the SDKs send none, so DEFAULT_TIMEOUT_MS;
//   7. the answer in Azure's shape, or Azure's error for a failure
//      (errors.ts), with headers naming who served it.
//
// HTTP/1.1 only, which the Azure JS SDK uses (core-rest-pipeline's Node
// client): HTTP/2 would need its own bounds (the https server's header and
// request timeouts do not apply to it). Connections are bounded as on the
// operations port (src/server/ops-http.ts): a connection limit, TLS and then
// each request's headers within the handshake timeout, and an idle timeout.
//
// Nothing from a request's headers or body is logged: tokens, secret values
// and key material pass through here. Only the gateway's own failures are,
// by operation.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { bearerToken } from '../app/authorize.js';
import { type ConnectionLimits, type RefusalReason, listenOn } from '../transport/connections.js';
import type { TlsMaterial } from '../transport/tls.js';
import type { Answer as AppAnswer } from '../app/router.js';
import { Code } from '../app/codes.js';
import { NEWEST_KNOWN_VERSION, readApiVersion } from './api-version.js';
import { parseBody } from './body.js';
import { challengeResponse, wwwAuthenticate } from './challenge.js';
import { type AzureError, type KeyraftFailure, RestError, toAzureError } from './errors.js';
import { addressOf } from './host.js';
import { IDENTITY_PATH, type VerifyToken, identityAnswer } from './identity.js';
import { BodyAborted, BodyBudget, DEFAULT_BODY_BUDGET_BYTES, Refusal, readBody } from './request-body.js';
import { match } from './routes.js';

/** One call of the application layer, as the gateway makes it. */
export interface RestCall {
  /** The gRPC method path, e.g. '/keyraft.v1.Secrets/SetSecret': the application layer's rules are keyed by it. */
  path: string;
  /** The keyraft.v1 request message, as proto-loader hands it to a handler (camelCase, bytes as Buffer). */
  request: object;
  /** The Authorization header as sent ("Bearer <token>"). */
  authorization: string;
  /** When the call must be answered by: Unix milliseconds (now + DEFAULT_TIMEOUT_MS; the SDKs send no deadline). */
  deadlineMs: number;
  /** The client's address and port, for the audit log: "127.0.0.1:54321", "[::1]:54321". */
  peer: string;
}

/**
 * The application layer's unary entry (Dispatcher.unary): the response or
 * the error (which `failureOf` classifies), with the keyraft-* headers of
 * the node that answered either way.
 */
export type RestBackend = (call: RestCall) => Promise<AppAnswer>;

/**
 * Admission control, the node's (shared with its gRPC port): resolves when
 * the call may start, with what to release when it ends; or to a refusal,
 * when the node has no room for it (or none came before its deadline).
 */
export type Admit = (peer: string, path: string, deadlineMs: number) => Promise<{ release(): void } | { retryAfterMs: number; message: string }>;

export interface GatewayOptions {
  readonly backend: RestBackend;
  /** None: every call that gets this far goes on (tests of the gateway alone). */
  readonly admit?: Admit;
  /** How the node classifies the backend's errors (and what verifyToken rejects with): src/app/errors.ts classify(). */
  readonly failureOf: (e: unknown) => KeyraftFailure;
  /** For the managed-identity token endpoint: checks a keyraft token as the backend checks a bearer token. */
  readonly verifyToken: VerifyToken;
  /** The keyraft-* headers naming this node now (as RestServed.headers), for answers the backend did not give. */
  readonly servedBy: () => Record<string, string>;
  /** The node's certificate (from the cluster CA, naming *.kv.localhost: src/ops/pki.ts) and key. */
  readonly tls: TlsMaterial;
  /** host:port to listen on; port 0 takes a free one (see `port`). */
  readonly address: string;
  /** The challenge's `authorization` URL: the token issuer, without a path (a path would be taken as a tenant id). */
  readonly issuer: string;
  /** The vault of a request sent to localhost or an IP address (the topology's defaultVault). */
  readonly defaultVault: string;
  /** restMaxConnections, handshakeTimeoutMs and idleTimeoutMs apply (the topology's `connections`). */
  readonly limits: ConnectionLimits;
  readonly logger: Logger;
  /** Told of each connection closed for the limit or a failed handshake: metrics. */
  readonly onRefused?: (reason: RefusalReason) => void;
  /** Time each call gets; DEFAULT_TIMEOUT_MS unless given. */
  readonly timeoutMs?: number;
  /** Request body bytes held at once across all requests; DEFAULT_BODY_BUDGET_BYTES unless given. */
  readonly bodyBudgetBytes?: number;
}

/** As src/server/handler.ts gives a gRPC call without a deadline: the Azure SDKs never send one. */
export const DEFAULT_TIMEOUT_MS = 5000;
/**
 * x-ms-keyvault-service-version, which Azure fills with its build number:
 * keyraft names itself and the newest api-version whose shapes it serves.
 */
export const SERVICE_VERSION = `keyraft-${NEWEST_KNOWN_VERSION}`;

/** An answer, before it is written. */
interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** keyraft-* headers of the node that served it; the gateway's own when absent. */
  servedBy?: Readonly<Record<string, string>>;
}

/** The backend's rejection, kept apart from the gateway's own errors: only these are the application's to classify. */
class BackendFailure extends Error {
  constructor(
    readonly failure: KeyraftFailure,
    readonly servedBy: Readonly<Record<string, string>>,
  ) {
    super(failure.message);
  }
}

const INTERNAL: AzureError = { status: 500, body: { error: { code: 'InternalServerError', message: 'internal error' } }, headers: {} };

/** The answer's headers that name who served it: keyraft-* as x-keyraft-*, and the region as Azure names it. */
function servedHeaders(served: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(served)) if (name.startsWith('keyraft-')) out[`x-${name}`] = value;
  const region = served['keyraft-region'];
  if (region !== undefined) out['x-ms-keyvault-region'] = region;
  return out;
}

/** The path and query of a request target, split by hand: `new URL` would read "//x/secrets" as a host. */
function splitTarget(target: string): { path: string; query: URLSearchParams } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: new URLSearchParams() } : { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function peerOf(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? 0}`;
}

export class RestGateway {
  private readonly budget: BodyBudget;
  private readonly timeoutMs: number;

  private constructor(
    private readonly o: GatewayOptions,
    private readonly server: Server,
  ) {
    this.budget = new BodyBudget(o.bodyBudgetBytes ?? DEFAULT_BODY_BUDGET_BYTES);
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Listens on the address. The issuer must be a URL the challenge can carry (challenge.ts): checked here, not per request. */
  static async open(o: GatewayOptions): Promise<RestGateway> {
    wwwAuthenticate(o.issuer);
    const handshakeMs = o.limits.handshakeTimeoutMs;
    const server = createServer({
      key: o.tls.key,
      cert: o.tls.cert,
      handshakeTimeout: handshakeMs,
      // A request's headers within the handshake timeout; the whole request
      // (its body) within twice that: 20 s by default, in which the largest
      // body (21 MiB) needs 8.5 Mbit/s. A client that trickles holds no more.
      headersTimeout: handshakeMs,
      requestTimeout: 2 * handshakeMs,
      connectionsCheckingInterval: handshakeMs,
      // A connection with no call for this long is closed, as on the gRPC
      // ports; Keep-Alive: timeout=... tells the client's agent so.
      keepAliveTimeout: o.limits.idleTimeoutMs,
    });
    // Nothing sent or received for as long: a client that stopped reading its answer.
    server.setTimeout(o.limits.idleTimeoutMs);
    server.maxConnections = o.limits.restMaxConnections;
    const refused = o.onRefused ?? (() => undefined);
    server.on('drop', () => refused('limit'));
    // Node's https server closes the connection itself; a request it cannot
    // parse gets Node's own 400 and is closed (the default 'clientError').
    server.on('tlsClientError', (err: NodeJS.ErrnoException) => refused(err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'handshake_timeout' : 'tls_error'));
    const gateway = new RestGateway(o, server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void gateway.serve(req, res).catch(() => res.destroy()));
    await listenOn(server, o.address, o.logger);
    return gateway;
  }

  /** The port it listens on (the one taken, for port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Stops accepting and closes idle connections; calls in progress are
   * answered (each within its deadline), and whatever connection is still
   * open a second after that is closed.
   */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), this.timeoutMs + 1000).unref();
    });
  }

  /** Serves one request; never throws: whatever goes wrong is an answer, or a closed connection. */
  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const taken = { bytes: 0 };
    let answer: Answer;
    try {
      answer = await this.answer(req, taken);
    } catch (e) {
      answer = this.failed(e, req);
    }
    try {
      this.write(req, res, answer);
    } catch (e) {
      // A header value Node refuses: the backend's bug, not the client's.
      this.o.logger.warn({ err: e, status: answer.status }, 'REST gateway could not write an answer');
      res.destroy();
    } finally {
      this.budget.give(taken.bytes);
    }
  }

  private async answer(req: IncomingMessage, taken: { bytes: number }): Promise<Answer> {
    const { path, query } = splitTarget(req.url ?? '');
    if (path === IDENTITY_PATH) {
      const a = await identityAnswer(req.method ?? '', query, req.headers, this.o.verifyToken, this.o.failureOf);
      return { status: a.status, body: a.body, headers: a.headers };
    }
    const authorization = header(req, 'authorization');
    if (bearerToken(authorization) === undefined) throw new Refusal(challengeResponse(this.o.issuer));
    const { vault, origin } = addressOf(header(req, 'host'), this.o.defaultVault);
    const apiVersion = readApiVersion(query);
    const found = match(req.method ?? '', path);
    if ('error' in found) {
      const e = found.error.toAzure();
      if (found.allow !== undefined) e.headers['allow'] = found.allow.join(', ');
      throw new Refusal(e);
    }
    const { route, params } = found;
    const rpc = `/keyraft.v1.${route.service}/${route.rpc}`;
    const peer = peerOf(req.socket);
    const deadlineMs = Date.now() + this.timeoutMs;
    // As on the gRPC port: a call the node has no room for is refused before its body is read or its token checked.
    const admitted = await this.o.admit?.(peer, rpc, deadlineMs);
    if (admitted !== undefined && 'retryAfterMs' in admitted) {
      throw new BackendFailure({ code: Code.RESOURCE_EXHAUSTED, reason: 'THROTTLED', message: admitted.message, retryAfterMs: admitted.retryAfterMs }, this.o.servedBy());
    }
    let served: AppAnswer;
    try {
      const body = parseBody(await readBody(req, this.budget, taken));
      const requestId = header(req, 'x-ms-client-request-id');
      const request = route.request({ vault, params, query, body, ...(requestId === undefined ? {} : { requestId }) });
      served = await this.o.backend({ path: rpc, request, authorization: authorization!, deadlineMs, peer });
    } finally {
      admitted?.release();
    }
    if (!served.ok) throw new BackendFailure(this.o.failureOf(served.error), served.headers);
    try {
      const json = route.response(served.response, { origin, apiVersion, params, query });
      return { status: route.status, body: json, headers: {}, servedBy: served.headers };
    } catch (e) {
      this.o.logger.warn({ err: e, operation: route.operation }, 'REST gateway could not shape a response');
      return { status: INTERNAL.status, body: INTERNAL.body, headers: {}, servedBy: served.headers };
    }
  }

  /** Azure's error for whatever `answer` threw. */
  private failed(e: unknown, req: IncomingMessage): Answer {
    let azure: AzureError;
    if (e instanceof Refusal) azure = e.azure;
    else if (e instanceof RestError) azure = e.toAzure();
    else if (e instanceof BackendFailure) azure = toAzureError(e.failure);
    // Nobody is left to read it; written only if the connection still is.
    else if (e instanceof BodyAborted) azure = new RestError(400, 'BadParameter', 'The request body did not arrive whole.').toAzure();
    else {
      this.o.logger.warn({ err: e, method: req.method }, 'REST gateway failed a request');
      azure = INTERNAL;
    }
    const headers = { ...azure.headers };
    // The SDK answers a 401 with WWW-Authenticate by asking its credential again (keyvault-common's challenge policy).
    if (azure.status === 401) headers['www-authenticate'] = wwwAuthenticate(this.o.issuer);
    return { status: azure.status, body: azure.body, headers, ...(e instanceof BackendFailure ? { servedBy: e.servedBy } : {}) };
  }

  private write(req: IncomingMessage, res: ServerResponse, a: Answer): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = {
      ...a.headers,
      ...servedHeaders(a.servedBy ?? this.o.servedBy()),
      'x-ms-keyvault-service-version': SERVICE_VERSION,
      'x-ms-request-id': randomUUID(),
      // Tokens, secret values and key material: nothing here is for a cache.
      'cache-control': 'no-store',
    };
    const clientRequestId = header(req, 'x-ms-client-request-id');
    if (clientRequestId !== undefined) headers['x-ms-client-request-id'] = clientRequestId;
    // A body left unread (a refusal before it was read) is not read now: the connection goes.
    if (!req.complete) headers['connection'] = 'close';
    if (a.status === 204 || a.body === undefined) return void res.writeHead(a.status, headers).end();
    const text = JSON.stringify(a.body);
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(a.status, headers).end(text);
  }
}
