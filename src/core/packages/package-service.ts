import type { CoreDeps } from '../core-deps.js';
import { tappedAudit } from '../audit/audit-log.js';
import type { NewAuditRecord } from '../audit/audit-repo.js';
import { packageEventsOf } from '../events/domain-events.js';
import type { Visibility } from '../access/visibility.js';
import { ownValue } from '../own-value.js';
import type { RequestContext } from '../auth/principal.js';
import { AgentryError, badRequest, notFound } from '../errors.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { PackageQuery, PackageRecord, PackageVersionRecord, PackageViewRecord, VersionBrowseQuery, VersionRecord } from './package-repo.js';
import type { Page } from '../page.js';
import type { StorageRepos } from '../storage.js';
import { utcDay } from '../time.js';
import { kindLabel, type PackageKind } from './kinds.js';
import { parsePackageId } from './names.js';
import { changePackageVisibility } from './package-visibility.js';
import type { TarballLimits } from './tarball.js';
import { versionSchemeOf } from './version-scheme.js';
import { ViewCache } from './view-cache.js';
import type { PackageMirrors } from './package-mirrors.js';
import type { PackageViewStamps } from './view-stamps.js';
import { checkSearchMode, type SearchMode, type SearchOutcome } from '../search/search-mode.js';
import type { SemanticSearch } from '../search/semantic-search.js';
import { PackagePublisher, type PublishInput, type PublishResult } from './package-publisher.js';
import { PackageMirroring } from './package-mirroring.js';

export interface PackageView {
  pkg: PackageRecord;
  latest: VersionRecord | undefined;
  distTags: Record<string, string>;
  owner: AccountRecord | undefined;
  /** Set for a package taken from an upstream (a pull-through mirror): where it came from. */
  mirror?: { upstream: string };
}

/** A package's detail as the native door sends it: its JSON text and the entity tag of that text. */
export interface DetailDocument {
  body: string;
  etag: string;
}

/** Renders a package's detail document (the door's serialisation of a view; no rule lives in it). */
export type DetailRenderer = (view: PackageView) => DetailDocument;

/**
 * The stored document `doc` with the package's download count set to `downloads` (its tag made
 * anew), as the renderer would make it from the view with that count; undefined when it cannot
 * tell (then the document is rendered from the view).
 */
export type DownloadsRewriter = (doc: DetailDocument, downloads: number) => DetailDocument | undefined;

/** What a package's stored view shows: its dist-tags with `latest` (kept on the package row) among them. */
const packageView = ({ pkg, latest, owner, distTags }: PackageViewRecord): PackageView => ({
  pkg,
  latest,
  owner,
  distTags: pkg.latestVersion ? { latest: pkg.latestVersion, ...distTags } : distTags,
});

export interface DownloadTarget {
  pkg: PackageRecord;
  version: VersionRecord;
}

/** Packages of every kind: publish, read, tag, deprecate, unpublish, download, query. */
export class PackageService {
  private readonly cache: ViewCache;
  /** The publish path (checks, idempotent replay, republish); its settings (gate, check, signing) are set on it. */
  readonly publisher: PackagePublisher;
  /** What pull-through mirrors write of the packages they take from an upstream. */
  readonly mirroring: PackageMirroring;

  constructor(
    private readonly deps: CoreDeps,
    limits: TarballLimits,
    viewCacheEntries = 10_000,
  ) {
    this.cache = new ViewCache(viewCacheEntries);
    this.publisher = new PackagePublisher(deps, limits, this);
    this.mirroring = new PackageMirroring(deps, this, this.publisher);
  }

  /** Pull-through mirrors of packages (Agentry upstreams); absent: every package is this registry's own. */
  private mirrors?: PackageMirrors;

  useMirrors(mirrors: PackageMirrors): void {
    this.mirrors = mirrors;
  }

  /** Throws (409) when the scope's packages are taken from an upstream: they are read-only here. */
  async requireLocal(scope: string): Promise<void> {
    await this.mirrors?.refuseWrites(scope);
  }

