import type { CoreDeps } from '../core-deps.js';
import { Readable } from 'node:stream';
import type { ReadFilter, Visibility } from '../access/visibility.js';
import { ownValue } from '../own-value.js';
import { isAgentryError, payloadTooLarge } from '../errors.js';
import { isStrictSemver } from '../packages/manifest/fields.js';
import { isPackageKind } from '../packages/kinds.js';
import type { PackageService } from '../packages/package-service.js';
import type { BlobRedirects } from '../blobs/blob-redirects.js';
import type { ByteRange } from '../blobs/blob-store.js';
import type { PackageRecord, VersionRecord } from '../packages/package-repo.js';
import { isoNow } from '../time.js';
import { OciAccess, type OciContext } from './access.js';
import { BlobUploads, type CommittedBlob } from './blob-uploads.js';
import { MAX_MANIFEST_BYTES, parseManifest, sha256Of, type Descriptor, type ParsedManifest } from './manifest.js';
import { AGENTRY_PACKAGE_LAYER, EMPTY_CONFIG_BYTES, EMPTY_CONFIG_DIGEST, OCI_EMPTY, OCI_MANIFEST, ANNOTATION_CREATED, kindOfArtifactType } from './media-types.js';
import { isOciError, ociError } from './oci-errors.js';
import { packageArtifact, type PackageArtifact } from './package-artifacts.js';
import type { UploadStore } from './ports.js';
import { parseReference, parseRepositoryName, requireSha256, requireTag, type RepositoryName } from './references.js';
import { RegistryTokens } from './registry-tokens.js';
import { anonymous } from '../auth/principal.js';
import type { OciMirror } from '../mirrors/oci-mirror.js';

/** A blob a repository can serve. */
export interface RepoBlob {
  digest: string;
  size: number;
  open(range?: ByteRange): Promise<Readable>;
  /** A short-lived URL of the blob store to redirect the client to, when redirects are on; else undefined. */
  redirectUrl(): Promise<string | undefined>;
}

export interface ManifestContent {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface PushedManifest {
  digest: string;
  /** The subject's digest, for the `OCI-Subject` header. */
  subject: string | null;
  tags: string[];
  /** `@scope/name@version` when the push also published a package version. */
  publishedVersion: string | null;
}

export interface TagPage {
  name: string;
  tags: string[];
  /** The last tag of this page when more follow. */
  nextLast: string | null;
}

export interface ReferrerList {
  manifests: Descriptor[];
  /** True when an artifactType filter was applied. */
  filtered: boolean;
}

export interface OciOptions {
  uploads?: UploadStore;
  /** Largest package layer that is published as a package version. */
  maxPackageBytes: number;
  /** The scope single-level repository names (`app`) belong to; absent: they are NAME_INVALID. */
  defaultScope?: string;
  /** Downloads answer 307 to a signed blob store URL when on (off by default). */
  redirects?: BlobRedirects;
}

/**
 * Agentry as an OCI registry (distribution-spec v1.1): repositories `<scope>/<name>` on the
 * core's one content-addressed blob store. Packages published through any door are served
 * as artifacts (see package-artifacts.ts); an artifact pushed with a package layer and a
 * semver tag is published as a package version.
 */
export class OciService {
  readonly access: OciAccess;
  readonly tokens: RegistryTokens;
  readonly uploads: BlobUploads;
  /** Pull-through mirrors: `/v2/<mirror>/…` is fetched from an upstream (core/mirrors). */
  private mirror: OciMirror | undefined;

  constructor(
    private readonly deps: CoreDeps,
    private readonly packages: PackageService,
    private readonly opts: OciOptions,
  ) {
    this.access = new OciAccess(deps.storage, deps.policy, opts.defaultScope);
    this.tokens = new RegistryTokens(deps.storage, this.access, deps.clock);
    this.uploads = new BlobUploads(deps.storage, deps.blobs, opts.uploads, this.access, deps.clock);
  }

