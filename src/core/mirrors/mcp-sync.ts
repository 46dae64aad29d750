import { badRequest } from '../errors.js';
import { isoNow, type Clock } from '../time.js';
import type { MirrorRecord, UpstreamEndpoint } from './mirror.js';
import { emptySyncReport, isMirrorSyncReport, type MirrorSyncProgress, type MirrorSyncReport } from './mirror-sync.js';
import type { CachedMcpServer, McpMirrorCache, McpUpstream, UpstreamMcpServer } from './mcp-mirror.js';

/** What a sync of an MCP upstream needs: the cache, the upstream port, the clock, and the mirror's endpoint (its login from the secret store). */
export interface McpSyncDeps {
  cache: McpMirrorCache;
  upstream: McpUpstream;
  clock: Clock;
  /** `via`: the servers the lookup that asks passed through (mirror-via.ts). */
  endpoint(m: MirrorRecord, via?: readonly string[]): Promise<UpstreamEndpoint>;
}

/**
 * After each page: `done` counts upstream entries read by the whole sync; `total` is null (the MCP
 * registry API has none); `checkpoint` is the upstream cursor reached with the count and the report
 * so far (JSON), so that a resumed sync reports the whole of it.
 */
export type McpSyncProgress = MirrorSyncProgress;

/**
 * Names are `name@version`: `updated` are versions whose server.json or official metadata changed,
 * `removed` those the upstream no longer lists (known only after a walk from the start), `failed`
 * entries of the upstream that are not servers.
 */
export type McpSyncReport = MirrorSyncReport;

/** The official API's largest page. */
const PAGE = 100;
const MAX_NAME = 300;
const MAX_VERSION = 255;

/** Server names are `namespace/name`; the namespace is what pins match. */
export const namespaceOf = (name: string): string => name.slice(0, Math.max(0, name.indexOf('/'))).toLowerCase();

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** An upstream's timestamp as an ISO-8601 UTC instant (so that `updated_since` compares them), or null. */
const iso = (v: unknown): string | null => {
  const t = Date.parse(str(v) ?? '');
  return Number.isNaN(t) ? null : new Date(t).toISOString();
};

/** An upstream entry as a cache row, or why it is not one. */
const rowOf = (mirror: string, e: UpstreamMcpServer, at: string): CachedMcpServer | { name: string; error: string } => {
  const name = str(e.server.name);
  const version = str(e.server.version);
  if (!name) return { name: '(unnamed)', error: 'the entry has no server.name' };
  if (name.length > MAX_NAME || !/^[^/\s]+\/[^/\s]+$/.test(name)) return { name: name.slice(0, MAX_NAME), error: "the name is not '<namespace>/<name>'" };
  if (!version || version.length > MAX_VERSION) return { name, error: 'the entry has no server.version (or one over 255 characters)' };
  const official = e.official ?? null;
  const status = str(official?.status) ?? 'active';
  return {
    mirror,
    name,
    version,
    key: name.toLowerCase(),
    namespace: namespaceOf(name),
    status: ['active', 'deprecated', 'deleted'].includes(status) ? status : 'active',
    isLatest: official ? official.isLatest === true : false,
    description: str(e.server.description) ?? '',
    publishedAt: iso(official?.publishedAt),
    updatedAt: iso(official?.updatedAt) ?? iso(official?.publishedAt),
    server: e.server,
    official,
    syncedAt: at,
  };
};

/** Canonical JSON (keys sorted) to tell a changed entry from an unchanged one. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : value,
  );

/** An MCP mirror's sync copies the upstream's whole listing: a filter is refused, never ignored. */
export const refuseMcpSyncFilter = (filter: string): void => {
  throw badRequest(`MCP mirrors sync the upstream's whole listing; a filter ('${filter.slice(0, 100)}') is not taken`);
};

/** Where a sync stands: the upstream cursor to read next, the entries read and the report so far. */
interface McpCheckpoint {
  v: 1;
  c: string;
  d: number;
  r: McpSyncReport;
}

