import { createHash } from 'node:crypto';
import type { RequestContext } from '../../auth/principal.js';
import { badRequest, conflict, notFound } from '../../errors.js';
import { isoNow } from '../../time.js';
import { newManagedId } from '../ids.js';
import { archiveFilter, ownedObject, readableObject, writer, type ManagedDeps, listOwned, updateOwned } from '../managed-deps.js';
import type { ManagedObjectRecord, MemoryRecord } from '../managed-storage.js';
import { newMetadata, patchMetadata, type Metadata } from '../metadata.js';
import { cutPage, decodePageToken, type Paged, type PageRequest } from '../page-token.js';
import { cosine, type Embedder } from '../../embeddings/embedder.js';
import { newManagedObject } from '../new-managed-object.js';

export interface MemoryStoreView {
  id: string;
  name: string;
  description: string;
  metadata: Metadata;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

export interface MemoryStoreInput {
  name?: string | null;
  description?: string | null;
  metadata?: Record<string, string | null> | null;
}

export interface MemoryHit {
  memory: MemoryRecord;
  score: number;
}

export interface SearchResult {
  hits: MemoryHit[];
  /** How the hits were ranked: by embedding similarity, or by full-text relevance. */
  ranking: 'embeddings' | 'full_text';
}

const MAX_CONTENT_BYTES = 100 * 1024;
const MAX_PATH = 1024;
const MAX_SEARCH = 100;
/** Most memories compared by vector in one search. */
const VECTOR_SCAN = 20_000;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const storeView = (o: ManagedObjectRecord): MemoryStoreView => ({
  id: o.id,
  name: String(o.data.name),
  description: String(o.data.description ?? ''),
  metadata: (o.data.metadata ?? {}) as Metadata,
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
  archivedAt: o.archivedAt,
});

const checkPath = (path: string): string => {
  const p = path.trim();
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (p.length === 0 || p.length > MAX_PATH || /[\u0000-\u001f]/.test(p)) throw badRequest(`path must be 1-${MAX_PATH} printable characters`);
  return p;
};

const checkContent = (content: string): string => {
  if (Buffer.byteLength(content, 'utf8') > MAX_CONTENT_BYTES) throw badRequest(`content is larger than ${MAX_CONTENT_BYTES} bytes`);
  return content;
};

/**
 * Memory stores and their memories (002's entries, the SDK's memories). Search ranks by the
 * store's full-text index (FTS5 / tsvector), or by embedding similarity when an
 * OpenAI-compatible embeddings endpoint is configured (memories are embedded as they are written).
 */
export class MemoryStoreService {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly embeddings: Embedder | undefined,
  ) {}

  async create(ctx: RequestContext, input: MemoryStoreInput): Promise<MemoryStoreView> {
    const p = writer(this.deps, ctx);
    if (input.name == null || input.name.trim() === '' || input.name.length > 256) throw badRequest('name must be 1-256 characters');
    const data = { name: input.name.trim(), description: input.description ?? '', metadata: newMetadata(input.metadata ?? undefined) };
    return this.deps.storage.transaction(async (tx) => {
      const now = isoNow(this.deps.clock);
      const o = await tx.managed.insert(
        newManagedObject(
          {
            id: newManagedId('memstore'),
            kind: 'memory_store',
            accountId: p.account.id,
            data,
          },
          now,
        ),
      );
      await this.deps.audit.record(tx.audit, ctx, 'managed.memory_store.create', o.id, { name: data.name });
      return storeView(o);
    });
  }

  async list(ctx: RequestContext, q: PageRequest & { limit: number; includeArchived?: boolean }): Promise<Paged<MemoryStoreView>> {
    return listOwned(this.deps, ctx, 'memory_store', q, { archived: archiveFilter(q) }, storeView);
  }

  async get(ctx: RequestContext, id: string): Promise<MemoryStoreView> {
    return storeView(await readableObject(this.deps, ctx, 'memory_store', id));
  }

