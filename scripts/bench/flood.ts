// A flood of writes on one channel (issue 19): a 3-node region, thousands of
// SetSecret calls in flight at once to the leader, while every node's term,
// leader changes and event-loop delay are scraped once a second from
// /metrics. A leadership that survives the load keeps one term; a bounded
// turn of the event loop keeps the delay far below the election timeout.
// Prints figures only; asserts nothing.
//
// With --catch-up, one follower is down during the flood and starts again
// after it: it then takes the whole backlog at once (every entry it lacks,
// then their commitment), which is where a turn of unbounded work shows.
//
//   node dist/scripts/bench/flood.js [--in-flight 4000] [--writes 20000] [--value-bytes 1024] [--catch-up] [--cpu-prof DIR]
//
// With --cpu-prof, each node writes a .cpuprofile into DIR when it stops.

import { get } from 'node:https';
import { parseArgs } from 'node:util';
import { KeyraftClient, KeyraftError } from '../../src/client/index.js';
import { TestCluster, eventually } from '../../test/integration/cluster.js';

function scrape(address: string, ca: Buffer): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = get({ host, port: Number(port), path: '/metrics', ca, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
  });
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

interface Sample {
  readonly applied: number;
  readonly commit: number;
  readonly term: number;
  readonly leaderChanges: number;
  readonly lagMaxMs: number;
  readonly lagP99Ms: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'in-flight': { type: 'string', default: '4000' },
      writes: { type: 'string', default: '20000' },
      'value-bytes': { type: 'string', default: '1024' },
      'cpu-prof': { type: 'string' },
      'catch-up': { type: 'boolean', default: false },
    },
  });
  const profileDir = values['cpu-prof'];
  const inFlight = Number(values['in-flight']);
  const total = Number(values.writes);
  const value = 'v'.repeat(Number(values['value-bytes']));
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }], nodeArgs });
  const clients: KeyraftClient[] = [];
  try {
    cluster.startAll();
    const admin = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: cluster.endpoints(), regionAware: false, timeoutMs: 20_000 });
    clients.push(admin);
    const leader = await eventually(
      'a leader',
      async () => (await admin.getStatus({}, { timeoutMs: 3000 })).nodes.find((n) => n.role === 'leader' && n.mode === 'SERVING')?.id,
      60_000,
      200,
    );
    await eventually('the vault', () => admin.createVault({ name: 'flood' }).then(() => true), 20_000, 250);
    const writer = new KeyraftClient({ ca: cluster.ca, token: cluster.token, endpoints: [cluster.node(leader).client], regionAware: false, retries: 0, timeoutMs: 60_000 });
    clients.push(writer);
    await writer.setSecret({ vault: 'flood', name: 'warm-up', value });

    const late = values['catch-up'] ? cluster.nodes.find((n) => n.id !== leader)!.id : undefined;
    if (late !== undefined) await cluster.kill(late);
    const samples = new Map<string, Sample[]>(cluster.nodes.map((n) => [n.id, []]));
    const sampleAll = async () => {
      await Promise.all(
        cluster.nodes.map(async (n) => {
          if (!cluster.isRunning(n.id)) return;
          try {
            const text = await scrape(n.metrics, cluster.ca);
            samples.get(n.id)!.push({
              applied: metric(text, 'keyraft_raft_applied_index'),
              commit: metric(text, 'keyraft_raft_commit_index'),
              term: metric(text, 'keyraft_raft_term'),
              leaderChanges: metric(text, 'keyraft_raft_leader_changes_total'),
              lagMaxMs: metric(text, 'nodejs_eventloop_lag_max_seconds') * 1000,
              lagP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
            });
          } catch {
            // A node too busy to answer within 3 s: the gap in its samples says so.
          }
        }),
      );
    };
    await sampleAll(); // resets the delay histograms: the flood's figures start here
    const before = new Map([...samples].map(([id, s]) => [id, s[s.length - 1]!]));
    let running = true;
    const sampler = (async () => {
      while (running) {
        await new Promise((r) => setTimeout(r, 500));
        await sampleAll();
      }
    })();

    const errors = new Map<string, number>();
    let ok = 0;
    let next = 0;
    const started = performance.now();
    const slot = async () => {
      while (next < total) {
        const i = next++;
        try {
          await writer.setSecret({ vault: 'flood', name: `s${i % 500}`, value });
          ok++;
        } catch (e) {
          const reason = e instanceof KeyraftError ? e.reason || String(e.code) : String(e);
          errors.set(reason, (errors.get(reason) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, slot));
    const seconds = (performance.now() - started) / 1000;
    let catchUp = '';
    if (late !== undefined) {
      const target = Math.max(...[...samples.values()].flatMap((s) => s.map((x) => x.commit)));
      const restarted = performance.now();
      cluster.start(late);
      const ms = await eventually(
        `${late} catching up`,
        async () => ((samples.get(late)!.at(-1)?.applied ?? 0) >= target ? performance.now() - restarted : undefined),
        300_000,
        100,
      );
      catchUp = `; ${late} started again and applied the ${target} entries in ${(ms / 1000).toFixed(1)} s`;
    }
    running = false;
    await sampler;

    console.log(`flood: ${total} SetSecret of ${value.length} bytes, ${inFlight} in flight on one channel to the leader ${leader}${catchUp}`);
    console.log(`  ${ok} ok in ${seconds.toFixed(1)} s (${(ok / seconds).toFixed(0)}/s); errors: ${JSON.stringify(Object.fromEntries(errors))}`);
    for (const [id, s] of samples) {
      const during = s.slice(1);
      const first = before.get(id) ?? during[0]!;
      const last = s[s.length - 1]!;
      const lagMax = Math.max(...during.map((x) => x.lagMaxMs));
      const p99s = during.map((x) => x.lagP99Ms).sort((a, b) => a - b);
      console.log(
        `  ${id}${id === leader ? ' (leader)' : id === late ? ' (caught up)' : ''}: term ${first.term} -> ${last.term}, leader changes +${last.leaderChanges - first.leaderChanges}, ` +
          `event-loop delay max ${lagMax.toFixed(0)} ms, half-second p99 median ${p99s[Math.floor(p99s.length / 2)]?.toFixed(0)} ms / worst ${p99s[p99s.length - 1]?.toFixed(0)} ms, ${during.length} samples`,
      );
    }
  } finally {
    for (const c of clients) c.close();
    // A profile is written on a graceful exit only.
    if (profileDir !== undefined) await Promise.all(cluster.nodes.map((n) => cluster.stop(n.id)));
    await cluster.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
