import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import type { PackageVersionRecord, VersionBrowseQuery } from '../packages/package-repo.js';
import type { PackageService } from '../packages/package-service.js';
import { notFound } from '../errors.js';
import type { MirrorRecord, UpstreamEndpoint } from './mirror.js';
import type { MirrorService } from './mirror-service.js';
import { syncMcpMirror, type McpSyncDeps } from './mcp-sync.js';

type Json = Record<string, unknown>;

/** The `_meta` key every mirrored server carries in the MCP views: `{"upstream": "<URL>"}`. */
export const MIRROR_META_KEY = 'dev.agentry/mirror';

/** One entry of an upstream's `/v0.1/servers` listing: the server.json and the upstream's official metadata. */
export interface UpstreamMcpServer {
  server: Json;
  /** `_meta["io.modelcontextprotocol.registry/official"]` as the upstream sent it, if it did. */
  official?: Json;
}

/**
 * The port to upstream MCP registries (`adapters/mirrors/mcp-upstream.ts`, through the egress
 * policy): one page of `GET <url>/v0.1/servers`. Anything but a well-formed page throws.
 */
export interface McpUpstream {
  page(endpoint: UpstreamEndpoint, opts: { cursor?: string; limit: number; signal?: AbortSignal }): Promise<{ servers: UpstreamMcpServer[]; nextCursor?: string }>;
}

/** One cached version of an upstream server. `key` is the lower-cased name, `namespace` the part before its `/`. */
export interface CachedMcpServer {
  mirror: string;
  name: string;
  version: string;
  key: string;
  namespace: string;
  status: string;
  isLatest: boolean;
  /** The description, for search. */
  description: string;
  publishedAt: string | null;
  updatedAt: string | null;
  server: Json;
  official: Json | null;
  /** The sync run that last saw it (its start time). */
  syncedAt: string;
}

/** Where a mirror's listing walk stands. */
export interface McpMirrorState {
  mirror: string;
  /** When the whole listing was last read (a complete walk); null: never. */
  listedAt: string | null;
  /** The walk under way (its start), and the upstream cursor it reached; null: none. */
  runStartedAt: string | null;
  checkpoint: string | null;
}

/** What the merged views ask of the cache: upstream versions other than shadowed (a local package of that name) or pinned ones. */
export interface McpCacheQuery {
  /** Case-insensitive substring of the name or the description. */
  text?: string;
  changedSince?: string;
  latestOnly?: boolean;
  exactVersion?: string;
  includeDeleted: boolean;
  /** One server only (its lower-cased name). */
  key?: string;
  /** One mirror's servers only (still those it answers for: not shadowed by a local package or an earlier mirror, not pinned). */
  mirror?: string;
  /** These mirrors' servers only (those whose visibility lets the caller read them); a server an earlier mirror answers for stays hidden. */
  mirrors: readonly string[];
  /** Continue after this position (exclusive), in (key, version) byte order. */
  after?: UpstreamPosition;
  limit: number;
  /** Namespaces pinned to this registry: neither they nor their sub-namespaces (`<pin>.…`) come from upstreams. */
  pinned: readonly string[];
}

export interface UpstreamPosition {
  key: string;
  version: string;
}

/**
 * The MCP upstreams' listings, cached (`src/storage/sql/mcp-mirror-cache.ts`). Across several MCP
 * mirrors the first by name answers for a server name; a local package of that name hides it.
 */
export interface McpMirrorCache {
  state(mirror: string): Promise<McpMirrorState | undefined>;
  putState(s: McpMirrorState): Promise<void>;
  /** The cached versions of these servers (lower-cased names) of one mirror. */
  findMany(mirror: string, keys: string[]): Promise<CachedMcpServer[]>;
  upsert(rows: CachedMcpServer[]): Promise<void>;
  /** Drops the versions no walk since `before` saw; answers them as `name@version`. */
  removeUnseen(mirror: string, before: string): Promise<string[]>;
  browse(q: McpCacheQuery): Promise<CachedMcpServer[]>;
}

