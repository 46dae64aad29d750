import type { UpgradeCheck, WorkloadInput } from '../../core/workloads/workload-config.js';
import { packageOf, transportOf, workloadProxyPath, type PermissionProfile, type WorkloadRecord } from '../../core/workloads/workload.js';
import type { CreateRequest, UpdateRequest } from './workload-schemas.js';

/** ToolHive's workload shapes ↔ the core's workloads. Translation only. */

const portOf = (base: string): number => {
  const u = new URL(base);
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
};

/** `host:container[:ro]` volumes → profile mounts (ToolHive's volume flag). */
const withVolumes = (profile: PermissionProfile | undefined, volumes: string[] | undefined): PermissionProfile | undefined => {
  if (!volumes || volumes.length === 0) return profile;
  const p: PermissionProfile = profile ?? { read: [], write: [], network: { outbound: {} } };
  const read = [...p.read];
  const write = [...p.write];
  for (const v of volumes) {
    if (v.endsWith(':ro')) read.push(v.slice(0, -3));
    else write.push(v.replace(/:rw$/, ''));
  }
  return { ...p, read, write };
};

const profileOf = (p: CreateRequest['permission_profile']): PermissionProfile | undefined =>
  p && {
    ...(p.name !== undefined ? { name: p.name } : {}),
    read: p.read ?? [],
    write: p.write ?? [],
    network: { outbound: { ...(p.network?.outbound ?? {}) } },
  };

export const inputOf = (b: CreateRequest | UpdateRequest): WorkloadInput => {
  const c = b as CreateRequest;
  return {
    name: c.name,
    server: c.server || undefined,
    image: b.image || undefined,
    command: b.command || undefined,
    url: b.url || undefined,
    transport: b.transport,
    args: b.cmd_arguments,
    group: b.group || undefined,
    env: b.env_vars,
    secrets: b.secrets,
    headers: b.header_forward?.add_plaintext_headers,
    headerSecrets: b.header_forward?.add_headers_from_secret,
    profile: withVolumes(profileOf(b.permission_profile), b.volumes),
    networkIsolation: b.network_isolation,
    tools: b.tools,
    toolsOverride: b.tools_override,
    proxyMode: b.proxy_mode || undefined,
    visibility: b.visibility,
  };
};

/** core.Workload */
export const workloadView = (r: WorkloadRecord, base: string) => ({
  name: r.name,
  package: packageOf(r.config.source),
  url: `${base}${workloadProxyPath(r.name, r.config.proxyMode)}`,
  port: portOf(base),
  status: r.status,
  status_context: r.statusContext,
  transport_type: transportOf(r.config.source),
  proxy_mode: r.config.proxyMode,
  remote: r.config.source.kind === 'remote',
  group: r.config.group,
  labels: { ...r.config.labels, 'agentry.visibility': r.config.visibility, 'agentry.owner': r.ownerName },
  tools: r.config.tools,
  created_at: r.createdAt,
  started_at: r.startedAt ?? '',
});

const argsOf = (r: WorkloadRecord): string[] => (r.config.source.kind === 'remote' ? [] : r.config.source.args);

/** createRequest, as ToolHive answers GET /workloads/{name}. */
export const detailView = (r: WorkloadRecord, base: string) => {
  const c = r.config;
  const s = c.source;
  return {
    name: r.name,
    image: s.kind === 'remote' || s.kind === 'command' ? '' : packageOf(s),
    url: s.kind === 'remote' ? s.url : '',
    ...(s.kind === 'command' ? { command: s.command } : {}),
    cmd_arguments: argsOf(r),
    transport: transportOf(s),
    proxy_mode: c.proxyMode,
    proxy_port: portOf(base),
    group: c.group,
    env_vars: c.env,
    secrets: c.secrets,
    volumes: [],
    permission_profile: c.profile,
    network_isolation: c.networkIsolation,
    tools: c.tools,
    tools_override: c.toolsOverride,
    header_forward: { add_plaintext_headers: c.headers, add_headers_from_secret: c.headerSecrets },
    ...(c.registryServer ? { registry: 'default', server: c.registryServer } : {}),
    visibility: c.visibility,
  };
};

/** runner.RunConfig, as ToolHive exports it (secrets as references, never values). */
export const runConfigView = (r: WorkloadRecord, base: string) => {
  const c = r.config;
  const s = c.source;
  return {
    schema_version: 'v0.1.0',
    name: r.name,
    base_name: r.name,
    image: s.kind === 'remote' ? '' : packageOf(s),
    ...(s.kind === 'remote' ? { remote_url: s.url } : {}),
    transport: transportOf(s),
    proxy_mode: c.proxyMode,
    port: portOf(base),
    cmd_args: argsOf(r),
    env_vars: c.env,
    secrets: c.secrets.map((x) => `${x.name},target=${x.target}`),
    volumes: [],
    permission_profile_name_or_path: c.profile.name ?? 'custom',
    permission_profile: c.profile,
    isolate_network: c.networkIsolation,
    tools_filter: c.tools,
    tools_override: c.toolsOverride,
    group: c.group,
    container_labels: c.labels,
    ...(c.registryServer ? { registry_server_name: c.registryServer } : {}),
    header_forward: { add_plaintext_headers: c.headers, add_headers_from_secret: c.headerSecrets },
  };
};

/** upgrade.CheckResult */
export const checkView = (c: UpgradeCheck) => ({
  workload_name: c.workloadName,
  status: c.status,
  current_image: c.currentImage,
  ...(c.candidateImage ? { candidate_image: c.candidateImage } : {}),
  ...(c.registryServer ? { registry_server: c.registryServer } : {}),
  ...(c.reason ? { reason: c.reason } : {}),
  ...(c.envAdded.length > 0 || c.envRemoved.length > 0 ? { env_var_drift: { added: c.envAdded, removed: c.envRemoved } } : {}),
  ...(c.transportChange || c.profileChange
    ? { config_drift: { ...(c.transportChange ? { transport: c.transportChange } : {}), ...(c.profileChange ? { permission_profile: c.profileChange } : {}) } }
    : {}),
});
