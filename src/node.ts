// keyraftd: one node of a keyraft cluster.
//
//   node dist/src/node.js --topology cluster/local.json --node east-1 \
//     --data-dir cluster/.data/east-1 --master-key cluster/.data/master.key \
//     --pki cluster/.data/pki [--previous-master-key cluster/.data/master.key.previous]
//
// A node added online (keyraft cluster member add) is not in the topology:
// its first start adds --join REGION --client ADDR --peer ADDR [--metrics ADDR] [--rest ADDR]
// (see src/ops/joining.ts); later starts need no more than the others.
//
// Every flag has an environment twin (KEYRAFT_TOPOLOGY, KEYRAFT_NODE,
// KEYRAFT_DATA_DIR, KEYRAFT_MASTER_KEY, KEYRAFT_PREVIOUS_MASTER_KEY, KEYRAFT_PKI, KEYRAFT_FAULT_INJECTION=1,
// KEYRAFT_LOG_LEVEL). Logs are pino JSON on stdout and never hold a secret.
// Both ports speak TLS with the node's certificate from the PKI folder
// (src/ops/pki.ts); the peer port asks for the caller's certificate too.

import { createSecretKey } from 'node:crypto';
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
import { type AuditEntry, AuditLog } from './app/audit-log.js';
import { CallGate } from './app/gate.js';
import { VaultThrottle } from './app/vault-throttle.js';
import { admissionControl } from './server/admission-interceptor.js';
import { authInterceptor } from './server/auth-interceptor.js';
import { NodeMetrics } from './server/metrics.js';
import { serveOps } from './server/ops-http.js';
import { bootstrapAuth, needsBootstrap } from './app/bootstrap.js';
import { toServiceError } from './server/errors.js';
import { responseMetadata, type ServerContext } from './server/handler.js';
import { GrpcForwarder } from './server/forwarder.js';
import { GeoFollower } from './geo/follower.js';
import { GeoSource } from './geo/source.js';
import { grpcPrimaryLinks } from './geo/grpc-link.js';
import { restrictFileModes } from './file-modes.js';
import { boundHeapGrowth } from './heap-growth.js';
import { startIdleCollection } from './idle-collect.js';
import { principalToken } from './app/operations/principals.js';
import { apiOperations } from './app/operations/index.js';
import { CommandRunner } from './app/command-runner.js';
import { Dispatcher } from './app/dispatch.js';
import { classify } from './app/errors.js';
import { responseHeaders } from './app/node-context.js';
import { RestGateway } from './rest/gateway.js';
import { Router } from './app/router.js';
import { registerPublicServices } from './server/services.js';
import { CLIENT_MESSAGE_LIMITS } from './client-port.js';
import type { Member } from './app/cluster-view.js';
import { StatusCollector, memberMessages, ownStatus } from './server/status.js';
import { VaultApp } from './app/vault-app.js';
import { ClusterSnapshots } from './ops/cluster-snapshot.js';
import { checkKeyStamp, readKeyStamp, writeKeyStamp } from './storage/keystamp.js';
import { markRemoved, removalMark } from './storage/removal-mark.js';
import { NodeStore } from './storage/store.js';
import { loadTopology } from './topology.js';
import { type JoinArgs, rememberJoin, resolveSelf } from './ops/joining.js';
import { changeMembership, watchMembership } from './ops/membership.js';
import { MemberBook, RemovedNodeError } from './replica/members.js';
import { handOver } from './replica/membership-ops.js';
import { handOverTarget } from './replica/membership-plan.js';
import { ClusterMap } from './transport/cluster-map.js';
import { AdminServiceDefinition } from './transport/peer-service.js';
import { type PeerAccessOptions, peerAccessInterceptor } from './transport/peer-access.js';
import { GrpcPort, grpcServerOptions } from './transport/connections.js';
import { channelCredentials, nodeTls } from './transport/tls.js';
import { PEER_CHANNEL_OPTIONS, PeerTransport } from './transport/transport.js';
import { startTrace } from './trace.js';

