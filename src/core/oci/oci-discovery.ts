import type { ReadFilter } from '../access/visibility.js';
import type { CoreDeps } from '../core-deps.js';
import { isAgentryError } from '../errors.js';
import type { OciMirror } from '../mirrors/oci-mirror.js';
import type { OciAccess, OciContext } from './access.js';
import type { Descriptor } from './manifest.js';
import { ociError } from './oci-errors.js';
import { requireSha256, type RepositoryName } from './references.js';
import type { RepositoryPackages } from './repository-packages.js';

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

/** What a client discovers of the registry: a repository's tags and referrers, and the catalog. */
export class OciDiscovery {
  constructor(
    private readonly deps: CoreDeps,
    private readonly access: OciAccess,
    private readonly packages: RepositoryPackages,
    /** The pull-through mirrors, once plugged in (OciService.useMirrors). */
    private readonly mirrors: () => OciMirror | undefined,
  ) {}

  async tags(ctx: OciContext, repo: RepositoryName, n?: number, last?: string): Promise<TagPage> {
    await this.access.require(ctx, repo, 'pull');
    const mirrors = this.mirrors();
    const mirror = await mirrors?.mirrorOf(repo);
    if (mirror && mirrors) return tagPage(repo, await mirrors.tags(mirror, repo, ctx.mirrorVia), n, last);
    const all = new Set(await this.deps.storage.oci.listTags(repo.name));
    const pkg = await this.packages.of(repo);
    if (pkg) {
      for (const v of await this.packages.versions(repo)) all.add(v.version);
      for (const t of Object.keys(await this.packages.distTags(pkg))) all.add(t);
    }
    if (all.size === 0 && !(await this.packages.known(repo))) throw ociError('NAME_UNKNOWN', `Repository ${repo.name} is not known to this registry`, { name: repo.name });
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

  async referrers(ctx: OciContext, repo: RepositoryName, digestParam: string, artifactType?: string): Promise<ReferrerList> {
    await this.access.require(ctx, repo, 'pull');
    const digest = requireSha256(digestParam);
    const mirrors = this.mirrors();
    const mirror = await mirrors?.mirrorOf(repo);
    if (mirror && mirrors) await mirrors.syncReferrers(mirror, repo, digest, ctx.mirrorVia);
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
}

/** One page of tags (end-8b): byte order, those after `last`, at most `n`; `nextLast` when more follow. */
const tagPage = (repo: RepositoryName, tags: string[], n?: number, last?: string): TagPage => {
  const sorted = [...tags].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).filter((t) => last === undefined || t > last);
  const page = n === undefined ? sorted : sorted.slice(0, n);
  const more = n !== undefined && n > 0 && sorted.length > n;
  return { name: repo.name, tags: page, nextLast: more ? page[page.length - 1] : null };
};
