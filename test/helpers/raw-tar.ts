import { gzipSync } from 'node:zlib';

/**
 * A hand-rolled tar writer for hostile archives. Normal tools (and `tar.create`) sanitise
 * paths, drop device files and refuse links that leave the tree; this one writes exactly the
 * headers it is given, so tests can build the archives an attacker would.
 */
export type RawEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'pax' | 'gnu-longname' | 'sparse';

export interface RawEntry {
  path: string;
  type?: RawEntryType;
  /** File content (files, pax records, GNU long names). */
  body?: string | Buffer;
  /** Link target (symlinks and hard links). */
  linkpath?: string;
  /** Overrides the size field (to lie about the size, e.g. for a truncated archive). */
  size?: number;
  mode?: number;
}

const TYPEFLAG: Record<RawEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  pax: 'x',
  'gnu-longname': 'L',
  sparse: 'S',
};

const octal = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0';

/** One 512-byte ustar header. Names longer than 100 bytes are cut (use a pax or GNU entry before it). */
export const tarHeader = (e: RawEntry): Buffer => {
  const type = e.type ?? 'file';
  const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0));
  const size = e.size ?? (type === 'file' || type === 'pax' || type === 'gnu-longname' || type === 'sparse' ? body.length : 0);
  const h = Buffer.alloc(512);
  h.write(e.path.slice(0, 100), 0, 100, 'utf8');
  h.write(octal(e.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(1_700_000_000, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write(TYPEFLAG[type], 156, 1, 'ascii');
  if (e.linkpath) h.write(e.linkpath.slice(0, 100), 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  if (type === 'char' || type === 'block') {
    h.write(octal(1, 8), 329, 8, 'ascii');
    h.write(octal(3, 8), 337, 8, 'ascii');
  }
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
};

const pad = (b: Buffer): Buffer => (b.length % 512 === 0 ? b : Buffer.concat([b, Buffer.alloc(512 - (b.length % 512))]));

/** A pax extended header record: `<len> <key>=<value>\n`, where len counts itself. */
export const paxRecord = (key: string, value: string): string => {
  const rest = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(rest) + 1;
  while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
  return `${len}${rest}`;
};

/** The raw (uncompressed) tar stream of the entries, with the two zero end blocks unless `end: false`. */
export const rawTar = (entries: RawEntry[], opts: { end?: boolean } = {}): Buffer => {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : e.body;
    if (body && body.length > 0) parts.push(pad(body));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
};

/** The entries as a .tar.gz. */
export const rawTarGz = (entries: RawEntry[], opts: { end?: boolean } = {}): Buffer => gzipSync(rawTar(entries, opts));

/** A valid agent.yaml, as a raw file entry. */
export const agentYamlEntry = (o: { name: string; version: string; scope: string }): RawEntry => ({
  path: 'agent.yaml',
  body: `name: ${o.name}\nversion: ${o.version}\ndescription: A test agent\nauthor: "@${o.scope}"\nlicense: MIT\n`,
});