  /** Serves the repositories of OCI mirrors through `mirror` (their writes are refused). */
  useMirrors(mirror: OciMirror): void {
    this.mirror = mirror;
    this.access.useMirrors((repo) => mirror.accessOf(repo));
  }

  /** The repository a client names, at any depth; a single-level name goes to the default scope (or is NAME_INVALID). */
  repository(name: string): RepositoryName {
    return parseRepositoryName(name, this.opts.defaultScope);
  }

  /**
   * Before an agentspace is published into this registry's `/v2/<repository>`: the repository
   * takes the agentspace's visibility (and follows its later changes). Only for a caller who may
   * push there; for anyone else nothing changes (their push is refused anyway).
   */
  async adoptForAgentspace(ctx: OciContext, repository: string, space: { ownerAccountId: number; agentspaceId: string; visibility: Visibility }): Promise<boolean> {
    const repo = this.repositoryOrUndefined(repository);
    if (!repo) return false;
    try {
      await this.access.require(ctx, repo, 'push');
    } catch (e) {
      if (isAgentryError(e)) return false;
      throw e;
    }
    const scope = await this.deps.storage.scopes.find(repo.scope);
    if (!scope) return false;
    await this.deps.storage.transaction(async (tx) => {
      const before = await tx.oci.findRepository(repo.name);
      await tx.oci.putRepository({
        repo: repo.name,
        ownerAccountId: scope.ownerAccountId,
        visibility: space.visibility,
        agentspace: { ownerAccountId: space.ownerAccountId, agentspaceId: space.agentspaceId },
        createdAt: before?.createdAt ?? isoNow(this.deps.clock),
      });
      if (before?.visibility !== space.visibility) {
        await this.deps.audit.record(tx.audit, ctx, 'oci.repository.visibility', repo.name, { visibility: space.visibility, from: before?.visibility ?? null, agentspace: space.agentspaceId });
      }
    });
    return true;
  }

  // ---- blobs -------------------------------------------------------------------------------

  async blob(ctx: OciContext, repo: RepositoryName, digestParam: string): Promise<RepoBlob> {
    await this.access.require(ctx, repo, 'pull');
    const mirror = await this.mirror?.mirrorOf(repo);
    if (mirror && this.mirror) return this.mirror.blob(mirror, repo, digestParam, ctx.mirrorVia);
    const digest = requireSha256(digestParam);
    const found = await this.findBlob(repo, digest);
    if (!found) throw ociError('BLOB_UNKNOWN', `Blob ${digest} is not in ${repo.name}`, { digest });
    return found;
  }

  async deleteBlob(ctx: OciContext, repo: RepositoryName, digestParam: string): Promise<void> {
    await this.access.require(ctx, repo, 'delete');
    const digest = requireSha256(digestParam);
    const unlinked = await this.deps.storage.transaction(async (tx) => {
      const done = await tx.oci.unlinkBlob(repo.name, digest);
      if (done) await this.deps.audit.record(tx.audit, ctx, 'oci.blob.delete', `${repo.name}@${digest}`);
      return done;
    });
    if (unlinked) return;
    if (await this.findBlob(repo, digest)) {
      throw ociError('UNSUPPORTED', `Blob ${digest} is a published package version's tarball; unpublish the version instead`, { digest });
    }
    throw ociError('BLOB_UNKNOWN', `Blob ${digest} is not in ${repo.name}`, { digest });
  }

