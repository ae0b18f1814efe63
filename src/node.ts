// keyraftd: one node of a keyraft cluster.
//
//   node dist/src/node.js --topology cluster/local.json --node east-1 \
//     --data-dir cluster/.data/east-1 --master-key cluster/.data/master.key \
//     --pki cluster/.data/pki
//
// Every flag has an environment twin (KEYRAFT_TOPOLOGY, KEYRAFT_NODE,
// KEYRAFT_DATA_DIR, KEYRAFT_MASTER_KEY, KEYRAFT_PKI, KEYRAFT_FAULT_INJECTION=1,
// KEYRAFT_LOG_LEVEL). Logs are pino JSON on stdout and never hold a secret.
// Both ports speak TLS with the node's certificate from the PKI folder
// (src/ops/pki.ts); the peer port asks for the caller's certificate too.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import pino from 'pino';
import { Envelope } from './crypto/envelope.js';
import { loadMasterKey, masterKeyFingerprint } from './crypto/masterkey.js';
import { Replica } from './replica/replica.js';
import { apiPackageDefinition } from './server/api.js';
import { AuditLog } from './server/audit-log.js';
import { authInterceptor } from './server/auth-interceptor.js';
import { NodeMetrics } from './server/metrics.js';
import { serveOps } from './server/ops-http.js';
import { bootstrapAuth, needsBootstrap } from './server/bootstrap.js';
import { toServiceError } from './server/errors.js';
import { Router, responseMetadata, type ServerContext } from './server/handler.js';
import { GeoFollower } from './geo/follower.js';
import { GeoSource } from './geo/source.js';
import { restrictFileModes } from './file-modes.js';
import { boundHeapGrowth } from './heap-growth.js';
import { startIdleCollection } from './idle-collect.js';
import { principalToken } from './server/principals.js';
import { registerPublicServices } from './server/services.js';
import { StatusCollector, ownStatus } from './server/status.js';
import { VaultApp } from './server/vault-app.js';
import { checkKeyStamp } from './storage/keystamp.js';
import { NodeStore } from './storage/store.js';
import { findNode, loadTopology } from './topology.js';
import { AdminServiceDefinition } from './transport/peer-service.js';
import { peerAccessInterceptor } from './transport/peer-access.js';
import { channelCredentials, clientPortCredentials, nodeTls, peerPortCredentials } from './transport/tls.js';
import { PEER_CHANNEL_OPTIONS, PeerTransport } from './transport/transport.js';

interface NodeArgs {
  topology: string;
  node: string;
  dataDir: string;
  masterKey: string;
  pki: string;
  faultInjection: boolean;
  logLevel: string;
}

function readArgs(): NodeArgs {
  const { values } = parseArgs({
    options: {
      topology: { type: 'string' },
      node: { type: 'string' },
      'data-dir': { type: 'string' },
      'master-key': { type: 'string' },
      pki: { type: 'string' },
      'fault-injection': { type: 'boolean' },
      'log-level': { type: 'string' },
    },
  });
  const env = process.env;
  const node = values.node ?? env.KEYRAFT_NODE;
  if (node === undefined) throw new Error('--node (or KEYRAFT_NODE) is required');
  const masterKey = values['master-key'] ?? env.KEYRAFT_MASTER_KEY;
  if (masterKey === undefined) throw new Error('--master-key (or KEYRAFT_MASTER_KEY) is required: the file with the cluster master key');
  return {
    topology: values.topology ?? env.KEYRAFT_TOPOLOGY ?? 'cluster/local.json',
    node,
    dataDir: values['data-dir'] ?? env.KEYRAFT_DATA_DIR ?? `cluster/.data/${node}`,
    masterKey,
    pki: values.pki ?? env.KEYRAFT_PKI ?? 'cluster/.data/pki',
    faultInjection: values['fault-injection'] ?? env.KEYRAFT_FAULT_INJECTION === '1',
    logLevel: values['log-level'] ?? env.KEYRAFT_LOG_LEVEL ?? 'info',
  };
}

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<void> {
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (err) => (err ? reject(err) : resolve())));
}

