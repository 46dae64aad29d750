/** The group every workload belongs to unless it names another (ToolHive's `default`). It cannot be deleted. */
export const DEFAULT_GROUP = 'default';

const GROUP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Group names are lowercase letters, digits, '-' and '_', at most 63, starting with a letter or digit: safe in URLs, paths and config keys. */
export const groupNameProblem = (name: string): string | undefined =>
  GROUP_NAME.test(name) ? undefined : `'${name.slice(0, 80)}' is not a valid group name: use lowercase letters, digits, '-' or '_' (at most 63), starting with a letter or digit`;
