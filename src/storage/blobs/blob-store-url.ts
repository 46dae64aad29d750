import { fileURLToPath } from 'node:url';

/** Where blobs are kept, as named by `--blob-store` / AGENTRY_BLOB_STORE. */
export type BlobStoreLocation = { kind: 'fs'; root: string } | ({ kind: 's3' } & S3BlobStoreLocation);

export interface S3BlobStoreLocation {
  bucket: string;
  /** Key prefix without leading or trailing slashes; '' for the bucket's root. */
  prefix: string;
  /** Any S3-compatible endpoint (MinIO, Ceph RGW, R2…); absent: AWS S3 of the region. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`), which most self-hosted stores need. */
  forcePathStyle: boolean;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_PARAMS = new Set(['endpoint', 'region', 'forcePathStyle']);

/**
 * Reads a blob store URL: absent → the `blobs` folder of the data dir; `file:///path` → that
 * folder; `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true` → an S3-compatible bucket.
 * Credentials never belong in the URL (they come from the AWS variables and provider chain).
 */
export const parseBlobStoreUrl = (value: string | undefined, defaultRoot: string): BlobStoreLocation => {
  if (value === undefined || value.trim() === '') return { kind: 'fs', root: defaultRoot };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`blob store must be a URL such as s3://bucket/prefix or file:///path (got '${value}')`);
  }
  if (url.username || url.password) {
    throw new Error('blob store URL must not carry credentials (user:password@): give them in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE) or the instance role');
  }
  if (url.protocol === 'file:') {
    if (url.search) throw new Error('a file:// blob store takes no query parameters');
    return { kind: 'fs', root: fileURLToPath(url) };
  }
  if (url.protocol !== 's3:') throw new Error(`blob store URL must start with s3:// or file:// (got '${url.protocol}//')`);
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) throw new Error(`blob store URL has an invalid bucket name '${bucket}' (3–63 of a-z, 0-9, '.', '-')`);
  if (url.port) throw new Error('blob store URL takes no port: give the endpoint as ?endpoint=http://host:port');
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((p) => p === '.' || p === '..') || /\/\//.test(prefix)) throw new Error(`blob store URL has an invalid prefix '${prefix}'`);
  for (const key of url.searchParams.keys()) {
    if (!S3_PARAMS.has(key)) throw new Error(`unknown blob store URL parameter '${key}' (known: ${[...S3_PARAMS].join(', ')})`);
  }
  const endpoint = url.searchParams.get('endpoint') || undefined;
  if (endpoint) {
    let e: URL;
    try {
      e = new URL(endpoint);
    } catch {
      throw new Error(`blob store endpoint must be an http(s) URL (got '${endpoint}')`);
    }
    if (e.protocol !== 'http:' && e.protocol !== 'https:') throw new Error(`blob store endpoint must be an http(s) URL (got '${endpoint}')`);
    if (e.username || e.password) throw new Error('blob store endpoint must not carry credentials');
  }
  const fps = url.searchParams.get('forcePathStyle');
  if (fps !== null && fps !== 'true' && fps !== 'false') throw new Error(`forcePathStyle must be true or false (got '${fps}')`);
  return {
    kind: 's3',
    bucket,
    prefix,
    ...(endpoint ? { endpoint } : {}),
    ...(url.searchParams.get('region') ? { region: url.searchParams.get('region') as string } : {}),
    forcePathStyle: fps === 'true',
  };
};

/** The URL without anything secret, for logs and startup lines. */
export const describeBlobStore = (loc: BlobStoreLocation): string => (loc.kind === 'fs' ? loc.root : `s3://${loc.bucket}/${loc.prefix}${loc.endpoint ? ` at ${new URL(loc.endpoint).origin}` : ''}`);
