import { randomBytes } from 'node:crypto';

/** A text field or a file of a multipart/form-data body. */
export type MultipartPart = { name: string; value: string } | { name: string; filename: string; contentType: string; data: Uint8Array };

export interface MultipartBody {
  /** The body, streamed in chunks so a progress bar can follow it. */
  stream: ReadableStream<Uint8Array>;
  contentType: string;
  /** Exact size of the body in bytes (sent as Content-Length). */
  length: number;
}

const CHUNK = 64 * 1024;

const quote = (s: string): string => s.replace(/["\\\r\n]/g, (c) => (c === '"' ? '%22' : c === '\\' ? '\\\\' : ''));

/**
 * Builds a multipart/form-data body with a known length. `onChunk(n)` is called as each chunk
 * is pulled by the consumer, which is how the upload progress is measured.
 */
export const buildMultipartBody = (parts: readonly MultipartPart[], onChunk: (bytes: number) => void = () => undefined): MultipartBody => {
  const boundary = `----agentry${randomBytes(12).toString('hex')}`;
  const pieces: Uint8Array[] = [];
  for (const part of parts) {
    const headers =
      'data' in part
        ? `Content-Disposition: form-data; name="${quote(part.name)}"; filename="${quote(part.filename)}"\r\nContent-Type: ${part.contentType}\r\n`
        : `Content-Disposition: form-data; name="${quote(part.name)}"\r\n`;
    pieces.push(Buffer.from(`--${boundary}\r\n${headers}\r\n`, 'utf8'));
    pieces.push('data' in part ? part.data : Buffer.from(part.value, 'utf8'));
    pieces.push(Buffer.from('\r\n', 'utf8'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  const length = pieces.reduce((n, p) => n + p.byteLength, 0);

  let piece = 0;
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      while (piece < pieces.length && offset >= pieces[piece].byteLength) {
        piece += 1;
        offset = 0;
      }
      if (piece >= pieces.length) {
        controller.close();
        return;
      }
      const current = pieces[piece];
      const chunk = current.subarray(offset, Math.min(current.byteLength, offset + CHUNK));
      offset += chunk.byteLength;
      controller.enqueue(chunk);
      onChunk(chunk.byteLength);
    },
  });
  return { stream, contentType: `multipart/form-data; boundary=${boundary}`, length };
};
