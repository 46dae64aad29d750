import { isPlainObject } from '../../core/packages/manifest/fields.js';
import type { PackageView } from '../../core/packages/package-service.js';
import { statusOf } from '../../core/packages/version-status.js';
import { MIRROR_META_KEY, type CachedMcpServer } from '../../core/mirrors/mcp-mirror.js';

/**
 * MCP server.json (as published, the latest version of an `mcp-server` package) → ToolHive's
 * registry shapes (ImageMetadata for container-run servers, RemoteServerMetadata for remotes).
 * Translation only. ToolHive's own fields that server.json lacks (tier, tools, permissions,
 * provenance, …) are read from the publisher-provided `_meta` block ToolHive itself writes:
 * `_meta["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"][<image or url>]`.
 */

type Json = Record<string, unknown>;

export interface EnvVar {
  name: string;
  description?: string;
  required: boolean;
  secret?: boolean;
  default?: string;
}

export interface Header extends EnvVar {
  choices?: string[];
}

interface BaseServer {
  name: string;
  title?: string;
  description: string;
  tier: string;
  status: string;
  transport: string;
  tools: string[];
  tags: string[];
  repository_url?: string;
  overview?: string;
  proxy_port?: number;
  metadata: { stars: number; pulls: number; last_updated: string; kubernetes?: Json };
  custom_metadata?: Json;
  env_vars?: EnvVar[];
}

export interface ImageServer extends BaseServer {
  image: string;
  target_port?: number;
  args?: string[];
  docker_tags?: string[];
  permissions?: Json;
  provenance?: Json;
}

export interface RemoteServer extends BaseServer {
  url: string;
  headers?: Header[];
  oauth_config?: Json;
}

export type ToolhiveServer = { remote: false; key: string; fullName: string; server: ImageServer } | { remote: true; key: string; fullName: string; server: RemoteServer };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Json | undefined => (isPlainObject(v) ? v : undefined);
const defined = <T extends Json>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** The reverse-DNS name of a stored server (`io.github.alice/weather`). */
export const serverFullName = (view: PackageView): string => {
  const name = str(view.latest?.manifest.name);
  return name ?? `${view.pkg.scope}/${view.pkg.name}`;
};

/** What a ToolHive server is made from: a server.json and the registry's facts about it (a local package's, or an upstream's). */
export interface ServerSource {
  serverJson: Json;
  fullName: string;
  deprecated: boolean;
  description: string;
  tags: string[];
  repository: string | undefined;
  stars: number;
  pulls: number;
  updatedAt: string;
  /** The upstream it comes from, for a mirrored server (marked `custom_metadata["dev.agentry/mirror"]`). */
  upstream?: string;
}

/** A local package's latest version as a server source (undefined when it has none). */
export const sourceOfView = (view: PackageView): ServerSource | undefined =>
  view.latest && {
    serverJson: view.latest.manifest,
    fullName: serverFullName(view),
    deprecated: Boolean(view.latest.deprecated),
    description: view.pkg.description ?? '',
    tags: view.pkg.tags,
    repository: view.pkg.repository ?? undefined,
    stars: view.pkg.starCount,
    pulls: view.pkg.downloadCount,
    updatedAt: view.pkg.updatedAt,
  };

/** An upstream's server (its latest version, cached) as a server source. */
export const sourceOfUpstream = (r: CachedMcpServer, upstream: string): ServerSource => ({
  serverJson: r.server,
  fullName: r.name,
  deprecated: r.status === 'deprecated',
  description: r.description,
  tags: [],
  repository: undefined,
  stars: 0,
  pulls: 0,
  updatedAt: r.updatedAt ?? r.publishedAt ?? r.syncedAt,
  upstream,
});

/** ToolHive's extension block for this server, if the publisher wrote one. */
const stacklokExtensions = (serverJson: Json): Json => {
  const meta = obj(serverJson._meta);
  const provided = obj(meta?.['io.modelcontextprotocol.registry/publisher-provided']);
  const stacklok = obj(provided?.['io.github.stacklok']);
  if (!stacklok) return {};
  for (const value of Object.values(stacklok)) {
    const ext = obj(value);
    if (ext) return ext;
  }
  return {};
};

const inputs = (list: unknown): EnvVar[] =>
  (Array.isArray(list) ? list : [])
    .map(obj)
    .filter((e): e is Json => e !== undefined && typeof e.name === 'string')
    .map((e) =>
      defined({
        name: e.name as string,
        description: str(e.description),
        required: e.isRequired === true,
        secret: e.isSecret === true ? true : undefined,
        default: str(e.default),
        choices: Array.isArray(e.choices) ? strList(e.choices) : undefined,
      }),
    );

/** `thv run` takes container images and, for npm and PyPI packages, its `npx://` and `uvx://` schemes. */
const imageOf = (pkg: Json, version: string | undefined): string | undefined => {
  const id = str(pkg.identifier);
  if (!id) return undefined;
  const v = str(pkg.version) ?? version;
  switch (str(pkg.registryType)) {
    case 'oci':
      return id;
    case 'npm':
      return `npx://${id}${v ? `@${v}` : ''}`;
    case 'pypi':
      return `uvx://${id}${v ? `@${v}` : ''}`;
    default:
      return undefined;
  }
};

