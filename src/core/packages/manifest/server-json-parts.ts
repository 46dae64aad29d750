import { isPlainObject } from './fields.js';

/**
 * The nested parts of an MCP server.json (packages, remotes, transports, arguments, inputs,
 * icons, repository), checked against the server.json schema (2025-12-11). Each check adds
 * one line per problem, named by its JSON path (`packages[0].transport.url`).
 */
export class PathChecker {
  readonly problems: string[] = [];

  constructor(private readonly file: string) {}

  problem(path: string, message: string): void {
    this.problems.push(`${this.file}: ${path} ${message}`);
  }

  object(path: string, value: unknown, required = false): Record<string, unknown> | undefined {
    if (value === undefined || value === null) {
      if (required) this.problem(path, 'is required');
      return undefined;
    }
    if (!isPlainObject(value)) {
      this.problem(path, 'must be an object');
      return undefined;
    }
    return value;
  }

  list(path: string, value: unknown): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.problem(path, 'must be an array');
      return [];
    }
    return value;
  }

  string(path: string, value: unknown, opts: { required?: boolean; min?: number; max?: number; pattern?: RegExp; hint?: string; oneOf?: readonly string[] } = {}): string | undefined {
    if (value === undefined || value === null) {
      if (opts.required) this.problem(path, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.problem(path, 'must be a string');
      return undefined;
    }
    if (opts.min !== undefined && value.length < opts.min) this.problem(path, opts.min === 1 ? 'must not be empty' : `must be at least ${opts.min} characters`);
    if (opts.max !== undefined && value.length > opts.max) this.problem(path, `is longer than ${opts.max} characters`);
    if (opts.pattern && !opts.pattern.test(value)) this.problem(path, opts.hint ?? `must match ${opts.pattern}`);
    if (opts.oneOf && !opts.oneOf.includes(value)) this.problem(path, `must be one of: ${opts.oneOf.join(', ')}`);
    return value;
  }

  /** An absolute URI (`format: uri`); `httpsOnly` for icons. */
  uri(path: string, value: unknown, opts: { required?: boolean; max?: number; httpsOnly?: boolean } = {}): string | undefined {
    const s = this.string(path, value, { required: opts.required, max: opts.max });
    if (s === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) ? new URL(s) : undefined;
    } catch {
      url = undefined;
    }
    if (!url) this.problem(path, `must be an absolute URI, got '${clip(s)}'`);
    else if (opts.httpsOnly && url.protocol !== 'https:') this.problem(path, 'must be an https:// URL');
    return s;
  }

  boolean(path: string, value: unknown): void {
    if (value !== undefined && value !== null && typeof value !== 'boolean') this.problem(path, 'must be true or false');
  }

  stringList(path: string, value: unknown, itemPattern?: RegExp, hint?: string): void {
    for (const [i, item] of this.list(path, value).entries()) this.string(`${path}[${i}]`, item, { pattern: itemPattern, hint });
  }
}

const clip = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

const INPUT_FORMATS = ['string', 'number', 'boolean', 'filepath'] as const;
const TRANSPORT_URL = /^(https?:\/\/[^\s]+|\{[a-zA-Z_][a-zA-Z0-9_]*\}[^\s]*)$/;
const TRANSPORT_URL_HINT = "must start with http://, https:// or a {variable}, without spaces";
const SHA256 = /^[a-f0-9]{64}$/;
const ICON_MIME_TYPES = ['image/png', 'image/jpeg', 'image/jpg', 'image/svg+xml', 'image/webp'] as const;
const ICON_SIZE = /^(\d+x\d+|any)$/;
/** The publisher's own metadata may be at most this many bytes of JSON (as in the official registry). */
export const PUBLISHER_META_KEY = 'io.modelcontextprotocol.registry/publisher-provided';
const MAX_PUBLISHER_META_BYTES = 4096;

/** Input: a value a client may ask the user for. */
const checkInput = (c: PathChecker, path: string, value: unknown, withVariables: boolean): Record<string, unknown> | undefined => {
  const input = c.object(path, value, true);
  if (!input) return undefined;
  for (const f of ['description', 'value', 'default', 'placeholder'] as const) c.string(`${path}.${f}`, input[f]);
  c.string(`${path}.format`, input.format, { oneOf: INPUT_FORMATS });
  c.boolean(`${path}.isRequired`, input.isRequired);
  c.boolean(`${path}.isSecret`, input.isSecret);
  c.stringList(`${path}.choices`, input.choices);
  if (withVariables) {
    const vars = c.object(`${path}.variables`, input.variables);
    for (const [k, v] of Object.entries(vars ?? {})) checkInput(c, `${path}.variables.${k}`, v, false);
  }
  return input;
};

/** KeyValueInput: an environment variable or a header. */
const checkKeyValue = (c: PathChecker, path: string, value: unknown): void => {
  const kv = checkInput(c, path, value, true);
  if (kv) c.string(`${path}.name`, kv.name, { required: true, min: 1 });
};

