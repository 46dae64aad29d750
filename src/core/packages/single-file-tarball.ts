import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

const BLOCK = 512;

/**
 * A `.tar.gz` holding one file at its root, built in memory: how a manifest published on its own
 * (a bare server.json) becomes a package like any other. Deterministic: the same text gives the
 * same bytes, hence the same digest.
 */
export const singleFileTarball = (path: string, text: string): Buffer => {
  const body = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(BLOCK);
  new Header({ path, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: new Date(0), type: 'File', uname: '', gname: '' }).encode(header, 0);
  const padding = Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK);
  // Two zero blocks end the archive.
  return gzipSync(Buffer.concat([header, body, padding, Buffer.alloc(2 * BLOCK)]));
};
