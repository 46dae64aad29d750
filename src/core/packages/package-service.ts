import type { Visibility } from '../access/visibility.js';
import type { AccessPolicy } from '../auth/access-policy.js';
import { ownValue } from '../own-value.js';
import type { RequestContext } from '../auth/principal.js';
import type { AuditLog } from '../audit/audit-log.js';
import { createHash } from 'node:crypto';
import { AgentryError, badRequest, conflict, notFound, unprocessable, validationFailed } from '../errors.js';
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_TTL_MS, parseIdempotencyKey, publishFingerprint } from '../idempotency/idempotency-key.js';
import type {
  AccountRecord,
  BlobStore,
  PackageKind,
  PackageQuery,
  PackageRecord,
  Page,
  ScopeRecord,
  PackageVersionRecord,
  Storage,
  StorageRepos,
  VersionBrowseQuery,
  VersionContent,
  VersionRecord,
} from '../storage.js';
import { isoNow, utcDay, type Clock } from '../time.js';
import { MANIFEST_FILE, PACKAGE_KINDS } from './kinds.js';
import { distTagProblem } from './latest.js';
import { isPlainObject } from './manifest/fields.js';
import { parseManifest, type PackageManifest } from './manifest/index.js';
import { validateSkillFolder } from './manifest/skill-md.js';
import { PRAISON_BUNDLE_MANIFEST, bundleFileProblems, parsePraisonBundleManifest } from './manifest/praison-bundle.js';
import { fullName, parsePackageId } from './names.js';
import { inspectTarball, type TarballEntry, type TarballLimits } from './tarball.js';
import { singleFileTarball } from './single-file-tarball.js';
import { sortVersionStringsDesc, versionSchemeOf } from './version-scheme.js';
import { DEFAULT_DEPRECATION_MESSAGE, MAX_STATUS_MESSAGE, VERSION_STATUSES, statusOf, type VersionStatus } from './version-status.js';
import { ViewCache } from './view-cache.js';
import type { PackageViewStamps } from './view-stamps.js';

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
}

export interface PackageView {
  pkg: PackageRecord;
  latest: VersionRecord | undefined;
  distTags: Record<string, string>;
  owner: AccountRecord | undefined;
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

const README_NAMES = ['README.md', 'readme.md', 'Readme.md', 'README.MD', 'README'];
const WANTED_FILES = new Set<string>([...Object.values(MANIFEST_FILE), PRAISON_BUNDLE_MANIFEST, ...README_NAMES]);

/** Packages of every kind: publish, read, tag, deprecate, unpublish, download, query. */
export class PackageService {
  private readonly cache: ViewCache;

