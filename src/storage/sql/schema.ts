import type { Generated } from 'kysely';

/**
 * The relational schema shared by the SQLite and PostgreSQL stores. Timestamps are ISO-8601
 * UTC strings, booleans are 0/1 integers and JSON is text, so one query layer serves both.
 */
export interface Database {
  accounts: AccountsTable;
  org_members: OrgMembersTable;
  scopes: ScopesTable;
  tokens: TokensTable;
  packages: PackagesTable;
  package_documents: PackageDocumentsTable;
  versions: VersionsTable;
  dist_tags: DistTagsTable;
  package_downloads: PackageDownloadsTable;
  audit_log: AuditLogTable;
  oci_blob_links: OciBlobLinksTable;
  oci_manifests: OciManifestsTable;
  oci_manifest_refs: OciManifestRefsTable;
  oci_tags: OciTagsTable;
  oci_uploads: OciUploadsTable;
  oci_signing_keys: OciSigningKeysTable;
  oci_repositories: OciRepositoriesTable;
  package_stars: PackageStarsTable;
  telemetry_counts: TelemetryCountsTable;
  oauth_states: OAuthStatesTable;
  oauth_identities: OAuthIdentitiesTable;
  secret_values: SecretValuesTable;
  secret_root_keys: SecretRootKeysTable;
  agentspaces: AgentspacesTable;
  agentspace_agents: AgentspaceAgentsTable;
  agentspace_secrets: AgentspaceSecretsTable;
  agentspace_parameters: AgentspaceParametersTable;
  publish_idempotency_keys: PublishIdempotencyKeysTable;
  workloads: WorkloadsTable;
  workload_groups: WorkloadGroupsTable;
  client_registrations: ClientRegistrationsTable;
  skill_installs: SkillInstallsTable;
  mirrors: MirrorsTable;
  mirror_tags: MirrorTagsTable;
  mirror_scopes: MirrorScopesTable;
  mirror_packages: MirrorPackagesTable;
  mirror_syncs: MirrorSyncsTable;
  mirror_listings: MirrorListingsTable;
  mirror_mcp_servers: MirrorMcpServersTable;
  mirror_mcp_state: MirrorMcpStateTable;
}

export interface MirrorsTable {
  name: string;
  kind: string;
  url: string;
  username: string | null;
  has_password: number;
  ttl_seconds: number;
  visibility: string;
  created_at: string;
}

export interface MirrorScopesTable {
  scope: string;
  mirror: string;
  upstream: string;
  created_at: string;
}

export interface MirrorPackagesTable {
  pkg_key: string;
  mirror: string;
  checked_at: string;
}

export interface MirrorSyncsTable {
  seq: Generated<number>;
  id: string;
  mirror: string;
  kind: string;
  status: string;
  filter: string | null;
  phase: string;
  done: number;
  total: number | null;
  checkpoint: string | null;
  /** JSON of the report once the job succeeded. */
  report: string | null;
  error: string | null;
  resumed_from: string | null;
  requested_by: string;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface MirrorTagsTable {
  mirror: string;
  repo: string;
  tag: string;
  digest: string;
  checked_at: string;
}

export interface MirrorListingsTable {
  mirror: string;
  repo: string;
  listing: string;
  /** A JSON array of strings. */
  items: string;
  checked_at: string;
}

export interface MirrorMcpServersTable {
  mirror: string;
  key: string;
  version: string;
  name: string;
  namespace: string;
  status: string;
  is_latest: number;
  description: string;
  published_at: string | null;
  updated_at: string | null;
  server_json: string;
  official_json: string | null;
  synced_at: string;
}

export interface MirrorMcpStateTable {
  mirror: string;
  listed_at: string | null;
  run_started_at: string | null;
  checkpoint: string | null;
}

export interface WorkloadsTable {
  name: string;
  owner_account_id: number;
  owner_name: string;
  group_name: string;
  config: string;
  desired: string;
  status: string;
  status_context: string;
  created_at: string;
  started_at: string | null;
  updated_at: string;
}

/** ToolHive-style groups of workloads (core/groups). */
export interface WorkloadGroupsTable {
  name: string;
  created_at: string;
}

/** MCP clients registered to a group ('' = registered with no group). */
export interface ClientRegistrationsTable {
  client: string;
  group_name: string;
  created_at: string;
}

/** Skills an account installed into MCP clients' skills folders (core/skills/skill-installs.ts). */
export interface SkillInstallsTable {
  account_id: number;
  name: string;
  scope: string;
  reference: string;
  tag: string;
  digest: string;
  /** JSON array of client ids. */
  clients: string;
  group_name: string;
  description: string;
  author: string;
  /** JSON array of strings. */
  tags: string;
  installed_at: string;
}

export interface PublishIdempotencyKeysTable {
  account_id: number;
  key: string;
  fingerprint: string;
  package_id: number;
  version: string;
  created_at: string;
  expires_at: string;
}

export interface AccountsTable {
  id: Generated<number>;
  name: string;
  kind: string;
  display_name: string | null;
  email: string | null;
  avatar_url: string | null;
  bio: string | null;
  website: string | null;
  is_admin: number;
  created_at: string;
  updated_at: string;
}

export interface OrgMembersTable {
  org_id: number;
  user_id: number;
  role: string;
  created_at: string;
}

export interface ScopesTable {
  name: string;
  owner_account_id: number;
  default_visibility: Generated<string>;
  created_at: string;
  /** Migration 0031: trusted PEM public keys (JSON array) and whether publishes must be signed (0/1). */
  signing_keys: string | null;
  require_signatures: Generated<number>;
}

export interface TokensTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  hash: string;
  prefix: string;
  permission: string;
  scopes: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  created_at: string;
  all_accounts: Generated<number>;
}

