import type { Segment, SchemaIssue } from './schema-validator.js';

/**
 * The one place a schema violation becomes a sentence. Top-level scalar fields read like the
 * other manifests (`field 'description' is longer than 100 characters`); nested parts are named
 * by their JSON path (`packages[0].transport.url is required`).
 */

/** Top-level fields named as `field 'x'`, in the order problems are listed. */
const SCALAR_FIELDS = ['name', 'description', 'version', 'title', '$schema', 'websiteUrl'];
const REQUIRED_FIELDS = ['name', 'description', 'version'];

/** What each of the schema's patterns means, in words. */
const PATTERN_HINTS: Record<string, string> = {
  '^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$': "must be '<namespace>/<name>', e.g. 'io.github.alice/weather'",
  '^[a-f0-9]{64}$': 'must be 64 lower-case hex characters (a SHA-256)',
  '^(\\d+x\\d+|any)$': "must be 'WxH' (like '48x48') or 'any'",
  '^https?://[^\\s]+$': 'must start with http:// or https://, without spaces',
};

const TYPE_WORDS: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  boolean: 'true or false',
};

export const clip = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** `['packages', 0, 'transport', 'url']` → `packages[0].transport.url`; odd keys in brackets. */
export const pathText = (path: readonly Segment[]): string =>
  path
    .map((s, i) => {
      if (typeof s === 'number') return `[${s}]`;
      if (/^[A-Za-z_$][\w$-]*$/.test(s)) return i === 0 ? s : `.${s}`;
      return `[${JSON.stringify(s)}]`;
    })
    .join('');

const fieldMessage = (field: string, issue: SchemaIssue): string | undefined => {
  const p = issue.params;
  switch (issue.keyword) {
    case 'required':
      return `missing required field '${field}'`;
    case 'type':
      return `field '${field}' must be ${TYPE_WORDS[String(p.type)] ?? `of type ${String(p.type)}`}`;
    case 'maxLength':
      return `field '${field}' is longer than ${String(p.limit)} characters`;
    case 'minLength':
      if (issue.data === '' && REQUIRED_FIELDS.includes(field)) return `missing required field '${field}'`;
      return p.limit === 1 ? `field '${field}' must not be empty` : `field '${field}' must be at least ${String(p.limit)} characters`;
    case 'pattern':
      return `field '${field}' value '${clip(String(issue.data))}' ${PATTERN_HINTS[String(p.pattern)] ?? `must match ${String(p.pattern)}`}`;
    default:
      return undefined;
  }
};

const pathMessage = (issue: SchemaIssue): string => {
  const p = issue.params;
  switch (issue.keyword) {
    case 'required':
      return 'is required';
    case 'type':
      return `must be ${TYPE_WORDS[String(p.type)] ?? `of type ${String(p.type)}`}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `is longer than ${String(p.limit)} characters`;
    case 'pattern':
      return PATTERN_HINTS[String(p.pattern)] ?? `must match ${String(p.pattern)}`;
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'format':
      return p.format === 'uri' ? `must be an absolute URI, got '${clip(String(issue.data))}'` : `must be a valid ${String(p.format)}`;
    case 'anyRequired': {
      const needs = `needs ${(p.names as string[]).map((n) => `a '${n}'`).join(' or ')}`;
      const type = typeof issue.data === 'object' && issue.data !== null ? (issue.data as Record<string, unknown>).type : undefined;
      return type === 'positional' ? `is a positional argument and ${needs}` : needs;
    }
    default:
      return issue.message;
  }
};

/** The line (without the `server.json: ` prefix) for one schema issue. */
export const issueMessage = (issue: SchemaIssue): string => {
  const [first] = issue.path;
  if (issue.path.length === 1 && typeof first === 'string' && SCALAR_FIELDS.includes(first)) {
    const m = fieldMessage(first, issue);
    if (m) return m;
  }
  return `${pathText(issue.path)} ${pathMessage(issue)}`;
};

/** Where problems about a top-level field sort: unknown fields first, then the fields in this order. */
const FIELD_ORDER = [...SCALAR_FIELDS, 'packages', 'remotes', 'icons', 'repository', '_meta'];
export const fieldRank = (path: readonly Segment[]): number => {
  const i = FIELD_ORDER.indexOf(String(path[0]));
  return i === -1 ? FIELD_ORDER.length : i;
};
