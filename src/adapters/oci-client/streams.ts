import { createReadStream } from 'node:fs';
import { finished, type Readable } from 'node:stream';

const PIECE = 1 << 20;

/** Where a blob's bytes come from: memory or a file on disk (read in pieces, never whole). */
export type BlobBytes = { data: Uint8Array } | { path: string };

/** A web stream over an async iterator, for fetch bodies (pull-based, so nothing is read ahead of the socket). */
const streamOf = (iterate: () => AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> => {
  let it: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      it ??= iterate();
      const next = await it.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await it?.return?.();
    },
  });
};

/**
 * Bytes `[start, end)` of a blob source as a fetch body, reporting each piece to `onBytes` as the
 * socket takes it. A file is streamed from disk one MiB at a time.
 */
export const bodyOf = (source: BlobBytes, start: number, end: number, onBytes?: (n: number) => void): ReadableStream<Uint8Array> =>
  streamOf(async function* () {
    if ('data' in source) {
      for (let at = start; at < end; at += PIECE) {
        const piece = source.data.subarray(at, Math.min(end, at + PIECE));
        onBytes?.(piece.length);
        yield piece;
      }
      return;
    }
    if (end <= start) return;
    for await (const chunk of createReadStream(source.path, { start, end: end - 1, highWaterMark: PIECE })) {
      const buf = chunk as Buffer;
      onBytes?.(buf.length);
      yield buf;
    }
  });

/**
 * Hands every piece of a Node stream to `take` as it arrives ('data' events: no promise per piece, as
 * async iteration would make); when `take` answers a promise the stream pauses until it settles. Resolves
 * once the stream ended and the last piece was taken; rejects (destroying the stream) when `take` throws
 * or rejects, or when the stream fails or closes before its end.
 */
export const eachPiece = (stream: Readable, take: (piece: Uint8Array) => Promise<void> | undefined): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    let waiting: Promise<void> | undefined;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      stream.destroy();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    stream.on('data', (piece: Uint8Array) => {
      if (failed) return;
      try {
        const w = take(piece);
        if (!w) return;
        stream.pause();
        waiting = w.then(() => {
          waiting = undefined;
          if (!failed) stream.resume();
        }, fail);
      } catch (e) {
        fail(e);
      }
    });
    finished(stream, (e) => {
      if (e) return fail(e);
      void (waiting ?? Promise.resolve()).then(() => failed || resolve());
    });
  });
