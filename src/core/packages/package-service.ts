import type { CoreDeps } from '../core-deps.js';
import { tappedAudit } from '../audit/audit-log.js';
import type { NewAuditRecord } from '../audit/audit-repo.js';
import { packageEventsOf } from '../events/domain-events.js';
import type { Visibility } from '../access/visibility.js';
import { ownValue } from '../own-value.js';
import type { RequestContext } from '../auth/principal.js';
import { createHash } from 'node:crypto';
import { AgentryError, badGateway, badRequest, conflict, notFound, unprocessable, validationFailed } from '../errors.js';
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_TTL_MS, parseIdempotencyKey, publishFingerprint } from '../idempotency/idempotency-key.js';
import type { AccountRecord, ScopeRecord } from '../accounts/account-repo.js';
import type { NewPackage, NewVersion, PackageQuery, PackageRecord, PackageVersionRecord, PackageViewRecord, VersionBrowseQuery, VersionContent, VersionRecord } from './package-repo.js';
import type { Page } from '../page.js';
import type { StorageRepos } from '../storage.js';
import { isoNow, utcDay } from '../time.js';
import { MANIFEST_FILE, kindLabel, type PackageKind } from './kinds.js';
import { applyVersionMetadata, distTagProblem, packageMetadata, refreshLatest } from './latest.js';
import { checkPublish, type CheckedPublish, type PublishCheck } from './publish-validation.js';
import { parseManifest } from './manifest/index.js';
import { fullName, parsePackageId } from './names.js';
import type { TarballLimits } from './tarball.js';
import { singleFileTarball } from './single-file-tarball.js';
import { versionSchemeOf } from './version-scheme.js';
import { ViewCache } from './view-cache.js';
import type { PackageMirrors } from './package-mirrors.js';
import type { PackageViewStamps } from './view-stamps.js';
import { checkSearchMode, type SearchMode, type SearchOutcome } from '../search/search-mode.js';
import type { SemanticSearch } from '../search/semantic-search.js';

export interface PublishInput {
  /** Set by kind-specific doors; absent means "whatever manifest the tarball holds". */
  kind?: PackageKind;
  scope: string;
  name: string;
  tarball: Buffer;
  /** The manifest as the client declared it beside the tarball (agentx's `agent_yaml`); cross-checked. */
  declaredManifest?: { field: string; value: unknown };
  /** The readme as the client declared it; cross-checked against README.md in the tarball. */
  readme?: string;
  /** The version, for kinds whose manifest may not carry one (skills). */
  version?: string;
  /** A dist-tag to point at the new version; `latest` pins it. */
  tag?: string;
  /**
   * The tarball is a PraisonAI `.praison` bundle: its manifest is manifest.json (kind `recipe`), and
   * every file it lists is checked against its sha256. Without this, a recipe tarball that has no
   * recipe.yaml but a manifest.json is read as a bundle too.
   */
  bundle?: boolean;
  /**
   * Republish: when the version already exists (and was not unpublished), replace its content instead
   * of refusing with 409. Only the scope's writers get here (as for any publish); the old and new
   * digests are recorded in the audit log as `package.republish`.
   */
  force?: boolean;
  /**
   * The client's `Idempotency-Key` header, as sent. A retry with the same key, target and bytes gets
   * the original publish back (`replayed`), however often it is sent, for 24 hours; the same key
   * with anything else is a 422. The key is written in the publish's own transaction.
   */
  idempotencyKey?: string | string[];
  /**
   * Who may read the package (`--access`). A first publish takes it (else the scope's default);
   * a later publish that sends it changes the package's visibility (its publisher may administer it).
   */
  access?: Visibility;
  /** A Sigstore bundle signing this version (`publish --sign`): checked before, attached as a referrer after. */
  signature?: Buffer;
}

/** What publishing asks of package signatures (the SignatureService; a port, so packages need not know OCI). */
export interface PublishSigning {
  /** Throws (422, naming why) unless this publish may go ahead: a scope that requires signatures needs a valid one. */
  check(scope: string, subject: { name: string; version: string; digest: string }, signature: Buffer | undefined): Promise<void>;
  /** Attaches the signature to the version just published. */
  attach(ctx: RequestContext, pkg: PackageRecord, version: VersionRecord, signature: Buffer): Promise<void>;
}