  /** Cross-repository mount: links a blob `from` another repository; undefined when it is not there. */
  async mountBlob(ctx: OciContext, repo: RepositoryName, digestParam: string, from: string): Promise<CommittedBlob | undefined> {
    let source: RepositoryName | undefined;
    try {
      source = parseRepositoryName(from, this.opts.defaultScope);
    } catch (e) {
      if (!isAgentryError(e)) throw e;
    }
    try {
      await this.access.require(ctx, repo, 'push');
    } catch (e) {
      // A mount needs pull on its source too: name both in the challenge (as the reference
      // registry does), so that the token a client fetches next lets the mount happen.
      const wanted = isOciError(e) && e.oci === 'UNAUTHORIZED' ? (e.detail as { scope?: unknown } | undefined)?.scope : undefined;
      if (source && typeof wanted === 'string') throw ociError('UNAUTHORIZED', e instanceof Error ? e.message : String(e), { scope: `${wanted} repository:${source.name}:pull` });
      throw e;
    }
    const digest = requireSha256(digestParam, 'mount digest');
    if (!source) return undefined;
    try {
      await this.access.require(ctx, source, 'pull');
    } catch (e) {
      if (isAgentryError(e)) return undefined;
      throw e;
    }
    const found = await this.findBlob(source, digest);
    if (!found) return undefined;
    await this.access.recordRepository(this.deps.storage, repo, isoNow(this.deps.clock));
    await this.deps.storage.oci.linkBlob(repo.name, digest, isoNow(this.deps.clock));
    return { digest, size: found.size };
  }

  /** A blob is in a repository when it was pushed or mounted there, or is one of the package's tarballs. */
  private async findBlob(repo: RepositoryName, digest: string): Promise<RepoBlob | undefined> {
    const linked = await this.deps.storage.oci.isLinked(repo.name, digest);
    let ours = linked;
    if (!ours) ours = (await this.packageVersions(repo)).some((v) => v.digest === digest);
    if (!ours && digest === EMPTY_CONFIG_DIGEST) ours = (await this.packageOf(repo)) !== undefined || (await this.deps.storage.oci.repositoryExists(repo.name));
    if (!ours) return undefined;
    const info = await this.deps.blobs.stat(digest);
    const redirects = this.opts.redirects;
    if (info) return { digest, size: info.size, open: (range) => this.deps.blobs.open(digest, range), redirectUrl: async () => redirects?.urlFor(digest) };
    if (digest === EMPTY_CONFIG_DIGEST) {
      return {
        digest,
        size: EMPTY_CONFIG_BYTES.length,
        open: async (r) => Readable.from([r ? EMPTY_CONFIG_BYTES.subarray(r.start, r.end + 1) : EMPTY_CONFIG_BYTES]),
        // Not in the store: always served from memory.
        redirectUrl: async () => undefined,
      };
    }
    return undefined;
  }

  // ---- manifests ---------------------------------------------------------------------------

  async manifest(ctx: OciContext, repo: RepositoryName, reference: string): Promise<ManifestContent> {
    await this.access.require(ctx, repo, 'pull');
    const mirror = await this.mirror?.mirrorOf(repo);
    if (mirror && this.mirror) return this.mirror.manifest(mirror, repo, reference, ctx.mirrorVia);
    const ref = this.lookupReference(repo, reference);
    const digest = 'tag' in ref ? await this.deps.storage.oci.findTag(repo.name, ref.tag) : ref.digest;
    if (digest) {
      const record = await this.deps.storage.oci.findManifest(repo.name, digest);
      const info = record && (await this.deps.blobs.stat(digest));
      if (record && info) return { digest, mediaType: record.mediaType, bytes: await this.deps.blobs.read(digest) };
    }
    const artifact = await this.packageArtifactFor(repo, reference);
    if (artifact) return { digest: artifact.digest, mediaType: artifact.mediaType, bytes: artifact.bytes };
    if (!(await this.repositoryKnown(repo))) throw ociError('NAME_UNKNOWN', `Repository ${repo.name} is not known to this registry`, { name: repo.name });
    throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name}`, { reference });
  }

  async putManifest(ctx: OciContext, repo: RepositoryName, reference: string, contentType: string | undefined, bytes: Buffer, extraTags: string[] = []): Promise<PushedManifest> {
    await this.access.require(ctx, repo, 'push');
    return this.storeManifest(ctx, repo, reference, contentType, bytes, extraTags);
  }

  /** A manifest push the caller was allowed (putManifest's check, or the core's own copy of a mirrored referrer). */
  private async storeManifest(ctx: OciContext, repo: RepositoryName, reference: string, contentType: string | undefined, bytes: Buffer, extraTags: string[] = []): Promise<PushedManifest> {
    if (bytes.length > MAX_MANIFEST_BYTES) throw payloadTooLarge(`A manifest is at most ${MAX_MANIFEST_BYTES} bytes`);
    const ref = parseReference(reference);
    const parsed = parseManifest(bytes, contentType);
    if ('digest' in ref && ref.digest !== parsed.digest) {
      throw ociError('DIGEST_INVALID', `The manifest's digest is ${parsed.digest}, not ${ref.digest}`, { expected: ref.digest, actual: parsed.digest });
    }
    const tags = [...new Set(['tag' in ref ? [ref.tag] : [], extraTags.map(requireTag)].flat())];
    await this.requireReferenced(repo, parsed);
    const publishedVersion = await this.publishPackageLayer(ctx, repo, parsed, tags);