  async update(ctx: RequestContext, id: string, input: MemoryStoreInput): Promise<MemoryStoreView> {
    return updateOwned(
      this.deps,
      ctx,
      'memory_store',
      id,
      (o) => {
        if (input.name != null && (input.name.trim() === '' || input.name.length > 256)) throw badRequest('name must be 1-256 characters');
        return {
          name: input.name == null ? o.data.name : input.name.trim(),
          description: input.description === undefined ? o.data.description : (input.description ?? ''),
          metadata: patchMetadata((o.data.metadata ?? {}) as Metadata, input.metadata),
        };
      },
      storeView,
    );
  }

  async archive(ctx: RequestContext, id: string): Promise<MemoryStoreView> {
    const p = writer(this.deps, ctx);
    return this.deps.storage.transaction(async (tx) => {
      const o = await ownedObject(tx, 'memory_store', id, p, true);
      if (o.archivedAt) return storeView(o);
      const now = isoNow(this.deps.clock);
      await tx.managed.update(o.id, { archivedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.memory_store.archive', o.id, {});
      return storeView({ ...o, archivedAt: now });
    });
  }

  /** Deletes the store, its memories and their index. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    await this.deps.storage.transaction(async (tx) => {
      const o = await ownedObject(tx, 'memory_store', id, p, true);
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.memory_store.delete', o.id, {});
    });
  }

  /** Adds a memory; a path already used in the store is a 409. Without a path, one is made from its id. */
  async addMemory(ctx: RequestContext, storeId: string, input: { path?: string | null; content: string }): Promise<MemoryRecord> {
    const p = writer(this.deps, ctx);
    const content = checkContent(input.content);
    const id = newManagedId('mem');
    const path = checkPath(input.path ?? `/entries/${id}`);
    const store = await ownedObject(this.deps.storage, 'memory_store', storeId, p);
    if (store.archivedAt) throw badRequest(`Memory store ${storeId} is archived`);
    const embedding = this.embeddings ? (await this.embeddings.embed([`${path}\n${content}`]))[0] : null;
    return this.deps.storage.transaction(async (tx) => {
      await ownedObject(tx, 'memory_store', storeId, p, true);
      const taken = await tx.managed.findMemoryByPath(storeId, path);
      if (taken) throw conflict(`Memory store ${storeId} already has a memory at '${path}' (${taken.id})`);
      const now = isoNow(this.deps.clock);
      const m = await tx.managed.insertMemory({ id, storeId, path, content, sha256: sha256(content), sizeBytes: Buffer.byteLength(content, 'utf8'), embedding, createdAt: now, updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.memory.create', `${storeId}/${m.id}`, { path });
      return m;
    });
  }

  async memories(ctx: RequestContext, storeId: string, q: PageRequest & { limit: number; pathPrefix?: string }): Promise<Paged<MemoryRecord>> {
    await readableObject(this.deps, ctx, 'memory_store', storeId);
    const rows = await this.deps.storage.managed.listMemories(storeId, { beforeSeq: decodePageToken(q.page), pathPrefix: q.pathPrefix, limit: q.limit + 1 });
    return cutPage(rows, q.limit, (r) => r.seq);
  }

  async memory(ctx: RequestContext, storeId: string, memoryId: string): Promise<MemoryRecord> {
    await readableObject(this.deps, ctx, 'memory_store', storeId);
    return this.findMemory(storeId, memoryId);
  }

  /** Changes a memory's content or path; `expectedSha256` (the SDK's precondition) must match its content when given. */
  async updateMemory(ctx: RequestContext, storeId: string, memoryId: string, input: { path?: string | null; content?: string | null; expectedSha256?: string }): Promise<MemoryRecord> {
    const p = writer(this.deps, ctx);
    await ownedObject(this.deps.storage, 'memory_store', storeId, p);
    const before = await this.findMemory(storeId, memoryId);
    const content = input.content == null ? before.content : checkContent(input.content);
    const path = input.path == null ? before.path : checkPath(input.path);
    const embedding = this.embeddings && (content !== before.content || path !== before.path) ? (await this.embeddings.embed([`${path}\n${content}`]))[0] : undefined;
    return this.deps.storage.transaction(async (tx) => {
      await ownedObject(tx, 'memory_store', storeId, p, true);
      const m = await tx.managed.findMemory(memoryId);
      if (!m || m.storeId !== storeId) throw notFound(`Memory ${memoryId} not found`);
      if (input.expectedSha256 !== undefined && input.expectedSha256 !== m.sha256) {
        throw conflict(`Memory ${memoryId} changed: its content_sha256 is ${m.sha256}, not ${input.expectedSha256}`);
      }
      if (path !== m.path) {
        const taken = await tx.managed.findMemoryByPath(storeId, path);
        if (taken) throw conflict(`Memory store ${storeId} already has a memory at '${path}' (${taken.id})`);
      }
      const now = isoNow(this.deps.clock);
      const patch = { path, content, sha256: sha256(content), sizeBytes: Buffer.byteLength(content, 'utf8'), updatedAt: now, ...(embedding ? { embedding } : {}) };
      await tx.managed.updateMemory(m.id, patch);
      await this.deps.audit.record(tx.audit, ctx, 'managed.memory.update', `${storeId}/${m.id}`, { path });
      return { ...m, ...patch };
    });
  }

  async deleteMemory(ctx: RequestContext, storeId: string, memoryId: string, expectedSha256?: string): Promise<void> {
    const p = writer(this.deps, ctx);
    await this.deps.storage.transaction(async (tx) => {
      await ownedObject(tx, 'memory_store', storeId, p, true);
      const m = await tx.managed.findMemory(memoryId);
      if (!m || m.storeId !== storeId) throw notFound(`Memory ${memoryId} not found`);
      if (expectedSha256 !== undefined && expectedSha256 !== m.sha256) throw conflict(`Memory ${memoryId} changed: its content_sha256 is ${m.sha256}, not ${expectedSha256}`);
      await tx.managed.deleteMemory(m.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.memory.delete', `${storeId}/${m.id}`, { path: m.path });
    });
  }

  /** The best memories for `query`, best first. */
  async search(ctx: RequestContext, storeId: string, input: { query: string; limit?: number }): Promise<SearchResult> {
    await readableObject(this.deps, ctx, 'memory_store', storeId);
    const query = input.query.trim();
    if (query.length === 0) throw badRequest('query must not be empty');
    const limit = input.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH) throw badRequest(`limit must be a whole number from 1 to ${MAX_SEARCH}`);
    const textHits = await this.deps.storage.managed.searchMemories(storeId, query, limit);
    if (!this.embeddings) return { hits: textHits, ranking: 'full_text' };
    const [q] = await this.embeddings.embed([query]);
    const vectorHits = (await this.deps.storage.managed.memoriesWithEmbeddings(storeId, VECTOR_SCAN))
      .map((memory) => ({ memory, score: cosine(q, memory.embedding!) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, limit);
    // Memories written before embeddings were configured have no vector: full-text finds them.
    const seen = new Set(vectorHits.map((h) => h.memory.id));
    const rest = textHits.filter((h) => h.memory.embedding === null && !seen.has(h.memory.id)).map((h) => ({ memory: h.memory, score: 0 }));
    return { hits: [...vectorHits, ...rest].slice(0, limit), ranking: 'embeddings' };
  }

  private async findMemory(storeId: string, memoryId: string): Promise<MemoryRecord> {
    const m = await this.deps.storage.managed.findMemory(memoryId);
    if (!m || m.storeId !== storeId) throw notFound(`Memory ${memoryId} not found`);
    return m;
  }
}
