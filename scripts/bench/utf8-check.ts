// What the server's UTF-8 check of string fields (src/server/api.ts) adds to
// decoding a SetSecret: a measurement to print, not a test to pass.
//   node dist/scripts/bench/utf8-check.js

import { apiClient, apiService } from '../../src/server/api.js';

const definition = apiClient('Secrets').service['SetSecret']!;
const plain = definition.requestDeserialize;
const checked = apiService('Secrets')['SetSecret']!.requestDeserialize;

/** Mean µs per decode over `n` calls. */
function time(decode: (b: Buffer) => unknown, bytes: Buffer, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) decode(bytes);
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

for (const [what, value, n] of [
  ['32 B ASCII', 'p'.repeat(32), 5_000],
  ['256 B ASCII', 'p'.repeat(256), 5_000],
  ['256 B non-ASCII', 'ü'.repeat(128), 5_000],
  ['25 KiB ASCII', 'p'.repeat(25 * 1024), 500],
] as const) {
  const bytes = definition.requestSerialize({ vault: 'app', name: 'db-password', value, tags: { env: 'prod' } });
  for (let i = 0; i < 5 * n; i++) (plain(bytes), checked(bytes));
  // The fastest of interleaved rounds: other processes share these cores.
  let base = Infinity;
  let withCheck = Infinity;
  for (let round = 0; round < 15; round++) {
    base = Math.min(base, time(plain, bytes, n));
    withCheck = Math.min(withCheck, time(checked, bytes, n));
  }
  console.log(`SetSecret decode, ${what}: ${base.toFixed(2)} µs without the check, ${withCheck.toFixed(2)} µs with it`);
}
