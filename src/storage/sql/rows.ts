import type { Selectable } from 'kysely';
import { isVisibility } from '../../core/access/visibility.js';
import type { AccountKind, AccountRecord } from '../../core/accounts/account-repo.js';
import type { AuditRecord } from '../../core/audit/audit-repo.js';
import type { PackageKind } from '../../core/packages/kinds.js';
import type { PackageRecord, VersionRecord } from '../../core/packages/package-repo.js';
import type { VersionFinding } from '../../core/packages/publish-findings.js';
import type { TokenPermission, TokenRecord } from '../../core/tokens/token-repo.js';
import type { AccountsTable, AuditLogTable, PackagesTable, TokensTable, VersionsTable } from './schema.js';

/** Row ⇄ record mapping, in one place for both dialects. */
const json = <T>(text: string | null, fallback: T): T => {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

export const toAccount = (r: Selectable<AccountsTable>): AccountRecord => ({
  id: Number(r.id),
  name: r.name,
  kind: r.kind as AccountKind,
  displayName: r.display_name,
  email: r.email,
  avatarUrl: r.avatar_url,
  bio: r.bio,
  website: r.website,
  isAdmin: Number(r.is_admin) === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toToken = (r: Selectable<TokensTable>): TokenRecord => ({
  id: Number(r.id),
  accountId: Number(r.account_id),
  name: r.name,
  hash: r.hash,
  prefix: r.prefix,
  permission: r.permission as TokenPermission,
  scopes: json<string[] | null>(r.scopes, null),
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  createdAt: r.created_at,
  allAccounts: Number(r.all_accounts) === 1,
});

export const toPackage = (r: Selectable<PackagesTable>): PackageRecord => ({
  id: Number(r.id),
  kind: r.kind as PackageKind,
  scope: r.scope,
  name: r.name,
  key: r.key,
  description: r.description,
  readme: r.readme,
  category: r.category,
  tags: json<string[]>(r.tags, []),
  license: r.license,
  repository: r.repository,
  homepage: r.homepage,
  latestVersion: r.latest_version,
  latestPinned: Number(r.latest_pinned) === 1,
  downloadCount: Number(r.download_count),
  starCount: Number(r.star_count),
  isVerified: Number(r.is_verified) === 1,
  isFeatured: Number(r.is_featured) === 1,
  ownerAccountId: Number(r.owner_account_id),
  visibility: isVisibility(r.visibility) ? r.visibility : 'private',
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toVersion = (r: Selectable<VersionsTable>): VersionRecord => ({
  id: Number(r.id),
  packageId: Number(r.package_id),
  version: r.version,
  manifest: json<Record<string, unknown>>(r.manifest, {}),
  readme: r.readme,
  digest: r.digest,
  size: Number(r.size),
  fileCount: Number(r.file_count),
  unpackedSize: Number(r.unpacked_size),
  deprecated: r.deprecated,
  downloadCount: Number(r.download_count),
  publishedBy: r.published_by === null ? null : Number(r.published_by),
  publishedAt: r.published_at,
  unpublishedAt: r.unpublished_at,
  unpublishReason: r.unpublish_reason ?? null,
  statusChangedAt: r.status_changed_at ?? null,
  findings: json<VersionFinding[]>(r.findings, []),
});

export const toAudit = (r: Selectable<AuditLogTable>): AuditRecord => ({
  id: Number(r.id),
  at: r.at,
  actor: r.actor,
  tokenId: r.token_id === null ? null : Number(r.token_id),
  action: r.action,
  target: r.target,
  ip: r.ip,
  details: json<Record<string, unknown>>(r.details, {}),
});

/**
 * PostgreSQL: the package view (PackageViewRecord: package, latest version, owner, dist-tags)
 * built by the store as one JSON document per row, in the shapes of toPackage / toVersion /
 * toAccount above: the driver parses one `json` value instead of fifty text columns, and the
 * tags and manifest are not re-parsed. `latest` and `owner` are null when absent. Expects
 * `packages p`, `versions v`, `accounts a`, `dist_tags d` as aliases.
 */
export const viewJsonSql = (): string => {
  const object = (fields: Array<[string, string]>) => `json_build_object(${fields.map(([k, e]) => `'${k}', ${e}`).join(', ')})`;
  const bool = (col: string) => `(${col} = 1)`;
  const jsonText = (col: string, fallback: string) => `coalesce(${col}::json, '${fallback}'::json)`;
  const pkg = object([
    ['id', 'p.id'],
    ['kind', 'p.kind'],
    ['scope', 'p.scope'],
    ['name', 'p.name'],
    ['key', 'p.key'],
    ['description', 'p.description'],
    ['readme', 'p.readme'],
    ['category', 'p.category'],
    ['tags', jsonText('p.tags', '[]')],
    ['license', 'p.license'],
    ['repository', 'p.repository'],
    ['homepage', 'p.homepage'],
    ['latestVersion', 'p.latest_version'],
    ['latestPinned', bool('p.latest_pinned')],
    ['downloadCount', 'p.download_count'],
    ['starCount', 'p.star_count'],
    ['isVerified', bool('p.is_verified')],
    ['isFeatured', bool('p.is_featured')],
    ['ownerAccountId', 'p.owner_account_id'],
    ['visibility', `CASE WHEN p.visibility IN ('public', 'internal', 'private') THEN p.visibility ELSE 'private' END`],
    ['createdAt', 'p.created_at'],
    ['updatedAt', 'p.updated_at'],
  ]);
  const version = object([
    ['id', 'v.id'],
    ['packageId', 'v.package_id'],
    ['version', 'v.version'],
    ['manifest', jsonText('v.manifest', '{}')],
    ['readme', 'v.readme'],
    ['digest', 'v.digest'],
    ['size', 'v.size'],
    ['fileCount', 'v.file_count'],
    ['unpackedSize', 'v.unpacked_size'],
    ['deprecated', 'v.deprecated'],
    ['downloadCount', 'v.download_count'],
    ['publishedBy', 'v.published_by'],
    ['publishedAt', 'v.published_at'],
    ['unpublishedAt', 'v.unpublished_at'],
    ['unpublishReason', 'v.unpublish_reason'],
    ['statusChangedAt', 'v.status_changed_at'],
    ['findings', jsonText('v.findings', '[]')],
  ]);
  const owner = object([
    ['id', 'a.id'],
    ['name', 'a.name'],
    ['kind', 'a.kind'],
    ['displayName', 'a.display_name'],
    ['email', 'a.email'],
    ['avatarUrl', 'a.avatar_url'],
    ['bio', 'a.bio'],
    ['website', 'a.website'],
    ['isAdmin', bool('a.is_admin')],
    ['createdAt', 'a.created_at'],
    ['updatedAt', 'a.updated_at'],
  ]);
  const tags = `(SELECT coalesce(json_object_agg(d.tag, d.version), '{}'::json) FROM dist_tags d WHERE d.package_id = p.id)`;
  return object([
    ['pkg', pkg],
    ['latest', `CASE WHEN v.id IS NULL THEN NULL ELSE ${version} END`],
    ['owner', `CASE WHEN a.id IS NULL THEN NULL ELSE ${owner} END`],
    ['distTags', tags],
  ]);
};