  constructor(
    private readonly storage: Storage,
    private readonly blobs: BlobStore,
    private readonly policy: AccessPolicy,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
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

  /** Stamps to check cached views against, where other processes write to the same store. */
  private viewStamps?: PackageViewStamps;

  /**
   * Starts following other processes' changes, so cached views never outlive a write: the change
   * feed drops stale views soon, and `stamps` (when the store is shared) makes every read check
   * its cached view against the store first, so a write acknowledged anywhere shows at once.
   */
  async followChanges(stamps?: PackageViewStamps): Promise<void> {
    this.viewStamps = stamps;
    await this.storage.onPackageChange((key) => (key === undefined ? this.cache.clear() : this.cache.invalidate(key)));
  }

  /**
   * Runs a write to package `key` in a transaction, announces it, and drops the cached view once
   * committed. Other services that change what a package view shows (stars) write through this.
   */
  async change<T>(key: string, fn: (tx: StorageRepos) => Promise<T>): Promise<T> {
    try {
      return await this.storage.transaction(async (tx) => {
        const result = await fn(tx);
        await tx.packages.announceChange(key);
        return result;
      });
    } finally {
      this.cache.invalidate(key);
    }
  }

  async publish(ctx: RequestContext, input: PublishInput): Promise<PublishResult> {
    const id = parsePackageId(input.scope, input.name);
    this.policy.requireWritable();
    const key = parseIdempotencyKey(input.idempotencyKey);
    const publisher = await this.policy.requireScopeWrite(ctx, id.scope);
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
    const bundleWanted = input.bundle === true || input.kind === 'recipe' || input.kind === undefined;
    const contents = await inspectTarball(input.tarball, WANTED_FILES, this.limits, { hashFiles: bundleWanted, forStorage: true });
    const manifest = this.readManifest(input, contents.texts, { folderName: id.name, entries: contents.entries });
    const version = manifest.version ?? input.version ?? null;
    const problems = this.crossCheck(id, manifest, version, input, contents.texts);
    // A skill is a folder named as the skill: the whole Agent Skills check, with the package name as that folder.
    if (manifest.kind === 'skill') problems.push(...validateSkillFolder({ folderName: id.name, skillMd: contents.texts.get(manifest.file), entries: contents.entries }).errors);
    if (manifest.file === PRAISON_BUNDLE_MANIFEST) problems.push(...bundleFileProblems(manifest.raw, contents.digests));
    if (problems.length > 0) throw validationFailed(problems);
    const readme = README_NAMES.map((n) => contents.texts.get(n)).find((t) => t !== undefined) ?? input.readme ?? manifest.readme;
    const tag = input.tag?.trim() || undefined;
    if (tag) {
      const p = distTagProblem(tag);
      if (p) throw badRequest('Invalid dist-tag', [p]);
    }

    const digest = `sha256:${createHash('sha256').update(contents.tarball).digest('hex')}`;
    await this.refuseUnpublishable(this.storage, id, manifest.kind, version!, false, input.force, digest);
    const blob = await this.blobs.put(contents.tarball);
    const principal = ctx.principal!;
    let published: { pkgId: number; record: VersionRecord };
    try {
      published = await this.change(id.key, async (tx) => {
        const now = isoNow(this.clock);
        let { pkg, scope, existing } = await this.refuseUnpublishable(tx, id, manifest.kind, version!, true, input.force, blob.digest);
        const remember = async (packageId: number, v: string): Promise<void> => {
          if (!idem) return;
          const at = this.clock.now().getTime();
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
          await this.audit.record(tx.audit, ctx, 'package.access', fullName(pkg.scope, pkg.name), { from: pkg.visibility, to: input.access, via: 'publish' });
        }
        if (pkg && existing) {
          const record = await this.republish(tx, ctx, pkg, existing, {
            manifest: manifest.raw,
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
        if (!pkg) {
          await tx.packages.insert({
            kind: manifest.kind,
            scope: scope.name,
            name: id.name,
            key: id.key,
            ...packageMetadata(manifest, readme ?? null),
            latestVersion: null,
            latestPinned: false,
            ownerAccountId: scope.ownerAccountId,
            visibility: input.access ?? scope.defaultVisibility,
            createdAt: now,
            updatedAt: now,
          });
          // A concurrent first publish may have created the package (and this version) first.
          pkg = (await this.refuseUnpublishable(tx, id, manifest.kind, version!, true, false, blob.digest)).pkg!;
        }
        const record = await tx.packages.insertVersion({
          packageId: pkg.id,
          version: version!,
          manifest: manifest.raw,
          readme: readme ?? null,
          digest: blob.digest,
          size: blob.size,
          fileCount: contents.fileCount,
          unpackedSize: contents.unpackedSize,
          publishedBy: principal.account.id,
          publishedAt: now,
        });
        if (tag && tag !== 'latest') await tx.packages.setDistTag(pkg.id, tag, record.version);
        await this.refreshLatest(tx, pkg, tag === 'latest' ? record.version : undefined);
        await tx.packages.update(pkg.id, { updatedAt: now });
        await this.audit.record(tx.audit, ctx, 'package.publish', `${fullName(pkg.scope, pkg.name)}@${record.version}`, {
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
      if (blob.created && !(await this.storage.blobRefs.isReferenced(blob.digest))) await this.blobs.delete(blob.digest);
      // A concurrent retry with the same key committed first (this one then lost on the version or
      // the key): that publish is this one's answer.
      const earlier = idem && (await this.replay(idem));
      if (earlier) return earlier;
      if (e instanceof KeyTakenMeanwhile) throw conflict(`Another request with this ${IDEMPOTENCY_HEADER} is in progress; retry it`);
      throw e;
    }
    const pkg = (await this.storage.packages.findById(published.pkgId))!;
    return { pkg, version: published.record };
  }

  /**
   * The publish remembered under this key, as it was answered; a 422 when the key was used for
   * another target or other bytes. Undefined when the key is new (or expired).
   */
  private async replay(idem: { accountId: number; key: string; fingerprint: string }): Promise<PublishResult | undefined> {
    const found = await this.storage.idempotency.find(idem.accountId, idem.key, isoNow(this.clock));
    if (!found) return undefined;
    if (found.fingerprint !== idem.fingerprint) {
      throw unprocessable(`This ${IDEMPOTENCY_HEADER} was already used for a different publish`, [
        `${IDEMPOTENCY_HEADER}: a retry must send the same package, version and bytes; use a new key for a new publish`,
      ]);
    }
    const pkg = await this.storage.packages.findById(found.packageId);
    const version = pkg && (await this.storage.packages.findVersion(pkg.id, found.version));
    if (!pkg || !version) throw new AgentryError('not_found', 'The publish this key recorded no longer exists');
    return { pkg, version, replayed: true };
  }

  private lastKeySweep = 0;

  /** Drops expired Idempotency-Key records, at most once a minute per process. */
  private async forgetExpiredKeys(): Promise<void> {
    const now = this.clock.now().getTime();
    if (now - this.lastKeySweep < 60_000) return;
    this.lastKeySweep = now;
    await this.storage.idempotency.deleteExpired(new Date(now).toISOString());
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
  private async republish(
    tx: StorageRepos,
    ctx: RequestContext,
    pkg: PackageRecord,
    existing: VersionRecord,
    content: VersionContent,
  ): Promise<VersionRecord> {
    await tx.packages.replaceVersionContent(existing.id, content);
    const record: VersionRecord = { ...existing, ...content };
    if (pkg.latestVersion === existing.version) await this.applyVersionMetadata(tx, pkg.id, pkg.kind, record);
    await tx.packages.update(pkg.id, { updatedAt: content.publishedAt });
    await this.audit.record(tx.audit, ctx, 'package.republish', `${fullName(pkg.scope, pkg.name)}@${existing.version}`, {
      kind: pkg.kind,
      digest: content.digest,
      previous_digest: existing.digest,
      size: content.size,
    });
    return record;
  }

  async get(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<PackageView> {
    this.policy.requireReadAccess(ctx);
    const key = parsePackageId(scope, name).key;
    const generation = this.cache.generation;
    // The stamp before the view: a view newer than its stamp is only ever re-read, never served stale.
    const stamp = this.viewStamps && (await this.viewStamps.stamp(key));
    const view = this.viewStamps && stamp === undefined ? undefined : (this.cache.get(key, stamp) ?? this.cache.set(key, await this.storage.packages.findView(key), generation, stamp));
    const missing = () => notFound(`${kindLabel(kind)} not found`);
    if (!view || (kind && view.pkg.kind !== kind)) throw missing();
    await this.policy.requireRead(ctx, view.pkg, missing);
    const { pkg, latest, owner, distTags } = view;
    return { pkg, latest, owner, distTags: pkg.latestVersion ? { latest: pkg.latestVersion, ...distTags } : distTags };
  }

  async versions(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<{ pkg: PackageRecord; versions: VersionRecord[] }> {
    const pkg = await this.find(ctx, scope, name, kind);
    const versions = versionSchemeOf(pkg.kind).sortDesc(await this.storage.packages.listVersions(pkg.id, false));
    return { pkg, versions };
  }

  /** Resolves a version or dist-tag and counts one download of it. */
  async download(ctx: RequestContext, scope: string, name: string, versionOrTag: string, kind?: PackageKind): Promise<DownloadTarget> {
    const pkg = await this.find(ctx, scope, name, kind);
    const version = await this.resolve(pkg, versionOrTag);
    await this.change(pkg.key, (tx) => tx.packages.recordDownload(pkg.id, version.id, utcDay(this.clock.now())));
    return { pkg, version };
  }

  /** Packages the caller may read (the read filter is applied in the query: pages and totals count only those). */
  async query(ctx: RequestContext, q: Omit<PackageQuery, 'read'>): Promise<Page<PackageRecord> & { owners: Map<number, AccountRecord> }> {
    const page = await this.storage.packages.query({ ...q, read: await this.policy.readFilter(ctx) });
    return { ...page, owners: await this.ownersOf(page.rows) };
  }

  /** How many packages are published, every visibility: an operator's figure (metrics), never a door's list. */
  async publishedCount(): Promise<number> {
    return (await this.storage.packages.query({ sort: 'name', offset: 0, limit: 1 })).total;
  }

  async ownersOf(rows: PackageRecord[]): Promise<Map<number, AccountRecord>> {
    const ids = [...new Set(rows.map((r) => r.ownerAccountId))];
    const accounts = await Promise.all(ids.map((id) => this.storage.accounts.findById(id)));
    return new Map(accounts.filter((a): a is AccountRecord => a !== undefined).map((a) => [a.id, a]));
  }

  async deprecate(ctx: RequestContext, scope: string, name: string, version: string, message: string, kind?: PackageKind): Promise<VersionRecord> {
    const pkg = await this.find(ctx, scope, name, kind);
    this.policy.requireWritable();
    await this.policy.requireScopeWrite(ctx, pkg.scope);
    const v = await this.resolve(pkg, version);
    const text = message.trim();
    if (text.length > 1000) throw badRequest('A deprecation message is at most 1000 characters');
    await this.change(pkg.key, async (tx) => {
      await tx.packages.setDeprecated(v.id, text.length > 0 ? text : null, isoNow(this.clock));
      await this.audit.record(tx.audit, ctx, text ? 'package.deprecate' : 'package.undeprecate', `${fullName(pkg.scope, pkg.name)}@${v.version}`, {
        message: text || null,
      });
    });
    return { ...v, deprecated: text.length > 0 ? text : null };
  }

  async unpublish(ctx: RequestContext, scope: string, name: string, version: string, kind?: PackageKind): Promise<VersionRecord> {
    const found = await this.find(ctx, scope, name, kind);
    this.policy.requireWritable();
    await this.policy.requireScopeWrite(ctx, found.scope);
    if (versionSchemeOf(found.kind).problem(version)) throw badRequest(`'${version}' is not a version; unpublish takes an exact version`);
    return this.change(found.key, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      const v = await tx.packages.findVersion(pkg.id, version);
      if (!v || v.unpublishedAt) throw notFound('Version not found');
      await tx.packages.markUnpublished(v.id, isoNow(this.clock));
      const tags = await tx.packages.distTags(pkg.id);
      for (const [tag, target] of Object.entries(tags)) if (target === version) await tx.packages.deleteDistTag(pkg.id, tag);
      const pinnedGone = pkg.latestPinned && pkg.latestVersion === version;
      await this.refreshLatest(tx, pinnedGone ? { ...pkg, latestPinned: false } : pkg);
      await this.audit.record(tx.audit, ctx, 'package.unpublish', `${fullName(pkg.scope, pkg.name)}@${version}`, { digest: v.digest });
      return v;
    });
  }

  /**
   * Unpublishes every live version of a package at once, in one transaction (PraisonAI's "delete a
   * recipe"). Like single unpublishes, none of those version numbers can ever be reused. Answers the
   * versions that were unpublished.
   */
  async unpublishAll(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<VersionRecord[]> {
    const found = await this.find(ctx, scope, name, kind);
    this.policy.requireWritable();
    await this.policy.requireScopeWrite(ctx, found.scope);
    return this.change(found.key, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      const live = await tx.packages.listVersions(pkg.id, false);
      if (live.length === 0) throw notFound('No versions to unpublish');
      const at = isoNow(this.clock);
      for (const v of live) await tx.packages.markUnpublished(v.id, at);
      for (const tag of Object.keys(await tx.packages.distTags(pkg.id))) await tx.packages.deleteDistTag(pkg.id, tag);
      await this.refreshLatest(tx, { ...pkg, latestPinned: false });
      await this.audit.record(tx.audit, ctx, 'package.unpublish', fullName(pkg.scope, pkg.name), {
        versions: sortVersionStringsDesc(pkg.kind, live.map((v) => v.version)),
      });
      return live;
    });
  }

  async distTags(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<Record<string, string>> {
    return this.distTagsOf(await this.find(ctx, scope, name, kind));
  }

  async setDistTag(ctx: RequestContext, scope: string, name: string, tag: string, version: string, kind?: PackageKind): Promise<Record<string, string>> {
    const found = await this.find(ctx, scope, name, kind);
    this.policy.requireWritable();
    await this.policy.requireScopeWrite(ctx, found.scope);
    const problem = distTagProblem(tag);
    if (problem) throw badRequest('Invalid dist-tag', [problem]);
    await this.change(found.key, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      const v = await tx.packages.findVersion(pkg.id, version);
      if (!v || v.unpublishedAt) throw notFound(`Version not found: ${version}`);
      if (tag === 'latest') await this.refreshLatest(tx, pkg, version);
      else await tx.packages.setDistTag(pkg.id, tag, version);
      await this.audit.record(tx.audit, ctx, 'package.dist-tag.set', fullName(pkg.scope, pkg.name), { tag, version });
    });
    return this.distTags(ctx, found.scope, found.name);
  }

  async removeDistTag(ctx: RequestContext, scope: string, name: string, tag: string, kind?: PackageKind): Promise<Record<string, string>> {
    const found = await this.find(ctx, scope, name, kind);
    this.policy.requireWritable();
    await this.policy.requireScopeWrite(ctx, found.scope);
    await this.change(found.key, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      if (tag === 'latest') {
        if (!pkg.latestPinned) throw badRequest("'latest' already follows the highest version and cannot be removed");
        await this.refreshLatest(tx, { ...pkg, latestPinned: false });
      } else if (!(await tx.packages.deleteDistTag(pkg.id, tag))) {
        throw notFound(`Dist-tag not found: ${tag}`);
      }
      await this.audit.record(tx.audit, ctx, 'package.dist-tag.remove', fullName(pkg.scope, pkg.name), { tag });
    });
    return this.distTags(ctx, found.scope, found.name);
  }

  /**
   * Publishes a package from its manifest alone (a bare server.json): the manifest is validated
   * first, the scope and name it declares say where it goes, and the core packs it as the
   * package's only file. From there on it is an ordinary `publish`.
   */
  async publishManifest(ctx: RequestContext, kind: PackageKind, text: string, idempotencyKey?: string | string[]): Promise<PublishResult> {
    this.policy.requireWritable();
    this.policy.requirePermission(ctx, 'publish');
    const result = parseManifest(kind, text);
    if (!result.manifest) throw validationFailed(result.problems);
    const m = result.manifest;
    if (m.scope === null) throw validationFailed([`${m.file}: the manifest does not say which scope it belongs to`]);
    return this.publish(ctx, { kind, scope: m.scope, name: m.name, tarball: singleFileTarball(MANIFEST_FILE[kind], text), idempotencyKey });
  }

  /** One version by number or dist-tag (`latest`); unpublished ones too when asked. */
  async getVersion(ctx: RequestContext, scope: string, name: string, versionOrTag: string, opts: { kind?: PackageKind; includeUnpublished?: boolean } = {}): Promise<DownloadTarget> {
    const pkg = await this.find(ctx, scope, name, opts.kind);
    if (!opts.includeUnpublished) return { pkg, version: await this.resolve(pkg, versionOrTag) };
    const wanted = ownValue(await this.distTagsOf(pkg), versionOrTag) ?? versionOrTag;
    const version = await this.storage.packages.findVersion(pkg.id, wanted);
    if (!version) throw notFound('Version not found');
    return { pkg, version };
  }

  /** Every version of a package in publish order, unpublished ones too when asked. */
  async allVersions(ctx: RequestContext, scope: string, name: string, opts: { kind?: PackageKind; includeUnpublished?: boolean } = {}): Promise<{ pkg: PackageRecord; versions: VersionRecord[] }> {
    const pkg = await this.find(ctx, scope, name, opts.kind);
    return { pkg, versions: await this.storage.packages.listVersions(pkg.id, opts.includeUnpublished ?? false) };
  }

  /** Versions across packages, a page at a time after a keyset position (see VersionBrowseQuery). */
  async browseVersions(ctx: RequestContext, q: Omit<VersionBrowseQuery, 'read'>): Promise<PackageVersionRecord[]> {
    const read = await this.policy.readFilter(ctx);
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 1000) throw badRequest('limit must be an integer from 1 to 1000');
    return this.storage.packages.browseVersions({ ...q, read });
  }

  /**
   * Sets the lifecycle status of one version, or of every version when `version` is undefined,
   * in one transaction: `deprecated` deprecates (with the message), `deleted` unpublishes (with
   * the message as the reason), `active` clears both, restoring an unpublished version. `latest`
   * is recomputed. Returns the package and the versions that changed, in publish order.
   */
  async setStatus(
    ctx: RequestContext,
    target: { scope: string; name: string; version?: string; kind?: PackageKind },
    status: VersionStatus,
    message: string | null,
  ): Promise<{ pkg: PackageRecord; versions: VersionRecord[] }> {
    this.policy.requireWritable();
    const found = await this.find(ctx, target.scope, target.name, target.kind);
    await this.policy.requireScopeWrite(ctx, found.scope);
    if (!VERSION_STATUSES.includes(status)) throw badRequest(`status must be one of ${VERSION_STATUSES.join(', ')}`);
    const text = message?.trim() || null;
    if (text !== null && text.length > MAX_STATUS_MESSAGE) throw badRequest(`A status message is at most ${MAX_STATUS_MESSAGE} characters`);
    if (status === 'active' && text !== null) throw badRequest('An active version carries no status message; leave statusMessage out');
    const wantedMessage = status === 'deprecated' ? (text ?? DEFAULT_DEPRECATION_MESSAGE) : text;
    return this.change(found.key, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      const all = await tx.packages.listVersions(pkg.id, true);
      const targets = target.version === undefined ? all : all.filter((v) => v.version === target.version);
      if (targets.length === 0) throw notFound(target.version === undefined ? `${kindLabel(target.kind)} has no versions` : `Version not found: ${target.version}`);
      const now = isoNow(this.clock);
      const changed = new Set<number>();
      for (const v of targets) {
        const current = statusOf(v);
        if (current.status === status && current.message === wantedMessage) continue;
        changed.add(v.id);
        if (status === 'deleted') {
          if (v.deprecated !== null) await tx.packages.setDeprecated(v.id, null);
          await tx.packages.markUnpublished(v.id, now, wantedMessage);
          const tags = await tx.packages.distTags(pkg.id);
          for (const [tag, to] of Object.entries(tags)) if (to === v.version) await tx.packages.deleteDistTag(pkg.id, tag);
        } else {
          if (v.unpublishedAt) await tx.packages.restoreVersion(v.id, now);
          await tx.packages.setDeprecated(v.id, wantedMessage, now);
        }
      }
      if (changed.size === 0) {
        throw badRequest(`No changes to apply: status is already ${status}${wantedMessage ? ` with the same message` : ''}`);
      }
      const pinnedGone = pkg.latestPinned && status === 'deleted' && targets.some((v) => v.version === pkg.latestVersion);
      await this.refreshLatest(tx, pinnedGone ? { ...pkg, latestPinned: false } : pkg);
      await tx.packages.update(pkg.id, { updatedAt: now });
      await this.audit.record(tx.audit, ctx, 'package.status', `${fullName(pkg.scope, pkg.name)}${target.version === undefined ? '' : `@${target.version}`}`, {
        status,
        message: wantedMessage,
        versions: targets.filter((v) => changed.has(v.id)).map((v) => v.version),
      });
      const after = await tx.packages.listVersions(pkg.id, true);
      return { pkg: (await tx.packages.findById(pkg.id))!, versions: after.filter((v) => changed.has(v.id)) };
    });
  }

  /**
   * The package, when the caller may read it (AccessPolicy.requireRead): a package the caller may
   * not read is the same 404 as one that does not exist. Every read and write of a package by
   * name starts here.
   */
  async find(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<PackageRecord> {
    this.policy.requireReadAccess(ctx);
    const id = parsePackageId(scope, name);
    const pkg = await this.storage.packages.findByKey(id.key);
    const missing = () => notFound(`${kindLabel(kind)} not found`);
    if (!pkg || (kind && pkg.kind !== kind)) throw missing();
    await this.policy.requireRead(ctx, pkg, missing);
    return pkg;
  }

  /**
   * The package without the read rule: only for core services that already decided the caller may
   * see what refers to it (a managed skill the caller owns). Doors never call this.
   */
  async findUnchecked(scope: string, name: string, kind?: PackageKind): Promise<PackageRecord> {
    const pkg = await this.storage.packages.findByKey(parsePackageId(scope, name).key);
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
    this.policy.requireWritable();
    await this.policy.requireScopeWrite(ctx, found.scope);
    return this.change(found.key, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      if (pkg.visibility !== visibility) {
        await tx.packages.setVisibility(pkg.id, visibility);
        await this.audit.record(tx.audit, ctx, 'package.access', fullName(pkg.scope, pkg.name), { from: pkg.visibility, to: visibility });
      }
      return { ...pkg, visibility };
    });
  }

  async resolve(pkg: PackageRecord, versionOrTag: string): Promise<VersionRecord> {
    const tags = await this.distTagsOf(pkg);
    const wanted = ownValue(tags, versionOrTag) ?? versionOrTag;
    const v = versionSchemeOf(pkg.kind).problem(wanted) === undefined ? await this.storage.packages.findVersion(pkg.id, wanted) : undefined;
    if (!v || v.unpublishedAt) throw notFound('Version not found');
    return v;
  }

  private async distTagsOf(pkg: PackageRecord): Promise<Record<string, string>> {
    const tags = await this.storage.packages.distTags(pkg.id);
    return pkg.latestVersion ? { latest: pkg.latestVersion, ...tags } : tags;
  }

  /**
   * Recomputes `latest`: the pinned version when one is given or still pinned and present,
   * else the highest version. Returns the new latest.
   */
  private async refreshLatest(tx: StorageRepos, pkg: PackageRecord, pin?: string): Promise<string | null> {
    const liveVersions = await tx.packages.listVersions(pkg.id, false);
    const live = liveVersions.map((v) => v.version);
    let latest: string | null;
    let pinned: boolean;
    if (pin) {
      latest = pin;
      pinned = true;
    } else if (pkg.latestPinned && pkg.latestVersion && live.includes(pkg.latestVersion)) {
      latest = pkg.latestVersion;
      pinned = true;
    } else {
      latest = versionSchemeOf(pkg.kind).latest(liveVersions);
      pinned = false;
    }
    if (latest !== pkg.latestVersion || pinned !== pkg.latestPinned) {
      await tx.packages.update(pkg.id, { latestVersion: latest, latestPinned: pinned });
      if (latest && latest !== pkg.latestVersion) {
        const v = await tx.packages.findVersion(pkg.id, latest);
        if (v) await this.applyVersionMetadata(tx, pkg.id, pkg.kind, v);
      }
    }
    return latest;
  }

  /** The package's searchable metadata follows its latest version. */
  private async applyVersionMetadata(tx: StorageRepos, packageId: number, kind: PackageKind, v: VersionRecord): Promise<void> {
    const parsed = parseManifestObject(kind, v.manifest);
    if (parsed) await tx.packages.update(packageId, packageMetadata(parsed, v.readme));
  }

  private readManifest(input: PublishInput, texts: Map<string, string>, folder: { folderName: string; entries: TarballEntry[] }): PackageManifest {
    if (input.bundle && input.kind !== undefined && input.kind !== 'recipe') {
      throw validationFailed([`a ${PRAISON_BUNDLE_MANIFEST} bundle is a recipe, not a package of kind '${input.kind}'`]);
    }
    const bundleText = texts.get(PRAISON_BUNDLE_MANIFEST);
    const asBundle =
      input.bundle === true ||
      (bundleText !== undefined && (input.kind === 'recipe' || input.kind === undefined) && PACKAGE_KINDS.every((k) => !texts.has(MANIFEST_FILE[k])));
    if (asBundle) {
      if (bundleText === undefined) throw validationFailed([`bundle: no ${PRAISON_BUNDLE_MANIFEST} at the root of the archive`]);
      const result = parsePraisonBundleManifest(bundleText);
      if (!result.manifest) throw validationFailed(result.problems);
      return result.manifest;
    }
    const kinds = input.kind ? [input.kind] : PACKAGE_KINDS.filter((k) => texts.has(MANIFEST_FILE[k]));
    if (kinds.length === 0 || !texts.has(MANIFEST_FILE[kinds[0]])) {
      const expected = input.kind ? MANIFEST_FILE[input.kind] : PACKAGE_KINDS.map((k) => MANIFEST_FILE[k]).join(', ');
      throw validationFailed([`tarball: no manifest at the root of the archive (expected ${expected})`]);
    }
    if (kinds.length > 1) {
      throw validationFailed([`tarball: more than one manifest at the root (${kinds.map((k) => MANIFEST_FILE[k]).join(', ')}); keep exactly one`]);
    }
    const result = parseManifest(kinds[0], texts.get(MANIFEST_FILE[kinds[0]])!);
    if (!result.manifest) {
      // A skill's folder rules are reported with its SKILL.md problems, all at once.
      throw validationFailed(kinds[0] === 'skill' ? validateSkillFolder({ ...folder, skillMd: texts.get(MANIFEST_FILE.skill) }).errors : result.problems);
    }
    return result.manifest;
  }

  private crossCheck(
    id: { scope: string; name: string },
    manifest: PackageManifest,
    version: string | null,
    input: PublishInput,
    texts: Map<string, string>,
  ): string[] {
    const problems: string[] = [];
    const file = manifest.file;
    // (A skill's name is checked against its folder, the package name, by the Agent Skills validator.)
    if (manifest.kind !== 'skill' && manifest.name.toLowerCase() !== id.name.toLowerCase()) {
      problems.push(`${file}: name '${manifest.name}' does not match the package being published ('${id.name}')`);
    }
    if (manifest.scope !== null && manifest.scope.toLowerCase() !== id.scope.toLowerCase()) {
      const field = manifest.kind === 'agent' ? 'author' : 'name';
      problems.push(`${file}: ${field} declares scope '@${manifest.scope}' but the package is published to '@${id.scope}'`);
    }
    if (version === null) {
      problems.push(`${file}: no version; set metadata.version in the front matter or send a 'version' field`);
    } else if (versionSchemeOf(manifest.kind).problem(version)) {
      problems.push(versionSchemeOf(manifest.kind).problem(version)!);
    } else if (manifest.version !== null && input.version !== undefined && input.version !== manifest.version) {
      problems.push(`version: '${input.version}' was sent but ${file} says '${manifest.version}'`);
    }
    const declared = input.declaredManifest;
    if (declared !== undefined) {
      if (!isPlainObject(declared.value)) {
        problems.push(`${declared.field}: must be a JSON object`);
      } else {
        const value = declared.value;
        for (const key of new Set([...Object.keys(value), ...Object.keys(manifest.raw)])) {
          if (JSON.stringify(value[key]) !== JSON.stringify(manifest.raw[key])) {
            problems.push(`${declared.field}: field '${key}' differs from ${file} in the tarball`);
          }
        }
      }
    }
    const tarReadme = README_NAMES.map((n) => texts.get(n)).find((t) => t !== undefined);
    if (input.readme !== undefined && tarReadme !== undefined && normalizeText(input.readme) !== normalizeText(tarReadme)) {
      problems.push('readme: differs from README.md in the tarball');
    }
    return problems;
  }
}

const normalizeText = (s: string): string => s.replace(/\r\n/g, '\n').trim();

const kindLabel = (kind?: PackageKind): string =>
  kind === 'agent' ? 'Agent' : kind === 'skill' ? 'Skill' : kind === 'mcp-server' ? 'MCP server' : kind === 'recipe' ? 'Recipe' : 'Package';

/** The searchable metadata a package takes from the manifest of its latest version. */
const packageMetadata = (m: PackageManifest, readme: string | null) => ({
  description: m.description,
  readme,
  category: m.category,
  tags: m.tags,
  license: m.license,
  repository: m.repository,
  homepage: m.homepage,
});

/** Re-reads a stored manifest object through the kind's validator (it was valid when published). */
const parseManifestObject = (kind: PackageKind, raw: Record<string, unknown>): PackageManifest | undefined => {
  const json = JSON.stringify(raw);
  const parsed = parseManifest(kind, kind === 'skill' ? `---\n${json}\n---\n` : json).manifest;
  return parsed ?? (kind === 'recipe' ? parsePraisonBundleManifest(json).manifest : undefined);
};
