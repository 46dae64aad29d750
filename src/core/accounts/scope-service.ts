import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { scopeProblem } from '../packages/names.js';
import type { Visibility } from '../access/visibility.js';
import type { AccountRecord, ScopeRecord } from './account-repo.js';
import { isoNow } from '../time.js';

/**
 * Scopes beyond an account's own name: reverse-DNS namespaces such as `io.github.alice` or
 * `com.example` (the MCP registry's server-name prefixes). Only an administrator registers one,
 * to a user or an organisation, after checking the claim (a GitHub account, a domain) out of band;
 * from then on that account, and an org's members, may publish under it.
 */
export class ScopeService {
  constructor(private readonly deps: CoreDeps) {}

  async register(ctx: RequestContext, name: string, ownerName: string): Promise<{ scope: ScopeRecord; owner: AccountRecord }> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    const scope = name.replace(/^@/, '').toLowerCase();
    const problem = scopeProblem(scope);
    if (problem) throw badRequest('Invalid scope name', [problem]);
    if (!scope.includes('.')) {
      throw badRequest(`'${scope}' is not a namespace`, ["a registered scope is reverse-DNS with at least one '.', like 'io.github.alice' or 'com.example'; account names are scopes of their own"]);
    }
    const owner = await this.deps.storage.accounts.findByName(ownerName.replace(/^@/, ''));
    if (!owner) throw notFound(`Account not found: ${ownerName}`);
    const created = await this.deps.storage.transaction(async (tx) => {
      const existing = await tx.scopes.find(scope);
      if (existing) {
        const holder = await tx.accounts.findById(existing.ownerAccountId);
        throw conflict(`The scope @${scope} is already registered to @${holder?.name ?? 'another account'}`);
      }
      const record = await tx.scopes.insert(scope, owner.id, isoNow(this.deps.clock), this.deps.policy.defaultVisibility);
      await this.deps.audit.record(tx.audit, ctx, 'scope.register', `@${scope}`, { owner: owner.name });
      return record;
    });
    return { scope: created, owner };
  }

  /** Every scope an account owns (its own name first, then registered namespaces). */
  async ownedBy(accountName: string): Promise<{ owner: AccountRecord; scopes: ScopeRecord[] }> {
    const owner = await this.deps.storage.accounts.findByName(accountName.replace(/^@/, ''));
    if (!owner) throw notFound(`Account not found: ${accountName}`);
    const scopes = await this.deps.storage.scopes.listByOwner(owner.id);
    return { owner, scopes: scopes.sort((a, b) => (a.name === owner.name ? -1 : b.name === owner.name ? 1 : a.name.localeCompare(b.name))) };
  }

  /** A scope and the visibility its new packages start with (`agentry access get @scope`). */
  async access(ctx: RequestContext, name: string): Promise<ScopeRecord> {
    this.deps.policy.requireReadAccess(ctx);
    const scope = await this.deps.storage.scopes.find(name.replace(/^@/, ''));
    if (!scope) throw notFound(`Scope not found: @${name.replace(/^@/, '')}`);
    return scope;
  }

  /** Changes the visibility a scope's new packages start with: the scope's writers only; audited. Existing packages keep theirs. */
  async setAccess(ctx: RequestContext, name: string, visibility: Visibility): Promise<ScopeRecord> {
    const scope = await this.access(ctx, name);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireScopeWrite(ctx, scope.name);
    if (scope.defaultVisibility === visibility) return scope;
    await this.deps.storage.transaction(async (tx) => {
      await tx.scopes.setDefaultVisibility(scope.name, visibility);
      await this.deps.audit.record(tx.audit, ctx, 'scope.access', `@${scope.name}`, { from: scope.defaultVisibility, to: visibility });
    });
    return { ...scope, defaultVisibility: visibility };
  }
}
