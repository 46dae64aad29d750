import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { McpUpstream, UpstreamMcpServer } from '../../src/core/mirrors/mcp-mirror.js';
import { syncMcpMirror, type McpSyncDeps, type McpSyncProgress } from '../../src/core/mirrors/mcp-sync.js';
import type { MirrorRecord } from '../../src/core/mirrors/mirror.js';
import { openPostgresStorage } from '../../src/storage/postgres/open-postgres.js';
import type { SqlStorage } from '../../src/storage/sql/sql-storage.js';
import { openSqliteStorage } from '../../src/storage/sqlite/open-sqlite.js';
import { dropTestSchema } from '../helpers/postgres.js';

const url = process.env.AGENTRY_TEST_DATABASE_URL;

/** An upstream listing in memory, paged like `/v0.1/servers` (cursor = index), that can be made to fail at one page. */
class ListUpstream implements McpUpstream {
  entries: UpstreamMcpServer[] = [];
  failAt: number | undefined;
  pagesAsked = 0;

  async page(_endpoint: unknown, q: { cursor?: string; limit: number }) {
    this.pagesAsked++;
    const from = q.cursor === undefined ? 0 : Number(q.cursor);
    if (from === this.failAt) throw new Error('upstream down');
    const servers = this.entries.slice(from, from + q.limit);
    const next = from + q.limit < this.entries.length ? String(from + q.limit) : undefined;
    return next === undefined ? { servers } : { servers, nextCursor: next };
  }
}

const entry = (name: string, version: string, description = 'A server', isLatest = true): UpstreamMcpServer => ({
  server: { name, version, description },
  official: { status: 'active', publishedAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-02T00:00:00Z', isLatest },
});

/** syncMcpMirror (the sync job's unit of work) over the real cache, on each store. */
/** The upstream cursor a checkpoint holds ('' once the walk is complete). */
const cursorOf = (checkpoint: string): string => (checkpoint === '' ? '' : (JSON.parse(checkpoint) as { c: string }).c);

describe.each([
  { store: 'sqlite', skip: false },
  { store: 'postgres', skip: !url },
])('syncMcpMirror on $store', ({ store, skip }) => {
  let storage: SqlStorage;
  let dir: string | undefined;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const upstream = new ListUpstream();
  let deps: McpSyncDeps;
  const mirror: MirrorRecord = {
    name: 'up',
    kind: 'mcp',
    url: 'https://mcp.example.com',
    username: null,
    hasPassword: false,
    ttlSeconds: 300,
    visibility: 'public',
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  let now = Date.parse('2026-02-01T00:00:00.000Z');

  beforeAll(async () => {
    if (skip) return;
    if (store === 'sqlite') {
      dir = await mkdtemp(join(tmpdir(), 'agentry-mcp-sync-'));
      storage = await openSqliteStorage(join(dir, 'db.sqlite'));
    } else {
      storage = await openPostgresStorage({ url: url!, schema });
    }
    await storage.mirrors.insert(mirror);
    deps = { cache: storage.mcpMirrorCache, upstream, clock: { now: () => new Date(now) }, endpoint: async (m) => ({ url: m.url }) };
  });
  afterAll(async () => {
    await storage?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (store === 'postgres' && !skip) await dropTestSchema(schema);
  });

  it.skipIf(skip)('reads the whole listing page by page, reporting progress, then what was added, updated, unchanged, removed and refused', async () => {
    upstream.entries = [
      ...Array.from({ length: 230 }, (_, i) => entry(`io.github.up/s-${String(i).padStart(3, '0')}`, '1.0.0')),
      { server: { description: 'no name' } },
      { server: { name: 'no-namespace', version: '1.0.0' } },
    ];
    const progress: McpSyncProgress[] = [];
    const first = await syncMcpMirror(deps, mirror, { onProgress: (p) => void progress.push(p) });
    expect(first.added).toHaveLength(230);
    expect(first).toMatchObject({ updated: [], unchanged: 0, removed: [] });
    expect(first.failed).toEqual([
      { name: '(unnamed)', error: expect.stringMatching(/name/) },
      { name: 'no-namespace', error: expect.stringMatching(/namespace/) },
    ]);
    expect(progress.map((p) => cursorOf(p.checkpoint))).toEqual(['100', '200', '']);
    // Each checkpoint carries the report so far, so a resumed job answers for the whole sync.
    expect(JSON.parse(progress[1].checkpoint)).toMatchObject({ c: '200', d: 200, r: { added: expect.any(Array) } });
    expect(progress.map((p) => p.done)).toEqual([100, 200, 232]);
    expect((await storage.mcpMirrorCache.state('up'))?.listedAt).toBe(new Date(now).toISOString());

    now += 60_000;
    upstream.entries = [...upstream.entries.slice(1, 230).map((e, i) => (i === 0 ? entry(e.server.name as string, '1.0.0', 'Changed') : e)), entry('io.github.up/new', '0.1.0')];
    const second = await syncMcpMirror(deps, mirror, {});
    expect(second).toEqual({ added: ['io.github.up/new@0.1.0'], updated: ['io.github.up/s-001@1.0.0'], unchanged: 228, removed: ['io.github.up/s-000@1.0.0'], failed: [] });
    const cached = await storage.mcpMirrorCache.browse({ mirrors: ['up'], includeDeleted: false, limit: 1000, pinned: [] });
    expect(cached).toHaveLength(230);
    expect(cached.find((r) => r.name === 'io.github.up/s-001')?.description).toBe('Changed');
  });

  it.skipIf(skip)('resumes from the checkpoint an interrupted run reached, and still tells what disappeared', async () => {
    now += 60_000;
    upstream.entries = upstream.entries.filter((e) => e.server.name !== 'io.github.up/new');
    upstream.failAt = 200;
    const seen: string[] = [];
    await expect(syncMcpMirror(deps, mirror, { onProgress: (p) => void seen.push(cursorOf(p.checkpoint)) })).rejects.toThrow(/upstream down/);
    expect(seen).toEqual(['100', '200']);
    expect((await storage.mcpMirrorCache.state('up'))?.checkpoint).toBe('200');

    upstream.failAt = undefined;
    upstream.pagesAsked = 0;
    now += 60_000;
    // A bare cursor, as a job of the release before checkpoints carried reports stored it, still resumes.
    const resumed = await syncMcpMirror(deps, mirror, { checkpoint: '200' });
    expect(upstream.pagesAsked).toBe(1);
    expect(resumed.removed).toEqual(['io.github.up/new@0.1.0']);
    expect(resumed.unchanged).toBe(29);
    expect((await storage.mcpMirrorCache.state('up'))?.checkpoint).toBeNull();

    // An aborted run stops before asking the upstream again.
    const abort = new AbortController();
    abort.abort();
    upstream.pagesAsked = 0;
    await expect(syncMcpMirror(deps, mirror, { signal: abort.signal })).rejects.toThrow();
    expect(upstream.pagesAsked).toBe(0);
  });
});
