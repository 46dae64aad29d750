import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, notFound } from '../errors.js';
import { isStrictSemver } from '../packages/manifest/fields.js';
import type { PackageService } from '../packages/package-service.js';
import { sortVersionStringsDesc } from '../packages/version-scheme.js';
import type { PackageRecord } from '../packages/package-repo.js';
import { utcDay } from '../time.js';
import { durationBucket, histogramQuantile, MAX_DURATION_MS } from './duration-buckets.js';
import type { TelemetryCell } from './telemetry-repo.js';

/** One run report, as agentx's CLI sends it (`POST /telemetry`). */
export interface TelemetryReport {
  /** `@scope/name`, or a bare name when only one agent has it. */
  agentName: string;
  agentVersion: string;
  success: boolean;
  durationMs: number;
}

export interface RunStats {
  runs: number;
  successes: number;
  failures: number;
  /** successes / runs, 0..1; null without runs. */
  successRate: number | null;
  p50DurationMs: number | null;
  p95DurationMs: number | null;
}

export interface TelemetryStats {
  pkg: PackageRecord;
  days: number;
  sinceDay: string;
  total: RunStats;
  versions: Array<RunStats & { version: string }>;
}

/** How long daily counters are kept. */
export const TELEMETRY_RETENTION_DAYS = 90;

/**
 * Anonymous run telemetry, kept in aggregate: a counter per agent, version, UTC day, outcome and
 * duration bucket, for at most 90 days. Reports for unknown agents or versions are refused, so
 * nobody can grow the store with made-up names. Only the agent's owners read the figures.
 */
export class TelemetryService {
  private prunedOn = '';

  constructor(
    private readonly deps: CoreDeps,
    private readonly packages: PackageService,
  ) {}

  /** A run of an agent the caller may read (a private agent's runs are reported with a member's token). */
  async record(ctx: RequestContext, report: TelemetryReport): Promise<void> {
    this.deps.policy.requireWritable();
    if (!Number.isInteger(report.durationMs) || report.durationMs < 0 || report.durationMs > MAX_DURATION_MS) {
      throw badRequest('Validation failed', [`duration_ms: must be a whole number of milliseconds from 0 to ${MAX_DURATION_MS}`]);
    }
    if (!isStrictSemver(report.agentVersion)) throw badRequest('Validation failed', [`agent_version: '${report.agentVersion}' is not valid semver`]);
    const pkg = await this.resolveAgent(ctx, report.agentName);
    const version = await this.deps.storage.packages.findVersion(pkg.id, report.agentVersion);
    if (!version || version.unpublishedAt) throw notFound('Version not found');
    const today = utcDay(this.deps.clock.now());
    await this.deps.storage.telemetry.increment(pkg.id, version.version, today, report.success, durationBucket(report.durationMs));
    if (this.prunedOn !== today) {
      this.prunedOn = today;
      await this.deps.storage.telemetry.prune(utcDay(new Date(this.deps.clock.now().getTime() - TELEMETRY_RETENTION_DAYS * 86_400_000)));
    }
  }

  /** Success rate and p50/p95 durations over the last `days` UTC days, overall and by version; owners only. */
  async stats(ctx: RequestContext, scope: string, name: string, days: number): Promise<TelemetryStats> {
    const pkg = await this.packages.find(ctx, scope, name, 'agent');
    await this.deps.policy.requireScopeMember(ctx, pkg.scope);
    if (!Number.isInteger(days) || days < 1 || days > TELEMETRY_RETENTION_DAYS) {
      throw badRequest('Validation failed', [`days: must be a whole number from 1 to ${TELEMETRY_RETENTION_DAYS}`]);
    }
    const sinceDay = utcDay(new Date(this.deps.clock.now().getTime() - (days - 1) * 86_400_000));
    const cells = await this.deps.storage.telemetry.cells(pkg.id, sinceDay);
    const byVersion = new Map<string, TelemetryCell[]>();
    for (const c of cells) byVersion.set(c.version, [...(byVersion.get(c.version) ?? []), c]);
    const versions = sortVersionStringsDesc(pkg.kind, [...byVersion.keys()]).map((v) => ({ version: v, ...summarize(byVersion.get(v)!) }));
    return { pkg, days, sinceDay, total: summarize(cells), versions };
  }

  /** `@scope/name` names one agent; a bare name must name exactly one. */
  private async resolveAgent(ctx: RequestContext, agentName: string): Promise<PackageRecord> {
    const m = /^@?([^/\s]+)\/([^/\s]+)$/.exec(agentName);
    if (m) return this.packages.find(ctx, m[1], m[2], 'agent');
    const named = await this.deps.storage.discovery.packagesNamed(agentName, 'agent', await this.deps.policy.readFilter(ctx));
    if (named.length === 0) throw notFound('Agent not found');
    if (named.length > 1) {
      throw badRequest('Validation failed', [`agent_name: '${agentName}' is published under several scopes (${named.map((p) => '@' + p.scope).join(', ')}); send '@scope/${agentName}'`]);
    }
    return named[0];
  }
}

const summarize = (cells: TelemetryCell[]): RunStats => {
  let successes = 0;
  let failures = 0;
  const histogram = new Map<number, number>();
  for (const c of cells) {
    if (c.success) successes += c.count;
    else failures += c.count;
    histogram.set(c.bucket, (histogram.get(c.bucket) ?? 0) + c.count);
  }
  const runs = successes + failures;
  return {
    runs,
    successes,
    failures,
    successRate: runs === 0 ? null : Math.round((successes / runs) * 10_000) / 10_000,
    p50DurationMs: histogramQuantile(histogram, 0.5),
    p95DurationMs: histogramQuantile(histogram, 0.95),
  };
};
