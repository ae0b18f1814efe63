// The steps of scripts/rolling-restart.sh that need the nodes' own view,
// asked on their peer ports with the operator's certificate:
//   node dist/scripts/rolling.js [--topology F] [--pki D] order REGION
//     prints the region's nodes, followers first and its leader last;
//   node dist/scripts/rolling.js [--topology F] [--pki D] [--timeout-ms N] wait NODE
//     waits until NODE answers, its region has a leader, and NODE has
//     applied everything that leader had committed when NODE came back;
//     prints progress, and exits non-zero if that does not happen in time.

import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadTopology } from '../src/topology.js';
import { adminCall } from '../src/transport/peer-service.js';
import { channelCredentials, operatorTls } from '../src/transport/tls.js';

interface Status {
  id: string;
  role: string;
  leader: string;
  commitIndex: number;
  appliedIndex: number;
  /** The region's members as this node applied them: nodes added online are not in the topology. */
  members: { id: string; peerAddress: string }[];
}

let operator: grpc.ChannelCredentials;

const nodeStatus = (peer: string): Promise<Status> => adminCall<Status>(peer, operator, 'nodeStatus', {}, 1500);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      topology: { type: 'string', default: 'cluster/local.json' },
      pki: { type: 'string', default: 'cluster/.data/pki' },
      'timeout-ms': { type: 'string', default: '60000' },
    },
    allowPositionals: true,
  });
  const topology = loadTopology(values.topology!);
  operator = channelCredentials(operatorTls(values.pki!));
  const [command, name] = positionals;
  /** A region's nodes: its members as its nodes report them, or the topology's when none answers. */
  const regionNodes = async (regionName: string): Promise<{ id: string; peer: string }[]> => {
    const region = topology.regions.find((r) => r.name === regionName);
    if (region === undefined) throw new Error(`no region ${regionName} in the topology`);
    for (const n of region.nodes) {
      const s = await nodeStatus(n.peer).catch(() => undefined);
      if (s !== undefined && s.members.length > 0) return s.members.map((m) => ({ id: m.id, peer: m.peerAddress }));
    }
    return region.nodes.map((n) => ({ id: n.id, peer: n.peer }));
  };
  const regionOf = async (id: string) => {
    for (const r of topology.regions) {
      const nodes = await regionNodes(r.name);
      if (nodes.some((n) => n.id === id)) return nodes;
    }
    return undefined;
  };

  if (command === 'order' && name !== undefined) {
    const nodes = await regionNodes(name);
    const leaders = await Promise.all(nodes.map((n) => nodeStatus(n.peer).then((s) => s.leader, () => '')));
    const leader = leaders.find((l) => l !== '') ?? '';
    const ids = nodes.map((n) => n.id);
    for (const id of [...ids.filter((id) => id !== leader), ...ids.filter((id) => id === leader)]) console.log(id);
    return;
  }

  if (command === 'wait' && name !== undefined) {
    const nodes = await regionOf(name);
    if (nodes === undefined) throw new Error(`no node ${name} in any region`);
    const self = nodes.find((n) => n.id === name)!;
    const until = Date.now() + Number(values['timeout-ms']);
    let target: number | undefined;
    let last = '';
    while (Date.now() < until) {
      let line: string;
      try {
        const s = await nodeStatus(self.peer);
        const leader = nodes.find((n) => n.id === s.leader);
        if (leader === undefined) {
          line = `${name} answers; waiting for its region to have a leader`;
        } else {
          target ??= (await nodeStatus(leader.peer)).commitIndex;
          if (s.appliedIndex >= target) {
            console.log(`${name} caught up: applied ${s.appliedIndex}, leader ${s.leader} had committed ${target}`);
            return;
          }
          line = `${name} applied ${s.appliedIndex} of ${target}`;
        }
      } catch {
        line = `waiting for ${name} to answer`;
      }
      if (line !== last) console.log(line);
      last = line;
      await sleep(200);
    }
    throw new Error(`${name} did not catch up within ${values['timeout-ms']} ms (last: ${last})`);
  }
  throw new Error('usage: rolling.js order REGION | wait NODE');
}

main().catch((e: unknown) => {
  console.error(`rolling: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
