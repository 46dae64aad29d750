import { isVisibility, type Visibility } from '../access/visibility.js';
import type { RequestContext } from '../auth/principal.js';
import { AgentryError, badRequest, notFound, validationFailed } from '../errors.js';
import type { PackageService, PackageView } from '../packages/package-service.js';
import { versionSchemeOf } from '../packages/version-scheme.js';
import { validateSandboxSpec } from '../sandbox/profile.js';
import { launchFromServerJson, type DeclaredVar, type RegistryLaunch } from './registry-source.js';
import type { RuntimeCapabilities } from './workload-runtime.js';
import { DEFAULT_GROUP, packageOf, transportOf, type PermissionProfile, type SecretRef, type ToolOverride, type WorkloadConfig, type WorkloadRecord, type WorkloadSource } from './workload.js';

/** What a create or edit asks for, in the core's words (the door translates ToolHive's createRequest). */
export interface WorkloadInput {
  name?: string;
  /** A registry entry: `scope/name` of an MCP server package Agentry holds. */
  server?: string;
  /** Explicit specs (administrators only): an image (`npx://pkg@v`, `uvx://pkg@v`, an OCI ref), a command, or a URL. */
  image?: string;
  command?: string;
  url?: string;
  transport?: string;
  args?: string[];
  group?: string;
  env?: Record<string, string>;
  /** `name,target=ENV` strings or objects, as ToolHive takes them. */
  secrets?: SecretRef[];
  headers?: Record<string, string>;
  headerSecrets?: Record<string, string>;
  profile?: PermissionProfile;
  networkIsolation?: boolean;
  tools?: string[];
  toolsOverride?: Record<string, ToolOverride>;
  proxyMode?: string;
  visibility?: string;
}

export type UpgradeStatus = 'up-to-date' | 'upgrade-available' | 'not-registry-sourced' | 'server-not-found' | 'unknown';

export interface UpgradeCheck {
  workloadName: string;
  status: UpgradeStatus;
  currentImage: string;
  candidateImage?: string;
  registryServer?: string;
  candidateVersion?: string;
  envAdded: DeclaredVar[];
  envRemoved: DeclaredVar[];
  transportChange?: { from: string; to: string };
  profileChange?: { from: string; to: string };
  reason?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const emptyProfile = (): PermissionProfile => ({ name: 'none', read: [], write: [], network: { outbound: {} } });

/** ToolHive's secret flag: `name,target=ENV`. */
export const parseSecretFlag = (flag: string): SecretRef => {
  const m = /^([^,]+),target=([^,]+)$/.exec(flag);
  if (!m) throw badRequest(`secret '${flag.slice(0, 100)}' is not '<name>,target=<ENV_VAR>'`);
  return { name: m[1], target: m[2] };
};

/** What the workload configurations need: the registry's MCP servers, what this machine runs, and which groups exist. */
export interface WorkloadConfigDeps {
  packages: PackageService;
  capabilities: () => Promise<RuntimeCapabilities>;
  /** Whether a group exists (ToolHive's groups); absent: every valid group name is taken. */
  groupExists?: (name: string) => Promise<boolean>;
}

/**
 * A workload's configuration from what a create, edit or upgrade asks for: where it runs from (a
 * registry entry or an explicit spec), its checked settings, whether this machine can run it, and
 * whether the registry has a newer version of it (the upgrade check).
 */
export class WorkloadConfigs {
  constructor(private readonly deps: WorkloadConfigDeps) {}

  private capabilities(): Promise<RuntimeCapabilities> {
    return this.deps.capabilities();
  }

  /** A workload's group must exist (ToolHive refuses a create or move into an unknown group). */
  async checkGroup(group: string): Promise<void> {
    if (this.deps.groupExists && !(await this.deps.groupExists(group))) throw badRequest(`Group '${group.slice(0, 70)}' does not exist (create it with POST /api/v1beta/groups)`);
  }

