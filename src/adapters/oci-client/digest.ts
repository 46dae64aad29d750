import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** `sha256:<64 hex>` or `sha512:<128 hex>`: the digests the client can compute and verify. */
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export const isDigest = (value: string): boolean => DIGEST.test(value);

/** The name of the hash function a digest was made with. Call only on a value `isDigest` accepted. */
export const hashAlgorithmOf = (digest: string): 'sha256' | 'sha512' => (digest.startsWith('sha512:') ? 'sha512' : 'sha256');

/** The hash function a digest was made with. Call only on a value `isDigest` accepted. */
export const hasherFor = (digest: string): Hash => createHash(hashAlgorithmOf(digest));

export const sha256Digest = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Hashes a file by streaming it (never holding it whole): its sha256 digest and size. */
export const digestFile = async (path: string, onBytes?: (n: number) => void): Promise<{ digest: string; size: number }> => {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
    onBytes?.(buf.length);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
};

/** `sha256:abc…` → `sha256-abc…`: the referrers tag schema, and a safe file name. */
export const digestToTag = (digest: string): string => digest.replace(':', '-');
