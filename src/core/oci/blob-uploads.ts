import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Storage } from '../storage.js';
import { isoNow, type Clock } from '../time.js';
import type { OciAccess, OciContext } from './access.js';
import { ociError } from './oci-errors.js';
import type { OciUploadRecord, UploadStore } from './ports.js';
import { requireSha256, type RepositoryName } from './references.js';

/** A chunk's position as `Content-Range: <start>-<end>` gives it (inclusive). */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface UploadState {
  id: string;
  /** Bytes received so far. */
  size: number;
}

export interface CommittedBlob {
  digest: string;
  size: number;
}

/** An upload session not finished within this many days is abandoned: gc removes it. */
export const UPLOAD_SESSION_DAYS = 7;

/** Running sha256 of an upload, kept while this process received every byte of it in order. */
interface RunningHash {
  hash: Hash;
  offset: number;
}

/**
 * Blob upload sessions (push): monolithic, chunked and streamed. Bytes grow on disk in the
 * upload store; the digest is computed while they stream and checked before the blob enters
 * the content-addressed store, so a wrong digest never lands there.
 */
export class BlobUploads {
  private readonly hashes = new Map<string, RunningHash>();
  /** One request at a time per upload (in this process): chunks must not interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly storage: Storage,
    private readonly blobs: BlobStore,
    private readonly uploads: UploadStore | undefined,
    private readonly access: OciAccess,
    private readonly clock: Clock,
  ) {}

  async start(ctx: OciContext, repo: RepositoryName): Promise<UploadState> {
    await this.access.require(ctx, repo, 'push');
    const store = this.store();
    const id = randomUUID();
    await this.storage.oci.insertUpload({ id, repo: repo.name, createdAt: isoNow(this.clock) });
    await store.create(id);
    this.hashes.set(id, { hash: createHash('sha256'), offset: 0 });
    return { id, size: 0 };
  }

  async status(ctx: OciContext, repo: RepositoryName, id: string): Promise<UploadState> {
    await this.access.require(ctx, repo, 'push');
    await this.session(repo, id);
    return { id, size: await this.sizeOf(id) };
  }

  /** PATCH: appends a chunk; with a range it must start where the upload ends (else 416). */
  async append(ctx: OciContext, repo: RepositoryName, id: string, body: Readable, range?: ChunkRange, contentLength?: number): Promise<UploadState> {
    await this.access.require(ctx, repo, 'push');
    await this.session(repo, id);
    return this.locked(id, async () => ({ id, size: await this.appendChunk(id, body, range, contentLength) }));
  }

  /** PUT: appends the last chunk (if any), verifies the digest, and moves the blob into the store. */
  async complete(ctx: OciContext, repo: RepositoryName, id: string, digestParam: string | undefined, body: Readable | undefined, range?: ChunkRange, contentLength?: number): Promise<CommittedBlob> {
    await this.access.require(ctx, repo, 'push');
    await this.session(repo, id);
    const digest = requireSha256(digestParam);
    return this.locked(id, async () => {
      if (body) await this.appendChunk(id, body, range, contentLength);
      return this.commit(repo, id, digest);
    });
  }

  async cancel(ctx: OciContext, repo: RepositoryName, id: string): Promise<void> {
    await this.access.require(ctx, repo, 'push');
    await this.session(repo, id);
    await this.locked(id, () => this.discard(id));
  }

  /** POST `?digest=`: the whole blob in one request, through a session of its own. */
  async monolithic(ctx: OciContext, repo: RepositoryName, digestParam: string, body: Readable, contentLength?: number): Promise<CommittedBlob> {
    const digest = requireSha256(digestParam);
    const { id } = await this.start(ctx, repo);
    try {
      return await this.locked(id, async () => {
        await this.appendChunk(id, body, undefined, contentLength);
        return this.commit(repo, id, digest);
      });
    } finally {
      await this.discard(id);
    }
  }

  /** Removes sessions abandoned for longer than UPLOAD_SESSION_DAYS, with their bytes (gc runs this). */
  async purgeAbandoned(now: Date, dryRun: boolean): Promise<number> {
    const before = new Date(now.getTime() - UPLOAD_SESSION_DAYS * 86_400_000);
    const stale = await this.storage.oci.uploadsStartedBefore(before.toISOString());
    if (!dryRun) for (const u of stale) await this.locked(u.id, () => this.discard(u.id));
    return stale.length;
  }

