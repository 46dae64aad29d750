import { isPlainObject } from '../packages/manifest/fields.js';
import type { RuntimeCapabilities } from './workload-runtime.js';
import type { PermissionProfile, WorkloadSource } from './workload.js';

/**
 * How a registry entry (an MCP server.json) becomes something Agentry can run: its `packages` (npm,
 * then pypi when uv is installed, then oci when a container engine answers; stdio transport only), or
 * else its `remotes`. Translation only; whether the caller may run it is the service's question.
 */

type Json = Record<string, unknown>;

/** A variable the entry declares (server.json `environmentVariables`, or a remote's `headers`). */
export interface DeclaredVar {
  name: string;
  description?: string;
  required: boolean;
  secret: boolean;
  default?: string;
}

export interface RegistryLaunch {
  source: WorkloadSource;
  env: DeclaredVar[];
  headers: DeclaredVar[];
  /** The profile the entry asks for (ToolHive's publisher-provided `permissions`), if any. */
  profile: PermissionProfile | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isPlainObject) : []);

const declared = (v: unknown): DeclaredVar[] =>
  list(v).flatMap((e) => {
    const name = str(e.name);
    if (!name) return [];
    return [{ name, description: str(e.description), required: e.isRequired === true, secret: e.isSecret === true, default: str(e.default) ?? str(e.value) }];
  });

/** server.json `runtimeArguments`/`packageArguments`: positional values and `--name value` pairs that have a value. */
const argumentsOf = (v: unknown): string[] =>
  list(v).flatMap((a) => {
    const value = str(a.value) ?? str(a.default);
    if (a.type === 'named') {
      const name = str(a.name);
      if (!name) return [];
      return value === undefined ? [name] : [name, value];
    }
    return value === undefined ? [] : [value];
  });

/** ToolHive's extension block of the entry (`_meta…publisher-provided…io.github.stacklok`), first value. */
const stacklokProfile = (serverJson: Json): PermissionProfile | undefined => {
  const meta = isPlainObject(serverJson._meta) ? serverJson._meta : undefined;
  const provided = meta && isPlainObject(meta['io.modelcontextprotocol.registry/publisher-provided']) ? meta['io.modelcontextprotocol.registry/publisher-provided'] : undefined;
  const stacklok = provided && isPlainObject(provided['io.github.stacklok']) ? provided['io.github.stacklok'] : undefined;
  for (const ext of Object.values(stacklok ?? {})) {
    if (isPlainObject(ext) && isPlainObject(ext.permissions)) {
      const p = ext.permissions;
      const out = isPlainObject(p.network) && isPlainObject(p.network.outbound) ? p.network.outbound : {};
      const strings = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
      return {
        name: str(p.name),
        read: strings(p.read),
        write: strings(p.write),
        network: {
          outbound: {
            insecure_allow_all: out.insecure_allow_all === true,
            allow_host: strings(out.allow_host),
            allow_port: Array.isArray(out.allow_port) ? out.allow_port.filter((n): n is number => Number.isInteger(n)) : [],
          },
        },
      };
    }
  }
  return undefined;
};

/**
 * The way to run `serverJson` on this machine, or the reasons none fits (one per package or remote).
 * `preferRemote` picks a remote first (the create request named no package, only a URL-less server).
 */
export const launchFromServerJson = (serverJson: Json, caps: RuntimeCapabilities): { launch?: RegistryLaunch; problems: string[] } => {
  const problems: string[] = [];
  const profile = stacklokProfile(serverJson);
  const localOk = caps.sandbox.available || caps.unsafeLocal;
  for (const p of list(serverJson.packages)) {
    const type = str(p.registryType) ?? '?';
    const id = str(p.identifier);
    const transport = isPlainObject(p.transport) ? str(p.transport.type) : undefined;
    if (!id) continue;
    if (transport !== undefined && transport !== 'stdio') {
      problems.push(`${type} package ${id}: transport '${transport}' is not run locally (only stdio packages are)`);
      continue;
    }
    const version = str(p.version) ?? str(serverJson.version) ?? 'latest';
    const args = [...argumentsOf(p.runtimeArguments), ...argumentsOf(p.packageArguments)];
    const env = declared(p.environmentVariables);
    if (!localOk && type !== 'oci') {
      problems.push(`${type} package ${id}: local workloads need the sandbox (${caps.sandbox.reason ?? 'unavailable'}); the server was not started with --unsafe-local-workloads`);
      continue;
    }
    if (type === 'npm') return { launch: { source: { kind: 'npm', package: id, version, args }, env, headers: [], profile }, problems };
    if (type === 'pypi') {
      if (caps.uv) return { launch: { source: { kind: 'pypi', package: id, version, args }, env, headers: [], profile }, problems };
      problems.push(`pypi package ${id}: uv (uvx) is not installed on the server`);
      continue;
    }
    if (type === 'oci') {
      if (caps.containerEngine) return { launch: { source: { kind: 'oci', image: id.includes(':') || id.includes('@') ? id : `${id}:${version}`, args }, env, headers: [], profile }, problems };
      problems.push(`oci package ${id}: no container engine (podman or docker) answers on the server`);
      continue;
    }
    problems.push(`${type} package ${id}: registry type '${type}' is not supported (npm, pypi, oci)`);
  }
  for (const r of list(serverJson.remotes)) {
    const url = str(r.url);
    const type = str(r.type);
    if (!url) continue;
    if (type !== 'streamable-http' && type !== 'sse') {
      problems.push(`remote ${url}: transport '${type ?? '?'}' is not supported`);
      continue;
    }
    if (/\{[^}]*\}/.test(url)) {
      problems.push(`remote ${url}: the URL has template variables, which are not filled in`);
      continue;
    }
    return { launch: { source: { kind: 'remote', url, transport: type }, env: [], headers: declared(r.headers), profile }, problems };
  }
  if (problems.length === 0) problems.push('the entry has no packages and no remotes');
  return { problems };
};
