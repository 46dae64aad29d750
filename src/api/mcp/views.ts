import type { PackageRecord, VersionRecord } from '../../core/packages/package-repo.js';
import { notFound } from '../../core/errors.js';
import { statusOf } from '../../core/packages/version-status.js';
import { MIRROR_META_KEY, type CachedMcpServer } from '../../core/mirrors/mcp-mirror.js';
import { FINDINGS_META_KEY, OFFICIAL_META_KEY } from './schemas.js';

/** One version as the MCP registry answers it: the server.json as published, plus registry metadata. */
export const serverResponse = (pkg: PackageRecord, v: VersionRecord) => {
  const { status, message } = statusOf(v);
  return {
    server: v.manifest,
    _meta: {
      [OFFICIAL_META_KEY]: {
        status,
        ...(message ? { statusMessage: message } : {}),
        // Always present, as in the official registry: the publish time until the status first changes.
        statusChangedAt: v.statusChangedAt ?? v.publishedAt,
        publishedAt: v.publishedAt,
        updatedAt: v.statusChangedAt ?? v.publishedAt,
        isLatest: !v.unpublishedAt && pkg.latestVersion === v.version,
      },
      ...(v.findings.length > 0 ? { [FINDINGS_META_KEY]: v.findings } : {}),
    },
  };
};

/** `io.github.alice/weather` → the core's scope and name (the name is already URL-decoded by the router). */
export const splitServerName = (serverName: string): { scope: string; name: string } => {
  const slash = serverName.indexOf('/');
  if (slash <= 0 || slash === serverName.length - 1) throw notFound(`MCP server not found: '${serverName}' is not a '<namespace>/<name>' server name`);
  return { scope: serverName.slice(0, slash), name: serverName.slice(slash + 1) };
};

/**
 * One version of an upstream's server as the MCP registry answers it: its server.json as the upstream
 * sent it, the upstream's official metadata, and the mirror marker `_meta["dev.agentry/mirror"]`.
 */
export const upstreamServerResponse = (r: CachedMcpServer, upstream: string) => {
  const message = typeof r.official?.statusMessage === 'string' ? r.official.statusMessage : undefined;
  const at = r.updatedAt ?? r.publishedAt ?? r.syncedAt;
  const changedAt = typeof r.official?.statusChangedAt === 'string' ? r.official.statusChangedAt : at;
  return {
    server: r.server,
    _meta: {
      [OFFICIAL_META_KEY]: {
        status: r.status as 'active' | 'deprecated' | 'deleted',
        ...(message ? { statusMessage: message } : {}),
        statusChangedAt: changedAt,
        publishedAt: r.publishedAt ?? r.syncedAt,
        updatedAt: at,
        isLatest: r.isLatest,
      },
      [MIRROR_META_KEY]: { upstream },
    },
  };
};
