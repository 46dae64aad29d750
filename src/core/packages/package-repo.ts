/** Storage port of packages, their versions and dist-tags. */
import type { ReadFilter, Visibility } from '../access/visibility.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { PackageKind } from './kinds.js';
import type { Page } from '../page.js';
import type { VersionFinding } from './publish-findings.js';

export interface PackageRecord {
  id: number;
  kind: PackageKind;
  scope: string;
  name: string;
  /** lower-case `scope/name`: the case-insensitive identity of the package. */
  key: string;
  description: string | null;
  readme: string | null;
  category: string | null;
  tags: string[];
  license: string | null;
  repository: string | null;
  homepage: string | null;
  latestVersion: string | null;
  /** true when `latest` was set by hand and no longer follows the highest release. */
  latestPinned: boolean;
  downloadCount: number;
  starCount: number;
  isVerified: boolean;
  isFeatured: boolean;
  ownerAccountId: number;
  /** Who may read it (see core/access/visibility.ts): set at first publish, changed with `access set`. */
  visibility: Visibility;
  createdAt: string;
  updatedAt: string;
}

export type NewPackage = Omit<PackageRecord, 'id' | 'downloadCount' | 'starCount' | 'isVerified' | 'isFeatured'>;

export type PackagePatch = Partial<Pick<PackageRecord, 'description' | 'readme' | 'category' | 'tags' | 'license' | 'repository' | 'homepage' | 'latestVersion' | 'latestPinned' | 'updatedAt'>>;

export interface VersionRecord {
  id: number;
  packageId: number;
  version: string;
  manifest: Record<string, unknown>;
  readme: string | null;
  /** `sha256:<hex>` of the tarball in the blob store. */
  digest: string;
  size: number;
  fileCount: number;
  unpackedSize: number;
  deprecated: string | null;
  downloadCount: number;
  publishedBy: number | null;
  publishedAt: string;
  unpublishedAt: string | null;
  /** Why the version was unpublished (deleted), when a reason was given. */
  unpublishReason: string | null;
  /** When the version was last deprecated, un-deprecated, unpublished or restored. */
  statusChangedAt: string | null;
  /** What the publish was flagged for (risky permissions, unknown registries); empty for most. */
  findings: VersionFinding[];
}

export type NewVersion = Omit<VersionRecord, 'id' | 'deprecated' | 'downloadCount' | 'unpublishedAt' | 'unpublishReason' | 'statusChangedAt'>;

/**
 * Versions of many packages at once, in a stable order (package key, then publish order), read
 * page by page after a keyset position so that writes between pages never repeat or skip a row.
 */
export interface VersionBrowseQuery {
  kind?: PackageKind;
  /** Case-insensitive substring of `scope/name` or of the version's manifest description. */
  text?: string;
  /** Only versions published or changed at or after this ISO-8601 instant. */
  changedSince?: string;
  /** `latest`: each package's latest version only; a string: that exact version only. */
  version?: { latest: true } | { exact: string };
  includeUnpublished: boolean;
  /** Only versions of packages the caller may read (AccessPolicy.readFilter); absent: all. */
  read?: ReadFilter;
  /** Continue after this position (exclusive). */
  after?: { key: string; versionId: number };
  limit: number;
}

export interface PackageVersionRecord {
  pkg: PackageRecord;
  version: VersionRecord;
}

/** What a forced republish replaces in a version: its content, who published it and when. */
export type VersionContent = Pick<VersionRecord, 'manifest' | 'findings' | 'readme' | 'digest' | 'size' | 'fileCount' | 'unpackedSize' | 'publishedBy' | 'publishedAt'>;

export type PackageSort = 'relevance' | 'downloads' | 'stars' | 'newest' | 'name';

export interface PackageQuery {
  text?: string;
  kind?: PackageKind;
  scope?: string;
  category?: string;
  tag?: string;
  /** Packages carrying at least one of these tags. */
  anyTags?: string[];
  ownerAccountId?: number;
  /** Only verified (true) or unverified (false) packages. */
  verified?: boolean;
  /** Only packages whose latest version is deprecated (true) or is not (false). */
  deprecated?: boolean;
  /** Only the packages the caller may read (AccessPolicy.readFilter); absent: every package (internal use only). */
  read?: ReadFilter;
  /** Only these packages (semantic search's candidates, core/search). */
  ids?: number[];
  sort: PackageSort;
  offset: number;
  limit: number;
}

/** A package with what its detail page needs, read together. */
export interface PackageViewRecord {
  pkg: PackageRecord;
  latest: VersionRecord | undefined;
  owner: AccountRecord | undefined;
  /** Dist-tags other than `latest`. */
  distTags: Record<string, string>;
  /** The change stamp the view was read under (see PackageViewStamps), where the store gives stamps. */
  stamp?: string;
}

