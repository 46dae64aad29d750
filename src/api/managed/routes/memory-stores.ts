import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MemoryRecord } from '../../../core/managed/managed-storage.js';
import type { MemoryStoreView } from '../../../core/managed/memory/memory-store-service.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Deleted, Memory, MemorySearch, MemoryStore } from '../responses.js';
import { IdParams, MemoryCreateBody, MemorySearchBody, MemoryStoreCreateBody, MemoryStoreUpdateBody, MemoryUpdateBody } from '../schemas.js';

const tags = ['managed agents'];
const MemoryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), memory_id: Type.String({ minLength: 1, maxLength: 128 }) });
const View = Type.Optional(Type.Union([Type.Literal('basic'), Type.Literal('full')]));

export const storeJson = (s: MemoryStoreView) => ({
  type: 'memory_store' as const,
  id: s.id,
  name: s.name,
  description: s.description,
  metadata: s.metadata,
  created_at: s.createdAt,
  updated_at: s.updatedAt,
  archived_at: s.archivedAt,
});

/** A memory as the SDK's type; `basic` leaves the content out. */
export const memoryJson = (m: MemoryRecord, view: 'basic' | 'full' = 'full') => ({
  type: 'memory' as const,
  id: m.id,
  memory_store_id: m.storeId,
  memory_version_id: `${m.id}@${m.sha256.slice(0, 16)}`,
  path: m.path,
  content_sha256: m.sha256,
  content_size_bytes: m.sizeBytes,
  ...(view === 'full' ? { content: m.content } : {}),
  created_at: m.createdAt,
  updated_at: m.updatedAt,
});

/** `/v1/memory_stores`: stores CRUD, 002's entries and search, the SDK's memories. */
export const memoryStoreRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const stores = registry.managed.memoryStores;

  app.post('/', {
    schema: { tags, summary: 'Create a memory store', body: MemoryStoreCreateBody, response: { 200: MemoryStore } },
    handler: async (req) => storeJson(await stores.create(await callerOf(registry, req), req.body)),
  });

  app.get('/', {
    schema: { tags, summary: 'List memory stores, newest first', querystring: Type.Object({ ...PageQuery, include_archived: Type.Optional(Type.Boolean()) }), response: { 200: ListOf(MemoryStore) } },
    handler: async (req) => listBody(await stores.list(await callerOf(registry, req), { ...pageRequest(req.query), includeArchived: req.query.include_archived }), storeJson),
  });

  app.get('/:id', {
    schema: { tags, summary: 'Get a memory store', params: IdParams, response: { 200: MemoryStore } },
    handler: async (req) => storeJson(await stores.get(await callerOf(registry, req), req.params.id)),
  });

  for (const method of ['post', 'patch'] as const) {
    app[method]('/:id', {
      schema: { tags, summary: 'Update a memory store', params: IdParams, body: MemoryStoreUpdateBody, response: { 200: MemoryStore } },
      handler: async (req) => storeJson(await stores.update(await callerOf(registry, req), req.params.id, req.body)),
    });
  }

  app.post('/:id/archive', {
    schema: { tags, summary: 'Archive a memory store (SDK)', params: IdParams, response: { 200: MemoryStore } },
    handler: async (req) => storeJson(await stores.archive(await callerOf(registry, req), req.params.id)),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Delete a memory store, its memories and their index', params: IdParams, response: { 200: Deleted('memory_store_deleted') } },
    handler: async (req) => {
      await stores.delete(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'memory_store_deleted' as const };
    },
  });

  app.post('/:id/search', {
    schema: { tags, summary: 'Search memories: {query, limit}, best first', params: IdParams, body: MemorySearchBody, response: { 200: MemorySearch } },
    handler: async (req) => {
      const r = await stores.search(await callerOf(registry, req), req.params.id, req.body);
      return { data: r.hits.map((h) => ({ ...memoryJson(h.memory), score: h.score })), ranking: r.ranking };
    },
  });

  // 002's entries and the SDK's memories are the same records.
  for (const collection of ['entries', 'memories'] as const) {
    app.get(`/:id/${collection}`, {
      schema: {
        tags,
        summary: `List ${collection}, newest first`,
        params: IdParams,
        querystring: Type.Object({ ...PageQuery, path_prefix: Type.Optional(Type.String({ maxLength: 1024 })), view: View }),
        response: { 200: ListOf(Memory) },
      },
      handler: async (req) => {
        const page = await stores.memories(await callerOf(registry, req), req.params.id, { ...pageRequest(req.query), pathPrefix: req.query.path_prefix });
        return listBody(page, (m) => memoryJson(m, req.query.view));
      },
    });

    app.post(`/:id/${collection}`, {
      schema: { tags, summary: `Add one of the ${collection} ({path, content})`, params: IdParams, body: MemoryCreateBody, querystring: Type.Object({ view: View }), response: { 200: Memory } },
      handler: async (req) => memoryJson(await stores.addMemory(await callerOf(registry, req), req.params.id, req.body), req.query.view),
    });

    app.get(`/:id/${collection}/:memory_id`, {
      schema: { tags, summary: `Get one of the ${collection}`, params: MemoryParams, querystring: Type.Object({ view: View }), response: { 200: Memory } },
      handler: async (req) => memoryJson(await stores.memory(await callerOf(registry, req), req.params.id, req.params.memory_id), req.query.view),
    });

    app.post(`/:id/${collection}/:memory_id`, {
      schema: {
        tags,
        summary: `Change one of the ${collection} (content, path; a content_sha256 precondition)`,
        params: MemoryParams,
        body: MemoryUpdateBody,
        querystring: Type.Object({ view: View }),
        response: { 200: Memory },
      },
      handler: async (req) => {
        const m = await stores.updateMemory(await callerOf(registry, req), req.params.id, req.params.memory_id, {
          path: req.body.path,
          content: req.body.content,
          expectedSha256: req.body.precondition?.content_sha256,
        });
        return memoryJson(m, req.query.view);
      },
    });

    app.delete(`/:id/${collection}/:memory_id`, {
      schema: {
        tags,
        summary: `Delete one of the ${collection}`,
        params: MemoryParams,
        querystring: Type.Object({ expected_content_sha256: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: { 200: Deleted('memory_deleted') },
      },
      handler: async (req) => {
        await stores.deleteMemory(await callerOf(registry, req), req.params.id, req.params.memory_id, req.query.expected_content_sha256);
        return { id: req.params.memory_id, type: 'memory_deleted' as const };
      },
    });
  }
};
