import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create } from 'tar';

/**
 * A gzip tarball (portable headers, sorted paths) of in-memory files, for packages the core assembles
 * itself. With `mtime` every entry carries that time, so the same files always make the same bytes.
 */
export const tarballOf = async (files: Array<{ path: string; data: Buffer | string }>, mtime?: Date): Promise<Buffer> => {
  const dir = await mkdtemp(join(tmpdir(), 'agentry-pack-'));
  try {
    for (const f of files) {
      await mkdir(dirname(join(dir, f.path)), { recursive: true });
      await writeFile(join(dir, f.path), f.data);
    }
    const chunks: Buffer[] = [];
    const stream = create({ gzip: true, cwd: dir, portable: true, ...(mtime ? { mtime } : {}) }, files.map((f) => f.path).sort());
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
