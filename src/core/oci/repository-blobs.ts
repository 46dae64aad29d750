import { Readable } from 'node:stream';
import type { BlobRedirects } from '../blobs/blob-redirects.js';
import type { ByteRange } from '../blobs/blob-store.js';
import type { CoreDeps } from '../core-deps.js';
import { isAgentryError } from '../errors.js';
import type { OciMirror } from '../mirrors/oci-mirror.js';
import { isoNow } from '../time.js';
import type { OciAccess, OciContext } from './access.js';
import type { CommittedBlob } from './blob-uploads.js';
import { EMPTY_CONFIG_BYTES, EMPTY_CONFIG_DIGEST } from './media-types.js';
import { isOciError, ociError } from './oci-errors.js';
import { parseRepositoryName, requireSha256, type RepositoryName } from './references.js';
import type { RepositoryPackages } from './repository-packages.js';

/** A blob a repository can serve. */
export interface RepoBlob {
  digest: string;
  size: number;
  open(range?: ByteRange): Promise<Readable>;
  /** A short-lived URL of the blob store to redirect the client to, when redirects are on; else undefined. */
  redirectUrl(): Promise<string | undefined>;
}

/**
 * A repository's blobs: those pushed or mounted there, its package's tarballs and the empty config;
 * a mirror's are fetched from its upstream.
 */
export class RepositoryBlobs {
  constructor(
    private readonly deps: CoreDeps,
    private readonly access: OciAccess,
    private readonly packages: RepositoryPackages,
    private readonly opts: { defaultScope?: string; redirects?: BlobRedirects },
    /** The pull-through mirrors, once plugged in (OciService.useMirrors). */
    private readonly mirrors: () => OciMirror | undefined,
  ) {}

  async get(ctx: OciContext, repo: RepositoryName, digestParam: string): Promise<RepoBlob> {
    await this.access.require(ctx, repo, 'pull');
    const mirrors = this.mirrors();
    const mirror = await mirrors?.mirrorOf(repo);
    if (mirror && mirrors) return mirrors.blob(mirror, repo, digestParam, ctx.mirrorVia);
    const digest = requireSha256(digestParam);
    const found = await this.find(repo, digest);
    if (!found) throw ociError('BLOB_UNKNOWN', `Blob ${digest} is not in ${repo.name}`, { digest });
    return found;
  }

  async delete(ctx: OciContext, repo: RepositoryName, digestParam: string): Promise<void> {
    await this.access.require(ctx, repo, 'delete');
    const digest = requireSha256(digestParam);
    const unlinked = await this.deps.storage.transaction(async (tx) => {
      const done = await tx.oci.unlinkBlob(repo.name, digest);
      if (done) await this.deps.audit.record(tx.audit, ctx, 'oci.blob.delete', `${repo.name}@${digest}`);
      return done;
    });
    if (unlinked) return;
    if (await this.find(repo, digest)) {
      throw ociError('UNSUPPORTED', `Blob ${digest} is a published package version's tarball; unpublish the version instead`, { digest });
    }
    throw ociError('BLOB_UNKNOWN', `Blob ${digest} is not in ${repo.name}`, { digest });
  }

  /** Cross-repository mount: links a blob `from` another repository; undefined when it is not there. */
  async mount(ctx: OciContext, repo: RepositoryName, digestParam: string, from: string): Promise<CommittedBlob | undefined> {
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
    if (!source || !(await this.access.allows(ctx, source, 'pull'))) return undefined;
    const found = await this.find(source, digest);
    if (!found) return undefined;
    await this.access.recordRepository(this.deps.storage, repo, isoNow(this.deps.clock));
    await this.deps.storage.oci.linkBlob(repo.name, digest, isoNow(this.deps.clock));
    return { digest, size: found.size };
  }

  /** A blob is in a repository when it was pushed or mounted there, or is one of the package's tarballs. */
  async find(repo: RepositoryName, digest: string): Promise<RepoBlob | undefined> {
    const linked = await this.deps.storage.oci.isLinked(repo.name, digest);
    let ours = linked;
    if (!ours) ours = (await this.packages.versions(repo)).some((v) => v.digest === digest);
    if (!ours && digest === EMPTY_CONFIG_DIGEST) ours = (await this.packages.of(repo)) !== undefined || (await this.deps.storage.oci.repositoryExists(repo.name));
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
}
