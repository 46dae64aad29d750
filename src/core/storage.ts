/**
 * The storage ports of the core. The core talks only to these interfaces; the embedded
 * (SQLite) and scale-out (PostgreSQL) implementations live in `src/storage/` and are chosen
 * by the composition root. Records are plain data: no behaviour, no HTTP.
 */
import type { IdempotencyRepo } from './idempotency/idempotency-repo.js';
import type { Readable } from 'node:stream';
import type { OciRepo } from './oci/ports.js';
import type { OAuthRepo } from './oauth/oauth-repo.js';
import type { StarRepo } from './stars/star-repo.js';
import type { TelemetryRepo } from './telemetry/telemetry-repo.js';
import type { DiscoveryRepo } from './trending/discovery-repo.js';
import type { ManagedRepo } from './managed/managed-storage.js';
import type { ReadFilter, Visibility } from './access/visibility.js';

export type AccountKind = 'user' | 'org';
/**
 * A user's role in an organisation: `owner` manages members and the org's settings and
 * publishes; `maintainer` publishes, deprecates, unpublishes and sets dist-tags in the org's
 * scopes; `member` reads the org's private objects.
 */
export type OrgRole = 'owner' | 'maintainer' | 'member';
/** `read` < `publish` < `admin` is a ladder; `runtime` stands apart: it may only resolve secrets and configs. */
export type TokenPermission = 'read' | 'publish' | 'admin' | 'runtime';
export type PackageKind = 'agent' | 'skill' | 'mcp-server' | 'recipe';

export interface AccountRecord {
  id: number;
  name: string;
  kind: AccountKind;
  displayName: string | null;
  email: string | null;
  avatarUrl: string | null;
  bio: string | null;
  website: string | null;
  isAdmin: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewAccount {
  name: string;
  kind: AccountKind;
  displayName?: string | null;
  email?: string | null;
  isAdmin?: boolean;
}

export interface MembershipRecord {
  orgId: number;
  userId: number;
  role: OrgRole;
  createdAt: string;
}

export interface ScopeRecord {
  name: string;
  ownerAccountId: number;
  /** The visibility a package published to this scope for the first time takes, unless the publish says otherwise. */
  defaultVisibility: Visibility;
  createdAt: string;
}

export interface TokenRecord {
  id: number;
  accountId: number;
  name: string;
  hash: string;
  prefix: string;
  permission: TokenPermission;
  scopes: string[] | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  /**
   * A `runtime` token that resolves the secrets, keys and agentspaces of every account: made only
   * by an administrator, on purpose. Any other runtime token reads only its own account's.
   */
  allAccounts: boolean;
}

export type NewToken = Omit<TokenRecord, 'id' | 'revokedAt' | 'lastUsedAt'>;

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
export type PackagePatch = Partial<
  Pick<
    PackageRecord,
    'description' | 'readme' | 'category' | 'tags' | 'license' | 'repository' | 'homepage' | 'latestVersion' | 'latestPinned' | 'updatedAt'
  >
>;

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
export type VersionContent = Pick<VersionRecord, 'manifest' | 'readme' | 'digest' | 'size' | 'fileCount' | 'unpackedSize' | 'publishedBy' | 'publishedAt'>;

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
  sort: PackageSort;
  offset: number;
  limit: number;
}

export interface AuditRecord {
  id: number;
  at: string;
  actor: string | null;
  tokenId: number | null;
  action: string;
  target: string;
  ip: string | null;
  details: Record<string, unknown>;
}

export type NewAuditRecord = Omit<AuditRecord, 'id'>;

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  offset: number;
  limit: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
}

export interface AccountRepo {
  findById(id: number): Promise<AccountRecord | undefined>;
  /** Case-insensitive. */
  findByName(name: string): Promise<AccountRecord | undefined>;
  insert(account: NewAccount, at: string): Promise<AccountRecord>;
  count(): Promise<number>;
  /** Updates what a sign-in provider says about the account (only the fields given). */
  updateProfile(id: number, patch: Partial<Pick<AccountRecord, 'displayName' | 'email' | 'avatarUrl'>>, at: string): Promise<void>;
  membership(orgId: number, userId: number): Promise<MembershipRecord | undefined>;
  upsertMembership(orgId: number, userId: number, role: OrgRole, at: string): Promise<void>;
  deleteMembership(orgId: number, userId: number): Promise<boolean>;
  listMembers(orgId: number): Promise<Array<{ account: AccountRecord; role: OrgRole }>>;
  listOrgsOf(userId: number): Promise<Array<{ account: AccountRecord; role: OrgRole }>>;
}

