import { ROLE_RIGHTS } from '../accounts/org-roles.js';
import { forbidden, readOnly, unauthorized } from '../errors.js';
import type { AccountRecord, OrgRole, StorageRepos, TokenPermission, TokenRecord } from '../storage.js';
import { permits, type Principal, type RequestContext } from './principal.js';

/**
 * How an account stands towards a scope: `self` when the scope is the account's own (its name,
 * or registered to it), an org role when the scope belongs to an org the account is in.
 */
export type ScopeStanding = 'self' | OrgRole;

/**
 * The one place that decides who may do what. Scope ownership comes from the token's
 * account (never from a manifest): a user owns the scope of its own name and any scope
 * registered to it; in an org's scopes, owners and maintainers write (publish, deprecate,
 * unpublish, dist-tags), members only read, owners manage members and settings; an admin may
 * write anywhere. A token narrows its account's rights (its permission, its scopes), never widens them.
 */
export class AccessPolicy {
  constructor(
    private readonly repos: StorageRepos,
    /** A read-only server refuses every write, whichever door it comes through. */
    readonly readOnly = false,
  ) {}

  /** Every write in the core calls this first: a read-only server refuses it. */
  requireWritable(): void {
    if (this.readOnly) throw readOnly();
  }

  requirePrincipal(ctx: RequestContext): Principal {
    if (!ctx.principal) {
      throw unauthorized("Authentication required: send a token as 'Authorization: Bearer <token>' or 'x-api-key: <token>'");
    }
    return ctx.principal;
  }

  requirePermission(ctx: RequestContext, needs: TokenPermission): Principal {
    const p = this.requirePrincipal(ctx);
    if (!permits(p.token.permission, needs)) {
      throw forbidden(`This token has '${p.token.permission}' permission; this action needs '${needs}'`);
    }
    if (needs === 'admin' && !p.account.isAdmin) throw forbidden('Only an administrator can do this');
    return p;
  }

  /** A `runtime` token: the only kind that may resolve secret values for a runtime. */
  requireRuntime(ctx: RequestContext): Principal {
    const p = this.requirePrincipal(ctx);
    if (p.token.permission !== 'runtime') {
      throw forbidden(`This token has '${p.token.permission}' permission; resolving secrets needs a 'runtime' token (an administrator creates one)`);
    }
    return p;
  }

  requireAdmin(ctx: RequestContext): Principal {
    return this.requirePermission(ctx, 'admin');
  }

  /**
   * Managing tokens and API keys (create, revoke): a token that may write. A read-only token
   * never does, nor a runtime token. When revoking `target`: a token may always revoke itself
   * (signing out); otherwise it never revokes one with more permission or wider scopes than its
   * own, unless it is an administrator's admin token.
   */
  requireTokenManagement(ctx: RequestContext, target?: TokenRecord): Principal {
    const p = this.requirePrincipal(ctx);
    if (target && target.id === p.token.id) return p;
    if (!permits(p.token.permission, 'publish')) {
      throw forbidden(`This token has '${p.token.permission}' permission; creating or revoking tokens and API keys needs a 'publish' or 'admin' token`);
    }
    if (target && !permits(p.token.permission, 'admin')) {
      const stronger = target.permission === 'runtime' || !permits(p.token.permission, target.permission);
      const wider = p.token.scopes !== null && (target.scopes === null || target.scopes.some((s) => !p.token.scopes!.includes(s)));
      if (stronger || wider) throw forbidden(`This token cannot revoke token ${target.id}: it has more permission or wider scopes than this one`);
    }
    return p;
  }

  /** The scopes an account may write to (its own, those registered to it, its orgs' where it owns or maintains). */
  async writableScopes(account: AccountRecord): Promise<string[]> {
    const own = await this.repos.scopes.listByOwner(account.id);
    const orgs = (await this.repos.accounts.listOrgsOf(account.id)).filter((o) => ROLE_RIGHTS[o.role].write);
    const fromOrgs = await Promise.all(orgs.map((o) => this.repos.scopes.listByOwner(o.account.id)));
    const names = [...own, ...fromOrgs.flat()].map((s) => s.name);
    return [...new Set(names)].sort();
  }

