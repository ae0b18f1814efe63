// Seeds the data folders of a new cluster from a snapshot file (see
// src/ops/restore.ts); scripts/restore-cluster.sh runs it, then starts the
// cluster. Every node must be stopped.
//
//   node dist/scripts/restore-snapshot.js --file F [--topology cluster/local.json]
//     [--master-key cluster/.data/master.key] [--data-root cluster/.data] [--force]

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMasterKey } from '../src/crypto/masterkey.js';
import { restrictFileModes } from '../src/file-modes.js';
import { restoreCluster } from '../src/ops/restore.js';
import { loadTopology } from '../src/topology.js';

async function main(): Promise<void> {
  // It writes LevelDB files into nodes' data folders: as private as the nodes' own.
  restrictFileModes();
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      topology: { type: 'string', default: 'cluster/local.json' },
      'master-key': { type: 'string', default: 'cluster/.data/master.key' },
      'data-root': { type: 'string', default: 'cluster/.data' },
      force: { type: 'boolean', default: false },
    },
  });
  if (values.file === undefined) throw new Error('usage: restore-snapshot.js --file F [--topology T] [--master-key K] [--data-root D] [--force]');
  const root = values['data-root']!;
  const { header, seeded } = await restoreCluster({
    file: values.file,
    masterKey: loadMasterKey(values['master-key']!),
    topology: loadTopology(values.topology!),
    dataDir: (id) => join(root, id),
    force: values.force!,
    log: (line) => console.log(line),
  });
  console.log(`restored index ${header.index} (term ${header.term}, ${header.records} records) into ${seeded.join(', ')}; the secondary region catches up from them`);
}

main().catch((e: unknown) => {
  console.error(`restore-snapshot: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
