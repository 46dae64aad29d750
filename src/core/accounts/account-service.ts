import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { AccountRecord, OrgRole } from './account-repo.js';
import type { Visibility } from '../access/visibility.js';
import type { Storage, StorageRepos } from '../storage.js';
import { isoNow } from '../time.js';
import type { CreatedToken, TokenService } from '../tokens/token-service.js';
import { assertAccountName } from './names.js';
import { isOrgRole, ORG_ROLES } from './org-roles.js';

export interface NewUserInput {
  username: string;
  displayName?: string | null;
  email?: string | null;
  admin?: boolean;
}

export interface NewOrgInput {
  name: string;
  displayName?: string | null;
  owner?: string | null;
}

/** An organisation the server itself needs (the recipe scope's, the owner of what mirrors bring in). */
export interface SystemOrg {
  name: string;
  displayName: string;
  /** What new packages of its scope start with (default: the server's default visibility). */
  visibility?: Visibility;
}

export interface Member {
  account: AccountRecord;
  role: OrgRole;
}

/** Users and organisations. Each owns the scope of its own name from the moment it exists. */
export class AccountService {
  constructor(
    private readonly deps: CoreDeps,
    private readonly tokens: TokenService,
  ) {}

  async find(name: string): Promise<AccountRecord> {
    const account = await this.deps.storage.accounts.findByName(name.replace(/^@/, ''));
    if (!account) throw notFound(`User not found: ${name}`);
    return account;
  }

  /**
   * First start: creates the `admin` account when there is no account yet. Returns its new
   * token secret when one was generated (`givenToken` absent), so the operator can be shown it once.
   */
  async bootstrapAdmin(givenToken: string | undefined): Promise<{ created: boolean; secret?: string }> {
    let admin = await this.deps.storage.accounts.findByName('admin');
    const created = !admin && (await this.deps.storage.accounts.count()) === 0;
    if (created) admin = await this.createAccount({ name: 'admin', kind: 'user', displayName: 'Administrator', isAdmin: true }, { principal: null, ip: null }, 'account.bootstrap');
    if (!admin) return { created: false };
    if (givenToken) {
      await this.tokens.ensureGiven(admin, givenToken, 'admin', 'AGENTRY_ADMIN_TOKEN');
      return { created };
    }
    if (!created) return { created };
    const issued = await this.tokens.issue(admin, { name: 'bootstrap admin token', permission: 'admin' }, 'token.create', { principal: null, ip: null });
    return { created, secret: issued.secret };
  }

  /**
   * At start-up: makes sure an account owns scope `name`, for scopes the server itself needs (the
   * recipe scope), by {@link ensureSystemOrgIn}. Admins may write to it at once; an admin adds the
   * users who may (`org member add`). Returns the owner, or undefined on a read-only server where it
   * could not be created.
   */
  async ensureSystemOrg(name: string, displayName: string): Promise<AccountRecord | undefined> {
    const org = { name: assertAccountName(name, 'org'), displayName };
    if (this.deps.policy.readOnly) return this.ownerOfScope(this.deps.storage, org.name);
    const ensure = () => this.deps.storage.transaction((tx) => this.ensureSystemOrgIn(tx, org, isoNow(this.deps.clock)));
    // A failure is another server process sharing the store creating it first: it is found then.
    return ensure().catch(ensure);
  }

  /**
   * Makes sure, in `tx`, that an account owns scope `org.name`, for an organisation the server itself
   * needs (the recipe scope's, the owner of what mirrors bring in): the scope's owner when the scope
   * exists, else the organisation, created now without members (audited as done by nobody) with the
   * scope of its name. The name is not checked against reserved ones: the server may use those.
   */
  async ensureSystemOrgIn(tx: Pick<StorageRepos, 'accounts' | 'scopes' | 'audit'>, org: SystemOrg, at: string): Promise<AccountRecord> {
    const owner = await this.ownerOfScope(tx, org.name);
    if (owner) return owner;
    return this.createAccountIn(tx, { name: org.name, kind: 'org', displayName: org.displayName }, { principal: null, ip: null }, 'org.create', at, org.visibility);
  }

  private async ownerOfScope(repos: Pick<StorageRepos, 'accounts' | 'scopes'>, name: string): Promise<AccountRecord | undefined> {
    const scope = await repos.scopes.find(name);
    return scope && repos.accounts.findById(scope.ownerAccountId);
  }

