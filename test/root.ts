// The repository's root, for tests that run scripts or read files beside the
// sources. Tests run from their TypeScript sources (npx tap test/x.test.ts)
// or compiled under dist/ (make test), so it cannot be a path relative to
// the test file; the proto/ folder is found by walking up from either.

import { dirname } from 'node:path';
import { PROTO_ROOT } from '../src/protos.js';

export const ROOT = dirname(PROTO_ROOT);
