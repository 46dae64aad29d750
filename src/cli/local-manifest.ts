import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './cli-error.js';
import { MANIFEST_FILE, PACKAGE_KINDS, type PackageKind } from '../core/packages/kinds.js';
import { NO_FRONT_MATTER, splitFrontMatter } from '../core/packages/manifest/skill-md.js';

/** What the CLI needs to know from the manifest in a package folder. The server does the full validation. */
export interface LocalManifest {
  kind: PackageKind;
  /** The manifest's file name (`agent.yaml`, `SKILL.md`, …). */
  file: string;
  name: string;
  version: string;
  /** The scope the manifest declares, without `@`, if it declares one. */
  scope?: string;
  /** True when the scope is part of the package's identity (agent `author`, server.json `name`). */
  scopeIsBinding: boolean;
  data: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const exists = async (path: string): Promise<boolean> => {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
};

/** The manifests present at the root of `folder`. */
export const manifestsIn = async (folder: string): Promise<PackageKind[]> => {
  const found: PackageKind[] = [];
  for (const kind of PACKAGE_KINDS) if (await exists(join(folder, MANIFEST_FILE[kind]))) found.push(kind);
  return found;
};

/** Finds the one manifest at the root of `folder` and reads kind, name, version and scope from it. */
export const readLocalManifest = async (folder: string): Promise<LocalManifest> => {
  const kinds = await manifestsIn(folder);
  if (kinds.length === 0) {
    throw new CliError(`no manifest in ${folder}: expected one of ${PACKAGE_KINDS.map((k) => MANIFEST_FILE[k]).join(', ')} (create one with 'agentry init')`);
  }
  if (kinds.length > 1) {
    throw new CliError(`more than one manifest in ${folder} (${kinds.map((k) => MANIFEST_FILE[k]).join(', ')}); keep exactly one`);
  }
  const kind = kinds[0];
  const file = MANIFEST_FILE[kind];
  return parseLocalManifest(kind, await readFile(join(folder, file), 'utf8'));
};

/** Parses the text of a `kind` manifest; throws a CliError naming the file and the problems. */
export const parseLocalManifest = async (kind: PackageKind, text: string): Promise<LocalManifest> => {
  const file = MANIFEST_FILE[kind];
  const data = await parseData(kind, file, text);
  const { default: semver } = await import('semver');
  const problems: string[] = [];
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const metadata = isRecord(data.metadata) ? data.metadata : {};

  let name = str(data.name);
  let version = str(data.version);
  let scope: string | undefined;
  let scopeIsBinding = false;
  switch (kind) {
    case 'agent':
      scope = str(data.author)?.replace(/^@/, '');
      scopeIsBinding = true;
      if (!scope) problems.push(`${file}: missing 'author' (the scope it publishes to, like "@alice")`);
      break;
    case 'mcp-server': {
      if (name && name.includes('/')) {
        scope = name.slice(0, name.indexOf('/'));
        name = name.slice(name.indexOf('/') + 1);
        scopeIsBinding = true;
      } else if (name) {
        problems.push(`${file}: 'name' must be '<scope>/<name>'`);
      }
      break;
    }
    case 'skill':
      version = str(metadata.version);
      scope = str(metadata.scope)?.replace(/^@/, '');
      if (!version) problems.push(`${file}: missing 'metadata.version' in the front matter`);
      break;
    case 'recipe': {
      const author = str(data.author);
      scope = str(data.scope)?.replace(/^@/, '') ?? (author?.startsWith('@') ? author.slice(1) : undefined);
      break;
    }
  }
  if (!name) problems.push(`${file}: missing 'name'`);
  const rawVersion = kind === 'skill' ? metadata.version : data.version;
  if (typeof rawVersion === 'number') problems.push(`${file}: version ${rawVersion} must be a quoted string, like "${rawVersion}.0"`);
  else if (!version && kind !== 'skill') problems.push(`${file}: missing 'version'`);
  if (version && semver.valid(version) !== version) problems.push(`${file}: version '${version}' is not valid semver`);
  if (problems.length > 0 || !name || !version) throw new CliError(`invalid ${file}`, problems);
  return { kind, file, name, version, ...(scope ? { scope } : {}), scopeIsBinding, data };
};

const parseData = async (kind: PackageKind, file: string, text: string): Promise<Record<string, unknown>> => {
  let source = text;
  if (kind === 'skill') {
    const parts = splitFrontMatter(text);
    if (!parts) throw new CliError(`invalid ${file}`, [NO_FRONT_MATTER]);
    source = parts.yaml;
  }
  let value: unknown;
  try {
    value = kind === 'mcp-server' ? JSON.parse(source) : (await import('yaml')).parse(source);
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : 'parse error';
    throw new CliError(`invalid ${file}`, [`${file}: not valid ${kind === 'mcp-server' ? 'JSON' : 'YAML'} (${reason})`]);
  }
  if (!isRecord(value)) throw new CliError(`invalid ${file}`, [`${file}: must be a ${kind === 'mcp-server' ? 'JSON object' : 'YAML mapping'}`]);
  return value;
};
