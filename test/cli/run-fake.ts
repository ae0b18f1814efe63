// Runs the CLI in-process against a fake client, with a token and endpoints
// in its environment, and gives back its exit code and what it printed.

import { run, type CliClient, type CliDeps } from '../../src/cli/program.js';

export async function runWithClient(argv: string[], client: object): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const deps: Partial<CliDeps> = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env: { KEYRAFT_ENDPOINTS: '127.0.0.1:7101', KEYRAFT_TOKEN: 'test' },
    newClient: () => client as CliClient,
    localCluster: () => ({}),
  };
  const code = await run(argv, deps);
  return { code, out, err };
}
