/**
 * What a publish is flagged for without being refused: stored with the version (its `findings`)
 * and shown in the API and on the package page, so a reader can judge before installing.
 * - `risky-permissions`: an agent asks for the filesystem, the network and command execution
 *   together (everything it needs to read files and send them anywhere);
 * - `unknown-registry`: an MCP server's package comes from a registry outside the ones the
 *   official server.json schema names (its `registryType` and `registryBaseUrl` examples; for
 *   `oci`, the host in the identifier, where it names one, among the public container registries).
 * Pure: reads only the manifest.
 */
import { isPlainObject } from './manifest/fields.js';
import type { PackageManifest } from './manifest/package-manifest.js';
import { SCHEMA_REGISTRIES } from './manifest/server-json/schema-validator.js';

export type FindingRule = 'risky-permissions' | 'unknown-registry';

export interface VersionFinding {
  rule: FindingRule;
  /** Where in the manifest (`permissions`, `packages[0].registryBaseUrl`). */
  path: string;
  message: string;
}

const KNOWN_TYPES = new Set(SCHEMA_REGISTRIES.types);
/** Hosts of the schema's registry URLs, and the public container registries an `oci` identifier may name. */
const KNOWN_HOSTS = new Set([
  ...SCHEMA_REGISTRIES.baseUrls.map((u) => new URL(u).host),
  'registry-1.docker.io',
  'index.docker.io',
  'ghcr.io',
  'quay.io',
  'mcr.microsoft.com',
  'public.ecr.aws',
  'gcr.io',
]);

const hostOf = (url: string): string | undefined => (URL.canParse(url) ? new URL(url).host.toLowerCase() : undefined);

/** The registry host an OCI reference names (`ghcr.io/o/i:1`), if its first part is one (has a dot or a port, or is localhost). */
const ociHost = (identifier: string): string | undefined => {
  const first = identifier.split('/')[0];
  return identifier.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first.toLowerCase() : undefined;
};

const packageFindings = (pkg: Record<string, unknown>, i: number): VersionFinding[] => {
  const out: VersionFinding[] = [];
  const at = `packages[${i}]`;
  const type = typeof pkg.registryType === 'string' ? pkg.registryType : undefined;
  if (type !== undefined && !KNOWN_TYPES.has(type)) {
    out.push({ rule: 'unknown-registry', path: `${at}.registryType`, message: `registry type '${type}' is not one the MCP server.json schema knows (${[...KNOWN_TYPES].join(', ')})` });
  }
  if (typeof pkg.registryBaseUrl === 'string') {
    const host = hostOf(pkg.registryBaseUrl);
    if (host === undefined || !KNOWN_HOSTS.has(host))
      out.push({ rule: 'unknown-registry', path: `${at}.registryBaseUrl`, message: `packages come from ${host ?? pkg.registryBaseUrl}, not a known public registry` });
  }
  const identifier = typeof pkg.identifier === 'string' ? pkg.identifier : '';
  const host = type === 'oci' ? ociHost(identifier) : type === 'mcpb' ? hostOf(identifier) : undefined;
  if (host !== undefined && !KNOWN_HOSTS.has(host))
    out.push({ rule: 'unknown-registry', path: `${at}.identifier`, message: `the ${type} package is fetched from ${host}, not a known public registry` });
  return out;
};

/** The findings of a manifest about to be published (none for most). */
export const publishFindings = (manifest: PackageManifest): VersionFinding[] => {
  const raw = manifest.raw;
  if (manifest.kind === 'agent') {
    const p = isPlainObject(raw.permissions) ? raw.permissions : {};
    if (p.filesystem === true && p.network === true && p.execute_commands === true) {
      return [
        { rule: 'risky-permissions', path: 'permissions', message: 'the agent asks for filesystem, network and execute_commands together: it can read files, run commands and send anything anywhere' },
      ];
    }
    return [];
  }
  if (manifest.kind === 'mcp-server' && Array.isArray(raw.packages)) {
    return raw.packages.flatMap((pkg, i) => (isPlainObject(pkg) ? packageFindings(pkg, i) : []));
  }
  return [];
};
