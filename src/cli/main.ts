// The `keyraft` executable's entry (bin/keyraft imports the compiled file).

import { run } from './program.js';

// Piped into `head`, stdout closes early: that is the reader's choice, not a failure.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await run(process.argv.slice(2));
