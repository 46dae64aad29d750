import type { OrgRole } from './account-repo.js';

/** Every role a user may hold in an organisation, from the most powerful. */
export const ORG_ROLES: readonly OrgRole[] = ['owner', 'maintainer', 'member'];

/** What each role may do in the org's scopes; AccessPolicy is where it is enforced. */
export const ROLE_RIGHTS: Record<OrgRole, { manage: boolean; write: boolean; readPrivate: boolean }> = {
  /** Members and the org's settings, and everything a maintainer does. */
  owner: { manage: true, write: true, readPrivate: true },
  /** Publish, deprecate, unpublish and set dist-tags in the org's scopes. */
  maintainer: { manage: false, write: true, readPrivate: true },
  /** Read the org's private objects. */
  member: { manage: false, write: false, readPrivate: true },
};

export const isOrgRole = (value: string): value is OrgRole => (ORG_ROLES as readonly string[]).includes(value);