/**
 * A package's detail document as the native door sends it (its JSON text and entity tag), kept
 * in the store beside the fields the read rule needs: what an uncached read of a package answers
 * without building its view (see PackageService.document).
 */
export interface PackageDocument {
  kind: string;
  scope: string;
  visibility: Visibility;
  ownerAccountId: number;
  body: string;
  etag: string;
}

export interface PackageRepo {
  findByKey(key: string): Promise<PackageRecord | undefined>;
  /** The package, its latest version, its owner and its dist-tags, in one read. */
  findView(key: string): Promise<PackageViewRecord | undefined>;
  findById(id: number): Promise<PackageRecord | undefined>;
  /** The package's stored detail document with its access fields; undefined: no such package, or none stored yet. */
  findDocument(key: string): Promise<PackageDocument | undefined>;
  /** The package's stored detail document with its id and download count, read on the writing connection (in a transaction: under its lock). */
  findDocumentWithDownloads(key: string): Promise<{ packageId: number; body: string; etag: string; downloadCount: number } | undefined>;
  /** Stores (or replaces) a package's detail document. */
  saveDocument(packageId: number, body: string, etag: string): Promise<void>;
  /** Drops the detail documents of every package `ownerAccountId` owns (its profile, which they show, changed). */
  dropOwnerDocuments(ownerAccountId: number): Promise<void>;
  /** Ids and keys of up to `limit` packages without a stored detail document, oldest first, after package `afterId` (a cursor: 0 from the first). */
  keysWithoutDocument(limit: number, afterId?: number): Promise<Array<{ id: number; key: string }>>;
  /**
   * Tells every server process sharing this store that a package changed, once the transaction
   * commits (PostgreSQL NOTIFY); a no-op where one process owns the store (SQLite).
   */
  announceChange(key: string): Promise<void>;
  /** Locks the package row for the rest of the transaction where the store supports it. */
  lockByKey(key: string): Promise<PackageRecord | undefined>;
  /**
   * Creates the package, or (two first publishes racing, PostgreSQL) waits for the one that
   * created it first and takes its row, locked: `created` says which.
   */
  insert(pkg: NewPackage): Promise<{ pkg: PackageRecord; created: boolean }>;
  update(id: number, patch: PackagePatch): Promise<void>;
  setVisibility(id: number, visibility: Visibility): Promise<void>;
  /** A page of packages with their owners, read together. */
  query(q: PackageQuery): Promise<Page<PackageRecord> & { owners: Map<number, AccountRecord> }>;
  /** How many packages have a published version, counted exactly (listings bound their totals): those `read` lets through, else every visibility (an operator's figure). */
  countPublished(read?: ReadFilter): Promise<number>;
  listVersions(packageId: number, includeUnpublished: boolean): Promise<VersionRecord[]>;
  findVersion(packageId: number, version: string): Promise<VersionRecord | undefined>;
  /** Versions (not unpublished) whose tarball is `digest`, at most `limit`: who owns a blob. */
  versionsWithDigest(digest: string, limit: number): Promise<VersionRecord[]>;
  insertVersion(v: NewVersion): Promise<VersionRecord>;
  /** A forced republish: the version row keeps its id and counts and takes new content. */
  replaceVersionContent(versionId: number, content: VersionContent): Promise<void>;
  /** `at` (when given) is recorded as the version's status change time. */
  setDeprecated(versionId: number, message: string | null, at?: string): Promise<void>;
  markUnpublished(versionId: number, at: string, reason?: string | null): Promise<void>;
  /** Takes an unpublished version back (its number was never reusable by anything else). */
  restoreVersion(versionId: number, at: string): Promise<void>;
  browseVersions(q: VersionBrowseQuery): Promise<PackageVersionRecord[]>;
  distTags(packageId: number): Promise<Record<string, string>>;
  setDistTag(packageId: number, tag: string, version: string): Promise<void>;
  deleteDistTag(packageId: number, tag: string): Promise<boolean>;
  recordDownload(packageId: number, versionId: number, day: string): Promise<void>;
  /** Counts one session that ran a version (an agent package run as a session, issue 19). */
  countSession(versionId: number): Promise<void>;
  /** How many sessions ran each version of a package (unpublished ones included), by version id. */
  sessionCounts(packageId: number): Promise<Map<number, number>>;
  /** Published packages of an owner and their downloads, summed. */
  ownerStats(ownerAccountId: number, read?: ReadFilter): Promise<{ packages: number; downloads: number }>;
}
