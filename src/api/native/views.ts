import { hash } from 'node:crypto';
import type { DetailDocument, PackageView } from '../../core/packages/package-service.js';
import { fullName } from '../../core/packages/names.js';
import { isPlainObject } from '../../core/packages/manifest/fields.js';
import type { AccountRecord } from '../../core/accounts/account-repo.js';
import type { PackageRecord, VersionRecord } from '../../core/packages/package-repo.js';
import type { TokenRecord } from '../../core/tokens/token-repo.js';
import type { Detail, ListItem } from './schemas.js';

/** Core records → agentx (004) response shapes. Translation only: no rule lives here. */

/** A list's total, marked `total_estimated` when the core counted only a bounded set of the matches. */
export const listTotal = (page: { total: number; estimated?: boolean }): { total: number; total_estimated?: true } =>
  page.estimated ? { total: page.total, total_estimated: true } : { total: page.total };

/** A package in a list; `upstreams` (by lower-case scope) marks one taken from an upstream. */
export const listItem = (pkg: PackageRecord, owner: AccountRecord | undefined, upstreams?: Map<string, string>): ListItem => {
  const item: ListItem = {
    kind: pkg.kind,
    scope: `@${pkg.scope}`,
    name: pkg.name,
    full_name: fullName(pkg.scope, pkg.name),
    description: pkg.description,
    category: pkg.category,
    tags: pkg.tags,
    latest_version: pkg.latestVersion,
    download_count: pkg.downloadCount,
    star_count: pkg.starCount,
    is_verified: pkg.isVerified,
    author: { username: owner?.name ?? pkg.scope, avatar_url: owner?.avatarUrl ?? null },
    updated_at: pkg.updatedAt,
  };
  const upstream = upstreams?.get(pkg.scope.toLowerCase());
  if (upstream !== undefined) item.mirror = { upstream };
  return item;
};

export const detail = (view: PackageView): Detail => {
  const { pkg, owner, latest } = view;
  const manifest = latest?.manifest ?? null;
  const perms = isPlainObject(manifest?.permissions) ? manifest.permissions : {};
  const examples = Array.isArray(manifest?.examples) ? manifest.examples.filter(isPlainObject) : [];
  // Spelled out rather than spread from listItem: V8 builds a spread-then-extended literal of
  // this size in slow (dictionary) mode, which cost ~25 µs a response.
  return {
    kind: pkg.kind,
    scope: `@${pkg.scope}`,
    name: pkg.name,
    full_name: fullName(pkg.scope, pkg.name),
    description: pkg.description,
    category: pkg.category,
    tags: pkg.tags,
    latest_version: pkg.latestVersion,
    download_count: pkg.downloadCount,
    star_count: pkg.starCount,
    is_verified: pkg.isVerified,
    author: {
      username: owner?.name ?? pkg.scope,
      display_name: owner?.displayName ?? owner?.name ?? null,
      avatar_url: owner?.avatarUrl ?? null,
    },
    updated_at: pkg.updatedAt,
    readme: pkg.readme,
    license: pkg.license,
    repository: pkg.repository,
    homepage: pkg.homepage,
    is_featured: pkg.isFeatured,
    permissions: {
      filesystem: perms.filesystem === true,
      network: perms.network === true,
      execute_commands: perms.execute_commands === true,
    },
    mcp_servers: isPlainObject(manifest?.mcp_servers) ? Object.keys(manifest.mcp_servers) : [],
    examples: examples.filter((e) => typeof e.prompt === 'string') as Detail['examples'],
    dist_tags: view.distTags,
    deprecated: latest?.deprecated ?? null,
    manifest,
    findings: latest?.findings ?? [],
    created_at: pkg.createdAt,
    mirror: view.mirror,
  };
};

/**
 * The detail of `view` as JSON text (`serialize`: the route's own response serializer) with a
 * strong ETag, a hash of the text: the same view gives the same text and tag in every process.
 * Made for each answer, not kept: it takes a few µs, and a memo beside the core's view cache
 * would add a document to the heap for every view the cache holds (memory is the tighter budget).
 */
export const detailDocument = (view: PackageView, serialize: (d: Detail) => string): DetailDocument => documentOf(serialize(detail(view)));

/** The text with its strong tag. The one-shot hash: no Hash object per response (a profile put those at ~8% of an uncached GET). */
const documentOf = (body: string): DetailDocument => ({ body, etag: `"${hash('sha1', body, 'base64url')}"` });

/**
 * The package's own count in a detail's text. The first match is always it: a string value never
 * holds `,"` (a quote in a string is written `\"`), and no object comes before it in the detail
 * (the serializer writes the schema's properties in order: kind … latest_version, download_count).
 */
const DOWNLOAD_COUNT = ',"download_count":';

/**
 * A detail document with its package's download count set to `downloads`: the text the serializer
 * would make from the view with that count (and its tag), without a view or a serialization.
 * Undefined when the text has no count where a detail has it.
 */
export const detailWithDownloads = (doc: DetailDocument, downloads: number): DetailDocument | undefined => {
  const at = doc.body.indexOf(DOWNLOAD_COUNT);
  if (at < 0 || !Number.isSafeInteger(downloads) || downloads < 0) return undefined;
  const start = at + DOWNLOAD_COUNT.length;
  let end = start;
  for (let c = doc.body.charCodeAt(end); c >= 48 && c <= 57; c = doc.body.charCodeAt(++end));
  if (end === start) return undefined;
  return documentOf(doc.body.slice(0, start) + String(downloads) + doc.body.slice(end));
};

export const versionItem = (v: VersionRecord, sessionCounts?: Map<number, number>) => ({
  version: v.version,
  tarball_size: v.size,
  download_count: v.downloadCount,
  ...(sessionCounts ? { session_count: sessionCounts.get(v.id) ?? 0 } : {}),
  published_at: v.publishedAt,
  sha256: v.digest.replace(/^sha256:/, ''),
  deprecated: v.deprecated,
  findings: v.findings,
});

/** What a publish answers (the native publish route, an A2A import): the version, its sha256 and where the package is. */
export const publishResult = (pkg: PackageRecord, version: VersionRecord, base: string) => {
  const name = fullName(pkg.scope, pkg.name);
  return { success: true, version: version.version, full_name: name, kind: pkg.kind, sha256: version.digest.replace(/^sha256:/, ''), url: `${base}/api/v1/packages/${name}` };
};

export const tokenView = (t: TokenRecord) => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  permission: t.permission,
  scopes: t.scopes?.map((s) => `@${s}`) ?? null,
  expires_at: t.expiresAt,
  last_used_at: t.lastUsedAt,
  created_at: t.createdAt,
  revoked_at: t.revokedAt,
  all_accounts: t.allAccounts,
});

export const members = (list: Array<{ account: AccountRecord; role: string }>) => list.map((m) => ({ username: m.account.name, role: m.role }));
