// Where the .proto files are, for code running from src/ (tests) or dist/src/.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Options as LoaderOptions } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

function findProtoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'keyraft'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the proto/ folder above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export const PROTO_ROOT = findProtoRoot();

/** A protobufjs root holding the given files (paths relative to proto/). */
export function loadProtoRoot(...files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(PROTO_ROOT, target));
  root.loadSync(files, { keepCase: false });
  root.resolveAll();
  return root;
}

/** The public API's files (package keyraft.v1). */
export const API_FILES = ['keyraft/v1/vaults.proto', 'keyraft/v1/secrets.proto', 'keyraft/v1/keys.proto', 'keyraft/v1/cluster.proto'];

/**
 * How every side (server, SDK, peers) loads services with proto-loader, so
 * all see the same shapes: camelCase, int64 as number, enums as strings,
 * defaults filled in.
 */
export const GRPC_LOADER_OPTIONS: LoaderOptions = {
  includeDirs: [PROTO_ROOT],
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};