  /** Throws unless the caller may publish, tag, deprecate or unpublish in `scope`. */
  async requireScopeWrite(ctx: RequestContext, scope: string): Promise<Principal> {
    const p = this.requirePermission(ctx, 'publish');
    const wanted = scope.toLowerCase();
    if (p.token.scopes && !p.token.scopes.includes(wanted)) {
      throw forbidden(`This token is restricted to ${p.token.scopes.map((s) => '@' + s).join(', ')} and cannot write to @${scope}`);
    }
    if (p.account.isAdmin) return p;
    const standing = await this.standingIn(p.account, wanted);
    if (standing === 'self' || (standing && ROLE_RIGHTS[standing].write)) return p;
    if (standing === 'member') {
      throw forbidden(`You are a member of @${scope} with read access only; publishing, deprecating, unpublishing and dist-tags need the maintainer or owner role`);
    }
    const mine = await this.writableScopes(p.account);
    throw forbidden(
      mine.length === 1
        ? `You can only publish under @${mine[0]} scope`
        : `You can only publish under your scopes (${mine.map((s) => '@' + s).join(', ')}); @${scope} is not one of them`,
    );
  }

  /**
   * Throws unless the caller belongs to `scope` (owns it, is a member of its org, or is an admin),
   * with a token of any permission that is not restricted to other scopes: who may read a
   * package's private figures (telemetry).
   */
  async requireScopeMember(ctx: RequestContext, scope: string): Promise<Principal> {
    const p = this.requirePrincipal(ctx);
    const wanted = scope.toLowerCase();
    if (p.token.scopes && !p.token.scopes.includes(wanted)) {
      throw forbidden(`This token is restricted to ${p.token.scopes.map((s) => '@' + s).join(', ')} and cannot read @${scope}`);
    }
    if (p.account.isAdmin || (await this.standingIn(p.account, wanted)) !== undefined) return p;
    throw forbidden(`Only members of @${scope} can see this`);
  }

  /**
   * How `account` stands towards `scope` (lower-case, without `@`): its own scope, its role in
   * the org owning it, or undefined (no relation, or no such scope).
   */
  async standingIn(account: AccountRecord, scope: string): Promise<ScopeStanding | undefined> {
    const record = await this.repos.scopes.find(scope);
    if (!record) return undefined;
    if (record.ownerAccountId === account.id) return 'self';
    const owner = await this.repos.accounts.findById(record.ownerAccountId);
    if (!owner || owner.kind !== 'org') return undefined;
    return (await this.repos.accounts.membership(owner.id, account.id))?.role;
  }

  /**
   * Throws unless the caller may change the settings of `scope` (its default visibility, …):
   * the account owning it, an owner of the org owning it, or an administrator; with a token
   * that may write and is not restricted to other scopes.
   */
  async requireScopeAdmin(ctx: RequestContext, scope: string): Promise<Principal> {
    const p = this.requirePermission(ctx, 'publish');
    const wanted = scope.toLowerCase();
    if (p.token.scopes && !p.token.scopes.includes(wanted)) {
      throw forbidden(`This token is restricted to ${p.token.scopes.map((s) => '@' + s).join(', ')} and cannot change @${scope}`);
    }
    if (p.account.isAdmin) return p;
    const standing = await this.standingIn(p.account, wanted);
    if (standing === 'self' || (standing && ROLE_RIGHTS[standing].manage)) return p;
    throw forbidden(`Only an owner of @${scope} or an administrator can change its settings`);
  }

  /** Org management: an admin, or an owner of the org. */
  async requireOrgOwner(ctx: RequestContext, org: AccountRecord): Promise<Principal> {
    const p = this.requirePermission(ctx, 'publish');
    if (p.account.isAdmin && permits(p.token.permission, 'admin')) return p;
    if (p.token.scopes && !p.token.scopes.includes(org.name.toLowerCase())) {
      throw forbidden(`This token is restricted to ${p.token.scopes.map((s) => '@' + s).join(', ')} and cannot manage @${org.name}`);
    }
    const m = await this.repos.accounts.membership(org.id, p.account.id);
    if (!m || !ROLE_RIGHTS[m.role].manage) throw forbidden(`Only an owner of @${org.name} or an administrator can manage its members`);
    return p;
  }
}
