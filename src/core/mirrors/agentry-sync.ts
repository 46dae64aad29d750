import { badRequest, isAgentryError } from '../errors.js';
import { isPackageKind } from '../packages/kinds.js';
import { packageKey } from '../packages/names.js';
import { MIRRORED_KINDS, type AgentryMirror } from './agentry-mirror.js';
import type { MirrorRecord } from './mirror.js';
import { emptySyncReport, isMirrorSyncReport, type MirrorSyncOptions, type MirrorSyncReport } from './mirror-sync.js';

/** What a sync needs: the Registry's `agentryMirror`. */
export type AgentrySyncDeps = Pick<AgentryMirror, 'listUpstream' | 'sync' | 'fetchedThrough'>;

/** The filter is `@scope` (that scope), `@scope/prefix` (its packages whose names start so), or a prefix of `scope/name`; an abort stops the run between two packages (it then throws the signal's reason). */
export type AgentrySyncOptions = MirrorSyncOptions;

/**
 * Names are `@scope/name`: `added` packages fetched for the first time, `updated` those with new
 * versions, dist-tags or deprecations, `removed` those fetched through this mirror before that the
 * upstream no longer lists (they stay served).
 */
export type AgentrySyncReport = MirrorSyncReport;

/** The upstream's list is read this many packages a page (its largest page). */
const PAGE = 100;

interface Position {
  /** The upstream page (from 1) to read next. */
  p: number;
  /** The last package key done; keys up to it are skipped on that page. */
  k: string;
  /** Packages done so far and the report so far: a resumed run answers for the whole sync. */
  d: number;
  r: AgentrySyncReport;
}

const encode = (pos: Position): string => Buffer.from(JSON.stringify(pos)).toString('base64url');

const decode = (checkpoint: string): Position => {
  try {
    const v = JSON.parse(Buffer.from(checkpoint, 'base64url').toString('utf8')) as unknown;
    const o = v as Partial<Position>;
    if (
      typeof v === 'object' &&
      v !== null &&
      Number.isSafeInteger(o.p) &&
      (o.p as number) >= 1 &&
      typeof o.k === 'string' &&
      o.k.length <= 300 &&
      Number.isSafeInteger(o.d) &&
      isMirrorSyncReport(o.r)
    )
      return { p: o.p as number, k: o.k, d: o.d as number, r: o.r };
  } catch {
    /* refused below */
  }
  throw badRequest('Invalid checkpoint: pass the one a sync reported, unchanged');
};

/** What a filter selects: the upstream scope to list (when it names one) and the key prefix to keep. */
export const parseAgentrySyncFilter = (filter: string | undefined): { scope?: string; prefix: string } => {
  const f = (filter ?? '').trim().toLowerCase();
  if (f.length > 200 || /[^a-z0-9@/._-]/.test(f)) throw badRequest(`Invalid filter '${f.slice(0, 200)}': a scope (@acme), a scope and name prefix (@acme/he) or a prefix of scope/name`);
  if (!f.startsWith('@')) return { prefix: f };
  const [scope, rest] = f.slice(1).split('/', 2);
  if (!scope) throw badRequest('Invalid filter: @ must be followed by a scope');
  return rest === undefined ? { scope, prefix: `${scope}/` } : { scope, prefix: `${scope}/${rest}` };
};

const message = (e: unknown): string => (isAgentryError(e) || e instanceof Error ? e.message : String(e));

/**
 * Fetches every agent, skill and recipe an Agentry upstream lists (or those the filter selects), in
 * name order, as on-demand reads would: new versions with their signatures, dist-tags, deprecations.
 * Progress is told after each package with a checkpoint to resume from; a package that fails is
 * reported and the run goes on. Local scopes are never filled from the upstream (those packages are
 * skipped, in no count), nor are scopes taken from another mirror.
 */
export async function syncAgentryMirror(deps: AgentrySyncDeps, mirror: MirrorRecord, opts: AgentrySyncOptions): Promise<AgentrySyncReport> {
  if (mirror.kind !== 'agentry') throw badRequest(`Mirror ${mirror.name} is of kind '${mirror.kind}': only Agentry mirrors are synced this way`);
  const { scope, prefix } = parseAgentrySyncFilter(opts.filter);
  const start: Position = opts.checkpoint === undefined ? { p: 1, k: '', d: 0, r: emptySyncReport() } : decode(opts.checkpoint);
  const report = start.r;
  const seen = new Set<string>();
  let done = start.d;
  let total: number | null;
  for (let page = start.p; ; page++) {
    opts.signal?.throwIfAborted();
    const list = await deps.listUpstream(mirror, { ...(scope ? { scope } : {}), page, limit: PAGE });
    total = list.total;
    for (const p of list.packages) {
      const key = packageKey(p.scope, p.name);
      if (page === start.p && key <= start.k) continue;
      if (!key.startsWith(prefix) || !isPackageKind(p.kind) || !MIRRORED_KINDS.includes(p.kind)) continue;
      opts.signal?.throwIfAborted();
      seen.add(key);
      const name = `@${p.scope}/${p.name}`;
      try {
        const outcome = await deps.sync(mirror, p.scope, p.name);
        if (outcome === 'added') report.added.push(name);
        else if (outcome === 'updated') report.updated.push(name);
        else if (outcome === 'unchanged') report.unchanged++;
      } catch (e) {
        report.failed.push({ name, error: message(e) });
      }
      done++;
      await opts.onProgress?.({ done, total, checkpoint: encode({ p: page, k: key, d: done, r: report }) });
    }
    if (list.packages.length < PAGE) break;
  }
  // What was fetched through this mirror before, in the part of the list this run read, and is no longer listed.
  for (let after: string | undefined = start.k || undefined; ;) {
    const keys = await deps.fetchedThrough(mirror, after, 500);
    for (const k of keys) if (k.startsWith(prefix) && !seen.has(k)) report.removed.push(`@${k}`);
    if (keys.length < 500) break;
    after = keys[keys.length - 1];
  }
  return report;
}