interface NodeArgs {
  topology: string;
  node: string;
  dataDir: string;
  masterKey: string;
  previousMasterKey: string | undefined;
  pki: string;
  faultInjection: boolean;
  logLevel: string;
  join?: JoinArgs;
}

function readArgs(): NodeArgs {
  const { values } = parseArgs({
    options: {
      topology: { type: 'string' },
      node: { type: 'string' },
      'data-dir': { type: 'string' },
      'master-key': { type: 'string' },
      'previous-master-key': { type: 'string' },
      pki: { type: 'string' },
      'fault-injection': { type: 'boolean' },
      'log-level': { type: 'string' },
      join: { type: 'string' },
      client: { type: 'string' },
      peer: { type: 'string' },
      metrics: { type: 'string' },
      rest: { type: 'string' },
    },
  });
  const joinRegion = values.join;
  if (joinRegion !== undefined && (values.client === undefined || values.peer === undefined)) {
    throw new Error('--join REGION needs --client HOST:PORT and --peer HOST:PORT (and --metrics HOST:PORT for an operations port, --rest HOST:PORT for the REST gateway)');
  }
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
    previousMasterKey: values['previous-master-key'] ?? (env.KEYRAFT_PREVIOUS_MASTER_KEY || undefined),
    pki: values.pki ?? env.KEYRAFT_PKI ?? 'cluster/.data/pki',
    faultInjection: values['fault-injection'] ?? env.KEYRAFT_FAULT_INJECTION === '1',
    logLevel: values['log-level'] ?? env.KEYRAFT_LOG_LEVEL ?? 'info',
    ...(joinRegion === undefined
      ? {}
      : {
          join: {
            region: joinRegion,
            client: values.client!,
            peer: values.peer!,
            ...(values.metrics !== undefined ? { metrics: values.metrics } : {}),
            ...(values.rest !== undefined ? { rest: values.rest } : {}),
          },
        }),
  };
}

