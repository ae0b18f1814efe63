// The node's operations port (DESIGN §7): HTTPS with the node's own
// certificate, serving /metrics (Prometheus), / (the status page) and
// /status.json (what the page shows). Read-only and without a token, as
// etcd's /metrics is; so the status leaves out the peer addresses, which
// the client port shows only to Cluster Administrators.

import { createServer, type Server } from 'node:https';
import { type ConnectionLimits, type RefusalReason, hostAndPort } from '../transport/connections.js';
import type { TlsMaterial } from '../transport/tls.js';
import type { NodeMetrics } from './metrics.js';
import { STATUS_PAGE } from './status-page.js';
import type { ClusterStatus } from '../app/cluster-view.js';

export interface OpsHttpOptions {
  readonly metrics: NodeMetrics;
  /** The cluster as this node sees it (Cluster.GetStatus's answer). */
  readonly cluster: () => Promise<ClusterStatus>;
  readonly tls: TlsMaterial;
  /** host:port */
  readonly address: string;
  readonly limits: ConnectionLimits;
  /** Told of each connection closed for a limit or a failed handshake: metrics. */
  readonly onRefused?: (reason: RefusalReason) => void;
}

export function serveOps(o: OpsHttpOptions): Promise<Server> {
  // As on the gRPC ports (transport/connections.ts): TLS, then the request's
  // headers, each within the handshake timeout; idle keep-alive connections
  // close after Node's 5 s.
  const handshakeMs = o.limits.handshakeTimeoutMs;
  const options = { key: o.tls.key, cert: o.tls.cert, handshakeTimeout: handshakeMs, headersTimeout: handshakeMs, connectionsCheckingInterval: handshakeMs };
  const server = createServer(options, (req, res) => {
    const send = (status: number, type: string, body: string) => res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    const fail = (e: unknown) => send(500, 'text/plain', `${e instanceof Error ? e.message : String(e)}\n`);
    if (req.method !== 'GET') return send(405, 'text/plain', 'only GET\n');
    switch (req.url) {
      case '/metrics':
        return void o.metrics.registry.metrics().then((text) => send(200, o.metrics.registry.contentType, text), fail);
      case '/status.json':
        return void o.cluster().then((s) => {
          const nodes = s.nodes.map((n) => ({ ...n, peerAddress: '' }));
          send(200, 'application/json', JSON.stringify({ ...s, nodes, atMs: Date.now() }));
        }, fail);
      case '/':
        return send(200, 'text/html; charset=utf-8', STATUS_PAGE);
      default:
        return send(404, 'text/plain', 'not found: / (status), /status.json, /metrics\n');
    }
  });
  server.maxConnections = o.limits.metricsMaxConnections;
  const refused = o.onRefused ?? (() => undefined);
  server.on('drop', () => refused('limit'));
  // Node's https server closes the connection itself.
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => refused(err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'handshake_timeout' : 'tls_error'));
  const { host, port } = hostAndPort(o.address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
