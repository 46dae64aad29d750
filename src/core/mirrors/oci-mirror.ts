import type { CoreDeps } from '../core-deps.js';
import { badGateway } from '../errors.js';
import { parseManifest } from '../oci/manifest.js';
import { ociError } from '../oci/oci-errors.js';
import type { ManifestContent, RepoBlob } from '../oci/oci-service.js';
import { parseReference, requireSha256, type RepositoryName } from '../oci/references.js';
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

  private upstreamRepository(m: MirrorRecord, repo: RepositoryName): string {
    return repo.name.slice(m.name.length + 1);
  }

  async manifest(m: MirrorRecord, repo: RepositoryName, reference: string): Promise<ManifestContent> {
    const ref = parseReference(reference);
    if ('digest' in ref) return (await this.ensureManifest(m, repo, ref.digest, reference)).content;
    const cached = await this.mirrors.store.findTag(m.name, repo.name, ref.tag);
    const now = this.deps.clock.now();
    const cachedContent = cached && (await this.local(repo, cached.digest));
    if (cached && cachedContent && now.getTime() - Date.parse(cached.checkedAt) < m.ttlSeconds * 1000) return cachedContent;
    let digest: string | undefined;
    try {
      digest = await this.upstream?.resolve(await this.mirrors.endpointOf(m), this.upstreamRepository(m, repo), ref.tag);
    } catch (e) {
      // The upstream is down (or answers nonsense): what it said last is still served.
      if (cachedContent) return cachedContent;
      throw e;
    }
    if (!digest) throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name} (nor upstream at ${m.url})`, { reference });
    const content = (digest === cached?.digest && cachedContent) || (await this.local(repo, digest)) || (await this.fetchManifest(m, repo, digest, reference));
    await this.recordTag(m, repo, ref.tag, content.digest, isoNow(this.deps.clock));
    return content;
  }

  async blob(m: MirrorRecord, repo: RepositoryName, digestParam: string): Promise<RepoBlob> {
    const digest = requireSha256(digestParam);
    const { size } = await this.ensureBlob(m, repo, digest);
    return { digest, size, open: (range) => this.deps.blobs.open(digest, range), redirectUrl: async () => this.redirects?.urlFor(digest) };
  }

  /**
   * A blob of the mirrored repository, fetched from the upstream unless it is stored and linked
   * already (on demand and by sync jobs alike): its size, and whether it had to be fetched.
   */
  async ensureBlob(m: MirrorRecord, repo: RepositoryName, digest: string): Promise<{ size: number; fetched: boolean }> {
    const info = (await this.deps.storage.oci.isLinked(repo.name, digest)) ? await this.deps.blobs.stat(digest) : undefined;
    if (info) return { size: info.size, fetched: false };
    const got = await this.upstream?.blob(await this.mirrors.endpointOf(m), this.upstreamRepository(m, repo), digest);
    if (!got) throw ociError('BLOB_UNKNOWN', `Blob ${digest} is not in ${repo.name} (nor upstream at ${m.url})`, { digest });
    const stored = await this.deps.blobs.put(got.data);
    // The adapter verified the bytes; the blob store's own hash says the same, or nothing is linked.
    if (stored.digest !== digest) throw badGateway(`The upstream at ${m.url} sent bytes hashing to ${stored.digest} for ${digest}; refused`);
    await this.deps.storage.oci.linkBlob(repo.name, digest, isoNow(this.deps.clock));
    return { size: stored.size, fetched: true };
  }

  /** A manifest of the mirrored repository by digest, fetched from the upstream unless it is stored already; whether it had to be. */
  async ensureManifest(m: MirrorRecord, repo: RepositoryName, digest: string, reference: string = digest): Promise<{ content: ManifestContent; fetched: boolean }> {
    const local = await this.local(repo, digest);
    return local ? { content: local, fetched: false } : { content: await this.fetchManifest(m, repo, digest, reference), fetched: true };
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

  /** A manifest already fetched into the mirrored repository. */
  private async local(repo: RepositoryName, digest: string): Promise<ManifestContent | undefined> {
    const record = await this.deps.storage.oci.findManifest(repo.name, digest);
    if (!record || !(await this.deps.blobs.stat(digest))) return undefined;
    return { digest, mediaType: record.mediaType, bytes: await this.deps.blobs.read(digest) };
  }

  private async fetchManifest(m: MirrorRecord, repo: RepositoryName, digest: string, reference: string): Promise<ManifestContent> {
    const got = await this.upstream?.manifest(await this.mirrors.endpointOf(m), this.upstreamRepository(m, repo), digest);
    if (!got) throw ociError('MANIFEST_UNKNOWN', `Manifest ${reference} is not in ${repo.name} (nor upstream at ${m.url})`, { reference });
    const parsed = parseManifest(got.bytes, got.mediaType);
    if (parsed.digest !== digest) throw badGateway(`The upstream at ${m.url} sent a manifest hashing to ${parsed.digest} for ${digest}; refused`);
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
    return { digest, mediaType: parsed.mediaType, bytes: got.bytes };
  }
}