  /** Stamps to check cached views against, where other processes write to the same store. */
  private viewStamps?: PackageViewStamps;

  /**
   * Starts following other processes' changes, so cached views never outlive a write: the change
   * feed drops stale views soon, and `stamps` (when the store is shared) makes every read check
   * its cached view against the store first, so a write acknowledged anywhere shows at once.
   */
  async followChanges(stamps?: PackageViewStamps): Promise<void> {
    this.viewStamps = stamps;
    await this.deps.storage.onPackageChange((key) => (key === undefined ? this.cache.clear() : this.cache.invalidate(key)));
  }

  /**
   * Runs a write to package `key` in a transaction, announces it, and drops the cached view once
   * committed. Other services that change what a package view shows (stars) write through this.
   * The domain events the write's audit entries tell of (webhooks) are recorded in the same
   * transaction, so they land with the write or not at all. Given as a package (its key and owning
   * account), a write about an owner without webhooks skips them without a query; given as a key,
   * one read of the package row decides, when any webhook exists at all.
   */
  async change<T>(
    target: string | Pick<PackageRecord, 'key' | 'ownerAccountId'>,
    fn: (tx: StorageRepos) => Promise<T>,
    /** `downloads`: the write changed only download counts; the stored document gets its new count, not a new rendering. */
    what: 'any' | 'downloads' = 'any',
  ): Promise<T> {
    const key = typeof target === 'string' ? target : target.key;
    const events = this.deps.events;
    let recorded = false;
    let result: T;
    try {
      result = await this.deps.storage.transaction(async (tx) => {
        const audited: NewAuditRecord[] = [];
        const r = await fn({ ...tx, audit: tappedAudit(tx.audit, audited) });
        await tx.packages.announceChange(key);
        // After announceChange: on PostgreSQL that holds the package row's lock, so the document
        // is rendered from every write committed before this one (a racing write waits for it).
        const stored = await this.keepDocument(tx, key, what);
        if (events && audited.length > 0 && (typeof target === 'string' ? events.wantsAny() : events.wants(target.ownerAccountId))) {
          const pkg = stored ?? (await tx.packages.findByKey(key));
          if (pkg && events.wants(pkg.ownerAccountId)) {
            await events.record(tx, packageEventsOf(audited, pkg));
            recorded = true;
          }
        }
        return r;
      });
    } finally {
      this.cache.invalidate(key);
    }
    if (recorded) events?.committed();
    return result;
  }

  publish(ctx: RequestContext, input: PublishInput): Promise<PublishResult> {
    return this.publisher.publish(ctx, input);
  }

  /** Publishes a package from its manifest alone (PackagePublisher.publishManifest). */
  publishManifest(ctx: RequestContext, kind: PackageKind, text: string, idempotencyKey?: string | string[]): Promise<PublishResult> {
    return this.publisher.publishManifest(ctx, kind, text, idempotencyKey);
  }

  /** Renders the detail documents kept in the store and read by `document` (the native door sets it); unset: none are kept. */
  private renderer?: DetailRenderer;

  /**
   * Keeps each package's detail document, as `render` makes it, in the store: rewritten in the
   * transaction of every write to the package (change), so an uncached read (document) is one
   * lookup and the stored text. Documents missing (packages from before, owners whose profile
   * changed) are written by `fillDocuments`.
   */
  renderDocumentsWith(render: DetailRenderer, rewriteDownloads?: DownloadsRewriter): void {
    this.renderer = render;
    this.rewriteDownloads = rewriteDownloads;
  }

  /** Sets a stored document's download count without rendering it (a download changes nothing else it shows). */
  private rewriteDownloads?: DownloadsRewriter;

  /**
   * After a download: the stored document with the package's new download count, read in the
   * transaction (after the package's row lock, see change); false when there is no stored document
   * or the door cannot rewrite it, and the document must be rendered.
   */
  private async storeDownloads(tx: StorageRepos, key: string): Promise<boolean> {
    const rewrite = this.rewriteDownloads;
    if (!rewrite) return false;
    const stored = await tx.packages.findDocumentWithDownloads(key);
    const doc = stored && rewrite(stored, stored.downloadCount);
    if (!doc) return false;
    await tx.packages.saveDocument(stored.packageId, doc.body, doc.etag);
    return true;
  }