/** A row of the merged MCP listing: a local version, or an upstream's with the upstream's URL. */
export type MergedRow = { local: PackageVersionRecord } | { upstream: CachedMcpServer; url: string };

/** Where a merged listing continues: each side's last row (null: that side has not started). */
export interface MergedPosition {
  local: { key: string; versionId: number } | null;
  upstream: UpstreamPosition | null;
}

/** Rows read at a time when a page-based view walks the merged listing. */
const LATEST_WALK = 500;

/** Byte order of two strings, as the cache and the C collation sort them. */
const byteCompare = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Whether a namespace is pinned: the pin itself or one of its sub-namespaces (`com.acme` pins `com.acme.tools`). */
export const isPinned = (namespace: string, pinned: readonly string[]): boolean => pinned.some((p) => namespace === p || namespace.startsWith(`${p}.`));

/**
 * MCP upstreams (another MCP registry, the official one or any `/v0.1` server) shown beside local
 * servers in the MCP and ToolHive views. Each upstream's whole listing is cached and read again once
 * older than the mirror's TTL; while the upstream cannot be read, the cache is served (stale, and
 * said so through `onStale`). Local servers win on a name clash, and pinned namespaces never come
 * from an upstream.
 */
export class McpMirrors {
  private readonly refreshing = new Map<string, Promise<void>>();
  /** When each upstream last failed: it is not asked again for a while (the TTL, at most a minute), its cache is served. */
  private readonly failedAt = new Map<string, number>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly mirrors: MirrorService,
    private readonly packages: PackageService,
    private readonly cache: McpMirrorCache,
    private readonly upstream: McpUpstream,
    private readonly opts: { pinned?: readonly string[]; onStale?: (mirror: string, url: string, e: unknown) => void } = {},
  ) {}

  /** Namespaces pinned to this registry (lower case). */
  get pinned(): readonly string[] {
    return (this.opts.pinned ?? []).map((p) => p.toLowerCase());
  }

  /** What {@link syncMcpMirror} needs, for the sync job. */
  get syncDeps(): McpSyncDeps {
    return { cache: this.cache, upstream: this.upstream, clock: this.deps.clock, endpoint: (m: MirrorRecord, via?: readonly string[]): Promise<UpstreamEndpoint> => this.mirrors.endpointOf(m, via) };
  }

  /**
   * A request that is another registry's upstream lookup which passed through this server already
   * (or made too many hops) is answered with this registry's own servers only: upstream servers are
   * neither read nor listed, so two registries mirroring each other neither wait on each other nor
   * hand each other's servers back.
   */
  private mayAskUpstreams(ctx: RequestContext): boolean {
    return this.mirrors.mayAskUpstreams(ctx.mirrorVia);
  }

  private async mcpMirrors(): Promise<MirrorRecord[]> {
    return (await this.mirrors.store.list()).filter((m) => m.kind === 'mcp');
  }

  /**
   * Reads again every MCP upstream whose cached listing is older than its TTL (one walk per mirror at
   * a time). A mirror never listed is waited for; one with a listing keeps serving it while the walk
   * runs (stale while revalidating), so no reader waits on a long upstream. Answers the mirrors whose
   * last read failed: their answer comes from a stale (or no) cache. A failed upstream is asked again
   * after its TTL, at most a minute. `via`: the servers the request passed through (its listing
   * requests name them, this one last).
   */
  async refresh(via?: readonly string[]): Promise<string[]> {
    const stale: string[] = [];
    const now = this.deps.clock.now().getTime();
    await Promise.all(
      (await this.mcpMirrors()).map(async (m) => {
        const state = await this.cache.state(m.name);
        if (state?.listedAt && now - Date.parse(state.listedAt) < m.ttlSeconds * 1000) return;
        const id = `${m.name}\u0000${m.url}`;
        const failed = this.failedAt.get(id);
        if (failed !== undefined) stale.push(m.name);
        if (failed !== undefined && now - failed < Math.min(m.ttlSeconds, 60) * 1000) return;
        let run = this.refreshing.get(id);
        if (!run) {
          run = syncMcpMirror(this.syncDeps, m, { via }).then(
            () => void this.failedAt.delete(id),
            (e: unknown) => {
              this.failedAt.set(id, this.deps.clock.now().getTime());
              this.opts.onStale?.(m.name, m.url, e);
              throw e;
            },
          );
          this.refreshing.set(id, run);
          void run.catch(() => undefined).finally(() => this.refreshing.delete(id));
        }
        if (state?.listedAt) return;
        try {
          await run;
        } catch {
          if (!stale.includes(m.name)) stale.push(m.name);
        }
      }),
    );
    return stale.sort();
  }

  /** The MCP mirrors whose servers the caller may read. */
  private async readableMirrors(ctx: RequestContext): Promise<string[]> {
    const out: string[] = [];
    for (const m of await this.mcpMirrors()) if (await this.mirrors.mayRead(ctx, m)) out.push(m.name);
    return out;
  }

  private async urls(): Promise<Map<string, string>> {
    return new Map((await this.mcpMirrors()).map((m) => [m.name, m.url]));
  }

  /**
   * One page of the merged listing: local versions the caller may read and upstream versions, in
   * name order, each side continuing from its own position so that no row repeats or is skipped.
   */
  async browse(
    ctx: RequestContext,
    q: Omit<VersionBrowseQuery, 'read' | 'after' | 'limit' | 'kind'>,
    after: MergedPosition | undefined,
    limit: number,
  ): Promise<{ rows: MergedRow[]; next?: MergedPosition; stale: string[] }> {
    this.deps.policy.requireReadAccess(ctx);
    const upstreams = this.mayAskUpstreams(ctx);
    const stale = upstreams ? await this.refresh(ctx.mirrorVia) : [];
    const local = await this.packages.browseVersions(ctx, { ...q, kind: 'mcp-server', after: after?.local ?? undefined, limit: limit + 1 });
    const up = !upstreams
      ? []
      : await this.cache.browse({
          mirrors: await this.readableMirrors(ctx),
          text: q.text,
          changedSince: q.changedSince,
          latestOnly: q.version !== undefined && 'latest' in q.version,
          exactVersion: q.version !== undefined && 'exact' in q.version ? q.version.exact : undefined,
          includeDeleted: q.includeUnpublished,
          after: after?.upstream ?? undefined,
          limit: limit + 1,
          pinned: this.pinned,
        });
    const urls = await this.urls();
    const rows: MergedRow[] = [];
    let i = 0;
    let j = 0;
    while (rows.length < limit && (i < local.length || j < up.length)) {
      const takeLocal = j >= up.length || (i < local.length && byteCompare(local[i].pkg.key, up[j].key) <= 0);
      if (takeLocal) rows.push({ local: local[i++] });
      else {
        rows.push({ upstream: up[j], url: urls.get(up[j].mirror) ?? '' });
        j++;
      }
    }
    const more = i < local.length || j < up.length;
    const lastLocal = i > 0 ? local[i - 1] : undefined;
    const lastUp = j > 0 ? up[j - 1] : undefined;
    const next: MergedPosition | undefined = more
      ? {
          local: lastLocal ? { key: lastLocal.pkg.key, versionId: lastLocal.version.id } : (after?.local ?? null),
          upstream: lastUp ? { key: lastUp.key, version: lastUp.version } : (after?.upstream ?? null),
        }
      : undefined;
    return { rows, next, stale };
  }

  /**
   * A page (by offset) of every server's latest version, local and upstream, as the merged listing
   * ({@link browse}) gives them, in name order, with how many there are in all (for page-based
   * catalogues such as ToolHive's `/registry/{name}/v0.1/servers`).
   */
  async latestPage(ctx: RequestContext, text: string | undefined, offset: number, limit: number): Promise<{ rows: MergedRow[]; total: number; stale: string[] }> {
    const rows: MergedRow[] = [];
    let total = 0;
    let stale: string[] = [];
    let after: MergedPosition | undefined;
    for (;;) {
      const page = await this.browse(ctx, { text, version: { latest: true }, includeUnpublished: false }, after, LATEST_WALK);
      if (after === undefined) stale = page.stale;
      for (const r of page.rows) {
        if (total >= offset && rows.length < limit) rows.push(r);
        total++;
      }
      if (!page.next) return { rows, total, stale };
      after = page.next;
    }
  }

  /**
   * The servers one MCP mirror answers for (each one's latest version), in name order, a page at a
   * time after `after`: what its upstream lists less what a local package or an earlier mirror
   * shadows and pinned namespaces. Anyone who may read this registry may list them; 404 when there
   * is no MCP mirror of that name.
   */
  async serversOf(
    ctx: RequestContext,
    mirror: string,
    q: { text?: string; after?: UpstreamPosition; limit: number },
  ): Promise<{ url: string; rows: CachedMcpServer[]; next?: UpstreamPosition; stale: string[] }> {
    this.deps.policy.requireReadAccess(ctx);
    const m = await this.mirrors.ofKind(mirror, 'mcp');
    // One whose servers the caller may not read is not there for it (as a private object is a 404).
    if (!m || !(await this.mirrors.mayRead(ctx, m))) throw notFound(`No MCP mirror named ${mirror}`);
    if (!this.mayAskUpstreams(ctx)) return { url: m.url, rows: [], stale: [] };
    const stale = (await this.refresh(ctx.mirrorVia)).filter((n) => n === m.name);
    const rows = await this.cache.browse({ mirror: m.name, mirrors: [m.name], text: q.text, latestOnly: true, includeDeleted: false, after: q.after, limit: q.limit + 1, pinned: this.pinned });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { url: m.url, rows: page, ...(rows.length > q.limit && last ? { next: { key: last.key, version: last.version } } : {}), stale };
  }

  /** The upstream versions of one server (none when a local package has its name or its namespace is pinned). */
  async versions(ctx: RequestContext, name: string, includeDeleted: boolean): Promise<{ rows: CachedMcpServer[]; url: string; stale: string[] }> {
    this.deps.policy.requireReadAccess(ctx);
    if (!this.mayAskUpstreams(ctx)) return { rows: [], url: '', stale: [] };
    const stale = await this.refresh(ctx.mirrorVia);
    const mirrors = await this.readableMirrors(ctx);
    const rows: CachedMcpServer[] = [];
    let after: UpstreamPosition | undefined;
    for (;;) {
      const page = await this.cache.browse({ key: name.toLowerCase(), mirrors, includeDeleted, after, limit: 500, pinned: this.pinned });
      rows.push(...page);
      if (page.length < 500) break;
      after = { key: page[page.length - 1].key, version: page[page.length - 1].version };
    }
    const url = rows.length > 0 ? ((await this.urls()).get(rows[0].mirror) ?? '') : '';
    return { rows, url, stale };
  }

  /** Every upstream server's latest version (shadowed and pinned ones left out), for ToolHive's whole-registry views. */
  async latest(ctx: RequestContext): Promise<{ rows: Array<{ upstream: CachedMcpServer; url: string }>; stale: string[] }> {
    this.deps.policy.requireReadAccess(ctx);
    if (!this.mayAskUpstreams(ctx)) return { rows: [], stale: [] };
    const stale = await this.refresh(ctx.mirrorVia);
    const urls = await this.urls();
    const mirrors = await this.readableMirrors(ctx);
    const rows: Array<{ upstream: CachedMcpServer; url: string }> = [];
    let after: UpstreamPosition | undefined;
    for (;;) {
      const page = await this.cache.browse({ latestOnly: true, mirrors, includeDeleted: false, after, limit: 500, pinned: this.pinned });
      rows.push(...page.map((r) => ({ upstream: r, url: urls.get(r.mirror) ?? '' })));
      if (page.length < 500) break;
      after = { key: page[page.length - 1].key, version: page[page.length - 1].version };
    }
    return { rows, stale };
  }
}
