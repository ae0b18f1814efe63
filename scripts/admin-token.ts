// Writes a token of the bootstrap administrator (principal `admin`), got
// from Admin.IssueToken with the operator's certificate, to a file readable
// by its owner only: `make cluster` runs it, and the CLI reads the file by
// default. Run it again for a fresh token.
//   node dist/scripts/admin-token.js [--topology F] [--pki D] [--out cluster/.data/admin.token] [--ttl-hours 720] [--wait-ms N]

import { chmodSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { issueTokenAsOperator } from '../src/ops/issue-token.js';
import { ADMIN_PRINCIPAL } from '../src/app/bootstrap.js';
import { allNodes, loadTopology } from '../src/topology.js';
import { channelCredentials, operatorTls } from '../src/transport/tls.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topology: { type: 'string', default: 'cluster/local.json' },
      pki: { type: 'string', default: 'cluster/.data/pki' },
      out: { type: 'string', default: 'cluster/.data/admin.token' },
      principal: { type: 'string', default: ADMIN_PRINCIPAL },
      'ttl-hours': { type: 'string', default: String(30 * 24) },
      'wait-ms': { type: 'string', default: '60000' },
    },
  });
  const topology = loadTopology(values.topology!);
  const primaryFirst = [...allNodes(topology)].sort((a, b) => Number(b.region.role === 'primary') - Number(a.region.role === 'primary'));
  const { token, expiresAtMs } = await issueTokenAsOperator({
    peers: () => primaryFirst.map(({ node }) => node.peer),
    operator: channelCredentials(operatorTls(values.pki!)),
    principal: values.principal!,
    ttlMs: Number(values['ttl-hours']) * 3_600_000,
    waitMs: Number(values['wait-ms']),
    onWait: (why) => console.log(`waiting for a token (${why})`),
  });
  writeFileSync(values.out!, `${token}\n`, { mode: 0o600 });
  chmodSync(values.out!, 0o600); // a file that was there before keeps its mode otherwise
  console.log(`wrote a token of ${values.principal} to ${values.out}, valid until ${new Date(expiresAtMs).toISOString()}`);
}

main().catch((e: unknown) => {
  console.error(`admin-token: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