const portOf = (url: unknown): number | undefined => {
  if (typeof url !== 'string') return undefined;
  try {
    const port = new URL(url).port;
    return port ? Number(port) : undefined;
  } catch {
    return undefined;
  }
};

const base = (src: ServerSource, serverJson: Json, ext: Json, key: string, transport: string): BaseServer => {
  const deprecated = src.deprecated ? 'Deprecated' : undefined;
  const repo = obj(serverJson.repository);
  const extMeta = obj(ext.metadata);
  return defined({
    name: key,
    title: str(serverJson.title),
    description: str(serverJson.description) ?? src.description,
    tier: str(ext.tier) ?? 'Community',
    status: deprecated ?? str(ext.status) ?? 'Active',
    transport: str(ext.transport) ?? transport,
    tools: strList(ext.tools),
    tags: ext.tags !== undefined ? strList(ext.tags) : src.tags,
    repository_url: str(repo?.url) ?? src.repository,
    overview: str(ext.overview),
    proxy_port: int(ext.proxy_port),
    metadata: defined({
      stars: int(extMeta?.stars) ?? src.stars,
      pulls: int(extMeta?.pulls) ?? src.pulls,
      last_updated: str(extMeta?.last_updated) ?? src.updatedAt,
      kubernetes: obj(extMeta?.kubernetes),
    }),
    custom_metadata: src.upstream !== undefined ? { ...obj(ext.custom_metadata), [MIRROR_META_KEY]: { upstream: src.upstream } } : obj(ext.custom_metadata),
  });
};

/**
 * A stored server in ToolHive's shape, or undefined when ToolHive could not run it (no OCI, npm or
 * PyPI package and no remote). `key` is the name ToolHive lists it under: the part after the `/`.
 */
export const toToolhiveServer = (src: ServerSource, key: string): ToolhiveServer | undefined => {
  const serverJson = src.serverJson;
  const ext = stacklokExtensions(serverJson);
  const fullName = src.fullName;
  const remotes = (Array.isArray(serverJson.remotes) ? serverJson.remotes : []).map(obj).filter((r): r is Json => r !== undefined && typeof r.url === 'string');
  if (remotes.length > 0) {
    const remote = remotes[0];
    const server: RemoteServer = defined({
      ...base(src, serverJson, ext, key, str(remote.type) ?? 'streamable-http'),
      url: remote.url as string,
      headers: Array.isArray(remote.headers) ? inputs(remote.headers) : undefined,
      env_vars: Array.isArray(ext.env_vars) ? inputs(ext.env_vars) : undefined,
      oauth_config: obj(ext.oauth_config),
    });
    return { remote: true, key, fullName, server };
  }
  const packages = (Array.isArray(serverJson.packages) ? serverJson.packages : []).map(obj).filter((p): p is Json => p !== undefined);
  const runnable = packages.find((p) => str(p.registryType) === 'oci') ?? packages.find((p) => imageOf(p, str(serverJson.version)) !== undefined);
  if (!runnable) return undefined;
  const transport = obj(runnable.transport);
  const server: ImageServer = defined({
    ...base(src, serverJson, ext, key, str(transport?.type) ?? 'stdio'),
    image: imageOf(runnable, str(serverJson.version))!,
    target_port: int(ext.target_port) ?? portOf(transport?.url),
    args: Array.isArray(ext.args) ? strList(ext.args) : positionalArgs(runnable.packageArguments),
    docker_tags: Array.isArray(ext.docker_tags) ? strList(ext.docker_tags) : undefined,
    env_vars: inputs(runnable.environmentVariables),
    permissions: obj(ext.permissions),
    provenance: obj(ext.provenance),
  });
  return { remote: false, key, fullName, server };
};

/** Fixed positional arguments of a package (`{type: 'positional', value}`), which `thv run` passes on. */
const positionalArgs = (list: unknown): string[] | undefined => {
  const args = (Array.isArray(list) ? list : [])
    .map(obj)
    .filter((a): a is Json => a !== undefined && a.type === 'positional' && typeof a.value === 'string')
    .map((a) => a.value as string);
  return args.length > 0 ? args : undefined;
};

/** The server.json as published, with the registry's own facts under `_meta` as the MCP registry writes them. */
export const serverJsonOf = (view: PackageView): Json & { name: string } => {
  const serverJson = view.latest?.manifest ?? {};
  const meta = obj(serverJson._meta) ?? {};
  const v = view.latest;
  const { status, message } = v ? statusOf(v) : { status: 'active', message: null };
  return {
    ...serverJson,
    name: serverFullName(view),
    _meta: {
      ...meta,
      'io.modelcontextprotocol.registry/official': {
        status,
        ...(message ? { statusMessage: message } : {}),
        publishedAt: v?.publishedAt,
        updatedAt: v?.statusChangedAt ?? v?.publishedAt,
        isLatest: true,
      },
    },
  };
};

/** An upstream's server (its latest version, cached) as the catalogue shows it: its server.json, the upstream's official metadata and the mirror marker. */
export const upstreamServerJsonOf = (r: CachedMcpServer, upstream: string): Json & { name: string } => {
  const meta = obj(r.server._meta) ?? {};
  return {
    ...r.server,
    name: r.name,
    _meta: {
      ...meta,
      'io.modelcontextprotocol.registry/official': { ...(r.official ?? {}), status: r.status, isLatest: r.isLatest },
      [MIRROR_META_KEY]: { upstream },
    },
  };
};
