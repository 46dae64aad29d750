import type { AccessPolicy } from '../auth/access-policy.js';
import type { RequestContext } from '../auth/principal.js';
import { isAgentryError } from '../errors.js';
import type { Storage } from '../storage.js';
import { ociError } from './oci-errors.js';
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

/**
 * The OCI door's access rules, on top of the core's AccessPolicy: every package is public, so
 * anyone may pull; pushing and deleting need scope write access (AccessPolicy.requireScopeWrite)
 * to an existing scope, exactly as publishing through any other door.
 */
export class OciAccess {
  constructor(
    private readonly storage: Storage,
    private readonly policy: AccessPolicy,
  ) {}

  /** Throws unless `ctx` may do `action` on `repo`. */
  async require(ctx: OciContext, repo: RepositoryName, action: OciAction): Promise<void> {
    if (ctx.grants !== undefined) {
      const grant = ctx.grants.find((g) => g.repo === repo.name);
      if (!grant?.actions.includes(action)) {
        throw ociError('UNAUTHORIZED', `This bearer token does not grant '${action}' on ${repo.name}; request a token for scope repository:${repo.name}:${action}`, {
          scope: `repository:${repo.name}:${action}`,
        });
      }
    }
    if (action === 'pull') return;
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

  /** What a token request may have: the requested actions the caller is allowed, per repository. */
  async grantable(ctx: RequestContext, requested: OciGrant[]): Promise<OciGrant[]> {
    const out: OciGrant[] = [];
    for (const want of requested) {
      let repo: RepositoryName;
      try {
        const [scope, ...rest] = want.repo.split('/');
        if (rest.length !== 1) continue;
        repo = parseRepositoryName(scope, rest[0]);
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
