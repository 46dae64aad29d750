import { PassThrough } from 'node:stream';

/** A log stream for a test server that hands each complete line to `onLine` (a line split across writes is joined first). */
export const logLines = (onLine: (line: string) => void): PassThrough => {
  const stream = new PassThrough();
  let rest = '';
  stream.on('data', (c: Buffer) => {
    const parts = (rest + c.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) onLine(l);
  });
  return stream;
};
