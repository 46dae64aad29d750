import { packageNameProblem, scopeProblem } from '../packages/names.js';
import { ociError } from './oci-errors.js';

/** A repository: `<scope>/<name>`, where the scope is an Agentry scope (account or org). */
export interface RepositoryName {
  /** `scope/name`, lower case as the spec requires. */
  name: string;
  scope: string;
  /** The package this repository is (when it is a valid package name): `scope/name`. */
  packageName: string | undefined;
}

/** The distribution spec's repository path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`. */
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Parses a repository name: exactly two components, `<scope>/<name>`, so that every repository
 * belongs to an Agentry scope and obeys its ownership rules.
 */
export const parseRepositoryName = (scope: string, name: string): RepositoryName => {
  const full = `${scope}/${name}`;
  const problems: string[] = [];
  if (!COMPONENT.test(scope) || scopeProblem(scope)) problems.push(`'${scope}' is not a valid scope: lower-case letters, digits, '.' and '-'`);
  if (!COMPONENT.test(name)) problems.push(`'${name}' is not a valid repository name component: lower-case letters, digits and the separators '.', '_', '__', '-'`);
  if (full.length > 255) problems.push('a repository name is at most 255 characters');
  if (problems.length > 0) throw ociError('NAME_INVALID', `Invalid repository name '${full}'`, problems);
  return { name: full, scope, packageName: packageNameProblem(name) ? undefined : full };
};

export const isTag = (reference: string): boolean => TAG.test(reference);
export const isDigest = (reference: string): boolean => ANY_DIGEST.test(reference);
export const isSha256 = (digest: string): boolean => SHA256.test(digest);

/** Throws DIGEST_INVALID unless `digest` is a sha256 digest; other algorithms are UNSUPPORTED. */
export const requireSha256 = (digest: string | undefined, what = 'digest'): string => {
  if (digest === undefined || digest === '') throw ociError('DIGEST_INVALID', `A ${what} is required`, { expected: 'sha256:<64 hex>' });
  if (SHA256.test(digest)) return digest;
  if (ANY_DIGEST.test(digest) && !digest.startsWith('sha256:')) throw ociError('UNSUPPORTED', `Digest algorithm of '${digest}' is not supported: use sha256`, { digest });
  throw ociError('DIGEST_INVALID', `'${digest}' is not a valid digest`, { expected: 'sha256:<64 hex>' });
};

/** A manifest reference: a tag or a digest. */
export type ManifestReference = { tag: string } | { digest: string };

export const parseReference = (reference: string): ManifestReference => {
  if (reference.includes(':')) return { digest: requireSha256(reference) };
  if (!TAG.test(reference)) throw ociError('TAG_INVALID', `'${reference}' is not a valid tag`, { pattern: TAG.source });
  return { tag: reference };
};

export const requireTag = (tag: string): string => {
  if (!TAG.test(tag)) throw ociError('TAG_INVALID', `'${tag}' is not a valid tag`, { pattern: TAG.source });
  return tag;
};