/** A checkpoint back; a bare upstream cursor (what a job of an earlier release stored) resumes with an empty report. */
const readCheckpoint = (checkpoint: string): { cursor: string; done: number; report: McpSyncReport } => {
  try {
    const c = JSON.parse(checkpoint) as Partial<McpCheckpoint> | null;
    if (c && c.v === 1 && typeof c.c === 'string' && Number.isSafeInteger(c.d) && isMirrorSyncReport(c.r)) return { cursor: c.c, done: c.d as number, report: c.r };
  } catch {
    /* a bare cursor */
  }
  return { cursor: checkpoint, done: 0, report: emptySyncReport() };
};

/**
 * Reads an MCP upstream's whole `/v0.1/servers` listing into the cache, page by page, and reports
 * what changed. `checkpoint` (what a previous run reported through `onProgress`: the upstream
 * cursor reached and the report so far) continues an interrupted run, whose report then covers the
 * whole sync; versions the upstream no longer lists are removed only when the
 * run that started from the beginning completes. A failure of the upstream throws, leaving the
 * cache as the last complete run (plus the pages read) and the checkpoint reached.
 */
export async function syncMcpMirror(
  deps: McpSyncDeps,
  mirror: MirrorRecord,
  opts: {
    checkpoint?: string;
    signal?: AbortSignal;
    onProgress?: (p: McpSyncProgress) => Promise<void> | void;
    /** The servers the lookup that started this walk passed through (a view's refresh; none for a job). */
    via?: readonly string[];
  },
): Promise<McpSyncReport> {
  const endpoint = await deps.endpoint(mirror, opts.via);
  const previous = await deps.cache.state(mirror.name);
  const resumed = opts.checkpoint === undefined ? undefined : readCheckpoint(opts.checkpoint);
  // A resumed run keeps its start, so that what the whole walk did not see can still be told apart.
  const resuming = resumed !== undefined && previous?.runStartedAt != null && previous.checkpoint === resumed.cursor;
  const startedAt = resuming ? (previous.runStartedAt as string) : isoNow(deps.clock);
  const report: McpSyncReport = resumed?.report ?? emptySyncReport();
  let cursor = resumed?.cursor;
  let done = resumed?.done ?? 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const page = await deps.upstream.page(endpoint, { cursor, limit: PAGE, signal: opts.signal });
    const rows: CachedMcpServer[] = [];
    for (const e of page.servers) {
      const r = rowOf(mirror.name, e, startedAt);
      if ('error' in r) report.failed.push(r);
      else rows.push(r);
    }
    const existing = new Map((await deps.cache.findMany(mirror.name, [...new Set(rows.map((r) => r.key))])).map((r) => [`${r.key}\u0000${r.version}`, r]));
    const seen = new Set<string>();
    const fresh = rows.filter((r) => {
      const id = `${r.key}\u0000${r.version}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    for (const r of fresh) {
      const old = existing.get(`${r.key}\u0000${r.version}`);
      if (!old) report.added.push(`${r.name}@${r.version}`);
      else if (canonical([old.server, old.official]) !== canonical([r.server, r.official])) report.updated.push(`${r.name}@${r.version}`);
      else report.unchanged++;
    }
    await deps.cache.upsert(fresh);
    done += page.servers.length;
    cursor = page.nextCursor;
    if (cursor === undefined) break;
    await deps.cache.putState({ mirror: mirror.name, listedAt: previous?.listedAt ?? null, runStartedAt: startedAt, checkpoint: cursor });
    const checkpoint: McpCheckpoint = { v: 1, c: cursor, d: done, r: report };
    await opts.onProgress?.({ done, total: null, checkpoint: JSON.stringify(checkpoint) });
  }
  // A complete walk: a run resumed from a checkpoint of another run cannot tell what disappeared.
  if (resumed === undefined || resuming) report.removed = await deps.cache.removeUnseen(mirror.name, startedAt);
  await deps.cache.putState({ mirror: mirror.name, listedAt: isoNow(deps.clock), runStartedAt: null, checkpoint: null });
  await opts.onProgress?.({ done, total: done, checkpoint: '' });
  return report;
}
