import { validationFailed } from '../errors.js';
import type { SandboxSpec } from './sandbox.js';

/** One mount of a profile after validation: absolute, normalised host and sandbox paths. */
export interface SandboxMount {
  host: string;
  container: string;
  writable: boolean;
}

/** Sandbox paths the sandbox itself provides (a private /proc and a minimal /dev): no mount may cover them. */
const RESERVED = ['/proc', '/dev'];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An absolute path with `.` segments, repeated and trailing slashes removed; `undefined` with a reason
 * pushed to `problems` when it is relative, has a `..` segment or a NUL byte.
 */
const normalisedAbsolute = (path: string, what: string, problems: string[]): string | undefined => {
  if (path.includes('\0')) return void problems.push(`${what}: contains a NUL byte`);
  if (!path.startsWith('/')) return void problems.push(`${what}: "${path}" is not an absolute path`);
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return void problems.push(`${what}: "${path}" has a ".." segment`);
  return `/${segments.join('/')}`;
};

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

const parseMount = (entry: unknown, writable: boolean, index: number, problems: string[]): SandboxMount | undefined => {
  const what = `${writable ? 'write' : 'read'}[${index}]`;
  if (typeof entry !== 'string' || entry === '') return void problems.push(`${what}: must be a non-empty string`);
  if (entry.startsWith('volume://')) return void problems.push(`${what}: volume mounts are not supported without a container engine`);
  const colon = entry.indexOf(':');
  const hostRaw = colon === -1 ? entry : entry.slice(0, colon);
  const containerRaw = colon === -1 ? entry : entry.slice(colon + 1);
  const host = normalisedAbsolute(hostRaw, what, problems);
  const container = normalisedAbsolute(containerRaw, `${what} (sandbox path)`, problems);
  if (host === undefined || container === undefined) return undefined;
  if (host === '/' || container === '/') return void problems.push(`${what}: mounting "/" is refused: name the folders the process needs`);
  const reserved = RESERVED.find((r) => within(container, r));
  if (reserved) return void problems.push(`${what}: "${container}" is inside ${reserved}, which the sandbox provides itself`);
  return { host, container, writable };
};

/**
 * Checks a sandbox spec before anything is spawned and returns its mounts, outer ones before the ones
 * inside them (so a read mount inside a write mount stays read-only, and the other way round). Throws `validation_failed` with one line per problem:
 * mounts of `/`, relative paths, `..` segments, volume mounts, mounts over /proc or /dev, two mounts on
 * one sandbox path, a malformed outbound allow-list (or one combined with insecure_allow_all), bad env
 * names and a relative cwd.
 * Symlinks are the adapter's to check: that needs the file system.
 */
export const validateSandboxSpec = (spec: SandboxSpec): SandboxMount[] => {
  const problems: string[] = [];
  if (typeof spec.command !== 'string' || spec.command === '' || spec.command.includes('\0')) problems.push('command: must be a non-empty string without NUL bytes');
  if (!Array.isArray(spec.args) || spec.args.some((a) => typeof a !== 'string' || a.includes('\0'))) problems.push('args: must be strings without NUL bytes');
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(name)) problems.push(`env: "${name}" is not a valid variable name`);
    else if (typeof value !== 'string' || value.includes('\0')) problems.push(`env.${name}: must be a string without NUL bytes`);
  }
  if (spec.cwd !== undefined) normalisedAbsolute(spec.cwd, 'cwd', problems);
  const profile = spec.profile;
  const read = Array.isArray(profile?.read) ? profile.read : (problems.push('read: must be an array of paths'), []);
  const write = Array.isArray(profile?.write) ? profile.write : (problems.push('write: must be an array of paths'), []);
  const mounts = [...read.map((m, i) => parseMount(m, false, i, problems)), ...write.map((m, i) => parseMount(m, true, i, problems))]
    .filter((m): m is SandboxMount => m !== undefined)
    .sort((a, b) => a.container.split('/').length - b.container.split('/').length);
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.container)) problems.push(`mounts: "${m.container}" is mounted twice`);
    seen.add(m.container);
  }
  const outbound = profile?.network?.outbound;
  const hosts = outbound?.allow_host ?? [];
  const ports = outbound?.allow_port ?? [];
  if (!Array.isArray(hosts) || hosts.some((h) => typeof h !== 'string' || !/^[^\s/@]+$/.test(h))) {
    problems.push('network.outbound.allow_host: must be a list of host names (host, host:port, *.domain, an IP address or CIDR block, or *)');
  }
  if (!Array.isArray(ports) || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    problems.push('network.outbound.allow_port: must be a list of ports (1-65535)');
  }
  if (outbound?.insecure_allow_all === true && (hosts.length > 0 || ports.length > 0)) {
    problems.push('network.outbound: insecure_allow_all gives the whole network; it cannot be combined with allow_host or allow_port');
  }
  if (Array.isArray(ports) && ports.length > 0 && Array.isArray(hosts) && hosts.length === 0) {
    problems.push('network.outbound.allow_port: needs allow_host (the hosts those ports are allowed on; * for any public host)');
  }
  if (problems.length > 0) throw validationFailed(problems, 'The sandbox profile is refused');
  return mounts;
};

/** Whether the profile gives the process the host's network. */
export const sandboxAllowsNetwork = (spec: SandboxSpec): boolean => spec.profile.network?.outbound?.insecure_allow_all === true;

/** Whether the profile's network is an allow-list, served through the egress proxy. */
export const sandboxUsesEgressProxy = (spec: SandboxSpec): boolean => !sandboxAllowsNetwork(spec) && (spec.profile.network?.outbound?.allow_host ?? []).length > 0;
