import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./s3rver-entry.mjs', import.meta.url));

/**
 * A local S3-compatible server (s3rver: a test stand-in for AWS S3, MinIO, Ceph RGW or R2) on
 * 127.0.0.1 with a temp folder and one bucket.
 */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The environment a server reads its S3 credentials from (s3rver takes these fixed keys). */
  env: Record<string, string>;
  /** `s3://bucket/<prefix>?endpoint=…&forcePathStyle=true`: a blob store URL on this server, a fresh prefix by default. */
  url(prefix?: string): string;
  close(): Promise<void>;
}

/**
 * s3rver runs in a child process started with --openssl-legacy-provider: it makes its
 * ListObjectsV2 continuation tokens with DES, which Node 17+ (OpenSSL 3) refuses otherwise, so
 * paged listings would fail in-process.
 */
export const startTestS3 = async (): Promise<TestS3> => {
  const directory = mkdtempSync(join(tmpdir(), 'agentry-s3-'));
  const bucket = 'agentry-test';
  const child = spawn(process.execPath, ['--openssl-legacy-provider', ENTRY, directory, bucket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before it listened: ${out}`)));
    child.once('error', reject);
  });
  if (process.env.S3RVER_LOG === '1') child.stdout.pipe(process.stdout);
  else child.stdout.resume();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' },
    url: (prefix = `p-${randomBytes(6).toString('hex')}`) => `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&forcePathStyle=true`,
    close: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
};

const rfc3986 = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Whether a presigned GET URL (signature v4, `X-Amz-SignedHeaders=host`, unsigned payload) carries
 * the signature AWS S3 would compute for it with `secretAccessKey`. s3rver checks a presigned
 * URL's key and expiry but not its v4 signature, so the tests check it here, following
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html.
 */
export const presignedUrlVerifies = (url: URL, secretAccessKey: string): boolean => {
  const query = [...url.searchParams]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  if (url.searchParams.get('X-Amz-SignedHeaders') !== 'host') return false;
  const canonical = ['GET', url.pathname, query, `host:${url.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const date = url.searchParams.get('X-Amz-Date') ?? '';
  const scope = (url.searchParams.get('X-Amz-Credential') ?? '').split('/').slice(1);
  const toSign = ['AWS4-HMAC-SHA256', date, scope.join('/'), createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key = Buffer.from(`AWS4${secretAccessKey}`);
  for (const part of scope) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(toSign).digest('hex') === url.searchParams.get('X-Amz-Signature');
};
