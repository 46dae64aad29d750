import semver from 'semver';
import type { StorageRepos } from '../storage.js';
import type { PackageKind } from './kinds.js';
import { parseManifest, type PackageManifest } from './manifest/index.js';
import { parsePraisonBundleManifest } from './manifest/praison-bundle.js';
import type { PackagePatch, PackageRecord, VersionRecord } from './package-repo.js';
import { versionSchemeOf } from './version-scheme.js';

const TAG_PATTERN = /^[a-zA-Z][a-zA-Z0-9._-]{0,63}$/;

/** A dist-tag name must not look like a version, or `pull x@1.0.0` would be ambiguous. */
export const distTagProblem = (tag: string): string | undefined => {
  if (!TAG_PATTERN.test(tag)) return `dist-tag '${tag}' is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter`;
  if (semver.valid(tag) || semver.validRange(tag) === tag) return `dist-tag '${tag}' looks like a version`;
  return undefined;
};

/**
 * Recomputes `latest`: the pinned version when one is given or still pinned and present,
 * else the highest version. Returns the new latest. `fresh`: a version this transaction just
 * wrote, with its manifest as validated (a publish): when it becomes latest, its metadata is
 * taken from there rather than read back and validated again; `fresh.only`: it is the package's
 * only version (the transaction created the package too), so the versions are not read back.
 * `also`: other fields the caller changes in the package row (written in the same statement, always).
 */
export const refreshLatest = async (
  tx: StorageRepos,
  pkg: PackageRecord,
  pin?: string,
  fresh?: { record: VersionRecord; manifest: PackageManifest; only?: boolean },
  also: PackagePatch = {},
): Promise<string | null> => {
  const liveVersions = fresh?.only ? [fresh.record] : await tx.packages.listVersions(pkg.id, false);
  const live = liveVersions.map((v) => v.version);
  let latest: string | null;
  let pinned: boolean;
  if (pin) {
    latest = pin;
    pinned = true;
  } else if (pkg.latestPinned && pkg.latestVersion && live.includes(pkg.latestVersion)) {
    latest = pkg.latestVersion;
    pinned = true;
  } else {
    latest = versionSchemeOf(pkg.kind).latest(liveVersions);
    pinned = false;
  }
  const patch: PackagePatch = { ...also };
  if (latest !== pkg.latestVersion || pinned !== pkg.latestPinned) {
    Object.assign(patch, { latestVersion: latest, latestPinned: pinned });
    if (latest && latest !== pkg.latestVersion) {
      if (fresh && fresh.record.version === latest) Object.assign(patch, changedMetadata(pkg, packageMetadata(fresh.manifest, fresh.record.readme)));
      else {
        const v = await tx.packages.findVersion(pkg.id, latest);
        const parsed = v && parseManifestObject(pkg.kind, v.manifest);
        if (v && parsed) Object.assign(patch, packageMetadata(parsed, v.readme));
      }
    }
  }
  // One statement; metadata the package already holds is left out (it would rewrite the search index).
  await tx.packages.update(pkg.id, patch);
  // Its semantic-search vector follows (computed after commit, core/search).
  if (SEARCHED_FIELDS.some((k) => patch[k] !== undefined)) await tx.searchOutbox.enqueue(pkg.id);
  return latest;
};

/**
 * `latest` of a package created with its first version (a first publish), as refreshLatest would
 * set it once that version is written: the pinned version, else what the kind's scheme picks from
 * the one version. Given to the package row as it is inserted, so no second write follows.
 */
export const firstLatest = (kind: PackageKind, first: { version: string; publishedAt: string }, pin?: string): { latestVersion: string | null; latestPinned: boolean } =>
  pin ? { latestVersion: pin, latestPinned: true } : { latestVersion: versionSchemeOf(kind).latest([first]), latestPinned: false };

/** Queues a package whose searched fields a first publish set (as refreshLatest does after its update). */
export const queueFirstForSearch = async (tx: StorageRepos, pkg: PackageRecord): Promise<void> => {
  if (pkg.latestVersion !== null) await tx.searchOutbox.enqueue(pkg.id);
};

/** The fields of `meta` that differ from what `pkg` holds. */
const changedMetadata = (pkg: PackageRecord, meta: ReturnType<typeof packageMetadata>): PackagePatch => {
  const patch: PackagePatch = {};
  for (const k of ['description', 'readme', 'category', 'license', 'repository', 'homepage'] as const) if (pkg[k] !== meta[k]) patch[k] = meta[k];
  if (JSON.stringify(pkg.tags) !== JSON.stringify(meta.tags)) patch.tags = meta.tags;
  return patch;
};

/**
 * Takes retired versions (just unpublished) out of what points at them: drops every dist-tag on one
 * of them and recomputes `latest`, which stops being pinned when it was pinned to one of them.
 * `pkg` is the package as locked before the versions were retired.
 */
export const retireVersions = async (tx: StorageRepos, pkg: PackageRecord, retired: (version: string) => boolean): Promise<void> => {
  const tags = await tx.packages.distTags(pkg.id);
  for (const [tag, target] of Object.entries(tags)) if (retired(target)) await tx.packages.deleteDistTag(pkg.id, tag);
  const pinnedGone = pkg.latestPinned && pkg.latestVersion !== null && retired(pkg.latestVersion);
  await refreshLatest(tx, pinnedGone ? { ...pkg, latestPinned: false } : pkg);
};

/** The package's searchable metadata follows its latest version. */
export const applyVersionMetadata = async (tx: StorageRepos, packageId: number, kind: PackageKind, v: VersionRecord): Promise<void> => {
  const parsed = parseManifestObject(kind, v.manifest);
  if (!parsed) return;
  await tx.packages.update(packageId, packageMetadata(parsed, v.readme));
  await tx.searchOutbox.enqueue(packageId);
};

/** The package fields its semantic-search text is made from (core/search/embedding-text.ts). */
const SEARCHED_FIELDS = ['latestVersion', 'description', 'readme', 'tags'] as const;

/** The searchable metadata a package takes from the manifest of its latest version. */
export const packageMetadata = (m: PackageManifest, readme: string | null) => ({
  description: m.description,
  readme,
  category: m.category,
  tags: m.tags,
  license: m.license,
  repository: m.repository,
  homepage: m.homepage,
});

/** Re-reads a stored manifest object through the kind's validator (it was valid when published). */
const parseManifestObject = (kind: PackageKind, raw: Record<string, unknown>): PackageManifest | undefined => {
  const json = JSON.stringify(raw);
  const parsed = parseManifest(kind, kind === 'skill' ? `---\n${json}\n---\n` : json).manifest;
  return parsed ?? (kind === 'recipe' ? parsePraisonBundleManifest(json).manifest : undefined);
};
