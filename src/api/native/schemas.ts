import { Type, type Static } from 'typebox';
import { ORG_ROLES } from '../../core/accounts/org-roles.js';
import { ExistingVersion } from '../shared/existing-version-schema.js';
import { Finding } from '../shared/finding-schema.js';

/** TypeBox schemas of the native door: they validate requests and generate `/openapi.json`. */

export const ErrorBody = Type.Object(
  { error: Type.String(), details: Type.Optional(Type.Array(Type.String())), existing: Type.Optional(ExistingVersion) },
  { $id: 'NativeError', description: 'Every native error: a human message and, optionally, one line per problem' },
);

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  422: ErrorBody,
  415: ErrorBody,
};

export const KindParam = Type.Enum(['agent', 'skill', 'mcp-server', 'recipe']);

export const PackageParams = Type.Object({
  scope: Type.String({ minLength: 1, maxLength: 101, description: "The scope, with or without '@'" }),
  name: Type.String({ minLength: 1, maxLength: 100 }),
});
export const VersionParams = Type.Object({ ...PackageParams.properties, version: Type.String({ minLength: 1, maxLength: 64 }) });
export const TagParams = Type.Object({ ...PackageParams.properties, tag: Type.String({ minLength: 1, maxLength: 64 }) });

export const DownloadsQuery = Type.Object({
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, default: 30, description: 'How many UTC days, today included' })),
});
export const DownloadsResponse = Type.Object({
  since: Type.String({ description: 'First UTC day of the window (YYYY-MM-DD)' }),
  total: Type.Integer(),
  days: Type.Array(Type.Object({ day: Type.String(), downloads: Type.Integer() }), { description: 'Every day of the window, oldest first (0 when none)' }),
});
export const FilesResponse = Type.Object({
  version: Type.String(),
  files: Type.Array(Type.Object({ path: Type.String(), size: Type.Integer({ description: 'Expanded size in bytes' }) })),
});

const Sort = Type.Enum(['downloads', 'stars', 'newest', 'relevance', 'name']);

export const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200 })),
  kind: Type.Optional(KindParam),
  category: Type.Optional(Type.String({ maxLength: 50 })),
  tag: Type.Optional(Type.String({ maxLength: 50 })),
  scope: Type.Optional(Type.String({ maxLength: 101 })),
  verified: Type.Optional(Type.Boolean({ description: 'Only verified (true) or unverified (false) packages' })),
  deprecated: Type.Optional(Type.Boolean({ description: 'Only packages whose latest version is deprecated (true) or is not (false)' })),
  sort: Type.Optional(Sort),
  mode: Type.Optional(
    Type.Enum(['keyword', 'semantic', 'hybrid'], {
      description:
        'How q ranks: keyword (full-text, the default), semantic (by meaning: embeddings) or hybrid (both, reciprocal rank fusion). semantic and hybrid need an embeddings endpoint on the server (else 422), a q and the relevance order',
    }),
  ),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});
export type ListQuery = Static<typeof ListQuery>;

export const SearchQuery = Type.Object({
  ...ListQuery.properties,
  q: Type.String({ minLength: 1, maxLength: 200 }),
  kind: Type.Optional(Type.Enum(['agent', 'skill', 'mcp-server', 'recipe', 'all'])),
});
export type SearchQuery = Static<typeof SearchQuery>;

const Author = Type.Object({ username: Type.String(), display_name: Type.Optional(Type.Union([Type.String(), Type.Null()])), avatar_url: Type.Union([Type.String(), Type.Null()]) });

/** Where a package taken from an upstream came from. */
const MirrorMark = Type.Object(
  { upstream: Type.String() },
  { description: 'Present when the package was taken from an Agentry upstream (a pull-through mirror, docs/mirrors.md): it is read-only here' },
);

export const ListItem = Type.Object({
  kind: Type.String(),
  scope: Type.String(),
  name: Type.String(),
  full_name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  category: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Array(Type.String()),
  latest_version: Type.Union([Type.String(), Type.Null()]),
  download_count: Type.Integer(),
  star_count: Type.Integer(),
  is_verified: Type.Boolean(),
  author: Author,
  updated_at: Type.String(),
  mirror: Type.Optional(MirrorMark),
});
export type ListItem = Static<typeof ListItem>;

