import type { ReadFilter, ReadTarget, Visibility } from '../access/visibility.js';
import { ROLE_RIGHTS } from '../accounts/org-roles.js';
import { forbidden, readOnly, unauthorized, type AgentryError } from '../errors.js';
import type { AccountRecord, OrgRole, ScopeRecord } from '../accounts/account-repo.js';
import type { StorageRepos } from '../storage.js';
import type { TokenPermission, TokenRecord } from '../tokens/token-repo.js';
import { permits, type Principal, type RequestContext } from './principal.js';

/**
 * How an account stands towards a scope: `self` when the scope is the account's own (its name,
 * or registered to it), an org role when the scope belongs to an org the account is in.
 */
export type ScopeStanding = 'self' | OrgRole;

export interface ReadSettings {
  /** The visibility new scopes start with (`--default-visibility`; default `public`). */
  defaultVisibility?: Visibility;
  /** Every read needs a token (`--auth-required-for-reads`). */
  authRequiredForReads?: boolean;
}

/** Throws when the caller's token is restricted to scopes other than `scope` (lower-case): "cannot <action> @<shown>". */
const refuseOutsideToken = (p: Principal, scope: string, action: string, shown: string): void => {
  if (p.token.scopes && !p.token.scopes.includes(scope)) {
    throw forbidden(`This token is restricted to ${p.token.scopes.map((s) => '@' + s).join(', ')} and cannot ${action} @${shown}`);
  }
};

/**
 * The one place that decides who may do what. Scope ownership comes from the token's
 * account (never from a manifest): a user owns the scope of its own name and any scope
 * registered to it; in an org's scopes, owners and maintainers write (publish, deprecate,
 * unpublish, dist-tags), members only read, owners manage members and settings; an admin may
 * write anywhere. A token narrows its account's rights (its permission, its scopes), never widens them.
 */
export class AccessPolicy {
  /** The visibility a new scope starts with. */
  readonly defaultVisibility: Visibility;
  /** When true, anonymous callers may read nothing (401). */
  readonly authRequiredForReads: boolean;

  constructor(
    private readonly repos: StorageRepos,
    /** A read-only server refuses every write, whichever door it comes through. */
    readonly readOnly = false,
    settings: ReadSettings = {},
  ) {
    this.defaultVisibility = settings.defaultVisibility ?? 'public';
    this.authRequiredForReads = settings.authRequiredForReads ?? false;
  }

  /** Every read of every door calls this (directly or through `requireRead`/`readFilter`): 401 on a closed server without a token. */
  requireReadAccess(ctx: RequestContext): void {
    if (this.authRequiredForReads && !ctx.principal) {
      throw unauthorized("This registry requires a token for every read: send it as 'Authorization: Bearer <token>' or 'x-api-key: <token>'");
    }
  }

  /**
   * THE read rule. public: anyone (not anonymous callers of a closed server); internal: every
   * signed-in account; private: the owning account, members of the owning org (any role), and
   * administrators. A `runtime` token reads internal and private objects of its own account (or
   * its orgs') only. A token restricted to some scopes reads internal and private objects only
   * in those scopes; an object outside every scope (a workload, an agentspace, a managed object) is
   * in its owner's scopes, except for the token's own account (what it made, it reads back).
   */
  async canRead(ctx: RequestContext, obj: ReadTarget): Promise<boolean> {
    if (this.authRequiredForReads && !ctx.principal) return false;
    if (obj.visibility === 'public') return true;
    const p = ctx.principal;
    if (!p) return false;
    if (p.token.scopes && !(await this.inTokenScopes(p.token.scopes, p.account, obj))) return false;
    const runtime = p.token.permission === 'runtime';
    if (p.account.isAdmin && !runtime) return true;
    if (obj.visibility === 'internal' && !runtime) return true;
    return this.isMemberOf(p.account, obj.ownerAccountId);
  }

