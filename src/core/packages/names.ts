import { badRequest } from '../errors.js';

/**
 * Names of scopes and packages. A scope is an account name (`alice`, `acme`) or a
 * reverse-DNS namespace (`io.github.alice`); a package name is a short slug. Both are
 * matched case-insensitively: `@Alice/Helper` and `@alice/helper` are one package.
 */
export const SCOPE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,98}[a-zA-Z0-9])?$/;
/** Up to 128 characters: PraisonAI's recipe names are that long (agent and skill manifests set tighter limits). */
export const PACKAGE_NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,126}[a-zA-Z0-9])?$/;

export const scopeProblem = (scope: string): string | undefined => {
  if (!SCOPE_PATTERN.test(scope) || scope.includes('..')) {
    return `scope '@${scope}' is invalid: use 1-100 letters, digits, '-' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
};

export const packageNameProblem = (name: string): string | undefined => {
  if (!PACKAGE_NAME_PATTERN.test(name) || name.includes('..')) {
    return `name '${name}' is invalid: use 1-128 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
};

/** Strips one leading `@` (URLs and manifests carry it, the store does not). */
export const bareScope = (scope: string): string => (scope.startsWith('@') ? scope.slice(1) : scope);

export const packageKey = (scope: string, name: string): string => `${bareScope(scope)}/${name}`.toLowerCase();

export const fullName = (scope: string, name: string): string => `@${bareScope(scope)}/${name}`;

/** Validates a scope and a name as given in a request; throws a 400 naming the problem. */
export const parsePackageId = (scope: string, name: string): { scope: string; name: string; key: string } => {
  const s = bareScope(scope);
  const problems = [scopeProblem(s), packageNameProblem(name)].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw badRequest('Invalid package name', problems);
  return { scope: s, name, key: packageKey(s, name) };
};
