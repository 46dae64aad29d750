import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { startFakeEmbeddings, type FakeEmbeddings } from '../managed/fake-embeddings.js';

interface Item {
  full_name: string;
}
interface List {
  agents: Item[];
  total: number;
  mode?: string;
  semantic_unavailable?: string;
}

const names = (l: List) => l.agents.map((a) => a.full_name);

/**
 * Semantic search beside keyword search (issue 20, part 3), against a local OpenAI-compatible
 * embeddings server whose vectors count words by concept (synonyms land together): packages are
 * embedded after publish (and backfilled when embeddings are configured later), a paraphrase finds
 * what keywords miss, the read rule holds for vectors, and a failing endpoint degrades to keywords.
 */
describe.each(testStores)('semantic package search (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-semantic-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const opts = { store, dataDir, adminToken, postgresSchema: schema };
  let emb: FakeEmbeddings;
  let server: TestServer;
  const as: Record<'anonymous' | 'alice' | 'bob', Api> = {} as never;
  const search = async (api: Api, query: string, extra = '') => {
    const r = await api.req('GET', `/api/v1/search?q=${encodeURIComponent(query)}${extra}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as List;
  };
  const publish = async (api: Api, scope: string, name: string, description: string, readme?: string, access = 'public') => {
    const r = await api.publish(`/api/v1/agents/@${scope}/${name}`, await agentTarball({ name, version: '1.0.0', scope, description, readme }), { access });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };

  beforeAll(async () => {
    emb = await startFakeEmbeddings();
    // Published before the server had embeddings: the backfill embeds these.
    const before = await startTestServer(opts);
    const admin = new Api(before.url, before.adminToken);
    const token = async (username: string) => (await admin.req('POST', '/api/v1/users', { username })).body.token as string;
    const alice = await token('alice');
    const bob = await token('bob');
    await publish(admin.with(alice), 'alice', 'purr-helper', 'Looks after your feline companions', '# purr-helper\n\nFeeding schedules and vet visits.\n');
    await publish(admin.with(alice), 'alice', 'garage-bot', 'Diagnoses automobile engine trouble');
    await publish(admin.with(alice), 'alice', 'forecaster', 'Storm and rain forecast for your town');
    await publish(admin.with(alice), 'alice', 'secret-whiskers', 'A feline registry kept private', undefined, 'private');
    await publish(admin.with(bob), 'bob', 'type-checker', 'Checks typescript software before the compiler runs');
    // Without an embeddings endpoint: keyword search only, and a clear refusal of the other modes.
    const refused = await admin.req('GET', '/api/v1/search?q=kitten&mode=semantic');
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatch(/not configured.*--embeddings-url/);
    expect((await admin.with(undefined).req('GET', '/api/v1/search?q=feline&mode=keyword')).body).toMatchObject({ mode: 'keyword', total: 1 });
    await before.close();

    server = await startTestServer({
      ...opts,
      egressAllow: '127.0.0.1',
      env: { AGENTRY_EMBEDDINGS_URL: emb.url, AGENTRY_EMBEDDINGS_MODEL: 'concept-embed', AGENTRY_EMBEDDINGS_API_KEY: 'sk-embed-secret-456' },
    });
    const api = new Api(server.url);
    as.anonymous = api;
    as.alice = api.with(alice);
    as.bob = api.with(bob);
    await waitFor('the backfill', async () => ((await search(as.alice, 'feline', '&mode=semantic')).total === 2 ? true : undefined), 20_000);
  });
  afterAll(async () => {
    await server?.close();
    await emb?.close();
    if (schema) await dropTestSchema(schema);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('ranks a paraphrased query’s package first where keyword search finds nothing', async () => {
    expect((await search(as.anonymous, 'kitten care')).total).toBe(0);
    const semantic = await search(as.anonymous, 'kitten care', '&mode=semantic');
    expect(semantic.mode).toBe('semantic');
    expect(names(semantic)[0]).toBe('@alice/purr-helper');
    expect(names(semantic)).not.toContain('@alice/garage-bot');
    expect(names(await search(as.anonymous, 'vehicle repair', '&mode=semantic'))).toEqual(['@alice/garage-bot']);
    // Every request went to the configured model with the configured key.
    expect(emb.requests.length).toBeGreaterThan(0);
    expect(emb.requests.every((r) => r.model === 'concept-embed' && r.authorization === 'Bearer sk-embed-secret-456')).toBe(true);
  });

  it('fuses keyword and vector rankings in hybrid mode', async () => {
    // Keyword alone needs every word; the vector finds the package by its concepts.
    expect((await search(as.anonymous, 'engine vehicle')).total).toBe(0);
    const hybrid = await search(as.anonymous, 'engine vehicle', '&mode=hybrid');
    expect(hybrid).toMatchObject({ mode: 'hybrid', total: 1 });
    expect(names(hybrid)).toEqual(['@alice/garage-bot']);
    // A package both rankings hold comes first.
    expect(names(await search(as.anonymous, 'forecast', '&mode=hybrid'))[0]).toBe('@alice/forecaster');
    // The kind list routes take the mode too.
    const listed = await as.anonymous.req('GET', `/api/v1/packages?q=compiler%20program&mode=semantic`);
    expect(listed.status).toBe(200);
    expect(listed.body.packages.map((p: Item) => p.full_name)).toEqual(['@bob/type-checker']);
  });

  it('never shows a private package through its vector', async () => {
    for (const mode of ['semantic', 'hybrid']) {
      for (const who of [as.anonymous, as.bob]) {
        const r = await search(who, 'feline kitten', `&mode=${mode}`);
        expect(names(r)).toEqual(['@alice/purr-helper']);
        expect(r.total).toBe(1);
      }
      const own = await search(as.alice, 'feline kitten', `&mode=${mode}`);
      expect(names(own).sort()).toEqual(['@alice/purr-helper', '@alice/secret-whiskers']);
    }
  });

  it("ranks by meaning in /mcp's search tool too, through the same access rule", async () => {
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    try {
      const call = async (args: Record<string, unknown>) => (await client.callTool({ name: 'search_packages', arguments: args })) as { structuredContent?: any; isError?: boolean };
      const found = await call({ query: 'kitten care', mode: 'semantic' });
      expect(found.structuredContent.mode).toBe('semantic');
      expect(found.structuredContent.packages[0].name).toBe('@alice/purr-helper');
      expect(found.structuredContent.packages.map((p: { name: string }) => p.name)).not.toContain('@alice/secret-whiskers');
      expect((await call({ query: 'kitten care' })).structuredContent.total).toBe(0);
      expect((await call({ query: 'kitten care', mode: 'vibes' })).isError).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('refuses bad modes and what the semantic modes cannot do', async () => {
    const bad = await as.anonymous.req('GET', '/api/v1/search?q=cat&mode=fuzzy');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/mode/);
    for (const [path, why] of [
      ['/api/v1/agents?mode=semantic', /needs a search text/],
      ['/api/v1/search?q=cat&mode=semantic&sort=downloads', /ranks by relevance/],
      ['/api/v1/packages?q=cat&mode=hybrid&sort=stars', /ranks by relevance/],
    ] as const) {
      const r = await as.anonymous.req('GET', path);
      expect(r.status, path).toBe(400);
      expect(r.body.error).toMatch(why);
    }
    expect((await as.anonymous.req('GET', '/api/v1/search?q=cat&mode=')).status).toBe(400);
  });

  it.runIf(store === 'postgres')('keeps every process’s index coherent with vectors another process wrote', async () => {
    // A second process on the same database and data directory (its blobs and secret key).
    const other = await startTestServer({
      ...opts,
      egressAllow: '127.0.0.1',
      env: { AGENTRY_EMBEDDINGS_URL: emb.url, AGENTRY_EMBEDDINGS_MODEL: 'concept-embed' },
    });
    try {
      const there = new Api(other.url);
      // The other process's index is loaded, then this process publishes and embeds.
      expect(names(await search(there, 'kitten', '&mode=semantic'))).toEqual(['@alice/purr-helper']);
      await publish(as.alice, 'alice', 'litter-box', 'Reminds you to clean up after the cats');
      await waitFor('the vector in the other process', async () => (names(await search(there, 'kitten', '&mode=semantic')).includes('@alice/litter-box') ? true : undefined), 20_000);
    } finally {
      await other.close();
    }
  });

  it('embeds a new publish after commit, serves keywords while the endpoint fails, and retries', async () => {
    emb.failWith(503);
    try {
      // The publish does not wait for the endpoint, let alone fail with it.
      await publish(as.alice, 'alice', 'brolly', 'Umbrella picks for wet days');
      await waitFor('the failed embedding request', async () => (emb.requests.some((r) => r.input.some((t) => t.includes('Umbrella'))) ? true : undefined), 10_000);
      const degraded = await search(as.anonymous, 'automobile', '&mode=semantic');
      expect(degraded.mode).toBe('keyword');
      expect(degraded.semantic_unavailable).toMatch(/embeddings endpoint/);
      expect(JSON.stringify(degraded)).not.toContain('sk-embed-secret-456');
      expect(names(degraded)).toEqual(['@alice/garage-bot']);
    } finally {
      emb.failWith(undefined);
    }
    // The failed package stays queued and is embedded on a later attempt.
    const found = await waitFor(
      'the retried embedding',
      async () => {
        const r = await search(as.anonymous, 'storm weather', '&mode=semantic');
        return names(r).includes('@alice/brolly') ? r : undefined;
      },
      30_000,
    );
    expect(names(found).slice(0, 2).sort()).toEqual(['@alice/brolly', '@alice/forecaster']);
  });
});
