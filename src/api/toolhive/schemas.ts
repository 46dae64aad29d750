import { Type, type Static } from 'typebox';

/** TypeBox schemas of ToolHive's registry and skills API (003): they validate requests and document `/openapi.json`. */

const Str = Type.String();
const Opt = <T extends Parameters<typeof Type.Optional>[0]>(t: T) => Type.Optional(t);
const AnyMap = Type.Record(Type.String(), Type.Unknown());

export const ToolhiveTextError = Type.String({ description: 'ToolHive answers errors on /api/v1beta as plain text' });
export const textErrors = {
  400: ToolhiveTextError,
  401: ToolhiveTextError,
  403: ToolhiveTextError,
  404: ToolhiveTextError,
  409: ToolhiveTextError,
  413: ToolhiveTextError,
  415: ToolhiveTextError,
  501: ToolhiveTextError,
};

export const RegistryError = Type.Object(
  { code: Type.String({ description: 'A machine-readable error code (not_found, bad_request, internal_error, …)' }), message: Str },
  { $id: 'ToolhiveRegistryError', description: "ToolHive's registryErrorResponse" },
);
export const registryErrors = { 400: RegistryError, 404: RegistryError, 414: RegistryError };

const EnvVar = Type.Object({ name: Str, description: Opt(Str), required: Type.Boolean(), secret: Opt(Type.Boolean()), default: Opt(Str) });
const Header = Type.Object({ ...EnvVar.properties, choices: Opt(Type.Array(Str)) });
const ServerMetadata = Type.Object({ stars: Type.Integer(), pulls: Type.Integer(), last_updated: Str, kubernetes: Opt(AnyMap) });

const BaseServer = {
  name: Str,
  title: Opt(Str),
  description: Str,
  tier: Str,
  status: Str,
  transport: Str,
  tools: Type.Array(Str),
  tags: Type.Array(Str),
  repository_url: Opt(Str),
  overview: Opt(Str),
  proxy_port: Opt(Type.Integer()),
  metadata: ServerMetadata,
  custom_metadata: Opt(AnyMap),
  env_vars: Opt(Type.Array(EnvVar)),
};

export const ImageMetadata = Type.Object(
  {
    ...BaseServer,
    image: Str,
    target_port: Opt(Type.Integer()),
    args: Opt(Type.Array(Str)),
    docker_tags: Opt(Type.Array(Str)),
    permissions: Opt(AnyMap),
    provenance: Opt(AnyMap),
  },
  { $id: 'ToolhiveImageMetadata', description: 'A server ToolHive runs from a container image (or an npx:// / uvx:// package)' },
);

export const RemoteServerMetadata = Type.Object(
  { ...BaseServer, url: Str, headers: Opt(Type.Array(Header)), oauth_config: Opt(AnyMap) },
  { $id: 'ToolhiveRemoteServerMetadata', description: 'A remote server ToolHive proxies to' },
);

const Group = Type.Object({ name: Str, description: Str, servers: Type.Record(Str, ImageMetadata), remote_servers: Type.Record(Str, RemoteServerMetadata) });

export const RegistryDocument = Type.Object({
  version: Str,
  last_updated: Str,
  servers: Type.Record(Str, ImageMetadata),
  remote_servers: Type.Record(Str, RemoteServerMetadata),
  groups: Type.Array(Group),
});

export const RegistryInfo = Type.Object({
  name: Str,
  type: Str,
  source: Str,
  version: Str,
  last_updated: Str,
  server_count: Type.Integer(),
  auth_status: Str,
  auth_type: Str,
});

export const RegistryList = Type.Object({ registries: Type.Array(RegistryInfo) });
export const RegistryDetail = Type.Object({ ...RegistryInfo.properties, registry: RegistryDocument });
export const ServerList = Type.Object({ servers: Type.Array(ImageMetadata), remote_servers: Type.Array(RemoteServerMetadata) });
export const ServerDetail = Type.Object({ is_remote: Type.Boolean(), server: Opt(ImageMetadata), remote_server: Opt(RemoteServerMetadata) });

