import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/server.js';
import { startFakeEmbeddings, type FakeEmbeddings } from './fake-embeddings.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';

describe.each(testStores)('managed memory stores (%s)', (store) => {
  let f: ManagedFixture;
  beforeAll(async () => {
    f = await startManagedFixture(store);
  });
  afterAll(() => f?.server.close());

  it('manages stores and memories through the SDK', async () => {
    const s = await f.sdk.beta.memoryStores.create({ name: 'notes', description: 'Team notes', metadata: { team: 'a' } });
    expect(s).toMatchObject({ type: 'memory_store', name: 'notes', description: 'Team notes', metadata: { team: 'a' }, archived_at: null });
    expect((await f.sdk.beta.memoryStores.update(s.id, { description: 'All notes' })).description).toBe('All notes');
    expect((await f.sdk.beta.memoryStores.retrieve(s.id)).description).toBe('All notes');

    const m = await f.sdk.beta.memoryStores.memories.create(s.id, { path: '/prefs/editor.md', content: 'Prefers vim keybindings' });
    expect(m).toMatchObject({ type: 'memory', path: '/prefs/editor.md', content: 'Prefers vim keybindings', memory_store_id: s.id, content_size_bytes: 23 });
    for (let i = 0; i < 4; i++) await f.sdk.beta.memoryStores.memories.create(s.id, { path: `/log/${i}.md`, content: `entry ${i}` });
    const paths: string[] = [];
    for await (const item of f.sdk.beta.memoryStores.memories.list(s.id, { limit: 2 })) paths.push(item.path);
    expect(paths).toEqual(['/log/3.md', '/log/2.md', '/log/1.md', '/log/0.md', '/prefs/editor.md']);
    const logs: string[] = [];
    for await (const item of f.sdk.beta.memoryStores.memories.list(s.id, { path_prefix: '/log/' })) logs.push(item.path);
    expect(logs).toHaveLength(4);

    const got = await f.sdk.beta.memoryStores.memories.retrieve(m.id, { memory_store_id: s.id });
    expect(got.content).toBe('Prefers vim keybindings');
    const changed = await f.sdk.beta.memoryStores.memories.update(m.id, {
      memory_store_id: s.id,
      content: 'Prefers emacs',
      precondition: { type: 'content_sha256', content_sha256: m.content_sha256 },
    });
    expect(changed.content).toBe('Prefers emacs');
    await expect(
      f.sdk.beta.memoryStores.memories.update(m.id, { memory_store_id: s.id, content: 'x', precondition: { type: 'content_sha256', content_sha256: m.content_sha256 } }),
    ).rejects.toBeInstanceOf(Anthropic.ConflictError);
    await expect(f.sdk.beta.memoryStores.memories.create(s.id, { path: '/prefs/editor.md', content: 'dup' })).rejects.toBeInstanceOf(Anthropic.ConflictError);
    expect(await f.sdk.beta.memoryStores.memories.delete(m.id, { memory_store_id: s.id })).toMatchObject({ id: m.id, type: 'memory_deleted' });
    await expect(f.sdk.beta.memoryStores.memories.retrieve(m.id, { memory_store_id: s.id })).rejects.toBeInstanceOf(Anthropic.NotFoundError);

    for (let i = 0; i < 3; i++) await f.sdk.beta.memoryStores.create({ name: `store-${i}` });
    const names: string[] = [];
    for await (const x of f.sdk.beta.memoryStores.list({ limit: 2 })) names.push(x.name);
    expect(names).toEqual(['store-2', 'store-1', 'store-0', 'notes']);
    expect((await f.sdk.beta.memoryStores.archive(s.id)).archived_at).not.toBeNull();
    expect(await f.sdk.beta.memoryStores.delete(s.id)).toMatchObject({ id: s.id, type: 'memory_store_deleted' });
    await expect(f.sdk.beta.memoryStores.retrieve(s.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("serves 002's routes: create, entries, full-text search ranked by relevance, delete", async () => {
    const s = await f.alice.req('POST', '/v1/memory_stores', { name: 'kb' });
    expect(s.status).toBe(200);
    const id = s.body.id;
    for (const content of ['The deploy runs on Fridays', 'Deploy checklist: deploy staging, then deploy production', 'Lunch is at noon']) {
      expect((await f.alice.req('POST', `/v1/memory_stores/${id}/entries`, { content })).status).toBe(200);
    }
    const entries = await f.alice.req('GET', `/v1/memory_stores/${id}/entries`);
    expect(entries.body.data.map((e: any) => e.content)).toEqual(['Lunch is at noon', 'Deploy checklist: deploy staging, then deploy production', 'The deploy runs on Fridays']);
    expect(entries.body.data[0].path).toMatch(/^\/entries\/mem_/);
    const hits = await f.alice.req('POST', `/v1/memory_stores/${id}/search`, { query: 'deploy', limit: 10 });
    expect(hits.status).toBe(200);
    expect(hits.body.ranking).toBe('full_text');
    expect(hits.body.data.map((h: any) => h.content)).toEqual(['Deploy checklist: deploy staging, then deploy production', 'The deploy runs on Fridays']);
    expect(hits.body.data[0].score).toBeGreaterThan(hits.body.data[1].score);
    expect((await f.alice.req('POST', `/v1/memory_stores/${id}/search`, { query: 'deploy', limit: 1 })).body.data).toHaveLength(1);
    expect((await f.alice.req('POST', `/v1/memory_stores/${id}/search`, { query: 'zebra' })).body.data).toEqual([]);
    expectManagedError(await f.alice.req('POST', `/v1/memory_stores/${id}/search`, { query: '' }), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', `/v1/memory_stores/${id}/search`, { query: 'x', limit: 1000 }), 400, 'invalid_request_error');
    expectManagedError(await f.bob.req('POST', `/v1/memory_stores/${id}/search`, { query: 'deploy' }), 404, 'not_found_error');
    expectManagedError(await f.bob.req('GET', `/v1/memory_stores/${id}/entries`), 404, 'not_found_error');
    expect((await f.alice.req('GET', '/v1/memory_stores')).body.data.map((x: any) => x.id)).toContain(id);
    expect((await f.alice.req('DELETE', `/v1/memory_stores/${id}`)).status).toBe(200);
    expectManagedError(await f.alice.req('GET', `/v1/memory_stores/${id}/entries`), 404, 'not_found_error');
    expectManagedError(await f.alice.req('DELETE', `/v1/memory_stores/${id}`), 404, 'not_found_error');
    for (const [method, path] of [
      ['GET', '/v1/memory_stores'],
      ['POST', '/v1/memory_stores'],
      ['GET', `/v1/memory_stores/${id}/entries`],
      ['POST', `/v1/memory_stores/${id}/search`],
      ['DELETE', `/v1/memory_stores/${id}`],
    ]) {
      expectManagedError(await f.alice.with(undefined).req(method, path, method === 'POST' ? { name: 'x', query: 'x' } : undefined), 401, 'authentication_error');
    }
  });
});

describe.each(testStores)('memory search by embeddings (%s)', (store) => {
  let f: ManagedFixture;
  let emb: FakeEmbeddings;
  beforeAll(async () => {
    emb = await startFakeEmbeddings();
    f = await startManagedFixture(store, {
      egressAllow: '127.0.0.1',
      env: { AGENTRY_EMBEDDINGS_URL: emb.url, AGENTRY_EMBEDDINGS_MODEL: 'topic-embed', AGENTRY_EMBEDDINGS_API_KEY: 'sk-embed-secret-123' },
    });
  });
  afterAll(async () => {
    await f?.server.close();
    await emb?.close();
  });

  it('ranks by embedding similarity through an OpenAI-compatible endpoint', async () => {
    const s = await f.alice.req('POST', '/v1/memory_stores', { name: 'semantic' });
    for (const content of ['My feline friend sleeps all day', 'The automobile needs an engine check', 'Storm forecast for tomorrow']) {
      expect((await f.alice.req('POST', `/v1/memory_stores/${s.body.id}/entries`, { content })).status).toBe(200);
    }
    const hits = await f.alice.req('POST', `/v1/memory_stores/${s.body.id}/search`, { query: 'kitten', limit: 2 });
    expect(hits.status).toBe(200);
    expect(hits.body.ranking).toBe('embeddings');
    expect(hits.body.data[0].content).toBe('My feline friend sleeps all day');
    expect(hits.body.data).toHaveLength(2);
    const car = await f.alice.req('POST', `/v1/memory_stores/${s.body.id}/search`, { query: 'vehicle' });
    expect(car.body.data[0].content).toBe('The automobile needs an engine check');
    expect(emb.requests.every((r) => r.model === 'topic-embed' && r.authorization === 'Bearer sk-embed-secret-123')).toBe(true);
    expect(emb.requests.length).toBe(5);
  });

  it('fails loudly (502) and writes nothing when the embeddings endpoint is down', async () => {
    const s = await f.alice.req('POST', '/v1/memory_stores', { name: 'down' });
    await emb?.close();
    const r = await f.alice.req('POST', `/v1/memory_stores/${s.body.id}/entries`, { content: 'lost?' });
    expectManagedError(r, 502, 'api_error', /embeddings endpoint/);
    expect(JSON.stringify(r.body)).not.toContain('sk-embed-secret-123');
    expect((await f.alice.req('GET', `/v1/memory_stores/${s.body.id}/entries`)).body.data).toEqual([]);
  });
});
