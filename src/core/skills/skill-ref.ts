import { badRequest } from '../errors.js';
import { parsePackageId } from '../packages/names.js';

/** A stored skill by package: `@scope/name[@version|@tag]`. */
export interface PackageSkillRef {
  kind: 'package';
  scope: string;
  name: string;
  /** A version or dist-tag; undefined means `latest`. */
  version: string | undefined;
}

/** A skill by OCI reference: `host[:port]/repository[:tag][@digest]`. */
export interface OciSkillRef {
  kind: 'oci';
  /** `host[:port]`, lower case. */
  host: string;
  /** The repository path's components. */
  repository: string[];
  /** A tag (default `latest`) or a digest. */
  reference: string;
}

export type SkillRef = PackageSkillRef | OciSkillRef;

/**
 * Parses a skill reference: an Agentry package reference (`@scope/name`, `@scope/name@1.2.0`,
 * `@scope/name@tag`, or the same without the leading `@`), or an OCI reference
 * (`host[:port]/scope/name:tag`, `…@sha256:…`: three or more path components, or a host with a
 * port). Git and URL references are refused with a message that says what is accepted.
 */
export const parseSkillRef = (ref: string): SkillRef => {
  const text = ref.trim();
  if (text === '') throw badRequest('ref is required: a skill reference like @scope/name or @scope/name@1.0.0');
  if (/^(git(\+\w+)?:\/\/|https?:\/\/|oci:\/\/|git@|github\.com\/)/i.test(text)) {
    throw badRequest(`'${clip(text)}' is a git or URL reference; Agentry serves the skills it holds: use @scope/name[@version] or <this server>/<scope>/<name>:<version>`);
  }
  const scoped = text.startsWith('@');
  const body = scoped ? text.slice(1) : text;
  const segments = body.split('/');
  if (!scoped && (segments.length > 2 || segments[0].includes(':') || body.includes('@sha256:'))) return parseOciRef(text, segments);
  if (segments.length !== 2) throw badRequest(`'${clip(text)}' is not a skill reference; use @scope/name or @scope/name@version`);
  const [scope, rest] = segments;
  const at = rest.indexOf('@');
  const name = at === -1 ? rest : rest.slice(0, at);
  const version = at === -1 ? undefined : rest.slice(at + 1);
  if (version !== undefined && version === '') throw badRequest(`'${clip(text)}' ends with '@' but names no version`);
  const id = parsePackageId(scope, name);
  return { kind: 'package', scope: id.scope, name: id.name, version };
};

const parseOciRef = (text: string, segments: string[]): OciSkillRef => {
  if (segments.length < 2) throw badRequest(`'${clip(text)}' is not an OCI reference; use host[:port]/scope/name:tag`);
  const host = segments[0].toLowerCase();
  const path = segments.slice(1).join('/');
  const at = path.indexOf('@');
  let repoPath = at === -1 ? path : path.slice(0, at);
  let reference = at === -1 ? undefined : path.slice(at + 1);
  const colon = repoPath.lastIndexOf(':');
  if (colon !== -1) {
    if (reference === undefined) reference = repoPath.slice(colon + 1);
    repoPath = repoPath.slice(0, colon);
  }
  const repository = repoPath.split('/');
  if (repository.some((c) => c === '') || reference === '') throw badRequest(`'${clip(text)}' is not an OCI reference; use host[:port]/scope/name:tag`);
  return { kind: 'oci', host, repository, reference: reference ?? 'latest' };
};

const clip = (s: string): string => (s.length > 80 ? `${s.slice(0, 77)}...` : s);