  private store(): UploadStore {
    if (!this.uploads) throw ociError('UNSUPPORTED', 'This server has no upload store configured; blob pushes are unavailable');
    return this.uploads;
  }

  private async session(repo: RepositoryName, id: string): Promise<OciUploadRecord> {
    const found = /^[0-9a-f-]{36}$/.test(id) ? await this.storage.oci.findUpload(id) : undefined;
    if (!found || found.repo !== repo.name) throw ociError('BLOB_UPLOAD_UNKNOWN', `No upload session ${id} in ${repo.name}`, { session: id });
    return found;
  }

  private async sizeOf(id: string): Promise<number> {
    const size = await this.store().size(id);
    if (size === undefined) throw ociError('BLOB_UPLOAD_UNKNOWN', `Upload session ${id} has no data on this server`, { session: id });
    return size;
  }

  private async appendChunk(id: string, body: Readable, range: ChunkRange | undefined, contentLength: number | undefined): Promise<number> {
    const size = await this.sizeOf(id);
    if (range) {
      if (range.start !== size) {
        throw ociError('RANGE_INVALID', `Chunk starts at byte ${range.start} but the upload has ${size} bytes; send the chunk that starts at ${size}`, {
          expectedStart: size,
          range: `${range.start}-${range.end}`,
        });
      }
      if (contentLength !== undefined && range.end - range.start + 1 !== contentLength) {
        throw ociError('SIZE_INVALID', `Content-Range ${range.start}-${range.end} is ${range.end - range.start + 1} bytes but Content-Length is ${contentLength}`);
      }
    }
    const running = this.hashes.get(id);
    const hash = running && running.offset === size ? running.hash : undefined;
    this.hashes.delete(id);
    let received = 0;
    // Hashed and counted as the store reads each piece: a 'data' listener sees every piece the store
    // takes, whether it pipes or iterates, and costs no stream or promise per piece. Paused, so that
    // nothing flows before the store reads.
    body.on('data', (chunk: Buffer) => {
      hash?.update(chunk);
      received += chunk.length;
    });
    body.pause();
    let newSize: number;
    try {
      newSize = await this.store().append(id, body);
      const expected = range ? range.end - range.start + 1 : contentLength;
      if (expected !== undefined && received !== expected) {
        throw ociError('SIZE_INVALID', `Received ${received} bytes but the request declared ${expected}`, { received, declared: expected });
      }
    } catch (e) {
      // A chunk lands whole or not at all: take back what part of it was written.
      await this.store().truncate(id, size);
      throw e;
    }
    if (hash && newSize === size + received) this.hashes.set(id, { hash, offset: newSize });
    return newSize;
  }

  private async commit(repo: RepositoryName, id: string, digest: string): Promise<CommittedBlob> {
    const store = this.store();
    const size = await this.sizeOf(id);
    const running = this.hashes.get(id);
    const hashedOnTheWay = running !== undefined && running.offset === size;
    let actual: string;
    if (running && hashedOnTheWay) {
      actual = `sha256:${running.hash.copy().digest('hex')}`;
    } else {
      const hash = createHash('sha256');
      for await (const chunk of await store.open(id)) hash.update(chunk as Buffer);
      actual = `sha256:${hash.digest('hex')}`;
    }
    if (actual !== digest) {
      throw ociError('DIGEST_INVALID', `The uploaded content has digest ${actual}, not ${digest}`, { expected: digest, actual, size });
    }
    // Record the repository (its owner and visibility) before anything lands in it.
    await this.access.recordRepository(this.storage, repo, isoNow(this.clock));
    // Link first: from this moment garbage collection counts the blob as in use.
    await this.storage.oci.linkBlob(repo.name, digest, isoNow(this.clock));
    // The bytes were hashed as they arrived: the upload can become the blob as it is, where the stores allow it.
    const moved = hashedOnTheWay && store.moveVerified ? await store.moveVerified(id, digest) : undefined;
    if (moved) {
      await this.discard(id);
      return { digest, size: moved.size };
    }
    const put = await this.blobs.put(await store.open(id));
    if (put.digest !== digest) {
      await this.storage.oci.unlinkBlob(repo.name, digest);
      throw new Error(`upload ${id} changed while it was stored (${put.digest} ≠ ${digest})`);
    }
    await this.discard(id);
    return { digest, size: put.size };
  }

  private async discard(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.store().delete(id);
    await this.storage.oci.deleteUpload(id);
  }

  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(id) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }
}
