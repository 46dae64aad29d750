import { createHash, randomBytes } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobUrlSigner } from '../../core/blobs/blob-redirects.js';
import type { BlobInfo, BlobStore, ByteRange } from '../../core/blobs/blob-store.js';
import type { S3BlobStoreLocation } from './blob-store-url.js';
import { S3UploadStore } from './s3-upload-store.js';

const DIGEST = /^sha256:([a-f0-9]{64})$/;
/** Parts of a streamed upload: big enough for few requests, small enough to hold a few in memory. */
const PART_BYTES = 16 * 1024 * 1024;
const QUEUE = 4;
/** One CopyObject copies at most 5 GiB; bigger objects are copied part by part. */
const COPY_LIMIT = 5 * 1024 ** 3;
const COPY_PART_BYTES = 512 * 1024 ** 2;
/** Temporary objects older than this were left by a crashed process (no upload takes this long). */
const STALE_TMP_MS = 24 * 3600 * 1000;

export interface S3BlobStoreOptions extends S3BlobStoreLocation {
  /** Static credentials; absent: the AWS SDK's default provider chain (env, profile, SSO, IMDS, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Keys per ListObjectsV2 page (S3's maximum and default: 1,000). */
  listPageSize?: number;
}

/**
 * Blobs as objects `<prefix>/sha256/<64 hex>` in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW,
 * Cloudflare R2). A write streams to `<prefix>/tmp/<random>` (a multipart upload for large
 * bodies) while its sha256 is computed, then is copied to its content address and the temporary
 * object removed: a blob appears whole or not at all, and a failed write leaves nothing behind.
 * Identical content is stored once.
 */
export class S3BlobStore implements BlobStore, BlobUrlSigner {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly listPageSize: number;

