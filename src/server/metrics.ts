// A node's Prometheus metrics (prom-client), served on the node's
// operations port (ops-http.ts) at /metrics. Raft and region gauges are
// read from the node's own status when scraped, so they cost nothing
// between scrapes; request counts and latencies come from the client
// port's interceptor, which sees every call end; Ready-loop, write and
// proposal figures from the replica, as its observer (DESIGN §7).

import { status as grpcStatus } from '@grpc/grpc-js';
import client from 'prom-client';
import type { ReplicaObserver } from '../replica/replica.js';
import type { NodeStatus } from '../app/cluster-view.js';

const ROLES = ['leader', 'follower', 'candidate', 'pre-candidate', 'learner'] as const;
const MODES = ['SERVING', 'NO_QUORUM', 'STANDBY', 'FAILED_OVER'] as const;
/** How often the leader and the mode are sampled for the change counters: well under an election timeout. */
const SAMPLE_MS = 100;
const SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What the metrics read of the node, once it is up. */
export interface MetricsSource {
  status(): NodeStatus;
  /** Secondary nodes: the highest commit index seen on a primary node (0 on a primary). */
  primaryCommit(): number;
}

export class NodeMetrics implements ReplicaObserver {
  readonly registry = new client.Registry();
  private source: MetricsSource | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private readonly requests: client.Counter<'rpc' | 'code'>;
  private readonly latency: client.Histogram<'rpc'>;
  private readonly readyLoop: client.Histogram;
  private readonly writes: client.Histogram<'synced'>;
  private readonly proposals: client.Counter<'outcome'>;
  private readonly readsByWay: Record<'lease' | 'round', client.Counter.Internal>;
  private readonly leaderChanges: client.Counter;
  private readonly failovers: client.Counter;
  private readonly failbacks: client.Counter;
  private readonly refusedConnections: client.Counter<'port' | 'reason'>;

