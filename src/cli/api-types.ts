/**
 * The parts of the native API's answers (docs/native-api.md) that the CLI reads. Declared here,
 * not imported from the server, because the CLI reaches the server over HTTP only.
 */

export interface Whoami {
  username: string;
  display_name: string | null;
  kind: string;
  is_admin: boolean;
  orgs: { name: string; role: string }[];
  scopes: string[];
  token: { id: number; name: string; permission: string; scopes: string[] | null; expires_at: string | null };
}

export interface PackageListItem {
  kind: string;
  scope: string;
  name: string;
  full_name: string;
  description: string | null;
  category: string | null;
  tags: string[];
  latest_version: string | null;
  download_count: number;
  star_count: number;
  updated_at: string;
}

export interface PackageList {
  packages: PackageListItem[];
  total: number;
  page: number;
  limit: number;
  /** The mode the results were ranked by, when one was asked (`--mode`). */
  mode?: string;
  /** Why semantic search was unavailable (keyword results were served). */
  semantic_unavailable?: string;
}

export interface PackageDetail extends PackageListItem {
  readme: string | null;
  license: string | null;
  repository: string | null;
  homepage: string | null;
  dist_tags: Record<string, string>;
  deprecated: string | null;
  created_at: string;
  /** Present for a package taken from an Agentry upstream (docs/mirrors.md). */
  mirror?: { upstream: string };
}

export interface VersionItem {
  version: string;
  tarball_size: number;
  download_count: number;
  published_at: string;
  sha256: string;
  deprecated: string | null;
}

export interface VersionList {
  versions: VersionItem[];
}

export interface DownloadTarget {
  tarball_url: string;
  sha256: string;
  size: number;
}

export interface PublishResult {
  success: boolean;
  version: string;
  full_name: string;
  kind: string;
  sha256: string;
  url: string;
}

export interface DistTags {
  success?: boolean;
  dist_tags: Record<string, string>;
}

export interface DeprecateResult {
  success: boolean;
  version: string;
  deprecated: string | null;
}

export interface SuccessMessage {
  success: boolean;
  message?: string;
}

export interface TokenView {
  id: number;
  name: string;
  prefix: string;
  permission: string;
  scopes: string[] | null;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
  revoked_at: string | null;
  /** A runtime token for every account (older servers omit it). */
  all_accounts?: boolean;
}

export interface CreatedToken extends TokenView {
  /** The account the token belongs to (older servers omit it). */
  account?: string;
  token: string;
}

export interface CreatedUser {
  username: string;
  display_name: string | null;
  is_admin: boolean;
  created_at: string;
  token: string;
}

export interface OrgMember {
  username: string;
  role: string;
}

export interface OrgView {
  name: string;
  display_name: string | null;
  members: OrgMember[];
  created_at: string;
}

export interface MembersResult {
  success: boolean;
  members: OrgMember[];
}

export interface GcResult {
  removed: string[];
  freed_bytes: number;
  kept: number;
  dry_run: boolean;
}
