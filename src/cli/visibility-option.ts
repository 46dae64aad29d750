import { InvalidArgumentError } from 'commander';

export type AccessLevel = 'public' | 'internal' | 'private';

export const ACCESS_LEVELS: readonly AccessLevel[] = ['public', 'internal', 'private'];

/** Commander parser for `--access` and `access set`: public, internal or private. */
export const accessLevel = (value: string): AccessLevel => {
  const v = value.trim().toLowerCase();
  if (!(ACCESS_LEVELS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${ACCESS_LEVELS.join(', ')}`);
  return v as AccessLevel;
};

/** Help text shared by every `--access` option. */
export const ACCESS_HELP =
  "who may read the package: public (anyone), internal (every signed-in account of the registry) or private (members of the scope's account or organisation). A first publish defaults to the scope's default; a later publish keeps the package's visibility unless given";