  constructor() {
    const registry = this.registry;
    const self = this;
    client.collectDefaultMetrics({ register: registry });
    const gauge = (name: string, help: string, read: (s: MetricsSource) => number) =>
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          if (self.source !== undefined) this.set(read(self.source));
        },
      });
    gauge('keyraft_raft_term', 'The Raft term this node is in.', (s) => s.status().term);
    gauge('keyraft_raft_commit_index', 'The highest log index this node knows committed.', (s) => s.status().commitIndex);
    gauge('keyraft_raft_applied_index', 'The highest log index this node has applied.', (s) => s.status().appliedIndex);
    gauge('keyraft_raft_has_leader', '1 when this node knows a leader of its region.', (s) => (s.status().leader === '' ? 0 : 1));
    gauge('keyraft_geo_primary_index', 'Secondary nodes: the primary log index their state reflects.', (s) => s.status().primaryIndex);
    gauge('keyraft_geo_epoch', 'Secondary nodes: failovers so far, as replicated.', (s) => s.status().epoch);
    gauge('keyraft_geo_lag_entries', 'Secondary nodes: primary entries committed and not yet applied here, as last seen.', (s) => geoLag(s).entries);
    gauge('keyraft_geo_lag_ms', 'Secondary nodes: ms since the newest primary entry applied here was applied on the primary, while behind.', (s) => geoLag(s).ms);
    /** 1 for the value the node has now, 0 for the others: one series per value, as Prometheus prefers to a string. */
    const oneOf = (name: string, help: string, label: string, values: readonly string[], read: (s: NodeStatus) => string) =>
      new client.Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          if (self.source === undefined) return;
          const now = read(self.source.status());
          for (const v of values) this.set({ [label]: v }, v === now ? 1 : 0);
        },
      });
    oneOf('keyraft_raft_role', "1 for this node's Raft role, 0 for the others.", 'role', ROLES, (s) => s.role);
    oneOf('keyraft_region_mode', "1 for the mode of this node's region as it sees it, 0 for the others.", 'mode', MODES, (s) => s.mode);
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new client.Counter<L>({ name, help, labelNames, registers: [registry] });
    this.leaderChanges = counter('keyraft_raft_leader_changes_total', 'Times the leader this node knows changed (sampled every 100 ms).');
    this.failovers = counter('keyraft_failovers_total', 'Times this node saw its region go FAILED_OVER (sampled every 100 ms).');
    this.failbacks = counter('keyraft_failbacks_total', 'Times this node saw its region go from FAILED_OVER back to STANDBY (sampled every 100 ms).');
    this.proposals = counter('keyraft_raft_proposals_total', 'Proposals by outcome: applied, or why they failed (NO_QUORUM, NOT_LEADER, PROPOSAL_LOST, ...).', ['outcome']);
    const reads = counter('keyraft_raft_reads_total', "Linearizable reads by what confirmed them: the leader's read lease, or a ReadIndex round.", ['way']);
    this.readsByWay = { lease: reads.labels({ way: 'lease' }), round: reads.labels({ way: 'round' }) };
    this.refusedConnections = counter(
      'keyraft_connections_refused_total',
      'Connections closed before any call, by port (client, peer, metrics) and reason: limit (past the maximum), handshake_timeout, tls_error.',
      ['port', 'reason'],
    );
    this.requests = counter('keyraft_requests_total', 'Client-port requests that ended, by RPC and gRPC status code.', ['rpc', 'code']);
    const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new client.Histogram<L>({ name, help, labelNames, buckets: SECONDS, registers: [registry] });
    this.latency = histogram('keyraft_request_duration_seconds', 'Client-port request latency, from the metadata arriving to the status leaving, by RPC.', ['rpc']);
    this.readyLoop = histogram('keyraft_raft_ready_seconds', 'Time to handle one Raft Ready: persist, apply, send.');
    this.writes = histogram('keyraft_raft_write_seconds', 'LevelDB batch writes of the Ready loop; synced="true" is the fsync latency.', ['synced']);
  }

  /** Starts reading the node, once it has its replica and status. */
  attach(source: MetricsSource): void {
    this.source = source;
    let leader = '';
    let mode = source.status().mode;
    this.sampler = setInterval(() => {
      const s = source.status();
      if (s.leader !== '' && s.leader !== leader) {
        if (leader !== '') this.leaderChanges.inc();
        leader = s.leader;
      }
      if (s.mode !== mode) {
        if (s.mode === 'FAILED_OVER') this.failovers.inc();
        if (mode === 'FAILED_OVER' && s.mode === 'STANDBY') this.failbacks.inc();
        mode = s.mode;
      }
    }, SAMPLE_MS);
    this.sampler.unref();
  }

  /** A client-port call ended. Paths are the public API's (an unknown one is refused before it gets here). */
  /** A call admission control refused: counted, but no latency, since it was never served. */
  throttled(rpc: string): void {
    this.requests.inc({ rpc, code: String(grpcStatus.RESOURCE_EXHAUSTED) });
  }

  request(rpc: string, code: number, seconds: number): void {
    this.requests.inc({ rpc, code: String(code) });
    this.latency.observe({ rpc }, seconds);
  }

  connectionRefused(port: string, reason: string): void {
    this.refusedConnections.inc({ port, reason });
  }

  ready(ms: number): void {
    this.readyLoop.observe(ms / 1000);
  }

  write(ms: number, synced: boolean): void {
    this.writes.observe({ synced: String(synced) }, ms / 1000);
  }

  proposal(outcome: string): void {
    this.proposals.inc({ outcome });
  }

  read(underLease: boolean): void {
    this.readsByWay[underLease ? 'lease' : 'round'].inc();
  }

  close(): void {
    clearInterval(this.sampler);
  }
}

function geoLag(source: MetricsSource): { entries: number; ms: number } {
  const s = source.status();
  const entries = Math.max(0, source.primaryCommit() - s.primaryIndex);
  return { entries, ms: entries === 0 || s.appliedAtMs === 0 ? 0 : Math.max(0, Date.now() - s.appliedAtMs) };
}