  /** Throws `notFound()` unless the caller may read `obj`: a private object is a 404 to outsiders, never a 403. */
  async requireRead(ctx: RequestContext, obj: ReadTarget, notFound: () => AgentryError): Promise<void> {
    this.requireReadAccess(ctx);
    if (!(await this.canRead(ctx, obj))) throw notFound();
  }

  /** What the caller may see in lists, search and counts (see `ReadFilter`); 401 on a closed server without a token. */
  async readFilter(ctx: RequestContext): Promise<ReadFilter> {
    this.requireReadAccess(ctx);
    const p = ctx.principal;
    if (!p) return { all: false, internal: false, memberOwnerIds: [] };
    const runtime = p.token.permission === 'runtime';
    const onlyScopes = p.token.scopes ?? undefined;
    if (p.account.isAdmin && !runtime) {
      if (!onlyScopes) return { all: true };
      const owners = await Promise.all(onlyScopes.map((s) => this.repos.scopes.find(s)));
      const ownerIds = [...new Set(owners.filter((s) => s !== undefined).map((s) => s.ownerAccountId))];
      return { all: false, internal: true, memberOwnerIds: ownerIds, onlyScopes };
    }
    const orgs = await this.repos.accounts.listOrgsOf(p.account.id);
    const memberOwnerIds = [p.account.id, ...orgs.map((o) => o.account.id)];
    return { all: false, internal: !runtime, memberOwnerIds, ...(onlyScopes ? { onlyScopes } : {}) };
  }

  /**
   * Whether `obj` is in one of a restricted token's `scopes`: its scope, or, for an object outside
   * every scope, a scope of its owner (always, for the token's own account's objects).
   */
  private async inTokenScopes(scopes: readonly string[], account: AccountRecord, obj: ReadTarget): Promise<boolean> {
    if (obj.scope !== undefined) return scopes.includes(obj.scope.toLowerCase());
    if (obj.ownerAccountId === account.id) return true;
    return (await this.repos.scopes.listByOwner(obj.ownerAccountId)).some((s) => scopes.includes(s.name.toLowerCase()));
  }

  /** Public objects only, whoever the caller is (what a server-wide public view lists); 401 on a closed server without a token. */
  publicFilter(ctx: RequestContext): ReadFilter {
    this.requireReadAccess(ctx);
    return { all: false, internal: false, memberOwnerIds: [] };
  }

  /** The account itself, or an org it belongs to (any role). */
  private async isMemberOf(account: AccountRecord, ownerAccountId: number): Promise<boolean> {
    if (account.id === ownerAccountId) return true;
    return (await this.repos.accounts.membership(ownerAccountId, account.id)) !== undefined;
  }

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

  /**
   * A `runtime` token that may resolve what `owner` holds (secrets, model-card keys, agentspaces):
   * a runtime token belongs to one account or organisation and reaches only its objects, unless an
   * administrator made it for all accounts. For any other owner it throws `notFound()`, so that
   * another account's objects look exactly like missing ones.
   */
  requireRuntimeFor(ctx: RequestContext, owner: AccountRecord | undefined, notFound: () => AgentryError): { principal: Principal; owner: AccountRecord } {
    const p = this.requireRuntime(ctx);
    if (!owner || !(p.token.allAccounts || owner.id === p.account.id)) throw notFound();
    return { principal: p, owner };
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
    return (await this.requireScopeWriter(ctx, scope)).principal;
  }

