import type { CoreDeps } from '../core-deps.js';
import { badGateway } from '../errors.js';
import { parseManifest } from '../oci/manifest.js';
import { ociError } from '../oci/oci-errors.js';
import type { MirroredRepository } from '../oci/access.js';
import type { ManifestContent } from '../oci/oci-service.js';
import type { RepoBlob } from '../oci/repository-blobs.js';
import { isSha256, parseReference, requireSha256, type RepositoryName } from '../oci/references.js';
import type { BlobRedirects } from '../blobs/blob-redirects.js';
import { isoNow } from '../time.js';
import type { MirrorRecord, OciUpstream, UpstreamEndpoint } from './mirror.js';
import type { MirrorService } from './mirror-service.js';

/**
 * OCI pull-through mirrors (Harbor's proxy cache, Zot's on-demand sync): `/v2/<mirror>/<upstream
 * repository>/…` is fetched from the mirror's upstream on first use, verified against its digest,
 * stored once in the blob store and the OCI tables (so garbage collection sees it referenced), and
 * served from there. A tag is asked again (HEAD) once it is older than the mirror's TTL; while the
 * upstream cannot be reached, what was fetched before is served. Mirrored repositories are read-only.
 */
export class OciMirror {
  constructor(
    private readonly deps: CoreDeps,
    private readonly mirrors: MirrorService,
    private readonly upstream: OciUpstream | undefined,
    private readonly redirects?: BlobRedirects,
  ) {}

  /** The OCI mirror a repository belongs to (its first component names it), if any. */
  async mirrorOf(repo: RepositoryName): Promise<MirrorRecord | undefined> {
    if (!this.upstream || !repo.name.includes('/')) return undefined;
    return this.mirrors.ofKind(repo.scope, 'oci');
  }

  /** The OCI mirror a repository belongs to, with what the read rule is asked about it: the mirror's visibility, {@link MirrorService.readTarget}. */
  async accessOf(repo: RepositoryName): Promise<MirroredRepository | undefined> {
    const m = await this.mirrorOf(repo);
    return m && { url: m.url, target: await this.mirrors.readTarget(m, repo.scope) };
  }

  private upstreamRepository(m: MirrorRecord, repo: RepositoryName): string {
    return repo.name.slice(m.name.length + 1);
  }

