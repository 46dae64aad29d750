import { CliError } from './cli-error.js';
import { EXIT } from './exit-codes.js';

/** `@scope/name`, optionally with `@version` or `@tag`. */
export interface PackageRef {
  scope: string;
  name: string;
  /** A version or a dist-tag, when one was given. */
  version?: string;
  /** `@scope/name`. */
  fullName: string;
}

const REF = /^@?([A-Za-z0-9][A-Za-z0-9.-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*)(?:@([^@/\s]+))?$/;

/**
 * Parses `@scope/name[@version]` (the leading `@` is optional). `version` says whether the
 * version part may be given, must be given, or must not be.
 */
export const parsePackageRef = (raw: string, version: 'optional' | 'required' | 'forbidden' = 'forbidden'): PackageRef => {
  const m = REF.exec(raw.trim());
  const expected = version === 'required' ? '@scope/name@version' : version === 'optional' ? '@scope/name[@version|@tag]' : '@scope/name';
  if (!m) throw new CliError(`invalid package '${raw}': expected ${expected}`, [], EXIT.usage);
  const [, scope, name, v] = m;
  if (v && version === 'forbidden') throw new CliError(`invalid package '${raw}': expected ${expected} (no version)`, [], EXIT.usage);
  if (!v && version === 'required') throw new CliError(`invalid package '${raw}': expected ${expected}`, [], EXIT.usage);
  return { scope, name, ...(v ? { version: v } : {}), fullName: `@${scope}/${name}` };
};

/** The native API path of a package: `/packages/<scope>/<name>` (any kind). */
export const packagePath = (ref: Pick<PackageRef, 'scope' | 'name'>): string => `/packages/${encodeURIComponent(ref.scope)}/${encodeURIComponent(ref.name)}`;
