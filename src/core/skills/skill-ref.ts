import { badRequest } from '../errors.js';
import { parsePackageId } from '../packages/names.js';

export interface SkillRef {
  scope: string;
  name: string;
  /** A version or dist-tag; undefined means `latest`. */
  version: string | undefined;
}

/**
 * Parses a reference to a skill this registry holds: `@scope/name`, `@scope/name@1.2.0`,
 * `@scope/name@tag`, or the same without the leading `@`. OCI references (`host[:port]/repo:tag`,
 * `…@sha256:…`) and git references are refused with a message that says what is accepted.
 */
export const parseSkillRef = (ref: string): SkillRef => {
  const text = ref.trim();
  if (text === '') throw badRequest('ref is required: a skill reference like @scope/name or @scope/name@1.0.0');
  if (/^(git(\+\w+)?:\/\/|https?:\/\/|git@|github\.com\/)/i.test(text)) {
    throw badRequest(`'${clip(text)}' is a git or URL reference; Agentry serves the skills it holds: use @scope/name[@version]`);
  }
  const scoped = text.startsWith('@');
  const body = scoped ? text.slice(1) : text;
  const segments = body.split('/');
  if (!scoped && (segments.length > 2 || segments[0].includes(':') || body.includes('@sha256:'))) {
    throw badRequest(
      `'${clip(text)}' looks like an OCI reference; this server does not resolve OCI references for skills yet: use an Agentry package reference, @scope/name[@version]`,
    );
  }
  if (segments.length !== 2) throw badRequest(`'${clip(text)}' is not a skill reference; use @scope/name or @scope/name@version`);
  const [scope, rest] = segments;
  const at = rest.indexOf('@');
  const name = at === -1 ? rest : rest.slice(0, at);
  const version = at === -1 ? undefined : rest.slice(at + 1);
  if (version !== undefined && version === '') throw badRequest(`'${clip(text)}' ends with '@' but names no version`);
  const id = parsePackageId(scope, name);
  return { scope: id.scope, name: id.name, version };
};

const clip = (s: string): string => (s.length > 80 ? `${s.slice(0, 77)}...` : s);
