import { badGateway, isAgentryError, validationFailed } from '../errors.js';
import { parseManifest } from '../oci/manifest.js';
import { parseRepositoryName, type RepositoryName } from '../oci/references.js';
import { isoNow, type Clock } from '../time.js';
import type { MirrorRecord } from './mirror.js';
import type { MirrorSyncOptions, MirrorSyncReport } from './mirror-sync.js';
import type { OciMirror } from './oci-mirror.js';

export interface OciSyncDeps {
  oci: OciMirror;
  clock: Clock;
}

/** An OCI sync's filter: which upstream repositories (all the upstream's catalog lists when none), which of their tags. */
export interface OciSyncFilter {
  repositories: string[] | null;
  tags: RegExp | null;
}

const MAX_REPOSITORIES = 100;
const TAG_PATTERN = /^[A-Za-z0-9_.*?-]{1,128}$/;
/** How deep an index may nest indexes (an index of indexes is allowed by the spec, rarely seen). */
const MAX_DEPTH = 4;

/**
 * Reads an OCI filter: `[repository[,repository…]][:tag pattern]`, where the pattern has `*` (any
 * run of characters) and `?` (one). `team/app,lib/tool:1.*`, `team/app`, `:v*`. Throws a
 * validation error naming what is wrong.
 */