export const RegistryParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100, description: "Registry name (only 'default' exists)" }) });
export const ServerParams = Type.Object({
  name: RegistryParams.properties.name,
  serverName: Type.String({ minLength: 1, maxLength: 300, description: "The server's name in this registry, or its reverse-DNS name" }),
});

const UrlField = (description: string) => Opt(Type.String({ minLength: 1, maxLength: 2048, description }));

export const UpdateRegistryBody = Type.Object(
  {
    url: UrlField('A registry URL: taken as an MCP registry API base (a .json registry file is refused)'),
    api_url: UrlField("An MCP registry API base (the official registry's, or any /v0.1 server): becomes the MCP mirror 'default'"),
    local_path: Opt(Type.String({ maxLength: 4096, description: 'Refused: a server reads no local registry files' })),
    allow_private_ip: Opt(Type.Boolean({ description: 'Accepted; the egress policy (--egress-allow) decides which addresses the server may call' })),
    auth: Opt(AnyMap),
  },
  { additionalProperties: false },
);

export const UpdateRegistryResponse = Type.Object({ type: Type.String({ description: "'api' (an MCP upstream is set) or 'default' (none: only this registry's own servers)" }) });

// --- the MCP-format catalogue under /registry/{registryName}/v0.1 ---

export const ServerJson = Type.Object(
  { name: Str, description: Opt(Str), version: Opt(Str), title: Opt(Str) },
  { additionalProperties: true, $id: 'ToolhiveServerJSON', description: 'An MCP server.json, as published' },
);

/** A paging value as ToolHive reads it: anything is accepted, and what is not a positive integer is defaulted. */
const PagingValue = (description: string) => Opt(Type.Union([Type.String(), Type.Integer()], { description }));

export const PageQuery = Type.Object({
  q: Opt(Type.String({ maxLength: 200, description: 'Matches names and descriptions' })),
  page: PagingValue('Page number, 1-based (default 1; anything but a positive integer means 1)'),
  limit: PagingValue('Items per page, at most 200 (default 50; more is capped at 200; anything but a positive integer means 50)'),
});
export type PageQuery = Static<typeof PageQuery>;

const PageMetadata = Type.Object({ total: Type.Integer(), page: Type.Integer(), limit: Type.Integer() });

export const CatalogueParams = Type.Object({ registryName: Type.String({ minLength: 1, maxLength: 100, description: 'Registry name (accepted and ignored)' }) });
export const CatalogueServerParams = Type.Object({
  registryName: CatalogueParams.properties.registryName,
  serverName: Type.String({ minLength: 1, maxLength: 300, description: "Reverse-DNS server name with the '/' sent as %2F" }),
});
export const CatalogueSkillParams = Type.Object({
  registryName: CatalogueParams.properties.registryName,
  namespace: Type.String({ minLength: 1, maxLength: 101 }),
  skillName: Type.String({ minLength: 1, maxLength: 100 }),
});

export const ServersV01 = Type.Object({ metadata: PageMetadata, servers: Type.Array(ServerJson) });

export const Skill = Type.Object(
  {
    namespace: Str,
    name: Str,
    description: Str,
    version: Str,
    status: Str,
    title: Opt(Str),
    license: Opt(Str),
    compatibility: Opt(Str),
    allowedTools: Type.Array(Str),
    metadata: Type.Record(Str, Str),
    repository: Opt(Type.Object({ type: Str, url: Str })),
    icons: Type.Array(Type.Object({ src: Str, type: Opt(Str), size: Opt(Str), label: Opt(Str) })),
    packages: Type.Array(Type.Object({ registryType: Str, identifier: Str, digest: Str, mediaType: Str, url: Str, ref: Str })),
    _meta: AnyMap,
  },
  { $id: 'ToolhiveSkill' },
);
export const SkillsV01 = Type.Object({ metadata: PageMetadata, skills: Type.Array(Skill) });

// --- skills ---

export const ValidateSkillBody = Type.Object(
  {
    path: Opt(Type.String({ minLength: 1, maxLength: 4096, description: 'A skill folder on the server, under AGENTRY_SKILLS_ROOT' })),
    ref: Opt(Type.String({ minLength: 1, maxLength: 300, description: 'A skill this registry holds: @scope/name[@version]' })),
  },
  { additionalProperties: false },
);
export type ValidateSkillBody = Static<typeof ValidateSkillBody>;

