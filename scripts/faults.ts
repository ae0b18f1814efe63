// Fault injection on a running cluster (nodes started with --fault-injection):
//   node dist/scripts/faults.js [--topology F] [--pki D] partition A1,A2 B1,B2
//   node dist/scripts/faults.js [--topology F] [--pki D] one-way A1,A2 B1,B2   (what A sends B is dropped; B still reaches A)
//   node dist/scripts/faults.js [--topology F] [--pki D] heal
// It calls the Admin service with the operator's certificate from the PKI folder.

import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { allNodes, loadTopology } from '../src/topology.js';
import { adminCall } from '../src/transport/peer-service.js';
import { channelCredentials, operatorTls } from '../src/transport/tls.js';

let operator: grpc.ChannelCredentials;

async function setFaults(address: string, dropPeers: string[], merge: boolean, dropOutboundTo: string[] = []): Promise<void> {
  try {
    await adminCall(address, operator, 'setFaults', { dropPeers, dropOutboundTo, merge }, 2000);
  } catch (e) {
    throw new Error(`${address}: ${(e as grpc.ServiceError).details || (e as Error).message}`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { topology: { type: 'string', default: 'cluster/local.json' }, pki: { type: 'string', default: 'cluster/.data/pki' } },
    allowPositionals: true,
  });
  const topology = loadTopology(values.topology!);
  operator = channelCredentials(operatorTls(values.pki!));
  const peerOf = new Map(allNodes(topology).map(({ node }) => [node.id, node.peer]));
  const [command, a, b] = positionals;
  const calls: Promise<void>[] = [];
  if ((command === 'partition' || command === 'one-way') && a !== undefined && b !== undefined) {
    const sideA = a.split(',');
    const sideB = b.split(',');
    for (const id of [...sideA, ...sideB]) if (!peerOf.has(id)) throw new Error(`unknown node ${id}`);
    if (command === 'one-way') {
      for (const id of sideA) calls.push(setFaults(peerOf.get(id)!, [], true, sideB));
    } else {
      for (const id of sideA) calls.push(setFaults(peerOf.get(id)!, sideB, true));
      for (const id of sideB) calls.push(setFaults(peerOf.get(id)!, sideA, true));
    }
  } else if (command === 'heal') {
    for (const address of peerOf.values()) calls.push(setFaults(address, [], false).catch(() => undefined));
  } else {
    throw new Error('usage: faults.js partition A1,A2 B1,B2 | one-way A1,A2 B1,B2 | heal');
  }
  const results = await Promise.allSettled(calls);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const f of failures) console.error(`faults: ${f.reason instanceof Error ? f.reason.message : String(f.reason)}`);
  console.log(command === 'heal' ? 'healed' : command === 'one-way' ? `dropping what [${a}] sends [${b}]` : `partitioned [${a}] from [${b}]`);
  if (failures.length > 0) process.exit(1);
}

main().catch((e: unknown) => {
  console.error(`faults: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
});
