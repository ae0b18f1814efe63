// A node's Prometheus metrics (prom-client), served on the node's
// operations port (ops-http.ts) at /metrics. Raft and region
// gauges are read from the node's own status when scraped, so they cost
// nothing between scrapes; request counts and latencies come from the
// client port's interceptor, which sees every call end (DESIGN §7).

import client from 'prom-client';
import type { NodeStatus } from './status.js';

const ROLES = ['leader', 'follower', 'candidate', 'pre-candidate', 'learner'] as const;
const MODES = ['SERVING', 'NO_QUORUM', 'STANDBY', 'FAILED_OVER'] as const;
/** How often the leader is sampled for keyraft_raft_leader_changes_total: well under an election timeout. */
const LEADER_SAMPLE_MS = 100;

export class NodeMetrics {
  readonly registry = new client.Registry();
  private readonly requests: client.Counter<'rpc' | 'code'>;
  private readonly latency: client.Histogram<'rpc'>;
  private readonly leaderChanges: client.Counter;
  private readonly sampler: NodeJS.Timeout;

  constructor(status: () => NodeStatus) {
    const registry = this.registry;
    client.collectDefaultMetrics({ register: registry });
    const gauge = (name: string, help: string, read: (s: NodeStatus) => number) =>
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(status()));
        },
      });
    gauge('keyraft_raft_term', 'The Raft term this node is in.', (s) => s.term);
    gauge('keyraft_raft_commit_index', 'The highest log index this node knows committed.', (s) => s.commitIndex);
    gauge('keyraft_raft_applied_index', 'The highest log index this node has applied.', (s) => s.appliedIndex);
    gauge('keyraft_raft_has_leader', '1 when this node knows a leader of its region.', (s) => (s.leader === '' ? 0 : 1));
    gauge('keyraft_geo_primary_index', 'Secondary nodes: the primary log index their state reflects.', (s) => s.primaryIndex);
    gauge('keyraft_geo_epoch', 'Secondary nodes: failovers so far.', (s) => s.epoch);
    /** 1 for the value the node has now, 0 for the others: one series per value, as Prometheus prefers to a string. */
    const oneOf = (name: string, help: string, label: string, values: readonly string[], read: (s: NodeStatus) => string) =>
      new client.Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          const now = read(status());
          for (const v of values) this.set({ [label]: v }, v === now ? 1 : 0);
        },
      });
    oneOf('keyraft_raft_role', "1 for this node's Raft role, 0 for the others.", 'role', ROLES, (s) => s.role);
    oneOf('keyraft_region_mode', "1 for the mode of this node's region as it sees it, 0 for the others.", 'mode', MODES, (s) => s.mode);
    this.leaderChanges = new client.Counter({
      name: 'keyraft_raft_leader_changes_total',
      help: 'Times the leader this node knows changed (sampled every 100 ms).',
      registers: [registry],
    });
    let leader = status().leader;
    this.sampler = setInterval(() => {
      const now = status().leader;
      if (now !== leader && now !== '') this.leaderChanges.inc();
      if (now !== '') leader = now;
    }, LEADER_SAMPLE_MS);
    this.sampler.unref();
    this.requests = new client.Counter({
      name: 'keyraft_requests_total',
      help: 'Client-port requests that ended, by RPC and gRPC status code.',
      labelNames: ['rpc', 'code'],
      registers: [registry],
    });
    this.latency = new client.Histogram({
      name: 'keyraft_request_duration_seconds',
      help: 'Client-port request latency, from the first byte of metadata to the status, by RPC.',
      labelNames: ['rpc'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }

  /** A client-port call ended. Paths are the public API's (an unknown one is refused before it gets here). */
  request(rpc: string, code: number, seconds: number): void {
    this.requests.inc({ rpc, code: String(code) });
    this.latency.observe({ rpc }, seconds);
  }

  close(): void {
    clearInterval(this.sampler);
  }
}