export const listResponse = (key: 'agents' | 'packages') =>
  Type.Object({
    [key]: Type.Array(ListItem),
    total: Type.Integer(),
    /** Present (true) when `total` is an estimate: a broad relevance search counts its matches only up to a bound. */
    total_estimated: Type.Optional(Type.Boolean({ description: 'true when total is an estimate (a broad relevance search, or a list without q, counts a bounded set of the newest matches)' })),
    page: Type.Integer(),
    limit: Type.Integer(),
    mode: Type.Optional(
      Type.Enum(['keyword', 'semantic', 'hybrid'], { description: 'Present when mode was asked: the mode the results were ranked by (keyword when semantic search was unavailable)' }),
    ),
    semantic_unavailable: Type.Optional(Type.String({ description: 'Present when semantic or hybrid was asked but the embeddings endpoint failed: why; keyword results were served' })),
  });

const Findings = Type.Array(Finding, { description: 'What the version was flagged for at publish; empty for most' });

export const Detail = Type.Object({
  ...ListItem.properties,
  readme: Type.Union([Type.String(), Type.Null()]),
  license: Type.Union([Type.String(), Type.Null()]),
  repository: Type.Union([Type.String(), Type.Null()]),
  homepage: Type.Union([Type.String(), Type.Null()]),
  is_featured: Type.Boolean(),
  permissions: Type.Object({ filesystem: Type.Boolean(), network: Type.Boolean(), execute_commands: Type.Boolean() }),
  mcp_servers: Type.Array(Type.String()),
  examples: Type.Array(Type.Object({ prompt: Type.String() }, { additionalProperties: true })),
  dist_tags: Type.Record(Type.String(), Type.String()),
  deprecated: Type.Union([Type.String(), Type.Null()]),
  manifest: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  findings: Type.Array(Finding, { description: 'What the latest version was flagged for at publish; empty for most' }),
  created_at: Type.String(),
  mirror: Type.Optional(MirrorMark),
});
export type Detail = Static<typeof Detail>;

export const VersionItem = Type.Object({
  version: Type.String(),
  tarball_size: Type.Integer(),
  download_count: Type.Integer(),
  session_count: Type.Optional(Type.Integer({ description: "Agent packages, for those who maintain the package's scope only: how many sessions ran this version (agentry run, POST /v1/sessions)" })),
  published_at: Type.String(),
  sha256: Type.String(),
  deprecated: Type.Union([Type.String(), Type.Null()]),
  findings: Findings,
});
export const VersionsResponse = Type.Object({ versions: Type.Array(VersionItem) });

export const DownloadResponse = Type.Object({ tarball_url: Type.String(), sha256: Type.String(), size: Type.Integer() });

/** The multipart publish body; `tarball` is a file part (binary). */
export const PublishBody = Type.Object({
  tarball: Type.Unsafe<Buffer>({ binaryFile: true, description: 'The .tar.gz package' }),
  agent_yaml: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'JSON of agent.yaml, cross-checked against the tarball' })),
  manifest: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'JSON of the manifest (other kinds), cross-checked' })),
  readme: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'README.md content, cross-checked' })),
  version: Type.Optional(Type.String({ maxLength: 64, description: 'The version, for skills whose SKILL.md has no metadata.version' })),
  tag: Type.Optional(Type.String({ maxLength: 64, description: 'A dist-tag to point at the new version' })),
  access: Type.Optional(
    Type.Enum(['public', 'internal', 'private'], {
      description: "Who may read the package: a first publish takes it (default: the scope's default visibility); a later publish that sends it changes it",
    }),
  ),
  signature: Type.Optional(Type.String({ maxLength: 65_536, description: 'A Sigstore bundle (JSON) signing this version: checked against the scope’s keys, then attached as an OCI referrer' })),
});
export type PublishBody = Static<typeof PublishBody>;

export const PublishResponse = Type.Object({
  success: Type.Boolean(),
  version: Type.String(),
  full_name: Type.String(),
  kind: Type.String(),
  sha256: Type.String(),
  url: Type.String(),
});

export const SuccessMessage = Type.Object({ success: Type.Boolean(), message: Type.String() });
export const DistTagsResponse = Type.Object({ success: Type.Optional(Type.Boolean()), dist_tags: Type.Record(Type.String(), Type.String()) });
export const DistTagBody = Type.Object({ version: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export const DeprecateBody = Type.Object({ message: Type.String({ maxLength: 1000 }) }, { additionalProperties: false });
export const DeprecateResponse = Type.Object({ success: Type.Boolean(), version: Type.String(), deprecated: Type.Union([Type.String(), Type.Null()]) });

const Permission = Type.Enum(['read', 'publish', 'admin', 'runtime']);
export const TokenView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  prefix: Type.String(),
  permission: Permission,
  scopes: Type.Union([Type.Array(Type.String()), Type.Null()]),
  expires_at: Type.Union([Type.String(), Type.Null()]),
  last_used_at: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  revoked_at: Type.Union([Type.String(), Type.Null()]),
  all_accounts: Type.Boolean({ description: "A runtime token that resolves every account's secrets, keys and agentspaces (server-wide)" }),
});
export const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    permission: Permission,
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 101 }), { maxItems: 50 })),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    account: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 101,
        description: "Runtime tokens only (administrators): the account or organisation the token belongs to and resolves for; default the creator's own",
      }),
    ),
    all_accounts: Type.Optional(Type.Boolean({ description: "Runtime tokens only (administrators): resolve every account's secrets, keys and agentspaces. Audited at creation and on every resolve" })),
  },
  { additionalProperties: false },
);
export const CreatedToken = Type.Object({
  ...TokenView.properties,
  account: Type.String({ description: 'The account the token belongs to' }),
  token: Type.String({ description: 'Shown only once' }),
});