export interface PackageView {
  pkg: PackageRecord;
  latest: VersionRecord | undefined;
  distTags: Record<string, string>;
  owner: AccountRecord | undefined;
  /** Set for a package taken from an upstream (a pull-through mirror): where it came from. */
  mirror?: { upstream: string };
}

export interface PublishResult {
  pkg: PackageRecord;
  version: VersionRecord;
  /** True when this is an earlier publish, found by its Idempotency-Key, not a new one. */
  replayed?: boolean;
}

/** Thrown inside a publish's transaction when another request committed the same key first. */
class KeyTakenMeanwhile extends Error {}

export interface DownloadTarget {
  pkg: PackageRecord;
  version: VersionRecord;
}

/** The row of a package's first version: its metadata from the manifest, owned as its scope is. */
const newPackage = (id: { name: string; key: string }, scope: ScopeRecord, checked: CheckedPublish, visibility: Visibility, now: string): NewPackage => ({
  kind: checked.manifest.kind,
  scope: scope.name,
  name: id.name,
  key: id.key,
  ...packageMetadata(checked.manifest, checked.readme ?? null),
  latestVersion: null,
  latestPinned: false,
  ownerAccountId: scope.ownerAccountId,
  visibility,
  createdAt: now,
  updatedAt: now,
});

/** The row of a checked version whose tarball is stored as `blob`. */
const newVersion = (packageId: number, checked: CheckedPublish, blob: { digest: string; size: number }, publishedBy: number | null, publishedAt: string): NewVersion => ({
  packageId,
  version: checked.version,
  manifest: checked.manifest.raw,
  findings: checked.findings,
  readme: checked.readme ?? null,
  digest: blob.digest,
  size: blob.size,
  fileCount: checked.contents.fileCount,
  unpackedSize: checked.contents.unpackedSize,
  publishedBy,
  publishedAt,
});

/** Packages of every kind: publish, read, tag, deprecate, unpublish, download, query. */
export class PackageService {
  private readonly cache: ViewCache;

  constructor(
    private readonly deps: CoreDeps,
    private readonly limits: TarballLimits,
    viewCacheEntries = 10_000,
  ) {
    this.cache = new ViewCache(viewCacheEntries);
  }

  /** Checked before every publish, from any door, with the publishing account (the rate limiter's publish budget). */
  private publishGate?: (accountId: number) => Promise<void>;

  gatePublishes(gate: (accountId: number) => Promise<void>): void {
    this.publishGate = gate;
  }

  /** Where a publish's tarball is checked (checkPublish: gunzip, untar, manifest, secret scan); this thread unless set. */
  private check: PublishCheck = checkPublish;

  checkPublishesWith(check: PublishCheck): void {
    this.check = check;
  }

  /** Signature checks and storage for every publish (set once the OCI side exists). */
  private signing?: PublishSigning;

