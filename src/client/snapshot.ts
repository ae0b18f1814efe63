// A snapshot stream written to a file the way an operator needs it: never a
// partial file under the final name, and readable by its owner only (the
// file is encrypted, but it is the whole vault).

import { open, rename, unlink } from 'node:fs/promises';
import type { SnapshotChunk, SnapshotSummary } from './types.js';

export async function writeSnapshotFile(
  file: string,
  chunks: AsyncIterable<SnapshotChunk>,
  onProgress?: (bytes: number, chunk: SnapshotChunk) => void,
): Promise<SnapshotSummary> {
  const part = `${file}.part`;
  // 'w' with mode 0600 creates it so; an old .part (an interrupted save) is truncated and reused.
  const fh = await open(part, 'w', 0o600);
  let summary: SnapshotSummary = { file, index: 0, term: 0, recordCount: 0, bytes: 0 };
  try {
    await fh.chmod(0o600);
    for await (const chunk of chunks) {
      await fh.write(chunk.data);
      summary = { file, index: chunk.index, term: chunk.term, recordCount: chunk.recordCount, bytes: summary.bytes + chunk.data.length };
      onProgress?.(summary.bytes, chunk);
    }
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(part).catch(() => undefined);
    throw e;
  }
  await rename(part, file);
  return summary;
}
