import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { Pack, Parser, type ReadEntry } from 'tar';
import { AgentryError, badRequest, payloadTooLarge } from '../errors.js';

/**
 * The one way gzip data is inflated anywhere in Agentry (package tarballs of every kind, skill and
 * recipe bundles, managed skills, package layers pushed over OCI, and the CLI's extraction).
 *
 * Inflation streams: zlib works chunk by chunk off the main thread, each chunk is handed on and
 * dropped, and a running count of expanded bytes stops it (413) the moment it passes the limit. A
 * 300 KB gzip bomb that expands to gigabytes therefore never holds more than a chunk or two in memory
 * and never blocks the event loop for longer than one chunk's worth of tar parsing. A small archive
 * (most packages: a few KB) is inflated in one synchronous step instead, its output capped at
 * SMALL_OUTPUT (a fraction of a millisecond of work); one that expands past that is streamed as above.
 */

/** Output chunk of the inflater; memory held per request is a small multiple of it. */
const CHUNK_BYTES = 16 * 1024;
/** Input is handed to zlib in slices this big, so one write never expands into a huge buffer. */
const INPUT_SLICE = 16 * 1024;

/** Archives up to this size are tried in one synchronous inflation, of at most SMALL_OUTPUT bytes. */
const SMALL_INPUT = 16 * 1024;
const SMALL_OUTPUT = 256 * 1024;

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const startsWith = (b: Buffer, magic: number[]): boolean => b.length >= magic.length && magic.every((m, i) => b[i] === m);

export const isGzip = (b: Buffer): boolean => startsWith(b, GZIP_MAGIC);

/**
 * At most this many archives are inflated at once in a process; others wait their turn. Inflation
 * is CPU work on libuv's threads: unbounded, a burst of bombs would starve the event loop of CPU
 * and pile up garbage faster than it is collected.
 */
const MAX_CONCURRENT = 2;
let running = 0;
const waiting: Array<() => void> = [];
const acquire = async (): Promise<void> => {
  if (running < MAX_CONCURRENT) {
    running += 1;
    return;
  }
  await new Promise<void>((resolve) => waiting.push(resolve));
};
const release = (): void => {
  const next = waiting.shift();
  if (next) next();
  else running -= 1;
};

function* slices(b: Buffer): Generator<Buffer> {
  for (let i = 0; i < b.length; i += INPUT_SLICE) yield b.subarray(i, i + INPUT_SLICE);
}

/**
 * Inflates `gz` chunk by chunk. Throws 400 when it is not gzip or is corrupt or truncated, 413 as
 * soon as the expanded bytes pass `maxBytes` (inflation stops there).
 */
export async function* gunzipBounded(gz: Buffer, maxBytes: number, what = 'The tarball'): AsyncGenerator<Buffer> {
  if (!isGzip(gz)) {
    throw badRequest(`${what} is not gzip-compressed`, ['tarball: expected a .tar.gz file (gzip magic bytes 1f 8b)']);
  }
  const small = gz.length <= SMALL_INPUT ? inflateSmall(gz, Math.min(maxBytes + 1, SMALL_OUTPUT), what) : undefined;
  if (small) {
    if (small.length > maxBytes) throw payloadTooLarge(`${what} expands beyond the limit of ${maxBytes} bytes`);
    for (let i = 0; i < small.length; i += CHUNK_BYTES) yield small.subarray(i, i + CHUNK_BYTES);
    return;
  }
  await acquire();
  const inflater = createGunzip({ chunkSize: CHUNK_BYTES });
  const source = Readable.from(slices(gz), { objectMode: false, highWaterMark: INPUT_SLICE });
  source.on('error', (e) => inflater.destroy(e));
  source.pipe(inflater);
  let total = 0;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw payloadTooLarge(`${what} expands beyond the limit of ${maxBytes} bytes`);
      yield chunk;
    }
  } catch (e) {
    if (e instanceof AgentryError) throw e;
    const reason = e instanceof Error ? e.message : 'decompression failed';
    throw badRequest(`${what} is corrupt or truncated`, [`tarball: ${reason}`]);
  } finally {
    source.unpipe(inflater);
    source.destroy();
    inflater.destroy();
    release();
  }
}

/**
 * A small gzip inflated at once, when it expands to at most `cap` bytes; undefined when it expands
 * further (the caller streams it instead). Corrupt or truncated data is refused as when streamed.
 */
