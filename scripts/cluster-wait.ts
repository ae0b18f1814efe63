// Waits until every node of the topology answers and every region has a
// leader, printing progress; exits non-zero if that does not happen in time.
//   node dist/scripts/cluster-wait.js [--topology F] [--ca cluster/.data/pki/ca.crt] [--token-file cluster/.data/admin.token] [--timeout-ms N]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KeyraftClient } from '../src/client/index.js';
import { loadTopology } from '../src/topology.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topology: { type: 'string', default: 'cluster/local.json' },
      ca: { type: 'string', default: 'cluster/.data/pki/ca.crt' },
      'token-file': { type: 'string', default: 'cluster/.data/admin.token' },
      'timeout-ms': { type: 'string', default: '60000' },
    },
  });
  const topology = loadTopology(values.topology!);
  const first = topology.regions[0]!.nodes[0]!.client;
  const client = new KeyraftClient({ endpoints: [first], ca: readFileSync(values.ca!), token: readFileSync(values['token-file']!, 'utf8').trim(), regionAware: false, retries: 0, timeoutMs: 1500 });
  const until = Date.now() + Number(values['timeout-ms']);
  let last = '';
  while (Date.now() < until) {
    try {
      const s = await client.getStatus({});
      const up = s.nodes.filter((n) => n.reachable).length;
      const leaders = s.regions.filter((r) => r.leader !== '').length;
      const line = `${up}/${s.nodes.length} nodes up, ${leaders}/${s.regions.length} regions with a leader`;
      if (line !== last) console.log(line);
      last = line;
      if (up === s.nodes.length && leaders === s.regions.length) return client.close();
    } catch {
      if (last !== 'waiting') console.log(`waiting for ${first} to answer...`);
      last = 'waiting';
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  client.close();
  throw new Error(`the cluster was not healthy within ${values['timeout-ms']} ms (last: ${last}); see cluster/.data/*/node.log`);
}

main().catch((e: unknown) => {
  console.error(`cluster-wait: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
