import { createHash } from 'node:crypto';
import { CliError } from './cli-error.js';
import type { RegistryClient } from './http-client.js';

export interface ExpectedBlob {
  /** Hex sha256, with or without a `sha256:` prefix. */
  sha256: string;
  size: number;
}

/**
 * Downloads `url` (relative URLs resolve against the registry) into memory, hashing and counting
 * bytes as they arrive: it stops as soon as more than `size` bytes come, and fails unless the
 * size and the sha256 match exactly.
 */
export const downloadVerified = async (client: RegistryClient, url: string, expected: ExpectedBlob, onChunk: (bytes: number) => void = () => undefined): Promise<Buffer> => {
  const want = expected.sha256.replace(/^sha256:/, '').toLowerCase();
  const res = await client.send('GET', url, { headers: { accept: 'application/gzip' } });
  if (!res.body) throw new CliError(`the registry sent no tarball from ${url}`);
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let received = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > expected.size) {
        throw new CliError(`the tarball is larger than the ${expected.size} bytes the registry announced; refusing it`);
      }
      hash.update(value);
      chunks.push(Buffer.from(value));
      onChunk(value.byteLength);
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    if (e instanceof CliError) throw e;
    throw new CliError(`the download of ${url} failed: ${(e as Error).message}`);
  }
  if (received !== expected.size) {
    throw new CliError(`the tarball is ${received} bytes but the registry announced ${expected.size}; refusing it`);
  }
  const got = hash.digest('hex');
  if (got !== want) throw new CliError(`sha256 mismatch: expected ${want}, got ${got}; the tarball is corrupt or was tampered with`);
  return Buffer.concat(chunks);
};
