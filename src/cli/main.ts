// The `keyraft` executable's entry (bin/keyraft imports the compiled file).

import { run } from './program.js';

// grpc-js puts an IP address in TLS's server name when an endpoint is one
// (127.0.0.1 locally), and Node warns once that RFC 6066 does not allow it
// (DEP0123). The certificate is still checked against the address; the
// warning tells a user of the CLI nothing they can act on.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (rest.includes('DEP0123')) return;
  (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

// Piped into `head`, stdout closes early: that is the reader's choice, not a failure.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await run(process.argv.slice(2));