  /**
   * Brings the package's stored document up to date in a write's transaction (none are kept
   * without a renderer): a download sets only its count when it can, anything else renders it
   * anew. Answers the package when it read it (for the write's events).
   */
  private async keepDocument(tx: StorageRepos, key: string, what: 'any' | 'downloads'): Promise<PackageRecord | undefined> {
    if (!this.renderer) return undefined;
    if (what === 'downloads' && (await this.storeDownloads(tx, key))) return undefined;
    return this.storeDocument(tx, key);
  }

  /** Writes the package's detail document from its view as the transaction sees it; answers the package it read. */
  private async storeDocument(tx: StorageRepos, key: string): Promise<PackageRecord | undefined> {
    const view = await tx.packages.findView(key);
    if (!view || !this.renderer) return view?.pkg;
    const doc = this.renderer(packageView(view));
    await tx.packages.saveDocument(view.pkg.id, doc.body, doc.etag);
    return view.pkg;
  }

  /** The fill of missing documents under way, if any (one at a time), and whether it should stop. */
  private filling?: Promise<number>;
  private stopFill = false;

  /**
   * Writes the missing detail documents in the background, `batch` packages a transaction, each
   * holding the package's row lock (a write racing it either waits for it and rewrites the
   * document, or committed before it was read), until none is missing; one fill at a time (a
   * call while one runs joins it). Returns how many it wrote. A server starts it at start-up;
   * a read that finds no document starts it again.
   */
  fillDocuments(batch = 200): Promise<number> {
    if (!this.renderer || this.deps.policy.readOnly || this.stopFill) return Promise.resolve(0);
    this.filling ??= this.fillMissing(batch).finally(() => (this.filling = undefined));
    return this.filling;
  }

  /** Stops the fill under way after its current batch (a server that is closing). */
  async stopFillingDocuments(): Promise<void> {
    this.stopFill = true;
    await this.filling?.catch(() => undefined);
  }

  /**
   * Walks the packages once in id order, each batch starting after the last one's last id (linear,
   * however many are missing), then again from the first until a walk finds none missing: a
   * document dropped behind the cursor while it walked (a fill started then joined this one) is
   * written too.
   */
  private async fillMissing(batch: number): Promise<number> {
    let filled = 0;
    let after = 0;
    let wrote = false;
    while (!this.stopFill) {
      const missing = await this.deps.storage.packages.keysWithoutDocument(batch, after);
      if (missing.length === 0) {
        if (!wrote) break;
        [after, wrote] = [0, false];
        continue;
      }
      await this.deps.storage.transaction(async (tx) => {
        for (const { key } of missing) if (await tx.packages.lockByKey(key)) await this.storeDocument(tx, key);
      });
      filled += missing.length;
      after = missing[missing.length - 1].id;
      wrote = true;
    }
    return filled;
  }

