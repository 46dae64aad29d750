/** Storage ports of accounts (users and organisations), org memberships and scopes. */
import type { Visibility } from '../access/visibility.js';

export type AccountKind = 'user' | 'org';

/**
 * A user's role in an organisation: `owner` manages members and the org's settings and
 * publishes; `maintainer` publishes, deprecates, unpublishes and sets dist-tags in the org's
 * scopes; `member` reads the org's private objects.
 */
export type OrgRole = 'owner' | 'maintainer' | 'member';

export interface AccountRecord {
  id: number;
  name: string;
  kind: AccountKind;
  displayName: string | null;
  email: string | null;
  avatarUrl: string | null;
  bio: string | null;
  website: string | null;
  isAdmin: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewAccount {
  name: string;
  kind: AccountKind;
  displayName?: string | null;
  email?: string | null;
  isAdmin?: boolean;
}

export interface MembershipRecord {
  orgId: number;
  userId: number;
  role: OrgRole;
  createdAt: string;
}

export interface ScopeRecord {
  name: string;
  ownerAccountId: number;
  /** The visibility a package published to this scope for the first time takes, unless the publish says otherwise. */
  defaultVisibility: Visibility;
  createdAt: string;
  /** Who may sign its packages: the PEM public keys it trusts, and whether every publish must be signed by one. */
  signing: ScopeSigning;
}

export interface ScopeSigning {
  required: boolean;
  keys: string[];
}

export interface AccountRepo {
  findById(id: number): Promise<AccountRecord | undefined>;
  /** The accounts with these ids, in one read (unknown ids are left out; any order). */
  findByIds(ids: readonly number[]): Promise<AccountRecord[]>;
  /** Case-insensitive. */
  findByName(name: string): Promise<AccountRecord | undefined>;
  insert(account: NewAccount, at: string): Promise<AccountRecord>;
  count(): Promise<number>;
  /** Updates what a sign-in provider says about the account (only the fields given). */
  updateProfile(id: number, patch: Partial<Pick<AccountRecord, 'displayName' | 'email' | 'avatarUrl'>>, at: string): Promise<void>;
  membership(orgId: number, userId: number): Promise<MembershipRecord | undefined>;
  upsertMembership(orgId: number, userId: number, role: OrgRole, at: string): Promise<void>;
  deleteMembership(orgId: number, userId: number): Promise<boolean>;
  listMembers(orgId: number): Promise<Array<{ account: AccountRecord; role: OrgRole }>>;
  listOrgsOf(userId: number): Promise<Array<{ account: AccountRecord; role: OrgRole }>>;
}

export interface ScopeRepo {
  /** Case-insensitive. */
  find(name: string): Promise<ScopeRecord | undefined>;
  /** A new scope takes `defaultVisibility` (the server's default when absent: `public`). */
  insert(name: string, ownerAccountId: number, at: string, defaultVisibility?: Visibility): Promise<ScopeRecord>;
  listByOwner(ownerAccountId: number): Promise<ScopeRecord[]>;
  setDefaultVisibility(name: string, visibility: Visibility): Promise<void>;
  setSigning(name: string, signing: ScopeSigning): Promise<void>;
}