export interface ScopeRepo {
  /** Case-insensitive. */
  find(name: string): Promise<ScopeRecord | undefined>;
  /** A new scope takes `defaultVisibility` (the server's default when absent: `public`). */
  insert(name: string, ownerAccountId: number, at: string, defaultVisibility?: Visibility): Promise<ScopeRecord>;
  listByOwner(ownerAccountId: number): Promise<ScopeRecord[]>;
  setDefaultVisibility(name: string, visibility: Visibility): Promise<void>;
}

export interface TokenRepo {
  insert(token: NewToken): Promise<TokenRecord>;
  findByHash(hash: string): Promise<TokenRecord | undefined>;
  findById(id: number): Promise<TokenRecord | undefined>;
  listByAccount(accountId: number): Promise<TokenRecord[]>;
  revoke(id: number, at: string): Promise<void>;
  touch(id: number, at: string): Promise<void>;
}

/** A package with what its detail page needs, read together. */
export interface PackageViewRecord {
  pkg: PackageRecord;
  latest: VersionRecord | undefined;
  owner: AccountRecord | undefined;
  /** Dist-tags other than `latest`. */
  distTags: Record<string, string>;
}

export interface PackageRepo {
  findByKey(key: string): Promise<PackageRecord | undefined>;
  /** The package, its latest version, its owner and its dist-tags, in one read. */
  findView(key: string): Promise<PackageViewRecord | undefined>;
  findById(id: number): Promise<PackageRecord | undefined>;
  /**
   * Tells every server process sharing this store that a package changed, once the transaction
   * commits (PostgreSQL NOTIFY); a no-op where one process owns the store (SQLite).
   */
  announceChange(key: string): Promise<void>;
  /** Locks the package row for the rest of the transaction where the store supports it. */
  lockByKey(key: string): Promise<PackageRecord | undefined>;
  insert(pkg: NewPackage): Promise<PackageRecord>;
  update(id: number, patch: PackagePatch): Promise<void>;
  setVisibility(id: number, visibility: Visibility): Promise<void>;
  query(q: PackageQuery): Promise<Page<PackageRecord>>;
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
  /** Published packages of an owner and their downloads, summed. */
  ownerStats(ownerAccountId: number, read?: ReadFilter): Promise<{ packages: number; downloads: number }>;
}

export interface AuditRepo {
  append(entry: NewAuditRecord): Promise<void>;
  list(q: AuditQuery): Promise<Page<AuditRecord>>;
}

/** Every digest the metadata store still points at, for blob garbage collection. */
export interface BlobRefRepo {
  /**
   * Package tarballs, OCI manifests and what they reference, and blobs linked into an OCI
   * repository since `linkedSince` (ISO time; all links when absent): a blob pushed for a
   * manifest not pushed yet is in use too.
   */
  referencedDigests(linkedSince?: string): Promise<Set<string>>;
  isReferenced(digest: string, linkedSince?: string): Promise<boolean>;
}

/** One encrypted secret value: `ciphertext` is base64 of nonce | encrypted bytes | GCM tag. */
export interface SecretValueRecord {
  owner: string;
  namespace: string;
  key: string;
  /** Which root key encrypted it (see core/secrets/root-keys.ts). */
  keyId: string;
  ciphertext: string;
  updatedAt: string;
}

/** A root key's verifier: a known text encrypted under it, to tell a right key from a wrong one. */
export interface SecretRootKeyRecord {
  keyId: string;
  verifier: string;
  createdAt: string;
  retiredAt: string | null;
}

/** The built-in secret backend's ciphertexts and root-key verifiers. */
export interface SecretValueRepo {
  put(row: SecretValueRecord): Promise<void>;
  get(owner: string, namespace: string, key: string): Promise<SecretValueRecord | undefined>;
  delete(owner: string, namespace: string, key: string): Promise<boolean>;
  listKeys(owner: string, namespace: string): Promise<string[]>;
  /** Up to `limit` values not encrypted under `keyId`, for re-encryption. */
  listNotUnder(keyId: string, limit: number): Promise<SecretValueRecord[]>;
  /** Replaces a value's ciphertext only if it still holds `expected` (a concurrent write wins). */
  replaceCiphertext(row: SecretValueRecord, expected: string): Promise<boolean>;
  keyIdsInUse(): Promise<string[]>;
  verifiers(): Promise<SecretRootKeyRecord[]>;
  insertVerifier(row: SecretRootKeyRecord): Promise<void>;
  retireVerifier(keyId: string, at: string): Promise<void>;
}

/** An agentspace (Alquimia's RepositoryMetadata), owned by the account whose token created it. */
export interface AgentspaceRecord {
  ownerAccountId: number;
  agentspaceId: string;
  name: string;
  namespace: string;
  tag: string;
  description: string | null;
  visibility: 'private' | 'internal' | 'public';
  status: 'enabled' | 'disabled';
  userId: string | null;
  sourceRepoId: string | null;
  onHold: string[];
  createdAt: string;
  updatedAt: string;
}