  /**
   * A manifest by tag or digest. `via` is the request's `mirrorVia`: a lookup that passed through
   * this server already (or made too many hops) is answered from what is stored only, as every
   * other read here.
   */
  async manifest(m: MirrorRecord, repo: RepositoryName, reference: string, via?: readonly string[]): Promise<ManifestContent> {
    const ref = parseReference(reference);
    const localOnly = !this.mirrors.mayAskUpstreams(via);
    if ('digest' in ref) {
      const stored = localOnly ? await this.local(repo, ref.digest) : undefined;
      if (localOnly && !stored) throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name}`, { reference });
      return stored ?? (await this.ensureManifest(m, repo, ref.digest, reference, via)).content;
    }
    const cached = await this.mirrors.store.findTag(m.name, repo.name, ref.tag);
    const now = this.deps.clock.now();
    const cachedContent = cached && (await this.local(repo, cached.digest));
    if (cached && cachedContent && (localOnly || now.getTime() - Date.parse(cached.checkedAt) < m.ttlSeconds * 1000)) return cachedContent;
    if (localOnly) throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name}`, { reference });
    let digest: string | undefined;
    try {
      digest = await this.upstream?.resolve(await this.mirrors.endpointOf(m, via), this.upstreamRepository(m, repo), ref.tag);
    } catch (e) {
      // The upstream is down (or answers nonsense): what it said last is still served.
      if (cachedContent) return cachedContent;
      throw e;
    }
    if (!digest) throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name} (nor upstream at ${m.url})`, { reference });
    const content = (digest === cached?.digest && cachedContent) || (await this.local(repo, digest)) || (await this.fetchManifest(m, repo, digest, { reference, via }));
    await this.recordTag(m, repo, ref.tag, content.digest, isoNow(this.deps.clock));
    // The tag was asked again: signatures attached upstream since are copied now (at most once a TTL).
    await this.copyReferrersQuietly(m, repo, content.digest, via);
    return content;
  }

  async blob(m: MirrorRecord, repo: RepositoryName, digestParam: string, via?: readonly string[]): Promise<RepoBlob> {
    const digest = requireSha256(digestParam);
    const { size } = await this.ensureBlob(m, repo, digest, via);
    return { digest, size, open: (range) => this.deps.blobs.open(digest, range), redirectUrl: async () => this.redirects?.urlFor(digest) };
  }

  /**
   * A blob of the mirrored repository, fetched from the upstream unless it is stored and linked
   * already (on demand and by sync jobs alike): its size, and whether it had to be fetched.
   */
  async ensureBlob(m: MirrorRecord, repo: RepositoryName, digest: string, via?: readonly string[]): Promise<{ size: number; fetched: boolean }> {
    const info = (await this.deps.storage.oci.isLinked(repo.name, digest)) ? await this.deps.blobs.stat(digest) : undefined;
    if (info) return { size: info.size, fetched: false };
    if (!this.mirrors.mayAskUpstreams(via)) throw ociError('BLOB_UNKNOWN', `Blob ${digest} is not in ${repo.name}`, { digest });
    const got = await this.upstream?.blob(await this.mirrors.endpointOf(m, via), this.upstreamRepository(m, repo), digest);
    if (!got) throw ociError('BLOB_UNKNOWN', `Blob ${digest} is not in ${repo.name} (nor upstream at ${m.url})`, { digest });
    const stored = await this.deps.blobs.put(got.data);
    // The adapter verified the bytes; the blob store's own hash says the same, or nothing is linked.
    if (stored.digest !== digest) throw badGateway(`The upstream at ${m.url} sent bytes hashing to ${stored.digest} for ${digest}; refused`);
    await this.deps.storage.oci.linkBlob(repo.name, digest, isoNow(this.deps.clock));
    return { size: stored.size, fetched: true };
  }

  /** A manifest of the mirrored repository by digest, fetched from the upstream unless it is stored already; whether it had to be. */
  async ensureManifest(m: MirrorRecord, repo: RepositoryName, digest: string, reference: string = digest, via?: readonly string[]): Promise<{ content: ManifestContent; fetched: boolean }> {
    const local = await this.local(repo, digest);
    return local ? { content: local, fetched: false } : { content: await this.fetchManifest(m, repo, digest, { reference, via }), fetched: true };
  }

  /** Records where a tag of the mirrored repository points, as the upstream said at `at`. */
  async recordTag(m: MirrorRecord, repo: RepositoryName, tag: string, digest: string, at: string): Promise<void> {
    await this.deps.storage.oci.setTag(repo.name, tag, digest, at);
    await this.mirrors.store.putTag({ mirror: m.name, repo: repo.name, tag, digest, checkedAt: at });
  }

  /** The tags the mirrored repository holds now. */
  localTags(repo: RepositoryName): Promise<string[]> {
    return this.deps.storage.oci.listTags(repo.name);
  }

  localTag(repo: RepositoryName, tag: string): Promise<string | undefined> {
    return this.deps.storage.oci.findTag(repo.name, tag);
  }

  /** A tag the upstream no longer has: gone from the mirror too (what it pointed at stays, by digest). */
  async removeTag(m: MirrorRecord, repo: RepositoryName, tag: string): Promise<void> {
    await this.deps.storage.oci.deleteTag(repo.name, tag);
    await this.mirrors.store.deleteTag(m.name, repo.name, tag);
  }

  /** The upstream, for sync jobs; undefined when this server reaches no OCI upstream. */
  get port(): OciUpstream | undefined {
    return this.upstream;
  }

  endpointOf(m: MirrorRecord): Promise<UpstreamEndpoint> {
    return this.mirrors.endpointOf(m);
  }

  /**
   * A mirrored repository's tags, as the upstream lists them: asked again once the listing is older
   * than the mirror's TTL; while the upstream cannot be reached, its last listing (or, never listed,
   * the tags fetched so far). The caller sorts and pages.
   */
  async tags(m: MirrorRecord, repo: RepositoryName, via?: readonly string[]): Promise<string[]> {
    const cached = await this.mirrors.store.findListing(m.name, repo.name, TAGS_LISTING);
    if (cached && this.fresh(m, cached.checkedAt)) return cached.items;
    let listed: string[] | undefined;
    try {
      if (!this.mirrors.mayAskUpstreams(via)) throw ociError('NAME_UNKNOWN', `Repository ${repo.name} is not known to this registry`, { name: repo.name });
      listed = await this.upstream?.tags(await this.mirrors.endpointOf(m, via), this.upstreamRepository(m, repo), MAX_MIRRORED_TAGS);
    } catch (e) {
      if (cached) return cached.items;
      const fetched = await this.deps.storage.oci.listTags(repo.name);
      if (fetched.length > 0) return fetched;
      throw e;
    }
    if (listed === undefined) throw ociError('NAME_UNKNOWN', `Repository ${repo.name} is not known to this registry (nor upstream at ${m.url})`, { name: repo.name });
    const items = [...new Set(listed)];
    await this.mirrors.store.putListing({ mirror: m.name, repo: repo.name, listing: TAGS_LISTING, items, checkedAt: isoNow(this.deps.clock) });
    return items;
  }

  /**
   * Before the referrers of `digest` in a mirrored repository are listed from the store: copies the
   * upstream's (at most once a TTL). With the upstream down, what was copied before is listed; if
   * nothing ever was, the upstream's failure is the answer.
   */
  async syncReferrers(m: MirrorRecord, repo: RepositoryName, digest: string, via?: readonly string[]): Promise<void> {
    if (!this.mirrors.mayAskUpstreams(via)) return;
    const cached = await this.mirrors.store.findListing(m.name, repo.name, referrersListing(digest));
    if (cached && this.fresh(m, cached.checkedAt)) return;
    try {
      await this.copyReferrers(m, repo, digest, via);
    } catch (e) {
      if (!cached) throw e;
    }
  }

  private fresh(m: MirrorRecord, checkedAt: string): boolean {
    return this.deps.clock.now().getTime() - Date.parse(checkedAt) < m.ttlSeconds * 1000;
  }

  /**
   * Copies the manifests that refer to `digest` upstream (signatures, SBOMs, attestations: found
   * through its referrers API or the `sha256-<hex>` tag schema) with their blobs, so they are listed
   * by this registry's referrers API and can be pulled while the upstream is down. Only a manifest
   * whose own `subject` is `digest` is taken: a listing cannot make something a referrer.
   */
  private async copyReferrers(m: MirrorRecord, repo: RepositoryName, digest: string, via: readonly string[] | undefined): Promise<void> {
    if (!this.upstream) return;
    const endpoint = await this.mirrors.endpointOf(m, via);
    const found = (await this.upstream.referrers(endpoint, this.upstreamRepository(m, repo), digest)).slice(0, MAX_MIRRORED_REFERRERS);
    const copied: string[] = [];
    for (const d of found) {
      if (!isSha256(d.digest) || d.digest === digest) continue;
      const content = (await this.local(repo, d.digest)) ?? (await this.fetchManifest(m, repo, d.digest, { reference: d.digest, subjectOf: digest, via }));
      if (!content) continue;
      const parsed = parseManifest(content.bytes, content.mediaType);
      for (const b of parsed.blobs) await this.blob(m, repo, b.digest, via);
      copied.push(d.digest);
    }
    await this.mirrors.store.putListing({ mirror: m.name, repo: repo.name, listing: referrersListing(digest), items: copied, checkedAt: isoNow(this.deps.clock) });
  }

  /** {@link copyReferrers} after a manifest was fetched or its tag asked again: a failure there never fails the pull. */
  private async copyReferrersQuietly(m: MirrorRecord, repo: RepositoryName, digest: string, via: readonly string[] | undefined): Promise<void> {
    await this.syncReferrers(m, repo, digest, via).catch(() => undefined);
  }

  /** A manifest already fetched into the mirrored repository. */
  private async local(repo: RepositoryName, digest: string): Promise<ManifestContent | undefined> {
    const record = await this.deps.storage.oci.findManifest(repo.name, digest);
    if (!record || !(await this.deps.blobs.stat(digest))) return undefined;
    return { digest, mediaType: record.mediaType, bytes: await this.deps.blobs.read(digest) };
  }

  /** Fetches, verifies and stores a manifest, then copies its referrers; one expected to refer to `subjectOf` and not doing so is left out (undefined). */
  private async fetchManifest(m: MirrorRecord, repo: RepositoryName, digest: string, o: { reference: string; via: readonly string[] | undefined }): Promise<ManifestContent>;
  private async fetchManifest(
    m: MirrorRecord,
    repo: RepositoryName,
    digest: string,
    o: { reference: string; subjectOf: string; via: readonly string[] | undefined },
  ): Promise<ManifestContent | undefined>;
  private async fetchManifest(
    m: MirrorRecord,
    repo: RepositoryName,
    digest: string,
    { reference, subjectOf, via }: { reference: string; subjectOf?: string; via: readonly string[] | undefined },
  ): Promise<ManifestContent | undefined> {
    const got = await this.upstream?.manifest(await this.mirrors.endpointOf(m, via), this.upstreamRepository(m, repo), digest);
    if (!got) {
      if (subjectOf !== undefined) return undefined;
      throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name} (nor upstream at ${m.url})`, { reference });
    }
    const parsed = parseManifest(got.bytes, got.mediaType);
    if (parsed.digest !== digest) throw badGateway(`The upstream at ${m.url} sent a manifest hashing to ${parsed.digest} for ${digest}; refused`);
    if (subjectOf !== undefined && parsed.subject?.digest !== subjectOf) return undefined;
    const stored = await this.deps.blobs.put(got.bytes);
    await this.deps.storage.oci.insertManifest(
      {
        repo: repo.name,
        digest,
        mediaType: parsed.mediaType,
        artifactType: parsed.artifactType,
        size: stored.size,
        subject: parsed.subject?.digest ?? null,
        annotations: parsed.annotations,
        createdAt: isoNow(this.deps.clock),
      },
      [...parsed.blobs, ...parsed.manifests].map((d) => d.digest),
    );
    // What signs or describes this manifest travels with it (not for a referrer itself: one level).
    if (subjectOf === undefined) await this.copyReferrersQuietly(m, repo, digest, via);
    return { digest, mediaType: parsed.mediaType, bytes: got.bytes };
  }
}

/** The listing key of a repository's tags, and of a manifest's referrers. */
const TAGS_LISTING = 'tags';
const referrersListing = (digest: string): string => `referrers:${digest}`;
/** Tags of one upstream repository that are listed (Docker Hub's `library/*` have thousands; more are cut). */
export const MAX_MIRRORED_TAGS = 10_000;
/** Referrers of one manifest that are copied. */
export const MAX_MIRRORED_REFERRERS = 100;
