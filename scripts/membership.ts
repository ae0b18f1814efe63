// The steps of scripts/add-node.sh, remove-node.sh and replace-node.sh that
// talk to the cluster, as the bootstrap administrator (cluster/.data/admin.token):
//   node dist/scripts/membership.js add REGION [--id NODE]
//     picks the next id and ports of REGION (NODE: reuse a node's own), issues
//     its certificate, adds it as a learner, and writes the flags of its first
//     start to <data>/<id>/join.args; prints the id;
//   node dist/scripts/membership.js promote NODE
//     waits until the learner has caught up and makes it a voter;
//   node dist/scripts/membership.js remove NODE
// Nodes added here are not in the topology: the scripts know them by their
// join.args (lib.sh).

import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KeyraftClient, KeyraftError } from '../src/client/index.js';
import { hostsOf, issueMemberCertificate } from '../src/ops/pki.js';
import { type Topology, loadTopology } from '../src/topology.js';

interface Address {
  id: string;
  region: string;
  client: string;
  peer: string;
  metrics?: string;
  rest?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nodes added by these scripts: their region and addresses, from the flags of their first start. */
function addedNodes(data: string): Address[] {
  if (!existsSync(data)) return [];
  return readdirSync(data)
    .filter((id) => existsSync(join(data, id, 'join.args')))
    .map((id) => {
      const args = readFileSync(join(data, id, 'join.args'), 'utf8').trim().split(/\s+/);
      const flag = (name: string) => args[args.indexOf(`--${name}`) + 1]!;
      const optional = (name: string) => (args.includes(`--${name}`) ? { [name]: flag(name) } : {});
      return { id, region: flag('join'), client: flag('client'), peer: flag('peer'), ...optional('metrics'), ...optional('rest') };
    });
}

function knownNodes(t: Topology, data: string): Address[] {
  const founders = t.regions.flatMap((r) =>
    r.nodes.map((n) => ({ id: n.id, region: r.name, client: n.client, peer: n.peer, ...(n.metrics ? { metrics: n.metrics } : {}), ...(n.rest ? { rest: n.rest } : {}) })),
  );
  const added = addedNodes(data).filter((a) => !founders.some((f) => f.id === a.id));
  return [...founders, ...added];
}

/** The next free id and ports of a region: its first node's ports, counted on. */
function nextNode(t: Topology, data: string, region: string): Address {
  const r = t.regions.find((x) => x.name === region);
  if (r === undefined) throw new Error(`no region ${region} in the topology`);
  const known = knownNodes(t, data);
  const used = new Set(known.flatMap((n) => [n.client, n.peer, n.metrics ?? '', n.rest ?? '']));
  const first = r.nodes[0]!;
  const port = (address: string, offset: number) => address.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) + offset}`);
  for (let n = 1; n < 100; n++) {
    const id = `${region}-${n}`;
    if (known.some((k) => k.id === id)) continue;
    const a: Address = {
      id,
      region,
      client: port(first.client, n - 1),
      peer: port(first.peer, n - 1),
      ...(first.metrics ? { metrics: port(first.metrics, n - 1) } : {}),
      ...(first.rest ? { rest: port(first.rest, n - 1) } : {}),
    };
    if ([a.client, a.peer, a.metrics, a.rest].some((x) => x !== undefined && used.has(x))) continue;
    return a;
  }
  throw new Error(`no free id and ports left in region ${region}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      topology: { type: 'string', default: 'cluster/local.json' },
      data: { type: 'string', default: 'cluster/.data' },
      id: { type: 'string' },
      'timeout-ms': { type: 'string', default: '120000' },
    },
    allowPositionals: true,
  });
  const topology = loadTopology(values.topology!);
  const data = values.data!;
  const pki = join(data, 'pki');
  const [command, name] = positionals;
  const client = new KeyraftClient({
    ca: readFileSync(join(pki, 'ca.crt')),
    token: readFileSync(join(data, 'admin.token'), 'utf8').trim(),
    endpoints: knownNodes(topology, data).map((n) => n.client),
    timeoutMs: 20_000,
  });
  try {
    if (command === 'add' && name !== undefined) {
      const reused = values.id === undefined ? undefined : knownNodes(topology, data).find((n) => n.id === values.id);
      if (values.id !== undefined && reused === undefined) throw new Error(`no node ${values.id} in the topology or among the added nodes`);
      const node = reused ?? nextNode(topology, data, name);
      if (node.region !== name) throw new Error(`${node.id} is a node of region ${node.region}, not ${name}`);
      await issueMemberCertificate(pki, { id: node.id, region: node.region, hosts: hostsOf([node.client, node.peer]) });
      await client.addMember({ region: node.region, id: node.id, clientAddress: node.client, peerAddress: node.peer, ...(node.metrics ? { metricsAddress: node.metrics } : {}) });
      mkdirSync(join(data, node.id), { recursive: true, mode: 0o700 });
      const args = ['--join', node.region, '--client', node.client, '--peer', node.peer, ...(node.metrics ? ['--metrics', node.metrics] : []), ...(node.rest ? ['--rest', node.rest] : [])];
      writeFileSync(join(data, node.id, 'join.args'), args.join(' ') + '\n', { mode: 0o600 });
      console.log(node.id);
      return;
    }
    if (command === 'promote' && name !== undefined) {
      const until = Date.now() + Number(values['timeout-ms']);
      let last = '';
      while (Date.now() < until) {
        try {
          await client.promoteMember({ id: name });
          console.error(`${name} is a voter`);
          return;
        } catch (e) {
          if (!(e instanceof KeyraftError) || e.reason !== 'LEARNER_NOT_READY') throw e;
          if (e.message !== last) console.error(e.message);
          last = e.message;
        }
        await sleep(500);
      }
      throw new Error(`${name} did not catch up in time (${last})`);
    }
    if (command === 'remove' && name !== undefined) {
      await client.removeMember({ id: name });
      console.error(`${name} removed`);
      return;
    }
    throw new Error('usage: membership.js add REGION [--id NODE] | promote NODE | remove NODE');
  } finally {
    client.close();
  }
}

main().catch((e: unknown) => {
  console.error(`membership: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
