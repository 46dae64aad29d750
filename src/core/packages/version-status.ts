import type { VersionRecord } from './package-repo.js';

/**
 * The lifecycle status of a version, as the MCP registry names it: `active`; `deprecated`
 * (still served, with a message); `deleted` (unpublished: hidden from lists and downloads,
 * never reusable, restorable by its owner).
 */
export const VERSION_STATUSES = ['active', 'deprecated', 'deleted'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** A deprecation needs a message in the store; this one is used when none is given. */
export const DEFAULT_DEPRECATION_MESSAGE = 'This version is deprecated';

/** Longest status message (the MCP registry's limit). */
export const MAX_STATUS_MESSAGE = 500;

export const statusOf = (v: VersionRecord): { status: VersionStatus; message: string | null } => {
  if (v.unpublishedAt) return { status: 'deleted', message: v.unpublishReason };
  if (v.deprecated !== null) return { status: 'deprecated', message: v.deprecated };
  return { status: 'active', message: null };
};
