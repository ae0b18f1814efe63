// What sdk-child.ts's `serve` mode and its callers send each other: JSON,
// with bytes as {"$bytes": base64} and Dates as {"$date": ms}; functions
// and undefined members left out.

export function encode(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') };
  if (v instanceof Date) return { $date: v.getTime() };
  if (Array.isArray(v)) return v.map(encode);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x !== 'function' && x !== undefined).map(([k, x]) => [k, encode(x)]));
  }
  return v;
}

/** The inverse of encode: bytes come back as Buffers (a Uint8Array to the SDK), times as Dates. */
export function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o['$bytes'] === 'string') return Buffer.from(o['$bytes'], 'base64');
    if (typeof o['$date'] === 'number') return new Date(o['$date']);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}