  signPublishes(signing: PublishSigning): void {
    this.signing = signing;
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
  async change<T>(target: string | Pick<PackageRecord, 'key' | 'ownerAccountId'>, fn: (tx: StorageRepos) => Promise<T>): Promise<T> {
    const key = typeof target === 'string' ? target : target.key;
    const events = this.deps.events;
    let recorded = false;
    let result: T;
    try {
      result = await this.deps.storage.transaction(async (tx) => {
        const audited: NewAuditRecord[] = [];
        const r = await fn({ ...tx, audit: tappedAudit(tx.audit, audited) });
        await tx.packages.announceChange(key);
        if (events && audited.length > 0 && (typeof target === 'string' ? events.wantsAny() : events.wants(target.ownerAccountId))) {
          const pkg = await tx.packages.findByKey(key);
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

  async publish(ctx: RequestContext, input: PublishInput): Promise<PublishResult> {
    const id = parsePackageId(input.scope, input.name);
    this.deps.policy.requireWritable();
    const key = parseIdempotencyKey(input.idempotencyKey);
    const publisher = await this.deps.policy.requireScopeWrite(ctx, id.scope);
    await this.requireLocal(id.scope);
    const idem =
      key === undefined
        ? undefined
        : {
            accountId: ctx.principal!.account.id,
            key,
            fingerprint: publishFingerprint(
              { key: id.key, kind: input.kind, version: input.version, tag: input.tag, force: input.force === true, bundle: input.bundle === true, access: input.access },
              input.tarball,
            ),
          };
    // A retry of a publish that already happened answers as it did, before any budget or check.
    if (idem) {
      const earlier = await this.replay(idem);
      if (earlier) return earlier;
      await this.forgetExpiredKeys();
    }
    await this.publishGate?.(publisher.account.id);
    const checked = await this.check(id, input, this.limits);
    const { contents, manifest, version, readme, tag, findings } = checked;

    const digest = `sha256:${createHash('sha256').update(contents.tarball).digest('hex')}`;
    await this.signing?.check(id.scope, { name: fullName(id.scope, id.name), version, digest }, input.signature);
    // The scope's owner owns the package: a publish about an owner without webhooks queries nothing for them.
    let owner: number;
    try {
      owner = (await this.refuseUnpublishable(this.deps.storage, id, manifest.kind, version, false, input.force, digest)).scope.ownerAccountId;
    } catch (e) {
      // A concurrent retry with the same key may have committed since the replay check above: its answer is this one's.
      const earlier = idem && (await this.replay(idem));
      if (earlier) return earlier;
      throw e;
    }
    const blob = await this.deps.blobs.put(contents.tarball);
    const principal = ctx.principal!;
    let published: { pkgId: number; record: VersionRecord };
    try {
      published = await this.change({ key: id.key, ownerAccountId: owner }, async (tx) => {
        const now = isoNow(this.deps.clock);
        let { pkg, scope, existing } = await this.refuseUnpublishable(tx, id, manifest.kind, version, true, input.force, blob.digest);
        const remember = async (packageId: number, v: string): Promise<void> => {
          if (!idem) return;
          const at = this.deps.clock.now().getTime();
          const saved = await tx.idempotency.insert({
            ...idem,
            packageId,
            version: v,
            createdAt: new Date(at).toISOString(),
            expiresAt: new Date(at + IDEMPOTENCY_TTL_MS).toISOString(),
          });
          if (!saved) throw new KeyTakenMeanwhile();
        };
        if (pkg && input.access !== undefined && pkg.visibility !== input.access) {
          await tx.packages.setVisibility(pkg.id, input.access);
          await this.deps.audit.record(tx.audit, ctx, 'package.access', fullName(pkg.scope, pkg.name), { from: pkg.visibility, to: input.access, via: 'publish' });
        }
        if (pkg && existing) {
          const record = await this.republish(tx, ctx, pkg, existing, {
            manifest: manifest.raw,
            findings,
            readme: readme ?? null,
            digest: blob.digest,
            size: blob.size,
            fileCount: contents.fileCount,
            unpackedSize: contents.unpackedSize,
            publishedBy: principal.account.id,
            publishedAt: now,
          });
          await remember(pkg.id, record.version);
          return { pkgId: pkg.id, record };
        }
        let created = false;
        if (!pkg) {
          const made = await tx.packages.insert(newPackage(id, scope, checked, input.access ?? scope.defaultVisibility, now));
          // A package this transaction created holds no version yet. A concurrent first publish may
          // have created it (and this version) first: check again what it holds.
          created = made.created;
          pkg = made.created ? made.pkg : (await this.refuseUnpublishable(tx, id, manifest.kind, version, true, false, blob.digest)).pkg!;
        }
        const record = await tx.packages.insertVersion(newVersion(pkg.id, checked, blob, principal.account.id, now));
        if (tag && tag !== 'latest') await tx.packages.setDistTag(pkg.id, tag, record.version);
        await refreshLatest(tx, pkg, tag === 'latest' ? record.version : undefined, { record, manifest, only: created }, { updatedAt: now });
        await this.deps.audit.record(tx.audit, ctx, 'package.publish', `${fullName(pkg.scope, pkg.name)}@${record.version}`, {
          kind: manifest.kind,
          digest: blob.digest,
          size: blob.size,
          ...(contents.strippedModes.length > 0 ? { stripped_special_modes: contents.strippedModes.slice(0, 20) } : {}),
        });
        await remember(pkg.id, record.version);
        return { pkgId: pkg.id, record };
      });
    } catch (e) {
      // A refusal only the transaction could see (a lost race): take back the blob if this publish
      // created it and no version refers to it. A concurrent publish of the very same bytes is the
      // same package and version, so it either committed first (the blob is referenced) or fails too.
      if (blob.created && !(await this.deps.storage.blobRefs.isReferenced(blob.digest))) await this.deps.blobs.delete(blob.digest);
      // A concurrent retry with the same key committed first (this one then lost on the version or
      // the key): that publish is this one's answer.
      const earlier = idem && (await this.replay(idem));
      if (earlier) return earlier;
      if (e instanceof KeyTakenMeanwhile) throw conflict(`Another request with this ${IDEMPOTENCY_HEADER} is in progress; retry it`);
      throw e;
    }
    // Its vector is computed off the request path (the package was queued in the transaction).
    this.semantic?.queued();
    const pkg = (await this.deps.storage.packages.findById(published.pkgId))!;
    if (input.signature && this.signing) await this.signing.attach(ctx, pkg, published.record, input.signature);
    return { pkg, version: published.record };
  }

  /**
   * The publish remembered under this key, as it was answered; a 422 when the key was used for
   * another target or other bytes. Undefined when the key is new (or expired).
   */
  private async replay(idem: { accountId: number; key: string; fingerprint: string }): Promise<PublishResult | undefined> {
    const found = await this.deps.storage.idempotency.find(idem.accountId, idem.key, isoNow(this.deps.clock));
    if (!found) return undefined;
    if (found.fingerprint !== idem.fingerprint) {
      throw unprocessable(`This ${IDEMPOTENCY_HEADER} was already used for a different publish`, [
        `${IDEMPOTENCY_HEADER}: a retry must send the same package, version and bytes; use a new key for a new publish`,
      ]);
    }
    const pkg = await this.deps.storage.packages.findById(found.packageId);
    const version = pkg && (await this.deps.storage.packages.findVersion(pkg.id, found.version));
    if (!pkg || !version) throw new AgentryError('not_found', 'The publish this key recorded no longer exists');
    return { pkg, version, replayed: true };
  }

  private lastKeySweep = 0;

  /** Drops expired Idempotency-Key records, at most once a minute per process. */
  private async forgetExpiredKeys(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.lastKeySweep < 60_000) return;
    this.lastKeySweep = now;
    await this.deps.storage.idempotency.deleteExpired(new Date(now).toISOString());
  }

  /**
   * Refuses a publish the store's state forbids: the name taken by another kind, the version
   * taken or unpublished (409), no such scope (404). Checked before the blob is written, so a
   * refused publish writes nothing, and again inside the transaction (`lock`), so a race cannot pass.
   */
  private async refuseUnpublishable(
    repos: StorageRepos,
    id: { scope: string; name: string; key: string },
    kind: PackageKind,
    version: string,
    lock = false,
    force = false,
    digest?: string,
  ): Promise<{ pkg: PackageRecord | undefined; scope: ScopeRecord; existing?: VersionRecord }> {
    const pkg = lock ? await repos.packages.lockByKey(id.key) : await repos.packages.findByKey(id.key);
    const scope = await repos.scopes.find(pkg?.scope ?? id.scope);
    if (!scope) throw notFound(`Scope @${id.scope} does not exist; create the user or organisation first`);
    if (!pkg) return { pkg, scope };
    if (pkg.kind !== kind) throw conflict(`${fullName(pkg.scope, pkg.name)} is a package of kind '${pkg.kind}', not '${kind}'`);
    const existing = await repos.packages.findVersion(pkg.id, version);
    if (existing?.unpublishedAt) {
      throw conflict(`Version ${version} of ${fullName(pkg.scope, pkg.name)} was unpublished and can never be reused. Bump the version number.`);
    }
    if (existing && force) return { pkg, scope, existing };
    if (existing) {
      // Say whether the bytes are the live version's, so a client retrying without a key can tell.
      throw conflict(`Version ${version} already exists. Bump the version number.`, {
        existing: {
          version: existing.version,
          sha256: existing.digest.replace(/^sha256:/, ''),
          ...(digest ? { identical: digest === existing.digest } : {}),
        },
      });
    }
    return { pkg, scope };
  }

  /**
   * A forced publish over a live version: the version keeps its identity (id, download counts,
   * dist-tags) and takes the new content; the package's metadata follows it when it is `latest`.
   * The previous bytes stay in the blob store until `gc` finds nothing refers to them.
   */
  private async republish(tx: StorageRepos, ctx: RequestContext, pkg: PackageRecord, existing: VersionRecord, content: VersionContent): Promise<VersionRecord> {
    await tx.packages.replaceVersionContent(existing.id, content);
    const record: VersionRecord = { ...existing, ...content };
    if (pkg.latestVersion === existing.version) await applyVersionMetadata(tx, pkg.id, pkg.kind, record);
    await tx.packages.update(pkg.id, { updatedAt: content.publishedAt });
    await this.deps.audit.record(tx.audit, ctx, 'package.republish', `${fullName(pkg.scope, pkg.name)}@${existing.version}`, {
      kind: pkg.kind,
      digest: content.digest,
      previous_digest: existing.digest,
      size: content.size,
    });
    return record;
  }

  async get(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<PackageView> {
    this.deps.policy.requireReadAccess(ctx);
    const id = parsePackageId(scope, name);
    let view = await this.view(id.key);
    let mirror: { upstream: string } | undefined;
    if (this.mirrors) {
      // Not here: looked up on the upstreams; taken from one: asked again once its TTL passed.
      if (!view && (await this.mirrors.fetchMissing(id.scope, id.name, ctx.mirrorVia))) view = await this.view(id.key);
      const r = view && (await this.mirrors.refresh(view.pkg, false, ctx.mirrorVia));
      if (r?.changed) view = await this.view(id.key);
      if (r) mirror = { upstream: r.upstream };
    }
    const missing = () => notFound(`${kindLabel(kind)} not found`);
    if (!view || (kind && view.pkg.kind !== kind)) throw missing();
    await this.deps.policy.requireRead(ctx, view.pkg, missing);
    const { pkg, latest, owner, distTags } = view;
    return { pkg, latest, owner, distTags: pkg.latestVersion ? { latest: pkg.latestVersion, ...distTags } : distTags, ...(mirror ? { mirror } : {}) };
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
    const version = await this.resolve(pkg, versionOrTag, ctx);
    await this.change(pkg, (tx) => tx.packages.recordDownload(pkg.id, version.id, utcDay(this.deps.clock.now())));
    return { pkg, version };
  }

  /** Semantic and hybrid search (core/search), when an embeddings endpoint is configured. */
  private semantic?: { search: SemanticSearch; queued: () => void };

  useSemanticSearch(search: SemanticSearch, queued: () => void): void {
    this.semantic = { search, queued };
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

  /**
   * Publishes a package from its manifest alone (a bare server.json): the manifest is validated
   * first, the scope and name it declares say where it goes, and the core packs it as the
   * package's only file. From there on it is an ordinary `publish`.
   */
  async publishManifest(ctx: RequestContext, kind: PackageKind, text: string, idempotencyKey?: string | string[]): Promise<PublishResult> {
    this.deps.policy.requireWritable();
    this.deps.policy.requirePermission(ctx, 'publish');
    const result = parseManifest(kind, text);
    if (!result.manifest) throw validationFailed(result.problems);
    const m = result.manifest;
    if (m.scope === null) throw validationFailed([`${m.file}: the manifest does not say which scope it belongs to`]);
    return this.publish(ctx, { kind, scope: m.scope, name: m.name, tarball: singleFileTarball(MANIFEST_FILE[kind], text), idempotencyKey });
  }

  /**
   * Stores a version fetched from an upstream (core/mirrors; its bytes already checked against the
   * digest the upstream announced): checked like every publish (manifest, files, secrets), kept in
   * its scope (which the mirror created) with no publisher and the upstream's publish time, readable
   * by whoever may read this registry. A version that is already here is left as it is (versions
   * never change); answers it and whether it was added.
   */
  async importMirrored(input: {
    scope: string;
    name: string;
    kind: PackageKind;
    version: string;
    tarball: Buffer;
    publishedAt: string | null;
    upstream: string;
  }): Promise<{ pkg: PackageRecord; version: VersionRecord; added: boolean }> {
    const id = parsePackageId(input.scope, input.name);
    const checked = await this.check(id, { kind: input.kind, tarball: input.tarball, version: input.version }, this.limits);
    const { contents, manifest, version } = checked;
    if (version !== input.version) throw badGateway(`The upstream at ${input.upstream} announced ${fullName(id.scope, id.name)}@${input.version}, but its tarball is version ${version}`);
    // The bytes are stored exactly as signed upstream: a tarball the publish check would rewrite is not taken.
    if (!contents.tarball.equals(input.tarball)) throw badGateway(`The upstream at ${input.upstream} sent a tarball of ${fullName(id.scope, id.name)}@${version} with special file modes; refused`);
    const blob = await this.deps.blobs.put(input.tarball);
    const system: RequestContext = { principal: null, ip: null };
    return this.change(id.key, async (tx) => {
      const now = isoNow(this.deps.clock);
      const scope = await tx.scopes.find(id.scope);
      if (!scope) throw notFound(`Scope @${id.scope} does not exist`);
      let pkg = await tx.packages.lockByKey(id.key);
      if (pkg && pkg.kind !== manifest.kind)
        throw badGateway(`The upstream at ${input.upstream} sent ${fullName(id.scope, id.name)} as a package of kind '${manifest.kind}'; here it is '${pkg.kind}'`);
      if (!pkg) {
        await tx.packages.insert(newPackage(id, scope, checked, 'public', now));
        pkg = (await tx.packages.lockByKey(id.key))!;
      }
      const existing = await tx.packages.findVersion(pkg.id, version);
      if (existing) return { pkg, version: existing, added: false };
      const record = await tx.packages.insertVersion(newVersion(pkg.id, checked, blob, null, input.publishedAt ?? now));
      await refreshLatest(tx, pkg, undefined, { record, manifest });
      await tx.packages.update(pkg.id, { updatedAt: now });
      await this.deps.audit.record(tx.audit, system, 'mirror.fetch', `${fullName(pkg.scope, pkg.name)}@${version}`, { kind: manifest.kind, digest: blob.digest, upstream: input.upstream });
      return { pkg: (await tx.packages.findById(pkg.id))!, version: record, added: true };
    });
  }

  /**
   * Makes a mirrored package's dist-tags and deprecations what its upstream says (for the versions
   * that are here; invalid tags are skipped). Answers whether anything changed.
   */
  async applyMirrorState(key: string, state: { distTags: Record<string, string>; deprecated: Map<string, string | null> }): Promise<boolean> {
    return this.change(key, async (tx) => {
      const pkg = await tx.packages.lockByKey(key);
      if (!pkg) return false;
      let changed = false;
      const now = isoNow(this.deps.clock);
      const live = await tx.packages.listVersions(pkg.id, false);
      const here = new Set(live.map((v) => v.version));
      for (const v of live) {
        const wanted = state.deprecated.get(v.version);
        if (wanted !== undefined && wanted !== v.deprecated) {
          await tx.packages.setDeprecated(v.id, wanted, now);
          changed = true;
        }
      }
      const current = await tx.packages.distTags(pkg.id);
      const wantedTags = new Map(Object.entries(state.distTags).filter(([tag, v]) => tag !== 'latest' && distTagProblem(tag) === undefined && here.has(v)));
      for (const [tag, v] of wantedTags) {
        if (ownValue(current, tag) !== v) {
          await tx.packages.setDistTag(pkg.id, tag, v);
          changed = true;
        }
      }
      for (const tag of Object.keys(current)) {
        if (!wantedTags.has(tag)) {
          await tx.packages.deleteDistTag(pkg.id, tag);
          changed = true;
        }
      }
      const latest = ownValue(state.distTags, 'latest');
      const before = pkg.latestVersion;
      const after = await refreshLatest(tx, { ...pkg, latestPinned: false }, latest !== undefined && here.has(latest) ? latest : undefined);
      if (after !== before) changed = true;
      return changed;
    });
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
        if (await this.mirrors.fetchMissing(id.scope, id.name, ctx.mirrorVia)) pkg = await this.deps.storage.packages.findByKey(id.key);
      } else if ((await this.mirrors.refresh(pkg, false, ctx.mirrorVia))?.changed) {
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
      if (pkg.visibility !== visibility) {
        await tx.packages.setVisibility(pkg.id, visibility);
        await this.deps.audit.record(tx.audit, ctx, 'package.access', fullName(pkg.scope, pkg.name), { from: pkg.visibility, to: visibility });
      }
      return { ...pkg, visibility };
    });
  }

  /** A version or dist-tag of the package; `ctx`, when the caller has one, says whether an upstream lookup may ask further upstreams. */
  async resolve(pkg: PackageRecord, versionOrTag: string, ctx?: RequestContext): Promise<VersionRecord> {
    try {
      return await this.resolveHere(pkg, versionOrTag);
    } catch (e) {
      // A version of a mirrored package that is not here yet: the upstream is asked at once.
      if (!(e instanceof AgentryError && e.code === 'not_found') || !(await this.mirrors?.refresh(pkg, true, ctx?.mirrorVia))?.changed) throw e;
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
