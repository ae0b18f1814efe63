// Waits until every node of the topology answers and every region has a
// leader, printing progress; exits non-zero if that does not happen in time.
//   node dist/scripts/cluster-wait.js [--topology F] [--timeout-ms N]

import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { apiClient } from '../src/server/api.js';
import { loadTopology } from '../src/topology.js';

interface Status {
  nodes: { id: string; reachable: boolean }[];
  regions: { name: string; leader: string }[];
}

function getStatus(address: string): Promise<Status> {
  const Cluster = apiClient('Cluster');
  const client = new Cluster(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    (client as unknown as { getStatus: (r: object, o: object, cb: (e: Error | null, s?: Status) => void) => void }).getStatus(
      {},
      { deadline: Date.now() + 1500 },
      (err, status) => {
        client.close();
        if (err !== null || status === undefined) reject(err ?? new Error('no status'));
        else resolve(status);
      },
    );
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { topology: { type: 'string', default: 'cluster/local.json' }, 'timeout-ms': { type: 'string', default: '60000' } } });
  const topology = loadTopology(values.topology!);
  const first = topology.regions[0]!.nodes[0]!.client;
  const until = Date.now() + Number(values['timeout-ms']);
  let last = '';
  while (Date.now() < until) {
    try {
      const s = await getStatus(first);
      const up = s.nodes.filter((n) => n.reachable).length;
      const leaders = s.regions.filter((r) => r.leader !== '').length;
      const line = `${up}/${s.nodes.length} nodes up, ${leaders}/${s.regions.length} regions with a leader`;
      if (line !== last) console.log(line);
      last = line;
      if (up === s.nodes.length && leaders === s.regions.length) return;
    } catch {
      if (last !== 'waiting') console.log(`waiting for ${first} to answer...`);
      last = 'waiting';
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the cluster was not healthy within ${values['timeout-ms']} ms (last: ${last}); see cluster/.data/*/node.log`);
}

main().catch((e: unknown) => {
  console.error(`cluster-wait: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
