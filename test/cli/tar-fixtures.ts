import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';

/** One hand-made tar entry; paths and link targets are written exactly as given. */
export interface RawEntry {
  path: string;
  type?: HeaderData['type'];
  body?: string;
  linkpath?: string;
  mode?: number;
}

/**
 * Builds a gzip tarball header by header, so tests can make the malicious archives that
 * `tar.create` would never write (`../evil`, absolute paths, links out, devices).
 */
export const rawTarball = (entries: readonly RawEntry[]): Buffer => {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '', 'utf8');
    const type = e.type ?? 'File';
    const size = type === 'File' ? body.length : 0;
    const header = new Header({ path: e.path, type, size, mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644), uid: 0, gid: 0, mtime: new Date(0), linkpath: e.linkpath });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (size > 0) {
      blocks.push(body);
      const pad = (512 - (size % 512)) % 512;
      if (pad) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
};
