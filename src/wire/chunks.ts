// How a snapshot of the applied state travels: its records in chunks of a
// bounded size, on the peer stream (src/transport) and the geo stream
// (src/geo) alike.

/**
 * Records grouped into chunks of about `maxBytes` (keys and values), the last
 * one marked done: how both snapshot streams (peer and geo) carry the state.
 */
export async function* recordChunks(
  records: AsyncIterable<[string, Uint8Array]>,
  maxBytes: number,
): AsyncGenerator<{ records: { key: string; value: Uint8Array }[]; done: boolean }> {
  let chunk: { key: string; value: Uint8Array }[] = [];
  let bytes = 0;
  for await (const [key, value] of records) {
    chunk.push({ key, value });
    bytes += key.length + value.length;
    if (bytes >= maxBytes) {
      yield { records: chunk, done: false };
      chunk = [];
      bytes = 0;
    }
  }
  yield { records: chunk, done: true };
}
