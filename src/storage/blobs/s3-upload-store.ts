import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { UploadStore } from '../../core/oci/ports.js';

const ID = /^[A-Za-z0-9_-]{16,64}$/;
const SESSION = 'session';
/** Chunk keys are their byte offset, zero-padded so that key order is byte order. */
const OFFSET_DIGITS = 16;
const PART_BYTES = 8 * 1024 * 1024;

interface Chunk {
  key: string;
  offset: number;
  size: number;
}

/**
 * Partial OCI blob uploads in the object store, beside the blobs: every chunk is an object
 * `<prefix>/uploads/<id>/<offset>`, and `<prefix>/uploads/<id>/session` marks the upload as
 * started. A chunk's object appears whole or not at all, so an upload's size is the sum of its
 * chunks and any process sharing the bucket (and the database holding the session) can take the
 * next chunk or finish the upload.
 */
export class S3UploadStore implements UploadStore {
  private readonly base: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    prefix: string,
  ) {
    this.base = `${prefix ? `${prefix}/` : ''}uploads/`;
  }

  async create(id: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(id, SESSION), Body: Buffer.alloc(0), ContentLength: 0 }));
  }

  async size(id: string): Promise<number | undefined> {
    const found = await this.chunks(id);
    return found && found.reduce((n, c) => n + c.size, 0);
  }

  async append(id: string, data: Readable): Promise<number> {
    const size = await this.size(id);
    if (size === undefined) throw new Error(`no upload ${id}`);
    let received = 0;
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of data as AsyncIterable<Buffer>) {
          received += chunk.length;
          yield chunk;
        }
      })(),
    );
    const key = this.keyOf(id, String(size).padStart(OFFSET_DIGITS, '0'));
    try {
      await new Upload({ client: this.client, params: { Bucket: this.bucket, Key: key, Body: counted }, partSize: PART_BYTES, queueSize: 2, leavePartsOnError: false }).done();
    } catch (e) {
      // The body's own failure is the cause (the upload's abort may fail on top of it).
      throw data.errored ?? counted.errored ?? e;
    }
    if (received === 0) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    return size + received;
  }

  async truncate(id: string, size: number): Promise<void> {
    for (const c of (await this.chunks(id)) ?? []) {
      if (c.offset >= size) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: c.key }));
      } else if (c.offset + c.size > size) {
        // The cut falls inside this chunk: keep its first bytes only.
        const keep = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: c.key, Range: `bytes=0-${size - c.offset - 1}` }));
        const bytes = Buffer.from((await keep.Body?.transformToByteArray()) ?? []);
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: c.key, Body: bytes, ContentLength: bytes.length }));
      }
    }
  }

  async open(id: string): Promise<Readable> {
    const found = await this.chunks(id);
    if (!found) throw Object.assign(new Error(`no upload ${id}`), { code: 'ENOENT' });
    const { client, bucket } = this;
    return Readable.from(
      (async function* () {
        for (const c of found) {
          if (c.size === 0) continue;
          const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: c.key }));
          if (got.Body instanceof Readable) yield* got.Body;
          else if (got.Body) yield Buffer.from(await got.Body.transformToByteArray());
        }
      })(),
    );
  }

  async delete(id: string): Promise<void> {
    for (const key of await this.keys(id)) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** The upload's chunks in byte order; undefined when the upload was never started (or is gone). */
  private async chunks(id: string): Promise<Chunk[] | undefined> {
    const dir = this.keyOf(id, '');
    let started = false;
    const out: Chunk[] = [];
    for (const o of await this.objects(id)) {
      const name = o.key.slice(dir.length);
      if (name === SESSION) started = true;
      else if (/^\d+$/.test(name)) out.push({ key: o.key, offset: Number(name), size: o.size });
    }
    return started ? out.sort((a, b) => a.offset - b.offset) : undefined;
  }

  private async keys(id: string): Promise<string[]> {
    return (await this.objects(id)).map((o) => o.key);
  }

  private async objects(id: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyOf(id, ''), ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private keyOf(id: string, name: string): string {
    if (!ID.test(id)) throw new Error(`invalid upload id ${id}`);
    return `${this.base}${id}/${name}`;
  }
}