async function main(): Promise<void> {
  restrictFileModes();
  boundHeapGrowth();
  const args = readArgs();
  const topology = loadTopology(args.topology);
  const { node: self, region } = findNode(topology, args.node);
  const logger = pino({ level: args.logLevel, base: { node: self.id, region: region.name } });
  const MB = 1024 * 1024;
  startIdleCollection({
    onCollect: (before, after, ms) => logger.info({ heldMB: Math.round(before / MB), afterMB: Math.round(after / MB), ms: Math.round(ms) }, 'collected garbage while idle'),
  });

  // The master key is checked before anything on disk is touched.
  const masterKey = loadMasterKey(args.masterKey);
  const tls = nodeTls(args.pki, self.id);
  const envelope = new Envelope(masterKey);
  logger.info({ masterKey: masterKeyFingerprint(masterKey) }, 'master key loaded');

  mkdirSync(args.dataDir, { recursive: true });
  checkKeyStamp(args.dataDir, masterKeyFingerprint(masterKey));
  const store = await NodeStore.open(join(args.dataDir, 'db'));
  const app = new VaultApp(envelope, logger);
  const metrics = new NodeMetrics();
  const founders = region.nodes.map((n) => n.id);
  const replica = new Replica({
    id: self.id,
    founders,
    tickMs: topology.raft.tickMs,
    electionTicks: topology.raft.electionTicks,
    heartbeatTicks: topology.raft.heartbeatTicks,
    compactEvery: topology.raft.compactEvery,
    retainForReaders: topology.raft.geoRetainEntries,
    store,
    app,
    logger,
    observer: metrics,
  });
  await replica.open();

  const primaryRegion = topology.regions.find((r) => r.role === 'primary')!;
  const isSecondary = region.role === 'secondary';
  const ctx: ServerContext = {
    nodeId: self.id,
    region: region.name,
    regionRole: region.role,
    replica,
    logger,
    mode: () => (isSecondary ? app.geo.mode : replica.leader !== '' ? 'SERVING' : 'NO_QUORUM'),
    clientAddress: (id) => region.nodes.find((n) => n.id === id)?.client,
    primaryAddresses: primaryRegion.nodes.map((n) => n.client),
    primaryIndex: isSecondary ? () => app.geo.cursor : undefined,
    channelCredentials: (nodeId) => channelCredentials(tls, nodeId),
  };

  const peers = new Map(region.nodes.filter((n) => n.id !== self.id).map((n) => [n.id, n.peer]));
  const transport = new PeerTransport({ id: self.id, peers, store, logger, faultInjection: args.faultInjection, credentials: ctx.channelCredentials });
  transport.attach(replica);
  const peerServer = new grpc.Server({
    ...PEER_CHANNEL_OPTIONS,
    interceptors: [
      peerAccessInterceptor({
        regionOf: new Map(topology.regions.flatMap((r) => r.nodes.map((n) => [n.id, r.name] as const))),
        selfRegion: region.name,
        secondaryRegions: new Set(topology.regions.filter((r) => r.role === 'secondary').map((r) => r.name)),
        logger,
      }),
    ],
  });
  transport.register(peerServer);
  peerServer.addService(AdminServiceDefinition, {
    nodeStatus: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, ownStatus(ctx, replica, topology, isSecondary ? app.geo : undefined)),
    setFaults: (call: grpc.ServerUnaryCall<{ dropPeers: string[]; merge: boolean; dropOutboundTo?: string[] }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      try {
        const { dropPeers, merge, dropOutboundTo = [] } = call.request;
        transport.setFaults(merge ? [...transport.faults, ...dropPeers] : dropPeers, merge ? [...transport.outboundFaults, ...dropOutboundTo] : dropOutboundTo);
        cb(null, { dropPeers: transport.faults, dropOutboundTo: transport.outboundFaults });
      } catch (e) {
        cb({ code: grpc.status.FAILED_PRECONDITION, details: `FAULT_INJECTION_DISABLED: ${e instanceof Error ? e.message : String(e)}` });
      }
    },
    transferLeadership: (call: grpc.ServerUnaryCall<{ to: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      replica.transferLeadership(call.request.to);
      cb(null, { leader: replica.leader });
    },
    proposeTransition: (call: grpc.ServerUnaryCall<{ mode: string; reason: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const { mode, reason } = call.request;
      if (geoFollower === undefined || !replica.isLeader || (mode !== 'FAILED_OVER' && mode !== 'STANDBY')) {
        cb({ code: grpc.status.FAILED_PRECONDITION, details: `NOT_LEADER: ${self.id} does not lead the secondary region` });
        return;
      }
      geoFollower.manualTransition(mode, reason).then(
        (geo) => cb(null, { mode: geo.mode, epoch: geo.epoch }),
        (e: unknown) => cb({ code: grpc.status.UNAVAILABLE, details: `NO_QUORUM: ${e instanceof Error ? e.message : String(e)}` }),
      );
    },
    issueToken: (call: grpc.ServerUnaryCall<{ principal: string; ttlMs: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      principalToken(app, call.request.principal, call.request.ttlMs, topology.name).then(
        (t) => cb(null, { token: t.token, expiresAtMs: t.expiresAtMs }),
        (e: unknown) => cb(toServiceError(e, new grpc.Metadata())),
      );
    },
    geoProbe: (call: grpc.ServerUnaryCall<{ follower: string; cursor: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (transport.isDropped(call.request.follower)) {
        cb({ code: grpc.status.UNAVAILABLE, details: 'FAULT_INJECTED: traffic with this node is dropped' });
        return;
      }
      if (!isSecondary) replica.retainLogFrom(call.request.cursor + 1);
      cb(null, ownStatus(ctx, replica, topology, isSecondary ? app.geo : undefined));
    },
  });
  const geoSource = isSecondary ? undefined : new GeoSource({ nodeId: self.id, replica, store, logger, isDropped: (id) => transport.isDropped(id) });
  geoSource?.register(peerServer);
  const secondaryRegion = topology.regions.find((r) => r.role === 'secondary');
  const geoFollower = isSecondary
    ? new GeoFollower({
        nodeId: self.id,
        replica,
        geo: () => app.geo,
        primaries: primaryRegion.nodes.map((n) => ({ id: n.id, peer: n.peer })),
        failoverAfterMs: topology.failoverAfterMs,
        failbackAfterMs: topology.failbackAfterMs,
        latencyMs: Math.max(primaryRegion.latencyMs, secondaryRegion?.latencyMs ?? 0),
        isDropped: (id) => transport.isDropped(id),
        credentials: ctx.channelCredentials,
        logger,
      })
    : undefined;

  metrics.attach({
    status: () => ownStatus(ctx, replica, topology, isSecondary ? app.geo : undefined),
    primaryCommit: () => geoFollower?.primaryCommitSeen ?? 0,
  });
  const router = new Router(ctx);
  const status = new StatusCollector(ctx, topology, () => (isSecondary ? app.geo : undefined));
  // No channelz: nothing reads it, and its per-call bookkeeping was ~5 % of a
  // leader's busy time serving GetSecret.
  // Every RPC of the client port passes one interceptor that authorizes it (DESIGN §6).
  const audit = new AuditLog(join(args.dataDir, 'audit.log'), { node: self.id, region: region.name });
  const auth = authInterceptor({
    directory: app.directory,
    issuer: topology.name,
    nowMs: Date.now,
    responseMetadata: () => responseMetadata(ctx),
    onComplete: (entry) => {
      audit.record(entry);
      metrics.request(entry.path, entry.code, entry.elapsedMs / 1000);
    },
  });
  const clientServer = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024, 'grpc.enable_channelz': 0, interceptors: [auth] });
  const runner = registerPublicServices(clientServer, { ctx, router, status, app, envelope, issuer: topology.name, dataKeyPolicy: topology.dataKeys });
  // The primary's leader makes the first authorization state; the secondary receives it through the geo stream.
  let bootstrapping = false;
  const bootstrap = isSecondary
    ? undefined
    : setInterval(() => {
        // The token key is never removed: once there, this node has nothing more to do.
        if (!needsBootstrap(app)) return clearInterval(bootstrap);
        if (bootstrapping || !replica.isLeader) return;
        bootstrapping = true;
        bootstrapAuth(runner, envelope, 5000)
          .then(
            () => logger.info('made the token key and the admin principal'),
            (e: unknown) => logger.warn({ err: e }, 'making the token key and the admin principal failed; trying again'),
          )
          .finally(() => {
            bootstrapping = false;
          });
      }, 200);
  bootstrap?.unref();
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(clientServer);
  new ReflectionService(apiPackageDefinition).addToServer(clientServer);

  await bind(peerServer, self.peer, peerPortCredentials(tls));
  await bind(clientServer, self.client, clientPortCredentials(tls));
  const opsServer = self.metrics === undefined ? undefined : await serveOps({ metrics, cluster: () => status.cluster(), tls, address: self.metrics });
  replica.start(transport);
  geoFollower?.start();
  health.setStatus('', 'SERVING');
  logger.info({ client: self.client, peer: self.peer, metrics: self.metrics, dataDir: args.dataDir }, 'node started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A drain that hangs must not leave a node that neither serves nor
    // exits: past the bound, say which step hung and stop anyway.
    let step = 'handing leadership over';
    setTimeout(() => {
      logger.fatal({ step, afterMs: SHUTDOWN_BOUND_MS }, 'shutdown did not finish; exiting');
      process.exit(1);
    }, SHUTDOWN_BOUND_MS);
    health.setStatus('', 'NOT_SERVING');
    if (replica.isLeader) await handOffLeadership(replica, founders, logger);
    step = 'finishing client calls';
    await shutDownGracefully(clientServer, CALLS_GRACE_MS);
    geoFollower?.stop();
    clearInterval(bootstrap);
    step = 'stopping the replica';
    await replica.stop();
    peerServer.forceShutdown();
    transport.close();
    router.close();
    status.close();
    step = 'closing the store';
    await store.close();
    audit.close();
    metrics.close();
    opsServer?.close();
    logger.info('stopped');
    process.exit(process.exitCode ?? 0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The longest a SIGTERM drain may take before the node exits anyway. */
const SHUTDOWN_BOUND_MS = 15_000;
/** How long calls in flight get to finish before they are cancelled (grpc-node's tryShutdown-then-forceShutdown). */
const CALLS_GRACE_MS = 5_000;

/** Lets the calls in flight finish, for up to graceMs; then cancels the rest. */
function shutDownGracefully(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

/** A leader that is asked to stop hands leadership to the most caught-up voter first. */
async function handOffLeadership(replica: Replica, founders: readonly string[], logger: pino.Logger): Promise<void> {
  const s = replica.status();
  let best: string | undefined;
  let bestMatch = -1;
  for (const [id, pr] of s.progress) {
    if (id === replica.id || pr.isLearner || !founders.includes(id)) continue;
    if (pr.match > bestMatch) {
      best = id;
      bestMatch = pr.match;
    }
  }
  // Nobody has acknowledged anything recent: the others are likely down.
  if (best === undefined || bestMatch < s.commit) return;
  logger.info({ to: best }, 'transferring leadership before stopping');
  replica.transferLeadership(best);
  const until = Date.now() + 1000;
  while (replica.isLeader && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

main().catch((e: unknown) => {
  // Startup failures (bad flags, wrong master key, busy port) end here with a
  // clear line on stderr and a non-zero exit; nothing was changed on disk.
  process.stderr.write(`keyraftd: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
