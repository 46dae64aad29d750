import semver from 'semver';

const TAG_PATTERN = /^[a-zA-Z][a-zA-Z0-9._-]{0,63}$/;

/** A dist-tag name must not look like a version, or `pull x@1.0.0` would be ambiguous. */
export const distTagProblem = (tag: string): string | undefined => {
  if (!TAG_PATTERN.test(tag)) return `dist-tag '${tag}' is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter`;
  if (semver.valid(tag) || semver.validRange(tag) === tag) return `dist-tag '${tag}' looks like a version`;
  return undefined;
};
