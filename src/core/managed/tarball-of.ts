import { Header, ReadEntry } from 'tar';
import { packToBuffer } from '../archives/bounded-gunzip.js';

/**
 * A gzip tarball (portable headers, sorted paths) of in-memory files, for packages the core assembles
 * itself, built in memory (no temporary folder: the core does no disk I/O). Each file is a regular
 * file of mode 0644 dated `mtime` (else now), so the same files with the same `mtime` always make
 * the same bytes. A path given twice is written twice, with the content given last.
 */
export const tarballOf = async (files: Array<{ path: string; data: Buffer | string }>, mtime?: Date): Promise<Buffer> => {
  const at = mtime ?? new Date();
  const content = new Map(files.map((f) => [f.path, typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data]));
  return packToBuffer({ portable: true }, (pack) => {
    for (const path of files.map((f) => f.path).sort()) {
      const data = content.get(path)!;
      const entry = new ReadEntry(new Header({ path, mode: 0o644, size: data.length, mtime: at, type: 'File' }));
      pack.add(entry);
      entry.end(data);
    }
  });
};