export const ValidateSkillMultipart = Type.Object({
  archive: Type.Unsafe<Buffer>({ binaryFile: true, description: 'The skill as a .tar.gz (SKILL.md at its root or in one top-level folder)' }),
  name: Opt(Type.String({ maxLength: 100, description: "The skill's folder name, when SKILL.md is at the archive's root" })),
});

export const ValidateSkillQuery = Type.Object({
  name: Opt(Type.String({ maxLength: 100, description: "The skill's folder name, for an archive with SKILL.md at its root" })),
});

export const ValidationResult = Type.Object({ valid: Type.Boolean(), errors: Type.Array(Str), warnings: Type.Array(Str) });

export const ContentQuery = Type.Object({ ref: Type.String({ minLength: 1, maxLength: 300, description: 'A skill this registry holds: @scope/name[@version]' }) });
export const SkillContent = Type.Object({
  name: Str,
  description: Str,
  version: Str,
  license: Str,
  body: Str,
  files: Type.Array(Type.Object({ path: Str, size: Type.Integer() })),
});

// --- skill installs (pkg/skills InstalledSkill, SkillInfo; pkg/api/v1 installSkillRequest) ---

const ScopeQuery = Type.Optional(Type.String({ maxLength: 20, description: 'user (the only scope offered) or project (refused: Agentry installs for the user only)' }));
const ProjectRoot = Type.Optional(Type.String({ maxLength: 1024, description: 'Project root for project-scoped skills (not offered: must be empty)' }));

export const SkillMetadata = Type.Object(
  { name: Str, description: Str, version: Str, author: Str, tags: Type.Array(Str) },
  { $id: 'ToolhiveSkillMetadata', description: "The skill's SKILL.md fields" },
);
export const InstalledSkill = Type.Object(
  {
    metadata: SkillMetadata,
    scope: Type.String({ enum: ['user', 'project'] }),
    reference: Type.String({ description: 'What was installed: @scope/name@version, or the OCI reference given' }),
    tag: Type.String({ description: 'The version installed' }),
    digest: Type.String({ description: "The stored archive's digest (sha256:…)" }),
    status: Type.String({ enum: ['installed', 'pending', 'failed'] }),
    installed_at: Str,
    clients: Type.Array(Str, { description: 'Clients whose skills folder holds it' }),
    dependencies: Type.Array(Type.Object({ name: Str, reference: Str, digest: Str })),
  },
  { $id: 'ToolhiveInstalledSkill' },
);
export const SkillListQuery = Type.Object({
  scope: ScopeQuery,
  client: Type.Optional(Type.String({ maxLength: 100, description: 'Only skills installed for this client' })),
  project_root: ProjectRoot,
  group: Type.Optional(Type.String({ maxLength: 100, description: 'Only skills installed into this group' })),
});
export const SkillListResponse = Type.Object({ skills: Type.Array(InstalledSkill) });
export const InstallSkillBody = Type.Object({
  name: Type.String({ maxLength: 300, description: 'A skill of this registry: @scope/name (optionally @version), or an OCI reference to this server' }),
  version: Type.Optional(Type.String({ maxLength: 128, description: 'Version or dist-tag (empty: latest)' })),
  scope: ScopeQuery,
  project_root: ProjectRoot,
  clients: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50, description: 'Client ids, or ["all"]; omitted: every installed client that reads skills' })),
  group: Type.Optional(Type.String({ maxLength: 100, description: 'Group to add the skill to (default: default)' })),
  force: Type.Optional(Type.Boolean({ description: 'Replace a folder of that name Agentry did not install' })),
});
export const InstallSkillResponse = Type.Object({ skill: InstalledSkill });
export const SkillParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100, description: 'Skill name' }) });
export const SkillScopeQuery = Type.Object({ scope: ScopeQuery, project_root: ProjectRoot });
export const SkillInfo = Type.Object({ installed_skill: InstalledSkill, metadata: SkillMetadata }, { $id: 'ToolhiveSkillInfo' });