const inflateSmall = (gz: Buffer, cap: number, what: string): Buffer | undefined => {
  try {
    return gunzipSync(gz, { chunkSize: CHUNK_BYTES, maxOutputLength: cap });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    const reason = e instanceof Error ? e.message : 'decompression failed';
    throw badRequest(`${what} is corrupt or truncated`, [`tarball: ${reason}`]);
  }
};

export interface TarReadHandlers {
  /** Every entry, in archive order; consume or `resume()` its data. `stop` ends the read with that error. */
  onEntry(entry: ReadEntry, stop: (e: Error) => void): void;
  /** Entries the parser skips (unknown types, oversized metadata). */
  onIgnored?(entry: ReadEntry): void;
  /** The parser's warnings (bad headers, checksums). */
  onWarn?(message: string): void;
}

/**
 * Reads the entries of a gzip tarball through `gunzipBounded`, with the parser fed one chunk at a
 * time (and waited for when it asks). A handler may `stop` the read early, say when the declared
 * sizes already pass a limit. A tar nested in a second layer of compression is refused: the parser
 * would otherwise inflate it itself, unbounded.
 */
export const walkTarGz = async (gz: Buffer, maxUnpackedBytes: number, handlers: TarReadHandlers, what = 'The tarball'): Promise<void> => {
  let stopped: Error | undefined;
  const stop = (e: Error): void => void (stopped ??= e);
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => handlers.onEntry(entry, stop),
    brotli: false,
    zstd: false,
    onwarn: (_code: string, message: string | Error) => handlers.onWarn?.(typeof message === 'string' ? message : message.message),
  });
  if (handlers.onIgnored) parser.on('ignoredEntry', handlers.onIgnored);
  let parserError: Error | undefined;
  // After the end-of-archive blocks the parser keeps (and re-concatenates) whatever it is given:
  // from then on the rest is only inflated and counted, so a bomb hidden there still meets the limit.
  let sawEof = false;
  parser.on('eof', () => (sawEof = true));
  const ended = new Promise<void>((resolve) => {
    parser.on('end', () => resolve());
    parser.on('error', (e: Error) => {
      parserError ??= e;
      resolve();
    });
  });
  let first = true;
  for await (const chunk of gunzipBounded(gz, maxUnpackedBytes, what)) {
    if (first) {
      first = false;
      if (startsWith(chunk, GZIP_MAGIC) || startsWith(chunk, ZSTD_MAGIC)) {
        throw badRequest(`${what} is compressed twice`, ['tarball: a .tar.gz holds a tar archive, not another compressed file']);
      }
    }
    if (sawEof) continue;
    const ok = parser.write(chunk);
    if (stopped || parserError) break;
    if (!ok) await Promise.race([once(parser, 'drain'), ended]);
    if (stopped || parserError) break;
  }
  if (stopped) throw stopped;
  if (!parserError) {
    parser.end();
    await ended;
  }
  if (stopped) throw stopped;
  if (parserError) throw badRequest(`${what} is corrupt`, [`tarball: ${parserError.message}`]);
};

/** setuid, setgid and sticky: never kept in a stored or extracted entry. */
export const SPECIAL_MODE_BITS = 0o7000;

export const hasSpecialModeBits = (entry: { mode?: number }): boolean => ((entry.mode ?? 0) & SPECIAL_MODE_BITS) !== 0;

/**
 * The same gzip tarball with setuid, setgid and sticky bits cleared from every entry: entries,
 * paths, links, contents and times unchanged, headers rewritten. Read through the same bounded walk.
 */
export const repackWithoutSpecialBits = (gz: Buffer, maxUnpackedBytes: number, what?: string): Promise<Buffer> =>
  packToBuffer({ portable: false }, (pack) =>
    walkTarGz(
      gz,
      maxUnpackedBytes,
      {
        onEntry: (entry) => {
          if (entry.mode !== undefined) entry.mode &= ~SPECIAL_MODE_BITS;
          pack.add(entry);
        },
      },
      what,
    ),
  );

/** A gzip tarball built in memory: `fill` adds the entries to the pack; the bytes once it has ended. */
export const packToBuffer = async (opts: { portable: boolean }, fill: (pack: Pack) => Promise<void> | void): Promise<Buffer> => {
  const pack = new Pack({ gzip: true, portable: opts.portable, noDirRecurse: true });
  const out: Buffer[] = [];
  pack.on('data', (c: Buffer) => out.push(c));
  const finished = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  await fill(pack);
  pack.end();
  await finished;
  return Buffer.concat(out);
};