  constructor(opts: S3BlobStoreOptions) {
    const config: S3ClientConfig = {
      forcePathStyle: opts.forcePathStyle,
      // Checksums only where S3 requires them: we hash every body ourselves, and several
      // S3-compatible stores do not understand the SDK's default trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.region) config.region = opts.region;
    if (opts.credentials) config.credentials = opts.credentials;
    this.client = new S3Client(config);
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? `${opts.prefix}/` : '';
    this.listPageSize = opts.listPageSize ?? 1000;
  }

  /** Checks that the bucket answers with these credentials, and clears temporary objects left by crashes. */
  async init(): Promise<this> {
    const cutoff = Date.now() - STALE_TMP_MS;
    try {
      for await (const obj of this.objects(`${this.prefix}tmp/`)) {
        if (obj.modifiedAt.getTime() < cutoff) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: obj.key }));
      }
    } catch (e) {
      throw new Error(`the S3 blob store s3://${this.bucket}/${this.prefix} cannot be listed: ${describe(e)}`);
    }
    return this;
  }

  /** Writes and removes a probe object where blobs are written first: the bucket takes writes now. */
  async checkWritable(): Promise<void> {
    const probe = `${this.prefix}tmp/probe-${Date.now()}-${randomBytes(8).toString('hex')}`;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'ready\n', ContentLength: 6 }));
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe })).catch(() => undefined);
    }
  }

  async put(data: Buffer | Readable): Promise<{ digest: string; size: number; created: boolean }> {
    if (Buffer.isBuffer(data)) {
      const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      if (await this.stat(digest)) return { digest, size: data.length, created: false };
      // A single PUT is atomic: the object appears whole or not at all.
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest), Body: data, ContentLength: data.length }));
      return { digest, size: data.length, created: true };
    }
    const tmp = `${this.prefix}tmp/${Date.now()}-${randomBytes(8).toString('hex')}`;
    const hash = createHash('sha256');
    let size = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    // pipeline: a failing source fails the upload, and a failing upload releases the source.
    pipeline(data, hashing, () => undefined);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: tmp, Body: hashing },
      partSize: PART_BYTES,
      queueSize: QUEUE,
      leavePartsOnError: false,
    });
    try {
      try {
        await upload.done();
      } catch (e) {
        // The body's own failure is the cause (the upload's abort may fail on top of it).
        throw data.errored ?? hashing.errored ?? e;
      }
      // The source may fail after its last byte reached the upload; never store a torn body.
      if (data.errored) throw data.errored;
      const digest = `sha256:${hash.digest('hex')}`;
      if (await this.stat(digest)) return { digest, size, created: false };
      await this.copy(tmp, this.keyOf(digest), size);
      return { digest, size, created: true };
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tmp })).catch(() => undefined);
    }
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    if (!DIGEST.test(digest)) return undefined;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }));
      return { digest, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async open(digest: string, range?: ByteRange): Promise<Readable> {
    const got = await this.get(digest, range);
    const body = got.Body;
    if (body instanceof Readable) return body;
    if (!body) return Readable.from([]);
    return Readable.from(Buffer.from(await body.transformToByteArray()));
  }

  async read(digest: string): Promise<Buffer> {
    const got = await this.get(digest);
    return got.Body ? Buffer.from(await got.Body.transformToByteArray()) : Buffer.alloc(0);
  }

  async delete(digest: string): Promise<boolean> {
    if (!(await this.stat(digest))) return false;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }));
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    const base = `${this.prefix}sha256/`;
    for await (const obj of this.objects(base)) {
      const digest = `sha256:${obj.key.slice(base.length)}`;
      if (DIGEST.test(digest)) yield { digest, size: obj.size, modifiedAt: obj.modifiedAt };
    }
  }

  /**
   * A presigned GET of the blob's object, valid `expiresInSeconds`: the client fetches the bytes
   * from the bucket itself (Range included). Signing is local: no request to the store.
   */
  async signedGetUrl(digest: string, opts: { expiresInSeconds: number; contentType?: string; cacheControl?: string }): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.keyOf(digest),
      ...(opts.contentType ? { ResponseContentType: opts.contentType } : {}),
      ...(opts.cacheControl ? { ResponseCacheControl: opts.cacheControl } : {}),
    });
    return getSignedUrl(this.client, command, { expiresIn: opts.expiresInSeconds });
  }

  /** OCI upload sessions in the same bucket, under `<prefix>/uploads/`. */
  uploadStore(): S3UploadStore {
    return new S3UploadStore(this.client, this.bucket, this.prefix.replace(/\/$/, ''));
  }

  close(): void {
    this.client.destroy();
  }

  /** Keys of temporary objects (writes in progress or left by a crash). */
  async *temporaryKeys(): AsyncIterable<string> {
    for await (const o of this.objects(`${this.prefix}tmp/`)) yield o.key;
  }

  /** Every object under `prefix`, page by page (ListObjectsV2 returns at most 1,000 at a time). */
  private async *objects(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.listPageSize }));
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async get(digest: string, range?: ByteRange) {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
    } catch (e) {
      if (isNotFound(e)) throw Object.assign(new Error(`blob ${digest} not found`), { code: 'ENOENT' });
      throw e;
    }
  }

  /** Server-side copy: one CopyObject up to 5 GiB, a multipart copy above. */
  private async copy(from: string, to: string, size: number): Promise<void> {
    const source = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    if (size <= COPY_LIMIT) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }));
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (let start = 0, n = 1; start < size; start += COPY_PART_BYTES, n++) {
        const end = Math.min(size, start + COPY_PART_BYTES) - 1;
        const part = await this.client.send(new UploadPartCopyCommand({ Bucket: this.bucket, Key: to, UploadId, PartNumber: n, CopySource: source, CopySourceRange: `bytes=${start}-${end}` }));
        parts.push({ ETag: part.CopyPartResult?.ETag ?? '', PartNumber: n });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (e) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId })).catch(() => undefined);
      throw e;
    }
  }

  private keyOf(digest: string): string {
    const m = DIGEST.exec(digest);
    if (!m) throw new Error(`invalid digest ${digest}`);
    return `${this.prefix}sha256/${m[1]}`;
  }
}

const isNotFound = (e: unknown): boolean => e instanceof S3ServiceException && (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata.httpStatusCode === 404);

/** An SDK error without its request details (which may carry signed URLs). */
const describe = (e: unknown): string => (e instanceof S3ServiceException ? `${e.name} (HTTP ${e.$metadata.httpStatusCode ?? '?'})` : e instanceof Error ? e.message : String(e));