  /**
   * requireScopeWrite, answering too the scope's record when the check read it (`read`; its
   * `record` undefined: no such scope), so the caller need not read it again. An administrator's
   * check reads nothing.
   */
  async requireScopeWriter(ctx: RequestContext, scope: string): Promise<{ principal: Principal; read?: { record: ScopeRecord | undefined } }> {
    const p = this.requirePermission(ctx, 'publish');
    const wanted = scope.toLowerCase();
    refuseOutsideToken(p, wanted, 'write to', scope);
    if (p.account.isAdmin) return { principal: p };
    const record = await this.repos.scopes.find(wanted);
    const standing = await this.standingOf(p.account, record);
    if (standing === 'self' || (standing && ROLE_RIGHTS[standing].write)) return { principal: p, read: { record } };
    if (standing === 'member') {
      throw forbidden(`You are a member of @${scope} with read access only; publishing, deprecating, unpublishing and dist-tags need the maintainer or owner role`);
    }
    const mine = await this.writableScopes(p.account);
    throw forbidden(
      mine.length === 1 ? `You can only publish under @${mine[0]} scope` : `You can only publish under your scopes (${mine.map((s) => '@' + s).join(', ')}); @${scope} is not one of them`,
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
    refuseOutsideToken(p, wanted, 'read', scope);
    if (p.account.isAdmin || (await this.standingIn(p.account, wanted)) !== undefined) return p;
    throw forbidden(`Only members of @${scope} can see this`);
  }

  /**
   * Whether the caller maintains `scope` (owns it, is an owner or maintainer of its org, or is an
   * admin) with a token not restricted to other scopes: who sees a package's figures for its
   * owners (how many sessions ran each version). Never throws: the figures are just left out.
   */
  async maintainsScope(ctx: RequestContext, scope: string): Promise<boolean> {
    const p = ctx.principal;
    const wanted = scope.toLowerCase();
    if (!p || (p.token.scopes && !p.token.scopes.includes(wanted))) return false;
    if (p.account.isAdmin) return true;
    const standing = await this.standingIn(p.account, wanted);
    return standing === 'self' || (standing !== undefined && ROLE_RIGHTS[standing].write);
  }

  /**
   * How `account` stands towards `scope` (lower-case, without `@`): its own scope, its role in
   * the org owning it, or undefined (no relation, or no such scope).
   */
  async standingIn(account: AccountRecord, scope: string): Promise<ScopeStanding | undefined> {
    return this.standingOf(account, await this.repos.scopes.find(scope));
  }

  /** standingIn, given the scope's record as read (undefined: no such scope). */
  private async standingOf(account: AccountRecord, record: ScopeRecord | undefined): Promise<ScopeStanding | undefined> {
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
    refuseOutsideToken(p, wanted, 'change', scope);
    if (p.account.isAdmin) return p;
    const standing = await this.standingIn(p.account, wanted);
    if (standing === 'self' || (standing && ROLE_RIGHTS[standing].manage)) return p;
    throw forbidden(`Only an owner of @${scope} or an administrator can change its settings`);
  }

  /** Org management: an admin, or an owner of the org. */
  async requireOrgOwner(ctx: RequestContext, org: AccountRecord): Promise<Principal> {
    const p = this.requirePermission(ctx, 'publish');
    if (p.account.isAdmin && permits(p.token.permission, 'admin')) return p;
    refuseOutsideToken(p, org.name.toLowerCase(), 'manage', org.name);
    const m = await this.repos.accounts.membership(org.id, p.account.id);
    if (!m || !ROLE_RIGHTS[m.role].manage) throw forbidden(`Only an owner of @${org.name} or an administrator can manage its members`);
    return p;
  }

  /**
   * Managing what belongs to an account as a whole (its webhooks): for an org, an admin or an owner
   * of the org (`requireOrgOwner`); for a user, the user or an admin; with a token that may write
   * and is not restricted to other scopes.
   */
  async requireAccountManager(ctx: RequestContext, account: AccountRecord): Promise<Principal> {
    if (account.kind === 'org') return this.requireOrgOwner(ctx, account);
    const p = this.requirePermission(ctx, 'publish');
    if (p.account.isAdmin && permits(p.token.permission, 'admin')) return p;
    refuseOutsideToken(p, account.name.toLowerCase(), 'manage', account.name);
    if (p.account.id !== account.id) throw forbidden(`Only @${account.name} or an administrator can manage this`);
    return p;
  }
}