  /** Refuses what this machine cannot run, before anything is stored. */
  async checkRunnable(config: WorkloadConfig): Promise<void> {
    const caps = await this.capabilities();
    const kind = config.source.kind;
    if (kind === 'remote') return;
    if (kind === 'oci') {
      if (!caps.containerEngine) throw new AgentryError('unavailable', 'OCI images need a container engine (podman or docker) and none answers on this server');
      return;
    }
    if (kind === 'pypi' && !caps.uv) throw new AgentryError('unavailable', 'PyPI packages run with uvx, and uv is not installed on this server');
    if (!caps.sandbox.available && !caps.unsafeLocal) {
      throw new AgentryError(
        'unavailable',
        `Local workloads run sandboxed, and the sandbox is unavailable: ${caps.sandbox.reason ?? 'unknown reason'} (or start the server with --unsafe-local-workloads)`,
      );
    }
    // The profile's own rules (mounts of /, .., volume mounts, …), before anything is spawned.
    validateSandboxSpec({ command: 'x', args: [], env: {}, profile: config.profile });
  }

  defaultName(source: WorkloadSource, server: string | undefined): string {
    const base =
      server?.split('/').pop() ??
      (source.kind === 'npm' || source.kind === 'pypi' ? source.package.split('/').pop()! : source.kind === 'remote' ? new URL(source.url).hostname : packageOf(source).split('/').pop()!);
    return (
      base
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .replace(/^[^A-Za-z0-9]+/, '')
        .replace(/\.\.+/g, '.')
        .slice(0, 63) || 'workload'
    );
  }