/** An agent config (AssistantConfig) in an agentspace; `validated` once it passes the schema and needs no migration. */
export interface AgentspaceAgentRecord {
  ownerAccountId: number;
  agentspaceId: string;
  assistantId: string;
  spec: Record<string, unknown>;
  validated: boolean;
  errors: string[];
  createdAt: string;
  updatedAt: string;
}

/** A secret's definition (never its value). Global ones have agentspaceId ''; only local ones have an assistantId. */
export interface AgentspaceSecretRecord {
  ownerAccountId: number;
  agentspaceId: string;
  assistantId: string;
  key: string;
  scope: 'local' | 'shared' | 'global';
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A parameter definition; assistantId '' means every agent of the agentspace. */
export interface AgentspaceParameterRecord {
  ownerAccountId: number;
  agentspaceId: string;
  assistantId: string;
  key: string;
  definition: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface AgentspaceRepo {
  find(ownerAccountId: number, agentspaceId: string): Promise<AgentspaceRecord | undefined>;
  list(ownerAccountId: number): Promise<AgentspaceRecord[]>;
  insert(r: AgentspaceRecord): Promise<void>;
  /** Replaces the row with this owner and id. */
  update(r: AgentspaceRecord): Promise<void>;
  /** The agentspace, its agents, its shared and local secret definitions and its parameters. */
  delete(ownerAccountId: number, agentspaceId: string): Promise<void>;
  listAgents(ownerAccountId: number, agentspaceId: string): Promise<AgentspaceAgentRecord[]>;
  findAgent(ownerAccountId: number, agentspaceId: string, assistantId: string): Promise<AgentspaceAgentRecord | undefined>;
  putAgent(r: AgentspaceAgentRecord): Promise<void>;
  deleteAgent(ownerAccountId: number, agentspaceId: string, assistantId: string): Promise<void>;
  /** Definitions stored under exactly this agentspace id ('' = the owner's global ones). */
  listSecrets(ownerAccountId: number, agentspaceId: string): Promise<AgentspaceSecretRecord[]>;
  putSecret(r: AgentspaceSecretRecord): Promise<void>;
  deleteSecret(ownerAccountId: number, agentspaceId: string, assistantId: string, key: string): Promise<void>;
  listParameters(ownerAccountId: number, agentspaceId: string): Promise<AgentspaceParameterRecord[]>;
  putParameter(r: AgentspaceParameterRecord): Promise<void>;
  deleteParameter(ownerAccountId: number, agentspaceId: string, assistantId: string, key: string): Promise<void>;
}

export interface StorageRepos {
  accounts: AccountRepo;
  scopes: ScopeRepo;
  tokens: TokenRepo;
  packages: PackageRepo;
  audit: AuditRepo;
  blobRefs: BlobRefRepo;
  oci: OciRepo;
  stars: StarRepo;
  discovery: DiscoveryRepo;
  telemetry: TelemetryRepo;
  oauth: OAuthRepo;
  secretValues: SecretValueRepo;
  agentspaces: AgentspaceRepo;
  managed: ManagedRepo;
  idempotency: IdempotencyRepo;
}

export interface Storage extends StorageRepos {
  /** Which implementation this is, for health output and logs. */
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Calls `listener` with the key of every package another process changed (see
   * `announceChange`), and with `undefined` when changes may have been missed (a reconnect).
   */
  onPackageChange(listener: (key: string | undefined) => void): Promise<void>;
  /** Runs `fn` in one transaction: all its writes land, or none. */
  transaction<T>(fn: (tx: StorageRepos) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** The migrations this build knows that the database has not applied (empty when up to date). */
  pendingMigrations(): Promise<string[]>;
  close(): Promise<void>;
}

export interface BlobInfo {
  digest: string;
  size: number;
  modifiedAt: Date;
}

export interface ByteRange {
  start: number;
  /** inclusive */
  end: number;
}

/**
 * Content-addressed bytes (`sha256:<hex>`). Writes are atomic: a blob is either fully
 * there under its digest or not there at all.
 */
export interface BlobStore {
  put(data: Buffer | Readable): Promise<{ digest: string; size: number; created: boolean }>;
  stat(digest: string): Promise<BlobInfo | undefined>;
  open(digest: string, range?: ByteRange): Promise<Readable>;
  read(digest: string): Promise<Buffer>;
  delete(digest: string): Promise<boolean>;
  list(): AsyncIterable<BlobInfo>;
  /** Throws unless a blob could be written now (a probe written and removed; for readiness). */
  checkWritable(): Promise<void>;
}
