import type { AccountRecord } from '../../core/accounts/account-repo.js';
import { installSnippets } from '../../core/packages/install-snippets.js';
import { fullName } from '../../core/packages/names.js';
import type { PackageRecord, VersionRecord } from '../../core/packages/package-repo.js';
import type { PackageView } from '../../core/packages/package-service.js';
import type { WorkloadRecord } from '../../core/workloads/workload.js';
import { packageOf, transportOf, workloadProxyPath } from '../../core/workloads/workload.js';

/** Core records → the JSON the MCP endpoint's tools answer, compact for a model to read. Translation only. */

export const readmeUri = (scope: string, name: string): string => `agentry://packages/${encodeURIComponent(scope)}/${encodeURIComponent(name)}/readme`;
export const skillMdUri = (scope: string, name: string): string => `agentry://skills/${encodeURIComponent(scope)}/${encodeURIComponent(name)}/SKILL.md`;

export const packageSummary = (pkg: PackageRecord, owner: AccountRecord | undefined, upstreams?: Map<string, string>) => {
  const upstream = upstreams?.get(pkg.scope.toLowerCase());
  return {
    name: fullName(pkg.scope, pkg.name),
    kind: pkg.kind,
    description: pkg.description,
    category: pkg.category,
    tags: pkg.tags,
    latest_version: pkg.latestVersion,
    downloads: pkg.downloadCount,
    stars: pkg.starCount,
    verified: pkg.isVerified,
    owner: owner?.name ?? pkg.scope,
    updated_at: pkg.updatedAt,
    ...(upstream !== undefined ? { mirrored_from: upstream } : {}),
  };
};

export const packageDetail = (view: PackageView, versions: VersionRecord[], origin: string) => {
  const { pkg, latest } = view;
  const scope = `@${pkg.scope}`;
  return {
    ...packageSummary(pkg, view.owner, view.mirror ? new Map([[pkg.scope.toLowerCase(), view.mirror.upstream]]) : undefined),
    visibility: pkg.visibility,
    license: pkg.license,
    repository: pkg.repository,
    homepage: pkg.homepage,
    dist_tags: view.distTags,
    deprecated: latest?.deprecated ?? null,
    readme: pkg.readme,
    manifest: latest?.manifest ?? null,
    versions: versions.map((v) => ({ version: v.version, published_at: v.publishedAt, deprecated: v.deprecated })),
    install: latest ? installSnippets({ kind: pkg.kind, scope, name: pkg.name, version: latest.version, manifest: latest.manifest, origin }) : [],
    resources: [readmeUri(pkg.scope, pkg.name), ...(pkg.kind === 'skill' ? [skillMdUri(pkg.scope, pkg.name)] : [])],
  };
};

export const workloadSummary = (r: WorkloadRecord, origin: string) => ({
  name: r.name,
  status: r.status,
  package: packageOf(r.config.source),
  group: r.config.group,
  transport: transportOf(r.config.source),
  owner: r.ownerName,
  url: `${origin}${workloadProxyPath(r.name, 'streamable-http')}`,
});
