// Creates what is missing of a cluster's PKI (src/ops/pki.ts): the CA, a
// certificate for each node of the topology, the operator's. What exists is
// kept, so running it again changes nothing.
//   node dist/scripts/pki.js [--topology F] [--dir cluster/.data/pki]
// With --member ID --region R --hosts H[,H...]: a certificate for a node added
// online (scripts/add-node.sh), which names its region.

import { parseArgs } from 'node:util';
import { ensurePki, hostsOf, issueMemberCertificate } from '../src/ops/pki.js';
import { allNodes, loadTopology } from '../src/topology.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topology: { type: 'string', default: 'cluster/local.json' },
      dir: { type: 'string', default: 'cluster/.data/pki' },
      member: { type: 'string' },
      region: { type: 'string' },
      hosts: { type: 'string', default: '127.0.0.1' },
    },
  });
  if (values.member !== undefined) {
    if (values.region === undefined) throw new Error('--member needs --region');
    await issueMemberCertificate(values.dir!, { id: values.member, region: values.region, hosts: values.hosts!.split(',') });
    console.log(`issued a certificate for ${values.member} (region ${values.region}) in ${values.dir}`);
    return;
  }
  const topology = loadTopology(values.topology!);
  const nodes = allNodes(topology).map(({ node }) => ({ id: node.id, hosts: hostsOf([node.client, node.peer]) }));
  const issued = await ensurePki(values.dir!, nodes, topology.name);
  if (issued.length > 0) console.log(`issued certificates for ${issued.join(', ')} in ${values.dir}`);
}

main().catch((e: unknown) => {
  console.error(`pki: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
});
