import { NOBODY, type ReadTarget, type Visibility } from '../access/visibility.js';
import type { AccessPolicy } from '../auth/access-policy.js';
import type { RequestContext } from '../auth/principal.js';
import { isAgentryError } from '../errors.js';
import type { Storage, StorageRepos } from '../storage.js';
import { isOciError, ociError } from './oci-errors.js';
import { parseRepositoryName, type RepositoryName } from './references.js';

export type OciAction = 'pull' | 'push' | 'delete';

/** Access to one repository, as a registry bearer token grants it (`repository:<name>:<actions>`). */
export interface OciGrant {
  repo: string;
  actions: OciAction[];
}

/**
 * Who calls the OCI door: a request context, plus the grants of the registry bearer token it
 * presented. `grants` is absent when the caller sent an Agentry token itself (its own rights apply).
 */
export interface OciContext extends RequestContext {
  grants?: OciGrant[];
}

const ACTIONS: readonly OciAction[] = ['pull', 'push', 'delete'];

/** Parses `repository:<name>:<actions>` scopes (Docker token spec); other resource types are ignored. */
export const parseScopes = (scopes: string[]): OciGrant[] => {
  const out: OciGrant[] = [];
  for (const scope of scopes.flatMap((s) => s.split(' ')).filter((s) => s.length > 0)) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last <= first || scope.slice(0, first) !== 'repository') continue;
    const repo = scope.slice(first + 1, last);
    const actions = scope
      .slice(last + 1)
      .split(',')
      .flatMap((a) => (a === '*' ? [...ACTIONS] : ACTIONS.includes(a as OciAction) ? [a as OciAction] : []));
    out.push({ repo, actions: [...new Set(actions)] });
  }
  return out;
};

/** What the read rule is asked about a repository: its owner, its visibility and its scope. */
export interface RepositoryVisibility {
  ownerAccountId: number;
  visibility: Visibility;
  scope: string;
}

/** A repository of a pull-through mirror: its upstream, and what the read rule is asked about it. */
export interface MirroredRepository {
  url: string;
  target: ReadTarget;
}

/**
 * The OCI door's access rules, on top of the core's AccessPolicy.
 *
 * Reading (pull): a repository that is a package has the package's visibility; one of a
 * pull-through mirror has the mirror's (owned by its organisation); any other has its own (oci_repositories), and a repository that does not exist answers exactly as a private one of
 * its scope would, so that nobody learns whether a repository they may not read exists. The one
 * read rule (AccessPolicy.canRead) decides; a registry bearer token only narrows it. Whoever may
 * not read is refused the same way whatever the repository: anonymous callers with 401 and a
 * challenge naming `repository:<name>:pull` (so that clients log in), signed-in callers with 404
 * NAME_UNKNOWN.
 *
 * Pushing and deleting need scope write access (AccessPolicy.requireScopeWrite) to an existing
 * scope, exactly as publishing through any other door.
 */
export class OciAccess {
  /** Whether a repository belongs to a pull-through mirror, and what the read rule is asked about it (set once mirrors are configured; see core/mirrors). */
  private mirrorOf: (repo: RepositoryName) => Promise<MirroredRepository | undefined> = async () => undefined;

  constructor(
    private readonly storage: Storage,
    private readonly policy: AccessPolicy,
    private readonly defaultScope?: string,
  ) {}

  /**
   * Repositories of a pull-through mirror are read by whoever the one read rule lets read an object
   * of the mirror's visibility and owner (MirrorService.readTarget), and written by nobody.
   */
  useMirrors(mirrorOf: (repo: RepositoryName) => Promise<MirroredRepository | undefined>): void {
    this.mirrorOf = mirrorOf;
  }

  /** Throws unless `ctx` may do `action` on `repo`. */
  async require(ctx: OciContext, repo: RepositoryName, action: OciAction): Promise<void> {
    const mirror = await this.mirrorOf(repo);
    if (mirror && action !== 'pull') {
      throw ociError('DENIED', `${repo.name} is a mirror of ${mirror.url}: it is read-only`, { repository: repo.name, action });
    }
    if (action === 'pull') return this.requirePull(ctx, repo, mirror?.target);
    if (ctx.grants !== undefined) {
      const grant = ctx.grants.find((g) => g.repo === repo.name);
      if (!grant?.actions.includes(action)) {
        throw ociError('UNAUTHORIZED', `This bearer token does not grant '${action}' on ${repo.name}; request a token for scope repository:${repo.name}:${action}`, {
          scope: `repository:${repo.name}:${action}`,
        });
      }
    }
    this.policy.requireWritable();
    if (!ctx.principal) {
      const actions = action === 'delete' ? 'delete' : 'pull,push';
      throw ociError('UNAUTHORIZED', `Authentication required to ${action} ${repo.name}`, { scope: `repository:${repo.name}:${actions}` });
    }
    try {
      await this.policy.requireScopeWrite(ctx, repo.scope);
    } catch (e) {
      if (isAgentryError(e) && e.code === 'forbidden') throw ociError('DENIED', e.message, { repository: repo.name, action });
      throw e;
    }
    if (!(await this.storage.scopes.find(repo.scope))) {
      throw ociError('NAME_UNKNOWN', `Scope @${repo.scope} does not exist; create the user or organisation first`, { scope: repo.scope });
    }
  }

