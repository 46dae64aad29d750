import { packageNameProblem, scopeProblem } from '../packages/names.js';
import { ociError } from './oci-errors.js';

/**
 * A repository: `<scope>/<path…>`, any depth the distribution spec allows, where the first
 * component is an Agentry scope (account or org) that owns it.
 */
export interface RepositoryName {
  /** The full name, lower case as the spec requires: `scope/name` or `scope/team/app/…`. */
  name: string;
  scope: string;
  /** The package this repository is (a two-component name whose second is a valid package name): `scope/name`. */
  packageName: string | undefined;
}

/** The distribution spec allows names up to 255 characters (with the registry's host, which clients count separately). */
const MAX_NAME = 255;

/** The distribution spec's repository path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`. */
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Parses a repository name of any depth the distribution spec allows (`a/b`, `a/b/c/…`): the first
 * component is the Agentry scope that owns it and whose rules apply. A single-level name (`app`)
 * belongs to `defaultScope` when the server names one (`<defaultScope>/app`), and is NAME_INVALID
 * otherwise.
 */
export const parseRepositoryName = (full: string, defaultScope?: string): RepositoryName => {
  const components = full.split('/');
  const problems: string[] = [];
  const bad = components.filter((c) => !COMPONENT.test(c));
  for (const c of bad) {
    problems.push(
      c === ''
        ? 'a repository name has no empty components (no leading, trailing or double slash)'
        : `'${c}' is not a valid repository name component: lower-case letters, digits and the separators '.', '_', '__', '-'`,
    );
  }
  if (full.length > MAX_NAME) problems.push(`a repository name is at most ${MAX_NAME} characters`);
  if (problems.length === 0 && components.length === 1) {
    if (!defaultScope) {
      throw ociError('NAME_INVALID', `Invalid repository name '${full}': a name needs an owner, as in <account or organisation>/${full}`, [
        `single-level names are refused on this registry; push to <scope>/${full} (or the operator sets AGENTRY_OCI_DEFAULT_SCOPE)`,
      ]);
    }
    return parseRepositoryName(`${defaultScope}/${full}`);
  }
  const scope = components[0];
  if (bad.length === 0 && scopeProblem(scope)) problems.push(`'${scope}' is not a valid scope: lower-case letters, digits, '.' and '-'`);
  if (problems.length > 0) throw ociError('NAME_INVALID', `Invalid repository name '${full}'`, problems);
  const packageName = components.length === 2 && !packageNameProblem(components[1]) ? full : undefined;
  return { name: full, scope, packageName };
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