  /** Admin only: a new user, with a first publish token for it. */
  async createUser(ctx: RequestContext, input: NewUserInput): Promise<{ account: AccountRecord; token: CreatedToken }> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    const name = assertAccountName(input.username, 'user');
    const account = await this.createAccount({ name, kind: 'user', displayName: input.displayName ?? null, email: input.email ?? null, isAdmin: input.admin ?? false }, ctx, 'user.create');
    const token = await this.tokens.issue(account, { name: 'initial token', permission: input.admin ? 'admin' : 'publish' }, 'token.create', ctx);
    return { account, token };
  }

  /**
   * A user who signed in with an OAuth provider for the first time: no admin needed, the same name
   * rules, and the scope of its name, like every account.
   */
  async createSignedInUser(ctx: RequestContext, input: { username: string; displayName: string | null; email: string | null }): Promise<AccountRecord> {
    this.deps.policy.requireWritable();
    const name = assertAccountName(input.username, 'user');
    return this.createAccount({ name, kind: 'user', displayName: input.displayName, email: input.email }, ctx, 'user.create');
  }

  /** Admin only: a new organisation, optionally with a first owner. */
  async createOrg(ctx: RequestContext, input: NewOrgInput): Promise<{ account: AccountRecord; members: Member[] }> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    const name = assertAccountName(input.name, 'org');
    const owner = input.owner ? await this.find(input.owner) : null;
    if (owner && owner.kind !== 'user') throw badRequest(`@${owner.name} is an organisation; an org owner must be a user`);
    const org = await this.deps.storage.transaction(async (tx) => {
      const at = isoNow(this.deps.clock);
      const account = await this.insertAccountIn(tx, { name, kind: 'org', displayName: input.displayName ?? null }, at);
      if (owner) await tx.accounts.upsertMembership(account.id, owner.id, 'owner', at);
      await this.deps.audit.record(tx.audit, ctx, 'org.create', `@${name}`, { owner: owner?.name ?? null });
      return account;
    });
    return { account: org, members: await this.members(org.name) };
  }

  async members(orgName: string): Promise<Member[]> {
    const org = await this.findOrg(orgName);
    return this.deps.storage.accounts.listMembers(org.id);
  }

  async setMember(ctx: RequestContext, orgName: string, username: string, role: OrgRole): Promise<Member[]> {
    const org = await this.findOrg(orgName);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireOrgOwner(ctx, org);
    const user = await this.find(username);
    if (user.kind !== 'user') throw badRequest(`@${user.name} is an organisation, not a user`);
    if (!isOrgRole(role)) throw badRequest(`Unknown role '${role}': use one of ${ORG_ROLES.join(', ')}`);
    await this.deps.storage.transaction(async (tx) => {
      if (role !== 'owner') {
        const owners = (await tx.accounts.listMembers(org.id)).filter((m) => m.role === 'owner');
        if (owners.length === 1 && owners[0].account.id === user.id) {
          throw conflict(`@${user.name} is the last owner of @${org.name}; make another member an owner first`);
        }
      }
      await tx.accounts.upsertMembership(org.id, user.id, role, isoNow(this.deps.clock));
      await this.deps.audit.record(tx.audit, ctx, 'org.member.set', `@${org.name}`, { user: user.name, role });
    });
    return this.members(org.name);
  }

  async removeMember(ctx: RequestContext, orgName: string, username: string): Promise<Member[]> {
    const org = await this.findOrg(orgName);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireOrgOwner(ctx, org);
    const user = await this.find(username);
    await this.deps.storage.transaction(async (tx) => {
      const members = await tx.accounts.listMembers(org.id);
      const owners = members.filter((m) => m.role === 'owner');
      if (owners.length === 1 && owners[0].account.id === user.id) {
        throw conflict(`@${user.name} is the last owner of @${org.name}; add another owner first`);
      }
      if (!(await tx.accounts.deleteMembership(org.id, user.id))) throw notFound(`@${user.name} is not a member of @${org.name}`);
      await this.deps.audit.record(tx.audit, ctx, 'org.member.remove', `@${org.name}`, { user: user.name });
    });
    return this.members(org.name);
  }

  /** A profile: the account, its published packages the caller may read and their downloads. */
  async profile(ctx: RequestContext, name: string): Promise<{ account: AccountRecord; packageCount: number; totalDownloads: number }> {
    const read = await this.deps.policy.readFilter(ctx);
    const account = await this.find(name);
    const stats = await this.deps.storage.packages.ownerStats(account.id, read);
    return { account, packageCount: stats.packages, totalDownloads: stats.downloads };
  }

  async orgsOf(account: AccountRecord): Promise<Member[]> {
    return this.deps.storage.accounts.listOrgsOf(account.id);
  }

  async findOrg(name: string): Promise<AccountRecord> {
    const org = await this.deps.storage.accounts.findByName(name.replace(/^@/, ''));
    if (!org || org.kind !== 'org') throw notFound(`Organisation not found: ${name}`);
    return org;
  }

  private async createAccount(input: Parameters<AccountService['insertAccountIn']>[1], ctx: RequestContext, action: string): Promise<AccountRecord> {
    return this.deps.storage.transaction((tx) => this.createAccountIn(tx, input, ctx, action, isoNow(this.deps.clock)));
  }

  /** A new account with the scope of its name, audited, in `tx`. */
  private async createAccountIn(
    tx: Pick<StorageRepos, 'accounts' | 'scopes' | 'audit'>,
    input: Parameters<AccountService['insertAccountIn']>[1],
    ctx: RequestContext,
    action: string,
    at: string,
    visibility?: Visibility,
  ): Promise<AccountRecord> {
    const account = await this.insertAccountIn(tx, input, at, visibility);
    await this.deps.audit.record(tx.audit, ctx, action, `@${account.name}`, { kind: account.kind, admin: account.isAdmin });
    return account;
  }

  private async insertAccountIn(
    tx: Pick<Storage, 'accounts' | 'scopes'>,
    input: { name: string; kind: 'user' | 'org'; displayName?: string | null; email?: string | null; isAdmin?: boolean },
    at: string,
    visibility: Visibility = this.deps.policy.defaultVisibility,
  ): Promise<AccountRecord> {
    if (await tx.accounts.findByName(input.name)) throw conflict(`The name '${input.name}' is already taken`);
    if (await tx.scopes.find(input.name)) throw conflict(`The scope @${input.name} is already owned by another account`);
    const account = await tx.accounts.insert(input, at);
    await tx.scopes.insert(account.name, account.id, at, visibility);
    return account;
  }
}
