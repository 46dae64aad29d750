import { Transform, type Readable } from 'node:stream';
import type { RequestContext } from '../../auth/principal.js';
import { badRequest, notFound, payloadTooLarge } from '../../errors.js';
import { isoNow } from '../../time.js';
import { newManagedId } from '../ids.js';
import { ownedObject, readableObject, writer, type ManagedDeps, listOwned } from '../managed-deps.js';
import type { ManagedObjectRecord } from '../managed-storage.js';
import { type Paged, type PageRequest } from '../page-token.js';
import { newManagedObject } from '../new-managed-object.js';

/** A file's metadata; its bytes are a blob in the content-addressed store. */
export interface FileView {
  id: string;
  filename: string;
  mimeType: string;
  sizeBytes: number;
  digest: string;
  /** The session the file belongs to (002's `session_id`, the SDK's scope). */
  sessionId: string | null;
  createdAt: string;
  expiresAt: string | null;
}

/** Bytes written to the blob store by `receive`, waiting to become a file. */
export interface ReceivedContent {
  digest: string;
  size: number;
}

export interface NewFileInput {
  content: ReceivedContent;
  filename: string;
  mimeType: string;
  sessionId?: string | null;
  expiresInSeconds?: number | null;
}

const MAX_EXPIRY_SECONDS = 366 * 86_400;
const SWEEP_BATCH = 100;

const view = (o: ManagedObjectRecord): FileView => ({
  id: o.id,
  filename: String(o.data.filename),
  mimeType: String(o.data.mime_type),
  sizeBytes: Number(o.data.size_bytes),
  digest: o.digest!,
  sessionId: o.parentId,
  createdAt: o.createdAt,
  expiresAt: o.expiresAt,
});

/**
 * Files: uploaded as a stream into the blob store under a size limit, optionally tied to a
 * session and given a lifetime; expired files are gone (404) and swept. Deleting a file drops
 * its record at once; its bytes go with the next `agentry gc` once nothing else refers to them.
 */
export class FileService {
  constructor(
    private readonly deps: ManagedDeps,
    readonly maxFileBytes: number,
  ) {}

  /** Streams an upload into the blob store, refusing it (413) past the size limit. */
  async receive(ctx: RequestContext, data: Readable): Promise<ReceivedContent> {
    writer(this.deps, ctx);
    const max = this.maxFileBytes;
    let seen = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen > max) done(payloadTooLarge(`The file is larger than the limit of ${max} bytes`));
        else done(null, chunk);
      },
    });
    data.on('error', (e) => limit.destroy(e));
    const blob = await this.deps.blobs.put(data.pipe(limit));
    return { digest: blob.digest, size: blob.size };
  }

  async create(ctx: RequestContext, input: NewFileInput): Promise<FileView> {
    const p = writer(this.deps, ctx);
    const filename = input.filename.replace(/^.*[\\/]/, '').trim();
    if (filename.length === 0 || filename.length > 255) throw badRequest('file: the file name must be 1-255 characters');
    const expires = input.expiresInSeconds;
    if (expires != null && !(Number.isInteger(expires) && expires >= 1 && expires <= MAX_EXPIRY_SECONDS)) {
      throw badRequest(`expires_in_seconds must be a whole number from 1 to ${MAX_EXPIRY_SECONDS}`);
    }
    const now = this.deps.clock.now();
    await this.sweep(now);
    return this.deps.storage.transaction(async (tx) => {
      const o = await tx.managed.insert(
        newManagedObject(
          {
            id: newManagedId('file'),
            kind: 'file',
            accountId: p.account.id,
            parentId: input.sessionId ?? null,
            digest: input.content.digest,
            data: { filename, mime_type: input.mimeType || 'application/octet-stream', size_bytes: input.content.size },
            expiresAt: expires != null ? new Date(now.getTime() + expires * 1000).toISOString() : null,
          },
          now.toISOString(),
        ),
      );
      await this.deps.audit.record(tx.audit, ctx, 'managed.file.create', o.id, { filename, size: input.content.size, digest: input.content.digest });
      return view(o);
    });
  }

  async list(ctx: RequestContext, q: PageRequest & { sessionId?: string }): Promise<Paged<FileView>> {
    return listOwned(this.deps, ctx, 'file', q, { parentId: q.sessionId, archived: 'include', liveAt: isoNow(this.deps.clock) }, view);
  }

  async get(ctx: RequestContext, id: string): Promise<FileView> {
    const o = await readableObject(this.deps, ctx, 'file', id);
    if (o.expiresAt && o.expiresAt <= isoNow(this.deps.clock)) throw notFound(`File ${id} not found (it expired at ${o.expiresAt})`);
    return view(o);
  }

  /** The file and a stream of its bytes. */
  async open(ctx: RequestContext, id: string): Promise<{ file: FileView; body: Readable }> {
    const file = await this.get(ctx, id);
    return { file, body: await this.deps.blobAccess.open(ctx, file.digest, () => notFound(`File ${id} has no content`)) };
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    await this.deps.storage.transaction(async (tx) => {
      const o = await ownedObject(tx, 'file', id, p, true);
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.file.delete', o.id, { digest: o.digest });
    });
  }

  /** Drops the records of expired files (their bytes go with the next blob garbage collection). */
  private async sweep(now: Date): Promise<void> {
    const expired = await this.deps.storage.managed.expired(now.toISOString(), SWEEP_BATCH);
    for (const o of expired) if (o.kind === 'file') await this.deps.storage.managed.delete(o.id);
  }
}