    const stored = await this.deps.blobs.put(bytes);
    const now = isoNow(this.deps.clock);
    await this.deps.storage.transaction(async (tx) => {
      await this.access.recordRepository(tx, repo, now);
      await tx.oci.insertManifest(
        {
          repo: repo.name,
          digest: parsed.digest,
          mediaType: parsed.mediaType,
          artifactType: parsed.artifactType,
          size: stored.size,
          subject: parsed.subject?.digest ?? null,
          annotations: parsed.annotations,
          createdAt: now,
        },
        [...parsed.blobs, ...parsed.manifests].map((d) => d.digest),
      );
      for (const tag of tags) await tx.oci.setTag(repo.name, tag, parsed.digest, now);
      await this.deps.audit.record(tx.audit, ctx, 'oci.manifest.push', `${repo.name}@${parsed.digest}`, {
        media_type: parsed.mediaType,
        artifact_type: parsed.artifactType,
        tags,
        published_version: publishedVersion,
      });
    });
    return { digest: parsed.digest, subject: parsed.subject?.digest ?? null, tags, publishedVersion };
  }

  async deleteManifest(ctx: OciContext, repo: RepositoryName, reference: string): Promise<void> {
    await this.access.require(ctx, repo, 'delete');
    const ref = this.lookupReference(repo, reference);
    const done = await this.deps.storage.transaction(async (tx) => {
      const ok = 'tag' in ref ? await tx.oci.deleteTag(repo.name, ref.tag) : await tx.oci.deleteManifest(repo.name, ref.digest);
      if (ok) await this.deps.audit.record(tx.audit, ctx, 'tag' in ref ? 'oci.tag.delete' : 'oci.manifest.delete', `${repo.name}:${reference}`);
      return ok;
    });
    if (done) return;
    if (await this.packageArtifactFor(repo, reference)) {
      throw ociError('UNSUPPORTED', `${reference} is a published package version of ${repo.name}; remove it with unpublish (or move its dist-tag) instead`, { reference });
    }
    throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name}`, { reference });
  }

  /** A reference to look up: one that cannot name anything (a malformed tag) is simply unknown. */
  private lookupReference(repo: RepositoryName, reference: string): ReturnType<typeof parseReference> {
    try {
      return parseReference(reference);
    } catch (e) {
      if (isOciError(e) && e.oci === 'TAG_INVALID') throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name}`, { reference });
      throw e;
    }
  }

  /** Every blob and child manifest a manifest points at must already be in the repository. */
  private async requireReferenced(repo: RepositoryName, parsed: ParsedManifest): Promise<void> {
    for (const d of parsed.blobs) {
      const found = await this.findBlob(repo, d.digest);
      if (!found) throw ociError('MANIFEST_BLOB_UNKNOWN', `The manifest references blob ${d.digest}, which is not in ${repo.name}; push it first`, { digest: d.digest });
      if (found.size !== d.size) {
        throw ociError('SIZE_INVALID', `The manifest gives blob ${d.digest} a size of ${d.size} bytes; it has ${found.size}`, { digest: d.digest, declared: d.size, actual: found.size });
      }
    }
    for (const d of parsed.manifests) {
      const known = (await this.deps.storage.oci.findManifest(repo.name, d.digest)) ?? (await this.packageArtifactFor(repo, d.digest));
      if (!known) throw ociError('MANIFEST_BLOB_UNKNOWN', `The index references manifest ${d.digest}, which is not in ${repo.name}; push it first`, { digest: d.digest });
    }
  }

  /**
   * An image manifest with one Agentry package layer, pushed under a semver tag to a repository
   * that can be a package, becomes that version of the package (the rules of every publish apply).
   * A layer that is not a valid package leaves the artifact as plain OCI content.
   */
  private async publishPackageLayer(ctx: OciContext, repo: RepositoryName, parsed: ParsedManifest, tags: string[]): Promise<string | null> {
    const layers = parsed.layers.filter((l) => l.mediaType === AGENTRY_PACKAGE_LAYER);
    const layer = parsed.mediaType === OCI_MANIFEST && layers.length === 1 ? layers[0] : undefined;
    const pkg = await this.packageOf(repo);
    // A tag that names a published version is that version: only its own tarball may sit there.
    for (const tag of tags.filter((t) => isStrictSemver(t))) {
      const existing = pkg && (await this.deps.storage.packages.findVersion(pkg.id, tag));
      if (existing && !(layer && existing.digest === layer.digest && !existing.unpublishedAt)) {
        throw ociError('DENIED', `Version ${tag} of ${repo.name} was already published${existing.unpublishedAt ? ' and unpublished' : ''} with other content; versions are immutable`, {
          version: tag,
        });
      }
    }
    const version = tags.find((t) => isStrictSemver(t));
    if (!layer || !version || !repo.packageName) return null;
    const [scope, name] = repo.packageName.split('/');
    if (pkg && (await this.deps.storage.packages.findVersion(pkg.id, version))) return null;
    if (layer.size > this.opts.maxPackageBytes) return null;
    const kind = kindOfArtifactType(parsed.artifactType ?? undefined);
    try {
      const published = await this.packages.publish(ctx, {
        scope,
        name,
        tarball: await this.deps.blobs.read(layer.digest),
        version,
        ...(kind && isPackageKind(kind) ? { kind } : {}),
      });
      return `@${published.pkg.scope}/${published.pkg.name}@${published.version.version}`;
    } catch (e) {
      if (isAgentryError(e) && (e.code === 'validation_failed' || e.code === 'bad_request')) return null;
      if (isAgentryError(e) && e.code === 'conflict') {
        // A concurrent push of these very bytes (a retry racing its lost first attempt) published
        // this version first: that is this push's success, not a conflict.
        const now = await this.packageOf(repo);
        const live = now && (await this.deps.storage.packages.findVersion(now.id, version));
        if (live && !live.unpublishedAt && live.digest === layer.digest) return null;
        throw ociError('DENIED', e.message, { version });
      }
      throw e;
    }
  }

  // ---- discovery ---------------------------------------------------------------------------

  async tags(ctx: OciContext, repo: RepositoryName, n?: number, last?: string): Promise<TagPage> {
    await this.access.require(ctx, repo, 'pull');
    const mirror = await this.mirror?.mirrorOf(repo);
    if (mirror && this.mirror) return tagPage(repo, await this.mirror.tags(mirror, repo, ctx.mirrorVia), n, last);
    const all = new Set(await this.deps.storage.oci.listTags(repo.name));
    const pkg = await this.packageOf(repo);
    if (pkg) {
      for (const v of await this.packageVersions(repo)) all.add(v.version);
      for (const t of Object.keys(await this.distTagsOf(pkg))) all.add(t);
    }
    if (all.size === 0 && !(await this.repositoryKnown(repo))) throw ociError('NAME_UNKNOWN', `Repository ${repo.name} is not known to this registry`, { name: repo.name });
    return tagPage(repo, [...all], n, last);
  }

  /**
   * `_catalog`: the repositories the caller may read (AccessPolicy.readFilter, applied in the
   * store's query), paged like tags: unreadable ones are left out before paging.
   */
  async catalog(ctx: OciContext, n?: number, last?: string): Promise<{ repositories: string[]; nextLast: string | null }> {
    let filter: ReadFilter;
    try {
      filter = await this.deps.policy.readFilter(ctx);
    } catch (e) {
      if (isAgentryError(e) && e.code === 'unauthorized') throw ociError('UNAUTHORIZED', e.message, { scope: 'registry:catalog:*' });
      throw e;
    }
    const limit = n ?? 1000;
    if (limit === 0) return { repositories: [], nextLast: null };
    const page = await this.deps.storage.oci.listRepositories(last, limit + 1, filter);
    const repositories = page.slice(0, limit);
    return { repositories, nextLast: page.length > limit ? repositories[repositories.length - 1] : null };
  }

  /** Every repository the caller may read, in byte order (the whole catalog, page after page). */
  async listRepositories(ctx: OciContext): Promise<string[]> {
    const out: string[] = [];
    let last: string | undefined;
    for (;;) {
      const page = await this.catalog(ctx, 1000, last);
      out.push(...page.repositories);
      if (page.nextLast === null) return out;
      last = page.nextLast;
    }
  }

  private repositoryOrUndefined(name: string): RepositoryName | undefined {
    try {
      return parseRepositoryName(name);
    } catch {
      return undefined;
    }
  }

  async referrers(ctx: OciContext, repo: RepositoryName, digestParam: string, artifactType?: string): Promise<ReferrerList> {
    await this.access.require(ctx, repo, 'pull');
    const digest = requireSha256(digestParam);
    const mirror = await this.mirror?.mirrorOf(repo);
    if (mirror && this.mirror) await this.mirror.syncReferrers(mirror, repo, digest, ctx.mirrorVia);
    const records = await this.deps.storage.oci.referrers(repo.name, digest);
    const filtered = artifactType !== undefined && artifactType !== '';
    const manifests = records
      .filter((r) => !filtered || r.artifactType === artifactType)
      .map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      }));
    return { manifests, filtered };
  }

  /**
   * Attaches one blob to a published package version as an ordinary referrer (an image manifest
   * with the empty config, the blob as its one layer and the version's artifact as its subject),
   * exactly as a client pushing it through `/v2/` would; so an OCI copy of the repository carries it.
   */
  async attachToVersion(ctx: OciContext, pkg: PackageRecord, version: VersionRecord, referrer: { artifactType: string; layer: Buffer; annotations?: Record<string, string> }): Promise<PushedManifest> {
    await this.access.require(ctx, this.repository(`${pkg.scope}/${pkg.name}`), 'push');
    return this.storeVersionReferrer(ctx, pkg, version, referrer);
  }

  /**
   * Attaches a referrer to a version of a package fetched from an upstream (core/mirrors: a copied
   * signature). No caller's push right is asked: mirrored scopes are written by the mirror only.
   */
  async attachMirroredReferrer(pkg: PackageRecord, version: VersionRecord, referrer: { artifactType: string; layer: Buffer; annotations?: Record<string, string> }): Promise<PushedManifest> {
    return this.storeVersionReferrer(anonymous(), pkg, version, referrer);
  }

  private async storeVersionReferrer(
    ctx: OciContext,
    pkg: PackageRecord,
    version: VersionRecord,
    referrer: { artifactType: string; layer: Buffer; annotations?: Record<string, string> },
  ): Promise<PushedManifest> {
    const repo = this.repository(`${pkg.scope}/${pkg.name}`);
    const subject = packageArtifact(pkg, version);
    const stored = await this.deps.blobs.put(referrer.layer);
    const now = isoNow(this.deps.clock);
    await this.access.recordRepository(this.deps.storage, repo, now);
    await this.deps.storage.oci.linkBlob(repo.name, stored.digest, now);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: referrer.artifactType,
      config: { mediaType: OCI_EMPTY, digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG_BYTES.length },
      layers: [{ mediaType: referrer.artifactType, digest: stored.digest, size: stored.size }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
      annotations: { [ANNOTATION_CREATED]: now, ...referrer.annotations },
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    return this.storeManifest(ctx, repo, sha256Of(bytes), OCI_MANIFEST, bytes);
  }

  /**
   * The layers of a version's referrers of one artifact type (signatures: their bundles), newest
   * first, each with its referrer's digest. The caller has checked that the version may be read.
   */
  async versionReferrerLayers(pkg: PackageRecord, version: VersionRecord, artifactType: string, maxBytes: number): Promise<Array<{ digest: string; layer: Buffer }>> {
    const repo = this.repository(`${pkg.scope}/${pkg.name}`);
    const records = (await this.deps.storage.oci.referrers(repo.name, packageArtifact(pkg, version).digest)).filter((r) => r.artifactType === artifactType);
    const out: Array<{ digest: string; layer: Buffer }> = [];
    for (const r of records.sort((a, b) => b.createdAt.localeCompare(a.createdAt))) {
      const bytes = await this.deps.blobs.read(r.digest).catch(() => undefined);
      let layer: Descriptor | undefined;
      try {
        layer = bytes && parseManifest(bytes, r.mediaType).layers[0];
      } catch {
        layer = undefined;
      }
      if (!layer || layer.size > maxBytes) continue;
      const content = await this.deps.blobs.read(layer.digest).catch(() => undefined);
      if (content) out.push({ digest: r.digest, layer: content });
    }
    return out;
  }

  // ---- packages seen as artifacts ----------------------------------------------------------

  private async packageOf(repo: RepositoryName): Promise<PackageRecord | undefined> {
    return repo.packageName ? this.deps.storage.packages.findByKey(repo.packageName) : undefined;
  }

  private async packageVersions(repo: RepositoryName): Promise<VersionRecord[]> {
    const pkg = await this.packageOf(repo);
    return pkg ? this.deps.storage.packages.listVersions(pkg.id, false) : [];
  }

  private async distTagsOf(pkg: PackageRecord): Promise<Record<string, string>> {
    const tags = await this.deps.storage.packages.distTags(pkg.id);
    return pkg.latestVersion ? { latest: pkg.latestVersion, ...tags } : tags;
  }

  /** The artifact of a package version named by version, dist-tag or artifact digest. */
  private async packageArtifactFor(repo: RepositoryName, reference: string): Promise<PackageArtifact | undefined> {
    const pkg = await this.packageOf(repo);
    if (!pkg) return undefined;
    const versions = await this.deps.storage.packages.listVersions(pkg.id, false);
    if (reference.includes(':')) {
      for (const v of versions) {
        const a = packageArtifact(pkg, v);
        if (a.digest === reference) return a;
      }
      return undefined;
    }
    const wanted = ownValue(await this.distTagsOf(pkg), reference) ?? reference;
    const v = versions.find((x) => x.version === wanted);
    return v && packageArtifact(pkg, v);
  }

  private async repositoryKnown(repo: RepositoryName): Promise<boolean> {
    return (await this.packageOf(repo)) !== undefined || (await this.deps.storage.oci.repositoryExists(repo.name));
  }
}

/** One page of tags (end-8b): byte order, those after `last`, at most `n`; `nextLast` when more follow. */
const tagPage = (repo: RepositoryName, tags: string[], n?: number, last?: string): TagPage => {
  const sorted = [...tags].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).filter((t) => last === undefined || t > last);
  const page = n === undefined ? sorted : sorted.slice(0, n);
  const more = n !== undefined && n > 0 && sorted.length > n;
  return { name: repo.name, tags: page, nextLast: more ? page[page.length - 1] : null };
};