export const parseOciSyncFilter = (filter: string | undefined): OciSyncFilter => {
  if (filter === undefined || filter === '') return { repositories: null, tags: null };
  const colon = filter.indexOf(':');
  const repoPart = colon < 0 ? filter : filter.slice(0, colon);
  const tagPart = colon < 0 ? '' : filter.slice(colon + 1);
  const problems: string[] = [];
  const repositories = repoPart === '' ? null : repoPart.split(',').map((r) => r.trim());
  if (repositories) {
    if (repositories.length > MAX_REPOSITORIES) problems.push(`at most ${MAX_REPOSITORIES} repositories`);
    for (const r of repositories.slice(0, MAX_REPOSITORIES)) {
      try {
        if (r.length > 200) throw new Error('too long');
        parseRepositoryName(`mirror/${r}`);
      } catch {
        problems.push(`'${r.slice(0, 80)}' is not a repository name (lower-case components such as team/app)`);
      }
    }
  }
  if (colon >= 0 && !TAG_PATTERN.test(tagPart)) problems.push(`the tag pattern '${tagPart.slice(0, 80)}' must be 1-128 letters, digits, '.', '_', '-', '*' and '?'`);
  if (problems.length > 0) throw validationFailed(problems, `Invalid OCI sync filter '${filter.slice(0, 200)}': [repository[,repository…]][:tag pattern]`);
  const tags = colon < 0 ? null : new RegExp(`^${tagPart.replace(/[.-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return { repositories: repositories && [...new Set(repositories)], tags };
};

/**
 * Where an OCI sync is: the repositories it works through, the one it is in and the last tag done
 * there (tags go in byte order), and the report so far. Tags are listed again when a run resumes,
 * so the checkpoint stays small however many there are.
 */
interface OciCheckpoint {
  v: 1;
  repositories: string[];
  repo: number;
  after: string | null;
  done: number;
  total: number;
  report: MirrorSyncReport;
}

const readCheckpoint = (s: string | undefined): OciCheckpoint | undefined => {
  if (!s) return undefined;
  try {
    const c = JSON.parse(s) as OciCheckpoint;
    return c.v === 1 && Array.isArray(c.repositories) && Number.isInteger(c.repo) && typeof c.report === 'object' ? c : undefined;
  } catch {
    return undefined;
  }
};

const messageOf = (e: unknown): string => (isAgentryError(e) || e instanceof Error ? e.message : String(e)).slice(0, 1000);
const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The OCI syncer (Zot's periodic sync, Harbor's pull replication): for each repository of the filter
 * (else of the upstream's catalog), every tag matching the pattern is resolved upstream, its manifest
 * (an index's child manifests too) and every blob not stored yet are fetched through the same
 * routines on-demand pulls use, and the tag is recorded. A tag the mirror holds that the upstream
 * no longer has (within the filter) is removed (its manifests stay, by digest). Report: `added` a
 * tag new to the mirror, `updated` one that moved or whose content was completed, `removed`, and the
 * count of those already complete.
 */
export const syncOciMirror = async (deps: OciSyncDeps, m: MirrorRecord, opts: MirrorSyncOptions): Promise<MirrorSyncReport> => {
  const upstream = deps.oci.port;
  if (!upstream) throw badGateway('This server reaches no OCI upstream');
  const filter = parseOciSyncFilter(opts.filter);
  const endpoint = await deps.oci.endpointOf(m);
  const matching = (tags: string[]): string[] => tags.filter((t) => !filter.tags || filter.tags.test(t)).sort(byteOrder);
  const repoOf = (r: string): RepositoryName => parseRepositoryName(`${m.name}/${r}`);
  const signal = opts.signal;

  let cp = readCheckpoint(opts.checkpoint);
  /** Tags listed while the work was planned, so the first pass does not list them twice. */
  const listed = new Map<string, string[]>();
  if (!cp) {
    const report: MirrorSyncReport = { added: [], updated: [], unchanged: 0, removed: [], failed: [] };
    await opts.onProgress?.({ done: 0, total: null, checkpoint: '' });
    const repositories = filter.repositories ?? (await upstream.repositories(endpoint)).sort(byteOrder);
    let total = 0;
    for (const r of repositories) {
      signal?.throwIfAborted();
      let tags: string[] | undefined;
      try {
        tags = await upstream.tags(endpoint, r);
      } catch (e) {
        report.failed.push({ name: r, error: messageOf(e) });
        continue;
      }
      if (tags === undefined) {
        report.failed.push({ name: r, error: `the upstream at ${m.url} has no repository ${r}` });
        continue;
      }
      const wanted = matching(tags);
      listed.set(r, wanted);
      total += wanted.length;
      // What the upstream dropped goes from the mirror too (by tag; its content stays by digest).
      const repo = repoOf(r);
      for (const t of matching(await deps.oci.localTags(repo))) {
        if (tags.includes(t)) continue;
        await deps.oci.removeTag(m, repo, t);
        report.removed.push(`${r}:${t}`);
      }
    }
    cp = { v: 1, repositories: [...listed.keys()], repo: 0, after: null, done: 0, total, report };
    await opts.onProgress?.({ done: 0, total, checkpoint: JSON.stringify(cp) });
  }

  const { report } = cp;
  for (; cp.repo < cp.repositories.length; cp.repo++, cp.after = null) {
    const r = cp.repositories[cp.repo];
    const repo = repoOf(r);
    let tags = listed.get(r);
    if (!tags) {
      signal?.throwIfAborted();
      try {
        tags = matching((await upstream.tags(endpoint, r)) ?? []);
      } catch (e) {
        report.failed.push({ name: r, error: messageOf(e) });
        continue;
      }
    }
    for (const tag of tags) {
      if (cp.after !== null && byteOrder(tag, cp.after) <= 0) continue;
      signal?.throwIfAborted();
      const name = `${r}:${tag}`;
      try {
        const outcome = await syncTag(deps, m, repo, r, tag, signal);
        if (outcome === 'unchanged') report.unchanged += 1;
        else report[outcome].push(name);
      } catch (e) {
        if (signal?.aborted) throw e;
        report.failed.push({ name, error: messageOf(e) });
      }
      cp.after = tag;
      cp.done += 1;
      cp.total = Math.max(cp.total, cp.done);
      await opts.onProgress?.({ done: cp.done, total: cp.total, checkpoint: JSON.stringify(cp) });
    }
  }
  return report;
};

/** One tag: resolved upstream, its content copied where missing, recorded. */
const syncTag = async (deps: OciSyncDeps, m: MirrorRecord, repo: RepositoryName, upstreamRepo: string, tag: string, signal: AbortSignal | undefined): Promise<'added' | 'updated' | 'unchanged'> => {
  const before = await deps.oci.localTag(repo, tag);
  const digest = await deps.oci.port?.resolve(await deps.oci.endpointOf(m), upstreamRepo, tag);
  if (!digest) throw new Error(`the upstream at ${m.url} no longer has ${upstreamRepo}:${tag}`);
  const fetched = await copyTree(deps, m, repo, digest, 0, signal);
  await deps.oci.recordTag(m, repo, tag, digest, isoNow(deps.clock));
  return before === undefined ? 'added' : before !== digest || fetched ? 'updated' : 'unchanged';
};

/** A manifest, its child manifests and their blobs, each fetched when not stored yet; whether anything was. */
const copyTree = async (deps: OciSyncDeps, m: MirrorRecord, repo: RepositoryName, digest: string, depth: number, signal: AbortSignal | undefined): Promise<boolean> => {
  if (depth > MAX_DEPTH) throw new Error(`indexes nested deeper than ${MAX_DEPTH} at ${digest}`);
  const { content, fetched } = await deps.oci.ensureManifest(m, repo, digest);
  const parsed = parseManifest(content.bytes, content.mediaType);
  let any = fetched;
  for (const child of parsed.manifests) {
    signal?.throwIfAborted();
    if (await copyTree(deps, m, repo, child.digest, depth + 1, signal)) any = true;
  }
  for (const blob of parsed.blobs) {
    signal?.throwIfAborted();
    if ((await deps.oci.ensureBlob(m, repo, blob.digest)).fetched) any = true;
  }
  return any;
};