  /**
   * A package's detail document: the stored text when there is one (one lookup; the read rule
   * applied to the fields stored beside it, a package the caller may not read being a 404 exactly
   * like a missing one), else rendered from its view (get), the missing documents then written
   * in the background (fillDocuments).
   * Packages of mirrored scopes carry where they came from and are always read through `get`.
   */
  async document(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<DetailDocument> {
    const render = this.renderer;
    if (!render) throw new Error('PackageService.document needs renderDocumentsWith first');
    this.deps.policy.requireReadAccess(ctx);
    const id = parsePackageId(scope, name);
    const doc = await this.deps.storage.packages.findDocument(id.key);
    if (doc && !(await this.mirrors?.isMirrored(doc.scope))) {
      const missing = () => notFound(`${kindLabel(kind)} not found`);
      if (kind && doc.kind !== kind) throw missing();
      await this.deps.policy.requireRead(ctx, doc, missing);
      return { body: doc.body, etag: doc.etag };
    }
    const view = await this.get(ctx, scope, name, kind);
    // Not awaited: a read does not wait for a write; a failed fill is tried again by the next read without a document.
    if (!view.mirror) this.fillDocuments().catch(() => undefined);
    return render(view);
  }

  async get(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<PackageView> {
    this.deps.policy.requireReadAccess(ctx);
    const id = parsePackageId(scope, name);
    let view = await this.view(id.key);
    let mirror: { upstream: string } | undefined;
    if (this.mirrors) {
      // Not here: looked up on the upstreams; taken from one: asked again once its TTL passed.
      if (!view && (await this.mirrors.fetchMissing(id.scope, id.name, ctx))) view = await this.view(id.key);
      const r = view && (await this.mirrors.refresh(view.pkg, false, ctx));
      if (r?.changed) view = await this.view(id.key);
      if (r) mirror = { upstream: r.upstream };
    }
    const missing = () => notFound(`${kindLabel(kind)} not found`);
    if (!view || (kind && view.pkg.kind !== kind)) throw missing();
    await this.deps.policy.requireRead(ctx, view.pkg, missing);
    return { ...packageView(view), ...(mirror ? { mirror } : {}) };
  }

  /**
   * A package's view from the cache or the store. Where other processes write to the store too,
   * a cached view is served only under the stamp the store holds now; a view read from the store
   * carries the stamp it was read under (one read, not two).
   */
  private async view(key: string): Promise<PackageViewRecord | undefined> {
    const generation = this.cache.generation;
    if (!this.viewStamps) return this.cache.get(key) ?? this.cache.set(key, await this.deps.storage.packages.findView(key), generation);
    if (this.cache.has(key)) {
      const stamp = await this.viewStamps.stamp(key);
      if (stamp === undefined) return undefined;
      const cached = this.cache.get(key, stamp);
      if (cached) return cached;
    }
    const view = await this.deps.storage.packages.findView(key);
    return this.cache.set(key, view, generation, view?.stamp);
  }

  /**
   * A package's versions, newest first; for those who maintain its scope, also how many sessions
   * ran each (by version id; undefined for everyone else).
   */
  async versions(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<{ pkg: PackageRecord; versions: VersionRecord[]; sessionCounts?: Map<number, number> }> {
    const pkg = await this.find(ctx, scope, name, kind);
    const versions = versionSchemeOf(pkg.kind).sortDesc(await this.deps.storage.packages.listVersions(pkg.id, false));
    if (pkg.kind !== 'agent' || !(await this.deps.policy.maintainsScope(ctx, pkg.scope))) return { pkg, versions };
    return { pkg, versions, sessionCounts: await this.deps.storage.packages.sessionCounts(pkg.id) };
  }

  /** Resolves a version or dist-tag and counts one download of it. */
  async download(ctx: RequestContext, scope: string, name: string, versionOrTag: string, kind?: PackageKind): Promise<DownloadTarget> {
    const pkg = await this.find(ctx, scope, name, kind);
    return this.countDownload({ pkg, version: await this.resolve(pkg, versionOrTag, ctx) });
  }

  /** Counts one download of a version the caller has already been allowed to read (found through this service). */
  async countDownload(target: DownloadTarget): Promise<DownloadTarget> {
    await this.change(target.pkg, (tx) => tx.packages.recordDownload(target.pkg.id, target.version.id, utcDay(this.deps.clock.now())), 'downloads');
    return target;
  }

  /** Semantic and hybrid search (core/search), when an embeddings endpoint is configured. */
  private semantic?: { search: SemanticSearch; queued: () => void };

  useSemanticSearch(search: SemanticSearch, queued: () => void): void {
    this.semantic = { search, queued };
    this.publisher.queueEmbeddingsWith(queued);
  }

  /**
   * A page of packages the caller may read (the read filter is applied in the query: pages and
   * totals count only those), with their owners and, for packages taken from an upstream, its URL
   * by (lower-case) scope. `mode` (default `keyword`): how a text query ranks (core/search/search-mode.ts);
   * `search` says what the search did when a mode was asked.
   */
  async query(
    ctx: RequestContext,
    q: Omit<PackageQuery, 'read' | 'ids'> & { mode?: SearchMode; publicOnly?: boolean },
  ): Promise<Page<PackageRecord> & { owners: Map<number, AccountRecord>; upstreams: Map<string, string>; search?: SearchOutcome }> {
    const { mode, publicOnly, ...rest } = q;
    if (mode !== undefined) checkSearchMode(mode, rest, this.semantic !== undefined);
    // `publicOnly`: public packages only, whoever asks (the server's own A2A card), once the caller may read at all.
    const read = publicOnly ? this.deps.policy.publicFilter(ctx) : await this.deps.policy.readFilter(ctx);
    const page =
      mode === undefined || mode === 'keyword'
        ? { ...(await this.deps.storage.packages.query({ ...rest, read })), ...(mode ? { search: { mode } } : {}) }
        : await this.semantic!.search.search({ ...rest, text: rest.text!, read }, mode);
    const upstreams = this.mirrors && page.rows.length > 0 ? await this.mirrors.upstreamsOf(page.rows.map((r) => r.scope)) : new Map<string, string>();
    return { ...page, upstreams };
  }

  /**
   * How many packages are published that `ctx` may read, through the one read rule (a private or
   * internal package is in no count of a caller who may not read it): the figure `/metrics` shows
   * when it is open to anyone. Without a caller, every package, every visibility: the operator's
   * figure, for a `/metrics` behind its own token.
   */
  async publishedCount(ctx?: RequestContext): Promise<number> {
    if (ctx === undefined) return this.deps.storage.packages.countPublished();
    // A caller who may not even read a public package (a closed server, no token) reads none.
    if (!(await this.deps.policy.canRead(ctx, { ownerAccountId: 0, visibility: 'public' }))) return 0;
    return this.deps.storage.packages.countPublished(await this.deps.policy.readFilter(ctx));
  }

  async ownersOf(rows: PackageRecord[]): Promise<Map<number, AccountRecord>> {
    const accounts = await this.deps.storage.accounts.findByIds([...new Set(rows.map((r) => r.ownerAccountId))]);
    return new Map(accounts.map((a) => [a.id, a]));
  }

  async distTags(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<Record<string, string>> {
    return this.distTagsOf(await this.find(ctx, scope, name, kind));
  }

  /** One version by number or dist-tag (`latest`); unpublished ones too when asked. */
  async getVersion(ctx: RequestContext, scope: string, name: string, versionOrTag: string, opts: { kind?: PackageKind; includeUnpublished?: boolean } = {}): Promise<DownloadTarget> {
    const pkg = await this.find(ctx, scope, name, opts.kind);
    if (!opts.includeUnpublished) return { pkg, version: await this.resolve(pkg, versionOrTag, ctx) };
    const wanted = ownValue(await this.distTagsOf(pkg), versionOrTag) ?? versionOrTag;
    const version = await this.deps.storage.packages.findVersion(pkg.id, wanted);
    if (!version) throw notFound('Version not found');
    return { pkg, version };
  }

  /** Every version of a package in publish order, unpublished ones too when asked. */
  async allVersions(ctx: RequestContext, scope: string, name: string, opts: { kind?: PackageKind; includeUnpublished?: boolean } = {}): Promise<{ pkg: PackageRecord; versions: VersionRecord[] }> {
    const pkg = await this.find(ctx, scope, name, opts.kind);
    return { pkg, versions: await this.deps.storage.packages.listVersions(pkg.id, opts.includeUnpublished ?? false) };
  }

  /** Versions across packages, a page at a time after a keyset position (see VersionBrowseQuery). */
  async browseVersions(ctx: RequestContext, q: Omit<VersionBrowseQuery, 'read'>): Promise<PackageVersionRecord[]> {
    const read = await this.deps.policy.readFilter(ctx);
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 1000) throw badRequest('limit must be an integer from 1 to 1000');
    return this.deps.storage.packages.browseVersions({ ...q, read });
  }

  /**
   * The package, when the caller may read it (AccessPolicy.requireRead): a package the caller may
   * not read is the same 404 as one that does not exist. Every read and write of a package by
   * name starts here.
   */
  async find(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<PackageRecord> {
    this.deps.policy.requireReadAccess(ctx);
    const id = parsePackageId(scope, name);
    let pkg = await this.deps.storage.packages.findByKey(id.key);
    if (this.mirrors) {
      if (!pkg) {
        if (await this.mirrors.fetchMissing(id.scope, id.name, ctx)) pkg = await this.deps.storage.packages.findByKey(id.key);
      } else if ((await this.mirrors.refresh(pkg, false, ctx))?.changed) {
        pkg = await this.deps.storage.packages.findByKey(id.key);
      }
    }
    const missing = () => notFound(`${kindLabel(kind)} not found`);
    if (!pkg || (kind && pkg.kind !== kind)) throw missing();
    await this.deps.policy.requireRead(ctx, pkg, missing);
    return pkg;
  }

  /**
   * The package without the read rule: only for core services that already decided the caller may
   * see what refers to it (a managed skill the caller owns). Doors never call this.
   */
  async findUnchecked(scope: string, name: string, kind?: PackageKind): Promise<PackageRecord> {
    const pkg = await this.deps.storage.packages.findByKey(parsePackageId(scope, name).key);
    if (!pkg || (kind && pkg.kind !== kind)) throw notFound(`${kindLabel(kind)} not found`);
    return pkg;
  }

  /** Who may read the package and its scope's default (`agentry access get`). */
  async visibility(ctx: RequestContext, scope: string, name: string): Promise<PackageRecord> {
    return this.find(ctx, scope, name);
  }

  /** Changes who may read a package (`agentry access set @scope/name …`): the scope's writers only; audited. */
  async setVisibility(ctx: RequestContext, scope: string, name: string, visibility: Visibility): Promise<PackageRecord> {
    const found = await this.find(ctx, scope, name);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireScopeWrite(ctx, found.scope);
    await this.requireLocal(found.scope);
    return this.change(found, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      await changePackageVisibility(tx, this.deps.audit, ctx, pkg, visibility);
      return { ...pkg, visibility };
    });
  }

  /** A version or dist-tag of the package; `ctx`, when the caller has one, says whether an upstream lookup may ask further upstreams. */
  async resolve(pkg: PackageRecord, versionOrTag: string, ctx?: RequestContext): Promise<VersionRecord> {
    try {
      return await this.resolveHere(pkg, versionOrTag);
    } catch (e) {
      // A version of a mirrored package that is not here yet: the upstream is asked at once.
      if (!(e instanceof AgentryError && e.code === 'not_found') || !(await this.mirrors?.refresh(pkg, true, ctx))?.changed) throw e;
      return this.resolveHere((await this.deps.storage.packages.findById(pkg.id)) ?? pkg, versionOrTag);
    }
  }

  /** For a version taken from an upstream: the signatures attached there since it was fetched are copied (at most once a TTL). */
  async refreshMirroredSignatures(ctx: RequestContext, pkg: PackageRecord, version: VersionRecord): Promise<void> {
    await this.mirrors?.refreshSignatures(pkg, version, ctx.mirrorVia);
  }

  private async resolveHere(pkg: PackageRecord, versionOrTag: string): Promise<VersionRecord> {
    const tags = await this.distTagsOf(pkg);
    const wanted = ownValue(tags, versionOrTag) ?? versionOrTag;
    const v = versionSchemeOf(pkg.kind).problem(wanted) === undefined ? await this.deps.storage.packages.findVersion(pkg.id, wanted) : undefined;
    if (!v || v.unpublishedAt) throw notFound('Version not found');
    return v;
  }

  private async distTagsOf(pkg: PackageRecord): Promise<Record<string, string>> {
    const tags = await this.deps.storage.packages.distTags(pkg.id);
    return pkg.latestVersion ? { latest: pkg.latestVersion, ...tags } : tags;
  }
}