export const CreateUserBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 39 }),
    display_name: Type.Optional(Type.String({ maxLength: 100 })),
    email: Type.Optional(Type.String({ maxLength: 254, format: 'email' })),
    admin: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const CreatedUser = Type.Object({
  username: Type.String(),
  display_name: Type.Union([Type.String(), Type.Null()]),
  is_admin: Type.Boolean(),
  created_at: Type.String(),
  token: Type.String({ description: 'A publish token for the new user, shown only once' }),
});
export const Profile = Type.Object({
  username: Type.String(),
  kind: Type.String(),
  display_name: Type.Union([Type.String(), Type.Null()]),
  avatar_url: Type.Union([Type.String(), Type.Null()]),
  bio: Type.Union([Type.String(), Type.Null()]),
  website: Type.Union([Type.String(), Type.Null()]),
  agent_count: Type.Integer(),
  total_downloads: Type.Integer(),
  created_at: Type.String(),
});
export const Whoami = Type.Object({
  username: Type.String(),
  display_name: Type.Union([Type.String(), Type.Null()]),
  kind: Type.String(),
  is_admin: Type.Boolean(),
  orgs: Type.Array(Type.Object({ name: Type.String(), role: Type.String() })),
  scopes: Type.Array(Type.String()),
  token: Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    permission: Permission,
    scopes: Type.Union([Type.Array(Type.String()), Type.Null()]),
    expires_at: Type.Union([Type.String(), Type.Null()]),
  }),
});

const Role = Type.Enum([...ORG_ROLES], {
  description: 'owner: manages members and settings, publishes; maintainer: publishes, deprecates, unpublishes, sets dist-tags; member: reads private objects',
});
export const Members = Type.Array(Type.Object({ username: Type.String(), role: Type.String() }));
export const CreateOrgBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 39 }), display_name: Type.Optional(Type.String({ maxLength: 100 })), owner: Type.Optional(Type.String({ maxLength: 39 })) },
  { additionalProperties: false },
);
export const OrgView = Type.Object({ name: Type.String(), display_name: Type.Union([Type.String(), Type.Null()]), members: Members, created_at: Type.String() });
export const MemberBody = Type.Object({ role: Role }, { additionalProperties: false });
export const MembersResponse = Type.Object({ success: Type.Boolean(), members: Members });

export const GcBody = Type.Object({ dry_run: Type.Optional(Type.Boolean()), grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 31_536_000 })) }, { additionalProperties: false });
export const GcResponse = Type.Object({ removed: Type.Array(Type.String()), freed_bytes: Type.Integer(), kept: Type.Integer(), dry_run: Type.Boolean() });

export const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 100 })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  target: Type.Optional(Type.String({ maxLength: 300 })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});
export const AuditResponse = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Type.String(),
      actor: Type.Union([Type.String(), Type.Null()]),
      action: Type.String(),
      target: Type.String(),
      ip: Type.Union([Type.String(), Type.Null()]),
      details: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  total: Type.Integer(),
  page: Type.Integer(),
  limit: Type.Integer(),
});

/** `agentry access`: who may read a package, and what a scope's new packages start with. */
export const Visibility = Type.Enum(['public', 'internal', 'private'], {
  description: 'public: anyone; internal: every signed-in account of this server; private: members of the owning account or organisation (and administrators)',
});
export const AccessBody = Type.Object({ visibility: Visibility }, { additionalProperties: false });
export type AccessBody = Static<typeof AccessBody>;
export const PackageAccess = Type.Object({
  package: Type.String({ description: '@scope/name' }),
  kind: Type.String(),
  visibility: Visibility,
});
export const ScopeAccess = Type.Object({
  scope: Type.String({ description: '@scope' }),
  visibility: { ...Visibility, description: 'The visibility new packages of this scope start with (a publish may choose another)' },
});
export const ScopeParams = Type.Object({ scope: Type.String({ minLength: 1, maxLength: 101, description: "The scope, with or without '@'" }) });