async function main(): Promise<void> {
  restrictFileModes();
  boundHeapGrowth();
  const args = readArgs();
  const topology = loadTopology(args.topology);
  const { node: self, region, founders } = resolveSelf(topology, args.node, args.dataDir, args.join);
  const logger = pino({ level: args.logLevel, base: { node: self.id, region: region.name } });
  startTrace(self.id);
  const MB = 1024 * 1024;
  startIdleCollection({
    onCollect: (before, after, ms) => logger.info({ heldMB: Math.round(before / MB), afterMB: Math.round(after / MB), ms: Math.round(ms) }, 'collected garbage while idle'),
  });

  // The master keys are checked before anything on disk is touched. During a
  // rotation the previous key still opens the data keys wrapped before it.
  const masterKey = loadMasterKey(args.masterKey);
  const previousKey = args.previousMasterKey === undefined ? undefined : loadMasterKey(args.previousMasterKey);
  const tls = nodeTls(args.pki, self.id);
  const envelope = new Envelope(masterKey, previousKey);
  const keys = { current: masterKeyFingerprint(masterKey), previous: previousKey === undefined ? '' : masterKeyFingerprint(previousKey) };
  // The snapshot files of Cluster.SaveSnapshot are encrypted under a key derived from it.
  const snapshotKey = createSecretKey(masterKey);
  masterKey.fill(0);
  previousKey?.fill(0);
  logger.info({ masterKey: keys.current, previousMasterKey: keys.previous || undefined }, 'master key loaded');

  mkdirSync(args.dataDir, { recursive: true });
  const removal = removalMark(args.dataDir);
  if (removal !== undefined) throw new RemovedNodeError(self.id, removal);
  checkKeyStamp(args.dataDir, keys.current, keys.previous || undefined);
  if (args.join !== undefined) rememberJoin(args.dataDir, args.join);
  const store = await NodeStore.open(join(args.dataDir, 'db'));
  const app = new VaultApp(envelope, logger);
  const metrics = new NodeMetrics();
  // The cluster as the topology seeds it; this region's part then follows
  // the applied membership, the other region's what its nodes report.
  const map = new ClusterMap(topology);
  map.setMembers(region.name, [...region.nodes.filter((n) => n.id !== self.id), self]);
  const replica = new Replica({
    id: self.id,
    founders,
    members: new MemberBook(new Map(region.nodes.map((n) => [n.id, n]))),
    tickMs: topology.raft.tickMs,
    electionTicks: topology.raft.electionTicks,
    heartbeatTicks: topology.raft.heartbeatTicks,
    leaseReads: topology.leaseReads,
    retention: {
      compactEvery: topology.raft.compactEvery,
      compactEveryBytes: topology.raft.compactEveryBytes,
      readerEntries: topology.raft.geoRetainEntries,
      readerBytes: topology.raft.geoRetainBytes,
    },
    maxBytesPerMessage: topology.raft.maxBytesPerMessage,
    maxUncommittedBytes: topology.raft.maxUncommittedBytes,
    store,
    app,
    logger,
    observer: metrics,
  });
  await replica.open();
  // Once nothing this node holds needs the previous key (what it applied is
  // on disk when 'applied' fires), the folder is the new key's alone.
  let stamped = readKeyStamp(args.dataDir) === keys.current;
  const restamp = (): void => {
    if (stamped || envelope.previousKeyNeeded) return;
    writeKeyStamp(args.dataDir, keys.current);
    stamped = true;
    logger.info({ masterKey: keys.current }, 'no data key needs the previous master key any more; data folder restamped');
  };
  restamp();
  replica.events.on('applied', restamp);

  const isSecondary = region.role === 'secondary';
  const ctx: ServerContext = {
    nodeId: self.id,
    region: region.name,
    regionRole: region.role,
    replica,
    logger,
    mode: () => (isSecondary ? app.geo.mode : replica.leader !== '' ? 'SERVING' : 'NO_QUORUM'),
    clientAddress: (id) => map.find(id)?.node.client,
    get primaryAddresses() {
      return map.primary.nodes.map((n) => n.client);
    },
    primaryIndex: isSecondary ? () => app.geo.cursor : undefined,
    channelCredentials: (nodeId) => channelCredentials(tls, nodeId),
    masterKeys: () => ({ masterKeyFingerprint: keys.current, previousMasterKeyFingerprint: keys.previous, previousMasterKeyNeeded: envelope.previousKeyNeeded }),
  };

  const regionPeers = () => new Map(map.region(region.name)!.nodes.map((n) => [n.id, n.peer]));
  const peerAccess: PeerAccessOptions = {
    regionOf: (id) => map.find(id)?.region.name,
    selfRegion: region.name,
    secondaryRegions: new Set(topology.regions.filter((r) => r.role === 'secondary').map((r) => r.name)),
    logger,
  };
  const transport = new PeerTransport({
    id: self.id,
    peers: regionPeers(),
    snapshots: store,
    logger,
    faultInjection: args.faultInjection,
    tls,
    credentials: ctx.channelCredentials,
    access: peerAccess,
    removal: (id) => (replica.isRemoved(id) ? replica.appliedIndex : undefined),
  });
  transport.attach(replica);
  const peerServer = new grpc.Server({
    ...PEER_CHANNEL_OPTIONS,
    ...grpcServerOptions(topology.connections),
    interceptors: [peerAccessInterceptor(peerAccess)],
  });
  transport.register(peerServer);
  peerServer.addService(AdminServiceDefinition, {
    nodeStatus: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, ownStatus(ctx, replica, map, isSecondary ? app.geo : undefined)),
    changeMembership: (call: grpc.ServerUnaryCall<{ action: string; member?: Partial<Member> }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      changeMembership(replica, call.request.action, call.request.member ?? {}).then(
        (members) => cb(null, { members: memberMessages(members, region.name) }),
        (e: unknown) => cb(toServiceError(e, new grpc.Metadata())),
      );
    },
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
      cb(null, ownStatus(ctx, replica, map, isSecondary ? app.geo : undefined));
    },
  });
  const geoSource = isSecondary ? undefined : new GeoSource({ nodeId: self.id, replica, store, logger, isDropped: (id) => transport.isDropped(id) });
  geoSource?.register(peerServer);
  const geoFollower = isSecondary
    ? new GeoFollower({
        nodeId: self.id,
        replica,
        geo: () => app.geo,
        primaries: map.primary.nodes,
        failoverAfterMs: topology.failoverAfterMs,
        failbackAfterMs: topology.failbackAfterMs,
        latencyMs: Math.max(...topology.regions.map((r) => r.latencyMs)),
        isDropped: (id) => transport.isDropped(id),
        links: grpcPrimaryLinks(ctx.channelCredentials),
        logger,
      })
    : undefined;

  metrics.attach({
    status: () => ownStatus(ctx, replica, map, isSecondary ? app.geo : undefined),
    primaryCommit: () => geoFollower?.primaryCommitSeen ?? 0,
  });
  const status = new StatusCollector(ctx, map, () => (isSecondary ? app.geo : undefined));
  const forwarder = new GrpcForwarder(ctx);
  const router = new Router(ctx, forwarder, new VaultThrottle(topology.throttle, (vault, name, version) => app.state.keyTypeOf(vault, name, version)));
  const followMembership = watchMembership({ replica, map, region: region.name, reports: () => status.members(), logger });
  map.on('change', () => {
    transport.setPeers(regionPeers());
    geoFollower?.setPrimaries(map.primary.nodes);
  });
  replica.events.on('removed', (index: number) => {
    logger.warn({ index }, 'this node was removed from its region; stopping');
    void shutdown('REMOVED');
  });
  // The leader stops sending to a node once it applies the node's removal: a
  // removed node that missed the commit learns of it from a peer's refusal.
  let toldRemoved = false;
  transport.events.on('removed', (by: string, peerApplied: number) => {
    // A peer that still remembers a removal from before this node was added
    // again has applied less than this node.
    if (toldRemoved || replica.appliedIndex >= peerApplied) return;
    toldRemoved = true;
    logger.warn({ by, peerApplied, applied: replica.appliedIndex }, 'a peer says this node was removed from its region; stopping');
    markRemoved(args.dataDir, `${by} said so, having applied up to index ${peerApplied}`);
    void shutdown('REMOVED');
  });
  // No channelz: nothing reads it, and its per-call bookkeeping was ~5 % of a
  // leader's busy time serving GetSecret.
  // Every RPC of the client port passes one interceptor that authorizes it (DESIGN §6).
  const audit = new AuditLog(join(args.dataDir, 'audit.log'), { node: self.id, region: region.name });
  // One gate and one audit for every front-end of the node.
  const gate = new CallGate({
    directory: app.directory,
    issuer: topology.name,
    nowMs: Date.now,
    notServing: () => (replica.hasState ? undefined : `${self.id} is joining its region and has no state yet`),
    catchUp: () => replica.linearizableRead(TOKEN_CATCH_UP_MS),
  });
  const completed = (entry: AuditEntry): void => {
    audit.record(entry);
    metrics.request(entry.path, entry.code, entry.elapsedMs / 1000);
  };
  const auth = authInterceptor({ gate, responseMetadata: () => responseMetadata(ctx), onComplete: completed });
  // Admission first: a call the node has no room for is refused before its token is verified.
  const admission = admissionControl({
    settings: topology.admission,
    nodeId: self.id,
    responseMetadata: () => responseMetadata(ctx),
    // Audited like every request, though with no principal or request: neither was read.
    onRefused: (path, peer) => {
      audit.recordThrottled(path, peer);
      metrics.throttled(path);
    },
  });
  const clientServer = new grpc.Server({
    ...CLIENT_MESSAGE_LIMITS,
    'grpc.enable_channelz': 0,
    ...grpcServerOptions(topology.connections),
    interceptors: [admission.interceptor, auth],
  });
  const snapshots = new ClusterSnapshots({ replica, store, masterKey: snapshotKey, cluster: topology.name });
  const appDeps = { ctx, app, envelope, issuer: topology.name, status, dataKeyPolicy: topology.dataKeys, versionLimits: topology.limits };
  const runner = new CommandRunner(appDeps);
  const dispatcher = new Dispatcher({ operations: apiOperations(appDeps, runner), router, gate, onComplete: completed });
  registerPublicServices(clientServer, { ctx, dispatcher, forwarder, snapshots });
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

  const port = (name: 'client' | 'peer', server: grpc.Server, address: string) =>
    GrpcPort.open(server, {
      port: name,
      address,
      tls,
      limits: topology.connections,
      logger,
      onRefused: (reason) => metrics.connectionRefused(name, reason),
      ...(name === 'client' ? { refuseEarly: admission.refuseEarly } : { protocols: new Map([transport.framesProtocol]) }),
    });
  const peerPort = await port('peer', peerServer, self.peer);
  const clientPort = await port('client', clientServer, self.client);
  const opsServer =
    self.metrics === undefined
      ? undefined
      : await serveOps({ metrics, cluster: () => status.cluster(), tls, address: self.metrics, limits: topology.connections, onRefused: (reason) => metrics.connectionRefused('metrics', reason) });
  // The Azure Key Vault REST API: one more front-end over the same dispatcher, gate and audit.
  const restGateway =
    self.rest === undefined
      ? undefined
      : await RestGateway.open({
          backend: (call) => dispatcher.unary(call.path, call.request, call),
          admit: (peer, path, deadlineMs) => admission.enter(peer, path, deadlineMs),
          failureOf: classify,
          verifyToken: (token) => gate.caller(token),
          servedBy: () => responseHeaders(ctx),
          tls,
          address: self.rest,
          issuer: `https://${self.rest}`,
          defaultVault: topology.defaultVault,
          limits: topology.connections,
          logger,
          onRefused: (reason) => metrics.connectionRefused('rest', reason),
        });
  replica.start(transport);
  geoFollower?.start();
  health.setStatus('', 'SERVING');
  logger.info({ client: self.client, peer: self.peer, metrics: self.metrics, rest: self.rest, dataDir: args.dataDir }, 'node started');

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
    // A removed node can complete nothing: the calls waiting on it fail at
    // once (UNAVAILABLE, which clients retry elsewhere) instead of waiting
    // out the grace period.
    if (signal === 'REMOVED') await replica.stop();
    if (replica.isLeader) await handOffLeadership(replica, logger);
    step = 'finishing client calls';
    clientPort.close();
    await Promise.all([shutDownGracefully(clientServer, CALLS_GRACE_MS), restGateway?.close()]);
    geoFollower?.stop();
    clearInterval(bootstrap);
    clearInterval(followMembership);
    step = 'stopping the replica';
    await replica.stop();
    peerPort.close();
    peerServer.forceShutdown();
    transport.close();
    forwarder.close();
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
/** The longest a call with a token this node does not know yet waits for it to catch up with its region (CallGate). */
const TOKEN_CATCH_UP_MS = 1_000;

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
async function handOffLeadership(replica: Replica, logger: pino.Logger): Promise<void> {
  const to = handOverTarget(replica.status());
  // Nobody has acknowledged anything recent: the others are likely down.
  if (to === undefined) return;
  logger.info({ to }, 'transferring leadership before stopping');
  await handOver(replica, 1000).catch(() => undefined);
}

main().catch((e: unknown) => {
  // Startup failures (bad flags, wrong master key, busy port) end here with a
  // clear line on stderr and a non-zero exit; nothing was changed on disk.
  process.stderr.write(`keyraftd: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