export interface PackagesTable {
  id: Generated<number>;
  kind: string;
  scope: string;
  name: string;
  key: string;
  description: string | null;
  readme: string | null;
  category: string | null;
  tags: string;
  license: string | null;
  repository: string | null;
  homepage: string | null;
  latest_version: string | null;
  latest_pinned: number;
  download_count: Generated<number>;
  star_count: Generated<number>;
  is_verified: Generated<number>;
  is_featured: Generated<number>;
  owner_account_id: number;
  visibility: Generated<string>;
  created_at: string;
  updated_at: string;
}

/** A package's detail document as the native door sends it (migration 0045, see PackageDocument). */
export interface PackageDocumentsTable {
  package_id: number;
  body: string;
  etag: string;
}

export interface VersionsTable {
  id: Generated<number>;
  package_id: number;
  version: string;
  manifest: string;
  readme: string | null;
  digest: string;
  size: number;
  file_count: number;
  unpacked_size: number;
  deprecated: string | null;
  download_count: Generated<number>;
  /** Sessions that ran this version (migration 0029; not part of VersionRecord: only its owners see it). */
  session_count: Generated<number>;
  published_by: number | null;
  published_at: string;
  unpublished_at: string | null;
  unpublish_reason: string | null;
  status_changed_at: string | null;
  /** JSON array of VersionFinding; null (before migration 0033) reads as none. */
  findings: string | null;
}

export interface DistTagsTable {
  package_id: number;
  tag: string;
  version: string;
}

export interface PackageDownloadsTable {
  package_id: number;
  day: string;
  count: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  actor: string | null;
  token_id: number | null;
  action: string;
  target: string;
  ip: string | null;
  details: string;
}

export interface OciBlobLinksTable {
  repo: string;
  digest: string;
  linked_at: string;
}

export interface OciManifestsTable {
  repo: string;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  size: number;
  subject: string | null;
  annotations: string | null;
  created_at: string;
}

export interface OciManifestRefsTable {
  repo: string;
  manifest_digest: string;
  ref_digest: string;
}

export interface OciTagsTable {
  repo: string;
  tag: string;
  digest: string;
  updated_at: string;
}

export interface OciUploadsTable {
  id: string;
  repo: string;
  created_at: string;
}

export interface OciRepositoriesTable {
  repo: string;
  scope: string;
  owner_account_id: number;
  visibility: string;
  agentspace_owner_id: number | null;
  agentspace_id: string | null;
  created_at: string;
}

export interface OciSigningKeysTable {
  id: number;
  secret: string;
}

export interface PackageStarsTable {
  package_id: number;
  account_id: number;
  created_at: string;
}

export interface TelemetryCountsTable {
  package_id: number;
  version: string;
  day: string;
  success: number;
  bucket: number;
  count: number;
}

export interface OAuthStatesTable {
  state_hash: string;
  redirect_uri: string;
  created_at: string;
  expires_at: string;
}

export interface OAuthIdentitiesTable {
  provider: string;
  subject: string;
  account_id: number;
  created_at: string;
}

export interface SecretValuesTable {
  owner: string;
  namespace: string;
  key: string;
  key_id: string;
  ciphertext: string;
  updated_at: string;
}

export interface SecretRootKeysTable {
  key_id: string;
  verifier: string;
  created_at: string;
  retired_at: string | null;
}

export interface AgentspacesTable {
  owner_account_id: number;
  agentspace_id: string;
  name: string;
  namespace: string;
  tag: string;
  description: string | null;
  visibility: string;
  status: string;
  user_id: string | null;
  source_repo_id: string | null;
  on_hold: string;
  created_at: string;
  updated_at: string;
}

export interface AgentspaceAgentsTable {
  owner_account_id: number;
  agentspace_id: string;
  assistant_id: string;
  spec: string;
  validated: number;
  errors: string;
  created_at: string;
  updated_at: string;
}

export interface AgentspaceSecretsTable {
  owner_account_id: number;
  agentspace_id: string;
  assistant_id: string;
  key: string;
  scope: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface AgentspaceParametersTable {
  owner_account_id: number;
  agentspace_id: string;
  assistant_id: string;
  key: string;
  definition: string;
  created_at: string;
  updated_at: string;
}
