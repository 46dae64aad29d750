import type { CoreDeps } from '../core-deps.js';
import type { Readable } from 'node:stream';
import { permits, type RequestContext } from '../auth/principal.js';
import { isAgentryError, notFound } from '../errors.js';
import type { ManagedObjectRecord } from '../managed/managed-storage.js';
import type { OciAccess } from '../oci/access.js';
import { parseRepositoryName } from '../oci/references.js';
import type { BlobInfo, ByteRange } from './blob-store.js';

/** The byte range a door may ask of a `ReadableBlob` (doors import it from here, never from the blob store's port). */
export type { ByteRange };
import { BlobRedirects } from './blob-redirects.js';

/** A blob the caller may read: its size and a way to open it (whole, or a byte range). */
export interface ReadableBlob {
  digest: string;
  size: number;
  open(range?: ByteRange): Promise<Readable>;
  /** A short-lived URL of the blob store to redirect the caller to, when redirects are on; else undefined. */
  redirectUrl(opts?: { contentType?: string; cacheControl?: string }): Promise<string | undefined>;
}

/** How many holders of one digest are looked at per kind before giving up (a digest is rarely shared). */
const HOLDERS = 50;

/** A managed skill version of a built-in skill: readable by every signed-in account. */
const BUILTIN_SKILL = 'builtin';

const missing = () => notFound('Blob not found');

/**
 * Blobs are reached only through what owns them: a digest opens only when the caller may read
 * SOME object that refers to it (issue 12 point 2):
 * - a package version (not unpublished) whose package the caller may read (AccessPolicy.canRead);
 * - a manifest or blob of an OCI repository the caller may pull (OciAccess.canPull: the one read rule on the repository);
 * - a managed object that keeps it (a file, a skill version) and that the caller may read: private
 *   to its account (AccessPolicy.canRead with `private`), built-in skills readable by every account.
 * Anything else, including a digest nobody refers to any more, is the same 404 as a missing digest.
 * Every door that serves blob bytes comes here; no door touches the blob store.
 */
export class BlobAccess {
  constructor(
    private readonly deps: CoreDeps,
    private readonly oci: OciAccess,
    private readonly redirects: BlobRedirects = new BlobRedirects(),
  ) {}

  /** The blob, when the caller may read an object that refers to it; else 404 (`Blob not found`). */
  async find(ctx: RequestContext, digest: string, notFoundError: () => Error = missing): Promise<ReadableBlob> {
    this.deps.policy.requireReadAccess(ctx);
    if (!(await this.mayRead(ctx, digest))) throw notFoundError();
    const info: BlobInfo | undefined = await this.deps.blobs.stat(digest);
    if (!info) throw notFoundError();
    return { digest, size: info.size, open: (range) => this.deps.blobs.open(digest, range), redirectUrl: (opts) => this.redirects.urlFor(digest, opts) };
  }

  /** A stream of the whole blob (see `find`). */
  async open(ctx: RequestContext, digest: string, notFoundError: () => Error = missing): Promise<Readable> {
    return (await this.find(ctx, digest, notFoundError)).open();
  }

  /** The whole blob in memory (see `find`); for small blobs such as skill tarballs. */
  async read(ctx: RequestContext, digest: string, notFoundError: () => Error = missing): Promise<Buffer> {
    await this.find(ctx, digest, notFoundError);
    return this.deps.blobs.read(digest);
  }

  /** True when the caller may read at least one object that refers to `digest`. */
  async mayRead(ctx: RequestContext, digest: string): Promise<boolean> {
    return (await this.viaManaged(ctx, digest)) || (await this.viaPackages(ctx, digest)) || (await this.viaOci(ctx, digest));
  }

  private async viaPackages(ctx: RequestContext, digest: string): Promise<boolean> {
    const versions = await this.deps.storage.packages.versionsWithDigest(digest, HOLDERS);
    const seen = new Set<number>();
    for (const v of versions) {
      if (seen.has(v.packageId)) continue;
      seen.add(v.packageId);
      const pkg = await this.deps.storage.packages.findById(v.packageId);
      if (pkg && (await this.deps.policy.canRead(ctx, { ownerAccountId: pkg.ownerAccountId, visibility: pkg.visibility, scope: pkg.scope }))) return true;
    }
    return false;
  }

  private async viaOci(ctx: RequestContext, digest: string): Promise<boolean> {
    for (const name of await this.deps.storage.oci.repositoriesHolding(digest, HOLDERS)) {
      let repo;
      try {
        repo = parseRepositoryName(name);
      } catch (e) {
        if (isAgentryError(e)) continue;
        throw e;
      }
      if (await this.oci.canPull(ctx, repo)) return true;
    }
    return false;
  }

  private async viaManaged(ctx: RequestContext, digest: string): Promise<boolean> {
    const p = ctx.principal;
    // Managed objects are read with a token that may read (not a runtime token).
    if (!p || !permits(p.token.permission, 'read')) return false;
    const now = this.deps.clock.now().toISOString();
    for (const o of await this.deps.storage.managed.withDigest(digest, HOLDERS)) {
      if (o.archivedAt || (o.expiresAt && o.expiresAt <= now)) continue;
      if (o.kind === 'skill_version' && (await this.isBuiltinSkill(o))) return true;
      if (await this.deps.policy.canRead(ctx, { ownerAccountId: o.accountId, visibility: 'private' })) return true;
    }
    return false;
  }

  private async isBuiltinSkill(version: ManagedObjectRecord): Promise<boolean> {
    if (!version.parentId) return false;
    const skill = await this.deps.storage.managed.find(version.parentId);
    return skill?.kind === 'skill' && skill.parentId === BUILTIN_SKILL;
  }
}