  async sourceFor(ctx: RequestContext, input: WorkloadInput): Promise<{ source: WorkloadSource; registry?: { server: string; version: string }; declaredEnv: DeclaredVar[]; launch?: RegistryLaunch }> {
    const args = input.args ?? [];
    if (input.server !== undefined) {
      const view = await this.serverView(ctx, input.server);
      const manifest = view.latest?.manifest;
      if (!manifest) throw notFound(`Server '${input.server}' has no published version`);
      const { launch, problems } = launchFromServerJson(manifest, await this.capabilities());
      if (!launch) throw new AgentryError('unavailable', `Server '${input.server}' cannot run on this server`, problems);
      let source = launch.source;
      if (input.args !== undefined && source.kind !== 'remote') source = { ...source, args: input.args };
      return { source, registry: { server: `${view.pkg.scope}/${view.pkg.name}`, version: view.latest!.version }, declaredEnv: [...launch.env, ...launch.headers], launch };
    }
    const given = [input.image, input.command, input.url].filter((x) => x !== undefined && x !== '');
    if (given.length !== 1) throw badRequest('Send one of server (a registry entry), image, command or url');
    if (input.url) {
      let u: URL;
      try {
        u = new URL(input.url);
      } catch {
        throw badRequest(`url '${input.url.slice(0, 200)}' is not a URL`);
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw badRequest('url must be http or https');
      const transport = input.transport === 'sse' ? 'sse' : 'streamable-http';
      return { source: { kind: 'remote', url: u.toString(), transport }, declaredEnv: [] };
    }
    if (input.command) {
      if (input.command.includes('\0')) throw badRequest('command must not contain NUL bytes');
      return { source: { kind: 'command', command: input.command, args }, declaredEnv: [] };
    }
    const image = input.image!;
    const pkg = /^(npx|uvx):\/\/((?:@[^/@\s]+\/)?[^@\s]+)(?:@([^@\s]+))?$/.exec(image);
    if (pkg) return { source: { kind: pkg[1] === 'npx' ? 'npm' : 'pypi', package: pkg[2], version: pkg[3] ?? 'latest', args }, declaredEnv: [] };
    if (/^[a-z]+:\/\//.test(image)) throw badRequest(`image '${image.slice(0, 200)}': only npx://, uvx:// and OCI references are supported`);
    return { source: { kind: 'oci', image, args }, declaredEnv: [] };
  }

  private async serverView(ctx: RequestContext, server: string): Promise<PackageView> {
    const slash = server.indexOf('/');
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (slash <= 0 || slash === server.length - 1 || server.indexOf('/', slash + 1) !== -1 || /(^|\/)\.\.?(\/|$)|[\u0000-\u001f\\]/.test(server)) {
      throw badRequest(`server '${server.slice(0, 200)}' is not '<scope>/<name>' of an MCP server in this registry`);
    }
    try {
      return await this.deps.packages.get(ctx, server.slice(0, slash), server.slice(slash + 1), 'mcp-server');
    } catch (e) {
      if (e instanceof AgentryError && (e.status === 404 || e.status === 400)) throw notFound(`Server '${server}' not found in the registry`);
      throw e;
    }
  }

  checkedEnv(env: Record<string, string>): Record<string, string> {
    const problems = Object.entries(env).flatMap(([k, v]) =>
      !ENV_NAME.test(k) ? [`env_vars: '${k.slice(0, 100)}' is not a variable name`] : typeof v !== 'string' || v.includes('\0') ? [`env_vars.${k}: must be a string without NUL bytes`] : [],
    );
    if (problems.length > 0) throw validationFailed(problems, 'Invalid environment variables');
    return env;
  }

  checkedSecrets(secrets: SecretRef[]): SecretRef[] {
    const problems = secrets.flatMap((s) =>
      !ENV_NAME.test(s.target)
        ? [`secrets: target '${s.target.slice(0, 100)}' is not a variable name`]
        : /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/.test(s.name)
          ? []
          : [`secrets: '${s.name.slice(0, 100)}' is not a secret key`],
    );
    if (problems.length > 0) throw validationFailed(problems, 'Invalid secrets');
    return secrets;
  }

  configFrom(name: string, input: WorkloadInput, source: WorkloadSource, registry: { server: string; version: string } | undefined, prev: WorkloadConfig | undefined): WorkloadConfig {
    const problems: string[] = [];
    const group = input.group ?? prev?.group ?? DEFAULT_GROUP;
    if (!GROUP.test(group)) problems.push(`group '${group.slice(0, 70)}' is invalid: 1-63 letters, digits, '.', '_' or '-'`);
    const headers = input.headers ?? prev?.headers ?? {};
    const headerSecrets = input.headerSecrets ?? prev?.headerSecrets ?? {};
    for (const h of [...Object.keys(headers), ...Object.keys(headerSecrets)]) if (!HEADER_NAME.test(h)) problems.push(`header '${h.slice(0, 100)}' is not a header name`);
    for (const v of Object.values(headers)) if (/[\r\n\0]/.test(v)) problems.push('header values must not contain line breaks or NUL bytes');
    const visibility = input.visibility ?? prev?.visibility ?? 'private';
    if (!isVisibility(visibility)) problems.push(`visibility must be public, internal or private`);
    const proxyMode = input.proxyMode || prev?.proxyMode || 'streamable-http';
    if (proxyMode !== 'streamable-http' && proxyMode !== 'sse') problems.push(`proxy_mode must be streamable-http or sse`);
    const tools = input.tools ?? prev?.tools ?? [];
    const toolsOverride = input.toolsOverride ?? prev?.toolsOverride ?? {};
    const newNames = Object.values(toolsOverride).flatMap((o) => (o.name ? [o.name] : []));
    if (new Set(newNames).size !== newNames.length) problems.push('tools_override: two tools are renamed to one name');
    if (source.kind === 'remote' && input.profile !== undefined && (input.profile.read.length > 0 || input.profile.write.length > 0))
      problems.push('permission_profile: a remote workload has no mounts');
    if (problems.length > 0) throw validationFailed(problems, 'The workload is refused');
    return {
      name,
      group,
      source,
      ...(registry ? { registryServer: registry.server, registryVersion: registry.version } : {}),
      env: this.checkedEnv(input.env ?? prev?.env ?? {}),
      secrets: this.checkedSecrets(input.secrets ?? prev?.secrets ?? []),
      headers,
      headerSecrets,
      profile: input.profile ?? prev?.profile ?? emptyProfile(),
      networkIsolation: input.networkIsolation ?? true,
      tools,
      toolsOverride,
      proxyMode: proxyMode === 'sse' ? 'sse' : 'streamable-http',
      visibility: visibility as Visibility,
      labels: prev?.labels ?? {},
    };
  }

  /** Required variables the entry declares must be given, as env or secrets (never guessed). */
  checkDeclaredEnv(config: WorkloadConfig, declared: DeclaredVar[]): void {
    const given = new Set([...Object.keys(config.env), ...config.secrets.map((s) => s.target), ...Object.keys(config.headers), ...Object.keys(config.headerSecrets)]);
    const missing = declared.filter((d) => d.required && d.default === undefined && !given.has(d.name));
    if (missing.length > 0) {
      throw validationFailed(
        missing.map((d) => `${d.name}${d.secret ? ' (secret: send it in secrets as "<key>,target=' + d.name + '")' : ''} is required${d.description ? `: ${d.description}` : ''}`),
        'The server needs settings that were not sent',
      );
    }
  }

  async checkOne(ctx: RequestContext, r: WorkloadRecord): Promise<UpgradeCheck> {
    const base: UpgradeCheck = { workloadName: r.name, status: 'unknown', currentImage: packageOf(r.config.source), envAdded: [], envRemoved: [] };
    if (!r.config.registryServer) return { ...base, status: 'not-registry-sourced' };
    base.registryServer = r.config.registryServer;
    let view: PackageView;
    try {
      view = await this.serverView(ctx, r.config.registryServer);
    } catch (e) {
      if (e instanceof AgentryError && e.status === 404) return { ...base, status: 'server-not-found' };
      throw e;
    }
    const latest = view.latest;
    if (!latest) return { ...base, status: 'server-not-found' };
    const current = r.config.registryVersion ?? '';
    const caps = await this.capabilities();
    const { launch, problems } = launchFromServerJson(latest.manifest, caps);
    if (!launch) return { ...base, reason: `the registry's version ${latest.version} cannot run here: ${problems.join('; ')}` };
    const candidateImage = packageOf(launch.source);
    const out: UpgradeCheck = { ...base, candidateImage, candidateVersion: latest.version };
    if (latest.version === current) return { ...out, status: 'up-to-date' };
    let currentPublished = '';
    try {
      currentPublished = (await this.deps.packages.getVersion(ctx, view.pkg.scope, view.pkg.name, current, { kind: 'mcp-server' })).version.publishedAt;
    } catch {
      // The running version was unpublished since: compare by version string alone.
    }
    const newest = versionSchemeOf('mcp-server').sortDesc([
      { version: current, publishedAt: currentPublished },
      { version: latest.version, publishedAt: latest.publishedAt },
    ])[0];
    if (newest.version !== latest.version) return { ...out, status: 'up-to-date', reason: `the workload runs ${current}, newer than the registry's latest ${latest.version}` };
    const given = new Set([...Object.keys(r.config.env), ...r.config.secrets.map((s) => s.target)]);
    const declaredNames = new Set(launch.env.map((e) => e.name));
    out.envAdded = launch.env.filter((e) => !given.has(e.name)).map((e) => (e.secret ? { ...e, default: undefined } : e));
    out.envRemoved = [...given].filter((n) => !declaredNames.has(n)).map((n) => ({ name: n, required: false, secret: r.config.secrets.some((s) => s.target === n) }));
    const fromTransport = transportOf(r.config.source);
    const toTransport = transportOf(launch.source);
    if (fromTransport !== toTransport) out.transportChange = { from: fromTransport, to: toTransport };
    if (launch.profile && JSON.stringify(launch.profile) !== JSON.stringify(r.config.profile)) {
      out.profileChange = { from: JSON.stringify(r.config.profile), to: JSON.stringify(launch.profile) };
    }
    return { ...out, status: 'upgrade-available' };
  }
}