/** Argument: `positional` (needs valueHint or value) or `named` (needs name). */
const checkArgument = (c: PathChecker, path: string, value: unknown): void => {
  const arg = checkInput(c, path, value, true);
  if (!arg) return;
  const type = c.string(`${path}.type`, arg.type, { required: true, oneOf: ['positional', 'named'] });
  c.boolean(`${path}.isRepeated`, arg.isRepeated);
  if (type === 'positional') {
    c.string(`${path}.valueHint`, arg.valueHint);
    if (arg.valueHint === undefined && arg.value === undefined) c.problem(path, "is a positional argument and needs a 'valueHint' or a 'value'");
  }
  if (type === 'named') c.string(`${path}.name`, arg.name, { required: true, min: 1 });
};

/** A transport: `stdio` (packages only), `streamable-http` or `sse` (with a URL template). */
const checkTransport = (c: PathChecker, path: string, value: unknown, remote: boolean): void => {
  const t = c.object(path, value, true);
  if (!t) return;
  const types = remote ? ['streamable-http', 'sse'] : ['stdio', 'streamable-http', 'sse'];
  const type = c.string(`${path}.type`, t.type, { required: true, oneOf: types });
  if (type === 'streamable-http' || type === 'sse') {
    c.string(`${path}.url`, t.url, { required: true, pattern: TRANSPORT_URL, hint: TRANSPORT_URL_HINT });
    for (const [i, h] of c.list(`${path}.headers`, t.headers).entries()) checkKeyValue(c, `${path}.headers[${i}]`, h);
  }
  if (remote) {
    const vars = c.object(`${path}.variables`, t.variables);
    for (const [k, v] of Object.entries(vars ?? {})) checkInput(c, `${path}.variables.${k}`, v, false);
  }
};

/**
 * A package version must be one exact version: not empty, not `latest`, not a range.
 * (The server's own version follows the kind's version scheme; this one names a version elsewhere.)
 */
const checkPackageVersion = (c: PathChecker, path: string, value: unknown, versionProblem: (v: string) => string | undefined): void => {
  const v = c.string(path, value, { min: 1, max: 255 });
  if (v === undefined || v.length === 0) return;
  const problem = versionProblem(v);
  if (problem) c.problem(path, `is invalid: ${problem}`);
};

export const checkPackage = (c: PathChecker, path: string, value: unknown, versionProblem: (v: string) => string | undefined): void => {
  const p = c.object(path, value, true);
  if (!p) return;
  c.string(`${path}.registryType`, p.registryType, { required: true, min: 1 });
  c.uri(`${path}.registryBaseUrl`, p.registryBaseUrl);
  c.string(`${path}.identifier`, p.identifier, { required: true, min: 1 });
  checkPackageVersion(c, `${path}.version`, p.version, versionProblem);
  c.string(`${path}.fileSha256`, p.fileSha256, { pattern: SHA256, hint: 'must be 64 lower-case hex characters (a SHA-256)' });
  c.string(`${path}.runtimeHint`, p.runtimeHint);
  checkTransport(c, `${path}.transport`, p.transport, false);
  for (const f of ['runtimeArguments', 'packageArguments'] as const) {
    for (const [i, a] of c.list(`${path}.${f}`, p[f]).entries()) checkArgument(c, `${path}.${f}[${i}]`, a);
  }
  for (const [i, e] of c.list(`${path}.environmentVariables`, p.environmentVariables).entries()) checkKeyValue(c, `${path}.environmentVariables[${i}]`, e);
};

export const checkRemote = (c: PathChecker, path: string, value: unknown): void => checkTransport(c, path, value, true);

export const checkIcon = (c: PathChecker, path: string, value: unknown): void => {
  const icon = c.object(path, value, true);
  if (!icon) return;
  c.uri(`${path}.src`, icon.src, { required: true, max: 255, httpsOnly: true });
  c.string(`${path}.mimeType`, icon.mimeType, { oneOf: ICON_MIME_TYPES });
  c.stringList(`${path}.sizes`, icon.sizes, ICON_SIZE, "must be 'WxH' (like '48x48') or 'any'");
  c.string(`${path}.theme`, icon.theme, { oneOf: ['light', 'dark'] });
};

export const checkRepository = (c: PathChecker, path: string, value: unknown): string | undefined => {
  const repo = c.object(path, value);
  if (!repo) return undefined;
  const url = c.uri(`${path}.url`, repo.url, { required: true });
  c.string(`${path}.source`, repo.source, { required: true, min: 1 });
  c.string(`${path}.id`, repo.id);
  const sub = c.string(`${path}.subfolder`, repo.subfolder);
  if (sub !== undefined && (sub.startsWith('/') || sub.split(/[\\/]/).some((seg) => seg === '..' || seg === '.') || sub.includes('\\'))) {
    c.problem(`${path}.subfolder`, "must be a clean relative path (no leading '/', no '.' or '..' segments)");
  }
  return url;
};

export const checkMeta = (c: PathChecker, path: string, value: unknown): void => {
  const meta = c.object(path, value);
  if (!meta) return;
  const provided = meta[PUBLISHER_META_KEY];
  if (provided === undefined) return;
  if (!isPlainObject(provided)) c.problem(`${path}["${PUBLISHER_META_KEY}"]`, 'must be an object');
  else {
    const bytes = Buffer.byteLength(JSON.stringify(provided), 'utf8');
    if (bytes > MAX_PUBLISHER_META_BYTES) c.problem(`${path}["${PUBLISHER_META_KEY}"]`, `is ${bytes} bytes of JSON; at most ${MAX_PUBLISHER_META_BYTES} are allowed`);
  }
};
