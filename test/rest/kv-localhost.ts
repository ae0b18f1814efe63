// *.kv.localhost resolves nowhere on these machines (NOTES.md): imported
// first, this makes dns.lookup answer 127.0.0.1 for kv.localhost and every
// name under it, as a hosts line would, so that the unmodified Azure SDKs
// reach https://{vault}.kv.localhost:{port}; every other name goes to the
// real lookup. Imported by sdk-child.ts, and preloaded with
// `node --import` into the benchmark's REST workers (scripts/bench/run.ts).

import dns from 'node:dns';

type Callback = (err: NodeJS.ErrnoException | null, address?: string | dns.LookupAddress[], family?: number) => void;

const realLookup = dns.lookup;
function lookup(hostname: string, options: unknown, callback?: unknown): void {
  const cb = (typeof options === 'function' ? options : callback) as Callback;
  const all = typeof options === 'object' && options !== null && (options as dns.LookupOptions).all === true;
  if (hostname === 'kv.localhost' || hostname.endsWith('.kv.localhost')) {
    process.nextTick(() => (all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
    return;
  }
  Reflect.apply(realLookup, dns, callback === undefined ? [hostname, options] : [hostname, options, callback]);
}
(dns as { lookup: unknown }).lookup = lookup;