  /** require(), answered: false where it refuses (any other failure is thrown). */
  async allows(ctx: OciContext, repo: RepositoryName, action: OciAction): Promise<boolean> {
    try {
      await this.require(ctx, repo, action);
      return true;
    } catch (e) {
      if (isAgentryError(e)) return false;
      throw e;
    }
  }

  /** True when `ctx` may read `repo` (ignoring the grants of a registry bearer token). */
  async canPull(ctx: RequestContext, repo: RepositoryName): Promise<boolean> {
    return this.policy.canRead(ctx, (await this.mirrorOf(repo))?.target ?? (await this.visibilityOf(repo)));
  }

  /** Throws unless `ctx` may pull from `repo`; the refusal is the same for a repository that does not exist. */
  private async requirePull(ctx: OciContext, repo: RepositoryName, mirrored: ReadTarget | undefined): Promise<void> {
    const scope = `repository:${repo.name}:pull`;
    try {
      this.policy.requireReadAccess(ctx);
    } catch (e) {
      if (isAgentryError(e) && !isOciError(e) && e.code === 'unauthorized') throw ociError('UNAUTHORIZED', e.message, { scope });
      throw e;
    }
    const readable = await this.policy.canRead(ctx, mirrored ?? (await this.visibilityOf(repo)));
    if (readable && ctx.grants !== undefined && !ctx.grants.find((g) => g.repo === repo.name)?.actions.includes('pull')) {
      throw ociError('UNAUTHORIZED', `This bearer token does not grant 'pull' on ${repo.name}; request a token for scope ${scope}`, { scope });
    }
    if (readable) return;
    if (!ctx.principal) throw ociError('UNAUTHORIZED', `Authentication required to pull ${repo.name}: log in with a username and an Agentry token`, { scope });
    throw ociError('NAME_UNKNOWN', `Repository ${repo.name} is not known to this registry`, { name: repo.name });
  }

  /**
   * The owner, visibility and scope the read rule is asked about: the package's when the
   * repository is a package; the repository's own record when it holds anything; else (it does
   * not exist) those of a private repository of its scope.
   */
  async visibilityOf(repo: RepositoryName, repos: StorageRepos = this.storage): Promise<RepositoryVisibility> {
    const pkg = repo.packageName ? await repos.packages.findByKey(repo.packageName) : undefined;
    if (pkg) return { ownerAccountId: pkg.ownerAccountId, visibility: pkg.visibility, scope: repo.scope };
    const record = await repos.oci.findRepository(repo.name);
    if (record && (await repos.oci.repositoryExists(repo.name))) return { ownerAccountId: record.ownerAccountId, visibility: record.visibility, scope: repo.scope };
    const scope = await repos.scopes.find(repo.scope);
    return { ownerAccountId: record?.ownerAccountId ?? scope?.ownerAccountId ?? NOBODY, visibility: 'private', scope: repo.scope };
  }

  /**
   * Records a repository at its first push (before anything lands in it): owned by its scope's
   * owner, with the scope's default visibility. A repository already recorded keeps its own.
   */
  async recordRepository(repos: StorageRepos, repo: RepositoryName, at: string): Promise<void> {
    if (await repos.oci.findRepository(repo.name)) return;
    const scope = await repos.scopes.find(repo.scope);
    if (!scope) throw ociError('NAME_UNKNOWN', `Scope @${repo.scope} does not exist; create the user or organisation first`, { scope: repo.scope });
    await repos.oci.ensureRepository({ repo: repo.name, ownerAccountId: scope.ownerAccountId, visibility: scope.defaultVisibility, agentspace: null, createdAt: at });
  }

  /** What a token request may have: the requested actions the caller is allowed, per repository. */
  async grantable(ctx: RequestContext, requested: OciGrant[]): Promise<OciGrant[]> {
    const out: OciGrant[] = [];
    for (const want of requested) {
      let repo: RepositoryName;
      try {
        repo = parseRepositoryName(want.repo, this.defaultScope);
      } catch {
        continue;
      }
      const actions: OciAction[] = [];
      for (const action of want.actions) {
        try {
          await this.require(ctx, repo, action);
          actions.push(action);
        } catch (e) {
          if (!isAgentryError(e)) throw e;
        }
      }
      out.push({ repo: repo.name, actions });
    }
    return out;
  }
}
