import type { CoreDeps } from '../core-deps.js';
import type { Visibility } from '../access/visibility.js';
import { payloadTooLarge } from '../errors.js';
import type { PackageService } from '../packages/package-service.js';
import type { BlobRedirects } from '../blobs/blob-redirects.js';
import type { PackageRecord, VersionRecord } from '../packages/package-repo.js';
import { isoNow } from '../time.js';
import { OciAccess, type OciContext } from './access.js';
import { BlobUploads, type CommittedBlob } from './blob-uploads.js';
import { MAX_MANIFEST_BYTES, parseManifest, sha256Of, type ParsedManifest } from './manifest.js';
import { OCI_MANIFEST } from './media-types.js';
import { OciDiscovery, type ReferrerList, type TagPage } from './oci-discovery.js';
import { isOciError, ociError } from './oci-errors.js';
import { publishPackageLayer, type PackageLayerDeps } from './package-layer.js';
import type { UploadStore } from './ports.js';
import { parseReference, parseRepositoryName, requireTag, type RepositoryName } from './references.js';
import { RegistryTokens } from './registry-tokens.js';
import { RepositoryBlobs, type RepoBlob } from './repository-blobs.js';
import { RepositoryPackages } from './repository-packages.js';
import { versionReferrerLayers, versionReferrerManifest, type VersionReferrer } from './version-referrers.js';
import { anonymous } from '../auth/principal.js';
import type { OciMirror } from '../mirrors/oci-mirror.js';

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
  /** Packages seen as repositories: their versions as tags and artifacts. */
  private readonly repositoryPackages: RepositoryPackages;
  private readonly blobs: RepositoryBlobs;
  private readonly discovery: OciDiscovery;
  private readonly layerDeps: PackageLayerDeps;

  constructor(
    private readonly deps: CoreDeps,
    packages: PackageService,
    private readonly opts: OciOptions,
  ) {
    this.access = new OciAccess(deps.storage, deps.policy, opts.defaultScope);
    this.tokens = new RegistryTokens(deps.storage, this.access, deps.clock);
    this.uploads = new BlobUploads(deps.storage, deps.blobs, opts.uploads, this.access, deps.clock);
    this.repositoryPackages = new RepositoryPackages(deps.storage);
    const mirrors = () => this.mirror;
    this.blobs = new RepositoryBlobs(deps, this.access, this.repositoryPackages, opts, mirrors);
    this.discovery = new OciDiscovery(deps, this.access, this.repositoryPackages, mirrors);
    this.layerDeps = { storage: deps.storage, blobs: deps.blobs, packages, repositories: this.repositoryPackages, maxPackageBytes: opts.maxPackageBytes };
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
    if (!(await this.access.allows(ctx, repo, 'push'))) return false;
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

  // ---- blobs (repository-blobs.ts) --------------------------------------------------------

  blob(ctx: OciContext, repo: RepositoryName, digestParam: string): Promise<RepoBlob> {
    return this.blobs.get(ctx, repo, digestParam);
  }

  deleteBlob(ctx: OciContext, repo: RepositoryName, digestParam: string): Promise<void> {
    return this.blobs.delete(ctx, repo, digestParam);
  }

  /** Cross-repository mount: links a blob `from` another repository; undefined when it is not there. */
  mountBlob(ctx: OciContext, repo: RepositoryName, digestParam: string, from: string): Promise<CommittedBlob | undefined> {
    return this.blobs.mount(ctx, repo, digestParam, from);
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
    const artifact = await this.repositoryPackages.artifactFor(repo, reference);
    if (artifact) return { digest: artifact.digest, mediaType: artifact.mediaType, bytes: artifact.bytes };
    if (!(await this.repositoryPackages.known(repo))) throw ociError('NAME_UNKNOWN', `Repository ${repo.name} is not known to this registry`, { name: repo.name });
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
    const publishedVersion = await publishPackageLayer(this.layerDeps, ctx, repo, parsed, tags);

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
    if (await this.repositoryPackages.artifactFor(repo, reference)) {
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
      const found = await this.blobs.find(repo, d.digest);
      if (!found) throw ociError('MANIFEST_BLOB_UNKNOWN', `The manifest references blob ${d.digest}, which is not in ${repo.name}; push it first`, { digest: d.digest });
      if (found.size !== d.size) {
        throw ociError('SIZE_INVALID', `The manifest gives blob ${d.digest} a size of ${d.size} bytes; it has ${found.size}`, { digest: d.digest, declared: d.size, actual: found.size });
      }
    }
    for (const d of parsed.manifests) {
      const known = (await this.deps.storage.oci.findManifest(repo.name, d.digest)) ?? (await this.repositoryPackages.artifactFor(repo, d.digest));
      if (!known) throw ociError('MANIFEST_BLOB_UNKNOWN', `The index references manifest ${d.digest}, which is not in ${repo.name}; push it first`, { digest: d.digest });
    }
  }

  // ---- discovery (oci-discovery.ts) -------------------------------------------------------

  tags(ctx: OciContext, repo: RepositoryName, n?: number, last?: string): Promise<TagPage> {
    return this.discovery.tags(ctx, repo, n, last);
  }

  /** `_catalog`: the repositories the caller may read, paged like tags. */
  catalog(ctx: OciContext, n?: number, last?: string): Promise<{ repositories: string[]; nextLast: string | null }> {
    return this.discovery.catalog(ctx, n, last);
  }

  /** Every repository the caller may read, in byte order (the whole catalog, page after page). */
  listRepositories(ctx: OciContext): Promise<string[]> {
    return this.discovery.listRepositories(ctx);
  }

  referrers(ctx: OciContext, repo: RepositoryName, digestParam: string, artifactType?: string): Promise<ReferrerList> {
    return this.discovery.referrers(ctx, repo, digestParam, artifactType);
  }

  // ---- package versions' referrers (version-referrers.ts) --------------------------------

  private repositoryOrUndefined(name: string): RepositoryName | undefined {
    try {
      return parseRepositoryName(name);
    } catch {
      return undefined;
    }
  }

  /**
   * Attaches one blob to a published package version as an ordinary referrer (an image manifest
   * with the empty config, the blob as its one layer and the version's artifact as its subject),
   * exactly as a client pushing it through `/v2/` would; so an OCI copy of the repository carries it.
   */
  async attachToVersion(ctx: OciContext, pkg: PackageRecord, version: VersionRecord, referrer: VersionReferrer): Promise<PushedManifest> {
    await this.access.require(ctx, this.repository(`${pkg.scope}/${pkg.name}`), 'push');
    return this.storeVersionReferrer(ctx, pkg, version, referrer);
  }

  /**
   * Attaches a referrer to a version of a package fetched from an upstream (core/mirrors: a copied
   * signature). No caller's push right is asked: mirrored scopes are written by the mirror only.
   */
  async attachMirroredReferrer(pkg: PackageRecord, version: VersionRecord, referrer: VersionReferrer): Promise<PushedManifest> {
    return this.storeVersionReferrer(anonymous(), pkg, version, referrer);
  }

  private async storeVersionReferrer(ctx: OciContext, pkg: PackageRecord, version: VersionRecord, referrer: VersionReferrer): Promise<PushedManifest> {
    const repo = this.repository(`${pkg.scope}/${pkg.name}`);
    const stored = await this.deps.blobs.put(referrer.layer);
    const now = isoNow(this.deps.clock);
    await this.access.recordRepository(this.deps.storage, repo, now);
    await this.deps.storage.oci.linkBlob(repo.name, stored.digest, now);
    const bytes = versionReferrerManifest(pkg, version, referrer, stored, now);
    return this.storeManifest(ctx, repo, sha256Of(bytes), OCI_MANIFEST, bytes);
  }

  /**
   * The layers of a version's referrers of one artifact type (signatures: their bundles), newest
   * first, each with its referrer's digest. The caller has checked that the version may be read.
   */
  versionReferrerLayers(pkg: PackageRecord, version: VersionRecord, artifactType: string, maxBytes: number): Promise<Array<{ digest: string; layer: Buffer }>> {
    return versionReferrerLayers(this.deps, this.repository(`${pkg.scope}/${pkg.name}`), pkg, version, artifactType, maxBytes);
  }
}
