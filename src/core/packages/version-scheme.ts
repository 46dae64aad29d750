import semver from 'semver';
import type { PackageKind } from './kinds.js';

/** A published version as the schemes see it: its string and when it was published. */
export interface DatedVersion {
  version: string;
  publishedAt: string;
}

/**
 * How the versions of one package kind are written and ordered: the one place that decides
 * whether a version string is acceptable, which of two versions is newer and which one
 * `latest` follows. Most kinds use strict semver; MCP servers also take opaque versions
 * (the MCP server.json allows them), ordered by publish time.
 *
 * @example
 *   const scheme = versionSchemeOf('mcp-server');
 *   scheme.problem('^1.2.0'); // "version '^1.2.0' is a range; publish one exact version"
 *   scheme.latest([{ version: '1.0.0', publishedAt }, { version: '2024.06', publishedAt }]); // '1.0.0'
 */
export interface VersionScheme {
  /** A short name for messages and docs (`semver`, `semver-or-opaque`). */
  readonly name: string;
  /** Why `version` cannot be published, or undefined when it can. */
  problem(version: string): string | undefined;
  /** Newest first. Ties keep the input order reversed (the later published is newer). */
  sortDesc<T extends DatedVersion>(versions: readonly T[]): T[];
  /** The version `latest` follows when nobody pinned it, or null when there is none. */
  latest(versions: readonly DatedVersion[]): string | null;
}

/** Strict semver: `1.2.3` or `1.2.3-rc.1`; no `v` prefix, no ranges, no build metadata. */
export const isStrictSemver = (v: string): boolean => v.length <= 64 && semver.valid(v) === v && !v.includes('+');

const clip = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** Sorts newest first with `compare` (positive when a is newer); equal ones by publish time, then input order. */
const sortNewestFirst = <T extends DatedVersion>(versions: readonly T[], compare: (a: T, b: T) => number): T[] =>
  versions
    .map((v, i) => ({ v, i }))
    .sort((a, b) => compare(b.v, a.v) || b.v.publishedAt.localeCompare(a.v.publishedAt) || b.i - a.i)
    .map((x) => x.v);

/** The highest release, or the highest pre-release when there is no release yet. Never "the last one published". */
const highestOf = (sorted: readonly DatedVersion[], isPrerelease: (v: string) => boolean): string | null => (sorted.find((v) => !isPrerelease(v.version)) ?? sorted[0])?.version ?? null;

export const semverScheme: VersionScheme = {
  name: 'semver',
  problem: (v) => (isStrictSemver(v) ? undefined : `version '${clip(v)}' is not valid semver`),
  sortDesc: (versions) => sortNewestFirst(versions, (a, b) => semver.compare(a.version, b.version)),
  latest(versions) {
    return highestOf(this.sortDesc(versions), (v) => semver.prerelease(v) !== null);
  },
};

/** `^1.2`, `~1`, `>=1.0.0`, `1.x`, `1.*`, `1.0.0 - 2.0.0`, `a || b`: what npm would read as a range. */
const looksLikeRange = (v: string): boolean => /[\^~<>=*|]/.test(v) || /\s/.test(v) || /(^|\.)[xX](\.|$)/.test(v);

/** Semver with build metadata allowed (`1.0.0+20130313144700`), as the MCP registry accepts it. */
const asSemver = (v: string): string | null => (/^\d/.test(v) && !/\s/.test(v) && semver.parse(v) !== null ? v : null);

/**
 * MCP servers (server.json `version`): semver SHOULD be used, but any exact version string is
 * allowed: at most 255 characters, not `latest`, not a range. Semver versions order by
 * precedence and rank above opaque ones; opaque versions order by publish time.
 */
export const semverOrOpaqueScheme: VersionScheme = {
  name: 'semver-or-opaque',
  problem(v) {
    if (v.length === 0) return 'version must not be empty';
    if (v.length > 255) return 'version is longer than 255 characters';
    if (v.toLowerCase() === 'latest') return "version 'latest' is reserved; publish an exact version";
    if (asSemver(v) === null && looksLikeRange(v)) return `version '${clip(v)}' is a range; publish one exact version`;
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (/[/\\]/.test(v) || /[\u0000-\u001f\u007f]/.test(v)) return `version '${clip(v)}' must not contain '/', '\\' or control characters`;
    return undefined;
  },
  sortDesc: (versions) =>
    sortNewestFirst(versions, (a, b) => {
      const sa = asSemver(a.version);
      const sb = asSemver(b.version);
      if (sa && sb) return semver.compare(sa, sb);
      if (sa) return 1;
      if (sb) return -1;
      return a.publishedAt.localeCompare(b.publishedAt);
    }),
  latest(versions) {
    return highestOf(this.sortDesc(versions), (v) => asSemver(v) !== null && semver.prerelease(v) !== null);
  },
};

/**
 * Integer revisions (1, 2, 3, …), as managed agents number their versions: every change is the
 * next whole number and the highest is the latest. Not a package kind's scheme: managed objects
 * keep their history in core/managed/revision-history.ts, on this scheme.
 */
export const integerRevisionScheme: VersionScheme = {
  name: 'integer',
  problem: (v) => (/^[1-9][0-9]{0,14}$/.test(v) ? undefined : `version '${clip(v)}' is not a whole number from 1`),
  sortDesc: (versions) => sortNewestFirst(versions, (a, b) => Number(a.version) - Number(b.version)),
  latest(versions) {
    return this.sortDesc(versions)[0]?.version ?? null;
  },
};

const SCHEMES: Record<PackageKind, VersionScheme> = {
  agent: semverScheme,
  skill: semverScheme,
  'mcp-server': semverOrOpaqueScheme,
  recipe: semverScheme,
};

/** The version scheme of a package kind. */
export const versionSchemeOf = (kind: PackageKind): VersionScheme => SCHEMES[kind];

/** Bare version strings of one kind, newest first (publish times unknown: opaque ones keep their order). */
export const sortVersionStringsDesc = (kind: PackageKind, versions: readonly string[]): string[] =>
  versionSchemeOf(kind)
    .sortDesc(versions.map((version) => ({ version, publishedAt: '' })))
    .map((v) => v.version);
