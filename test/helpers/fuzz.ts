import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { parse as parseYaml } from 'yaml';

/**
 * A bounded, schema-driven fuzzer for the running server: reads `/openapi.json` (and the MCP door's
 * `/openapi.yaml`), and for every documented operation sends bad and edge values per parameter type
 * and body, anonymously and with the tokens it is given. A seeded PRNG makes every run reproducible:
 * the same seed and count send the same requests (`AGENTRY_FUZZ_SEED`, `AGENTRY_FUZZ_REQUESTS`).
 */

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  default?: unknown;
  examples?: unknown[];
  $ref?: string;
};

export interface FuzzParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: JsonSchema;
  required: boolean;
}

export interface FuzzOperation {
  method: string;
  /** The OpenAPI path template, `/api/v1/packages/{scope}/{name}`. */
  path: string;
  parameters: FuzzParameter[];
  /** Content type → schema of the request body, when the operation takes one. */
  bodies: Array<{ contentType: string; schema: JsonSchema }>;
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The operation it was made for (`GET /api/v1/packages/{scope}`). */
  operation: string;
}

export interface FuzzFailure {
  request: string;
  status: number | 'no answer';
  response: string;
}

export interface FuzzResult {
  sent: number;
  skipped: number;
  statuses: Record<string, number>;
  failures: FuzzFailure[];
}

/** mulberry32: small, fast and good enough for choosing test inputs; the same seed gives the same run. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Numbers as a query or path segment: overflow, exponent forms, floats, signs, other bases. */
const EDGE_NUMBERS = [
  '1e309',
  '-1e309',
  '1e21',
  '1000000000000000000000',
  '9007199254740993',
  '99999999999999999999999999999',
  '2147483648',
  '4294967296',
  '-1',
  '0',
  '-0',
  '1',
  '1.5',
  '1.0',
  '0x10',
  '1e0',
  '1e2',
  '01',
  ' 1',
  '1 ',
  '+1',
  'NaN',
  'Infinity',
  '-Infinity',
  '',
  'abc',
  '1,2',
  '½',
];

/** Strings: empty, long, NUL and control characters, unicode, prototype keys, traversal, injection. */
const EDGE_STRINGS = [
  '',
  ' ',
  'a'.repeat(5000),
  'a'.repeat(300),
  'x',
  '\u0000',
  'a\u0000b',
  '\u0001',
  'a\u001bb',
  '\u007f',
  'a\r\nb: c',
  '\t',
  '😀',
  'ü',
  'İ',
  '\u202e',
  '\uffff',
  '\u200b',
  'ǅ',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  'prototype',
  'valueOf',
  '..',
  '.',
  '../../etc/passwd',
  '..\\..\\windows',
  '/',
  '//',
  '%',
  "' OR 1=1--",
  '"',
  '\\',
  '<script>',
  '{}',
  '[]',
  'null',
  'true',
  '-1',
  '0',
  '1e309',
  'sha256:',
  'sha256:' + '0'.repeat(64),
  'sha256:' + 'g'.repeat(64),
  'latest',
  '@',
  '@a/b',
  'a/b/c',
  'A',
  'a'.repeat(101),
];

/** Path segments sent exactly as written (not re-encoded): bad or tricky percent-encodings. */
const RAW_SEGMENTS = ['%00', 'a%00b', '%01', '%2e%2e', '%2e%2e%2f%2e%2e', '%2F', '%ff', '%c0%ae', '%ED%A0%80', '%', '%zz', '%25', '%0d%0a', '%7f', '..', '.'];

/** Header names a door reads (or might), for hand-built requests. */
const EXTRA_HEADER_NAMES = [
  'authorization',
  'x-api-key',
  'content-type',
  'accept',
  'accept-encoding',
  'if-none-match',
  'if-modified-since',
  'idempotency-key',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'request-id',
  'anthropic-beta',
  'anthropic-version',
  'cookie',
  'origin',
  'referer',
  'user-agent',
  'docker-content-digest',
  'oci-subject',
  'mcp-session-id',
  'last-event-id',
  'range',
];

/** Odd header values (only what an HTTP client can put in a header: visible ASCII, spaces, latin-1). */
const EXTRA_HEADER_VALUES = [
  '',
  ' ',
  'a'.repeat(8000),
  'Bearer',
  'Bearer ',
  'Bearer  x',
  `Bearer ${'a'.repeat(6000)}`,
  'Bearer agentry_',
  'Basic',
  'Basic !!!!',
  `Basic ${Buffer.from('nocolon').toString('base64')}`,
  `Basic ${Buffer.from(':').toString('base64')}`,
  `Basic ${Buffer.from('a:b:c').toString('base64')}`,
  'Digest username="x"',
  'bearer x',
  'application/json; charset=utf-16',
  'application/json;;;',
  'multipart/form-data',
  `multipart/form-data; boundary=${'b'.repeat(300)}`,
  'text/event-stream',
  '*/*;q=abc',
  'gzip;q=NaN, br',
  'W/"x", *',
  'Thu, 01 Jan 1970 00:00:00 GMT',
  'not a date',
  '1e309',
  '__proto__',
  '../../etc/passwd',
  '\u00ff\u00fe',
  '127.0.0.1, 10.0.0.1, ::1',
  'session=; session=x; __proto__=1',
  'files-api-2025-04-14,,,,',
  'sha256:zz',
  'bytes=0-',
];

/** Range headers on blob and download routes. */
const RANGES = [
  'bytes=0-0',
  'bytes=0-',
  'bytes=-1',
  'bytes=-0',
  'bytes=5-1',
  'bytes=0-0,1-1,2-2',
  'bytes=999999999999999999999-',
  'bytes=0-9007199254740993',
  'bytes=abc',
  'items=0-1',
  'bytes=',
  'bytes=-',
  'bytes=1e3-2e3',
  `bytes=${Array.from({ length: 300 }, (_, i) => `${i}-${i}`).join(',')}`,
];

/** Path parameters that try to leave their segment: encoded slashes, dots, backslashes, double encoding. */
const TRAVERSALS = [
  'a%2Fb',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '%2e%2e%2f%2e%2e%2fadmin',
  '%252e%252e%252f',
  '..%5c..%5cwindows',
  '%2F',
  'a%2F..%2F..%2Fb',
  '.%2e',
  '%c0%af',
  '%e2%80%ae',
  'x%3F%23',
  '%3B',
  '..;',
  'a;b=c',
];

/** OCI repository names: unicode (precomposed and not), look-alikes, case, empty and long components (as sent, encoded where needed). */
const OCI_NAMES = [
  encodeURIComponent('ü') + '/x',
  encodeURIComponent('u\u0308') + '/x',
  'fuzzer/' + encodeURIComponent('pkg😀'),
  'fuzzer' + encodeURIComponent('／') + 'pkg',
  encodeURIComponent('İ') + '/pkg',
  'Fuzzer/Pkg',
  'fuzzer//pkg',
  'fuzzer/pkg/',
  '/fuzzer/pkg',
  'fuzzer/' + 'a'.repeat(300),
  Array.from({ length: 60 }, () => 'a').join('/'),
  'fuzzer/pkg%2Fsub',
  'fuzzer/..%2F..%2Fpkg',
  'fuzzer/%00',
  'fuzzer/' + encodeURIComponent('\u202e'),
  'fuzzer/' + encodeURIComponent('\u200b') + 'pkg',
  '_catalog/x',
  'fuzzer/pkg/_uploads',
];

const JSON_TYPES_WRONG = ['[]', '"x"', '1', 'null', 'true', '{}', '1e309', '-1', '[[[]]]', '{"":""}'];

/** A value a plausible client would send for a parameter of this name (reaches deeper code). */
export type KnownValues = Record<string, string[]>;

/** The values of the objects every fuzz run makes first (the `fuzzer` account, its `pkg`), by path parameter. */
export const FUZZER_KNOWN: KnownValues = {
  scope: ['fuzzer', '@fuzzer'],
  name: ['pkg'],
  version: ['1.0.0', 'latest'],
  reference: ['latest', '1.0.0'],
  username: ['fuzzer'],
  org: ['fuzzer'],
  serverName: ['fuzzer%2Fpkg', 'io.github.fuzzer/pkg'],
  registryName: ['default'],
  tag: ['latest'],
  id: ['1', '2'],
};

const resolveRef = (doc: { components?: { schemas?: Record<string, JsonSchema> } }, s: JsonSchema | undefined): JsonSchema => {
  let out = s ?? {};
  for (let i = 0; i < 10 && out.$ref; i++) {
    const key = out.$ref.replace(/^#\/components\/schemas\//, '');
    out = doc.components?.schemas?.[key] ?? {};
  }
  return out;
};

type OpenApiDoc = {
  paths: Record<
    string,
    Record<string, { parameters?: Array<{ name: string; in: string; schema?: JsonSchema; required?: boolean }>; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>
  >;
  components?: { schemas?: Record<string, JsonSchema> };
};

const operationsOf = (doc: OpenApiDoc): FuzzOperation[] => {
  const ops: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'patch', 'delete', 'head'].includes(method)) continue;
      const parameters = (op.parameters ?? [])
        .filter((p) => p.in === 'path' || p.in === 'query' || p.in === 'header')
        .map((p) => ({ name: p.name, in: p.in as FuzzParameter['in'], schema: resolveRef(doc, p.schema), required: p.required === true }));
      const bodies = Object.entries(op.requestBody?.content ?? {}).map(([contentType, c]) => ({ contentType, schema: resolveRef(doc, c.schema) }));
      ops.push({ method: method.toUpperCase(), path, parameters, bodies });
    }
  }
  return ops;
};

/** Every operation the server documents: `/openapi.json`, plus `/openapi.yaml` where it adds any. */
export const loadOperations = async (base: string): Promise<FuzzOperation[]> => {
  const json = (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDoc;
  const ops = operationsOf(json);
  const yamlRes = await fetch(`${base}/openapi.yaml`);
  if (yamlRes.ok) {
    const seen = new Set(ops.map((o) => `${o.method} ${o.path}`));
    for (const op of operationsOf(parseYaml(await yamlRes.text()) as OpenApiDoc)) if (!seen.has(`${op.method} ${op.path}`)) ops.push(op);
  }
  return ops;
};

const typeOf = (s: JsonSchema): string => {
  if (s.enum || s.const !== undefined) return 'enum';
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t) return t;
  if (s.properties) return 'object';
  const alt = s.anyOf ?? s.oneOf;
  if (alt?.length) return typeOf(alt[0]!);
  return 'string';
};

/** Builds the requests; `next()` gives one more, in the same order for the same seed. */
export class FuzzGenerator {
  private readonly rnd: () => number;

  constructor(
    private readonly ops: FuzzOperation[],
    seed: number,
    private readonly tokens: Array<string | undefined>,
    private readonly known: KnownValues,
    /** Share of requests built by hand rather than from the schema (headers, Range, JSON-RPC, multipart, OCI names). */
    private readonly extraRate = 0,
  ) {
    this.rnd = seededRandom(seed);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rnd() * list.length)]!;
  }

  private chance(p: number): boolean {
    return this.rnd() < p;
  }

  /** A plausible value for a parameter or field: a known one, an enum member, a default. */
  private plausible(name: string, s: JsonSchema): string {
    const known = this.known[name];
    if (known?.length) return this.pick(known);
    if (s.enum?.length) return String(this.pick(s.enum));
    if (s.const !== undefined) return String(s.const);
    if (s.default !== undefined && typeof s.default !== 'object') return String(s.default);
    const t = typeOf(s);
    if (t === 'integer' || t === 'number') return String(Math.max(s.minimum ?? 1, Math.min(s.maximum ?? 10, 1)));
    if (t === 'boolean') return this.pick(['true', 'false']);
    return 'fuzz';
  }

  /** A bad or edge value for a parameter, by its type. */
  private edge(s: JsonSchema): string {
    const t = typeOf(s);
    if (t === 'integer' || t === 'number') return this.pick(this.chance(0.8) ? EDGE_NUMBERS : EDGE_STRINGS);
    if (t === 'boolean') return this.pick(['true', 'false', '1', '0', 'yes', '', 'TRUE', 'null', '\u0000']);
    if (s.maxLength !== undefined && this.chance(0.3)) return 'a'.repeat(s.maxLength + 1);
    return this.pick(this.chance(0.85) ? EDGE_STRINGS : EDGE_NUMBERS);
  }

  private encode(value: string): string {
    try {
      return encodeURIComponent(value);
    } catch {
      return '%ED%A0%80';
    }
  }

  /** A JSON value for a schema, some fields plausible and some hostile; raw tokens are replaced after stringify. */
  private jsonValue(s: JsonSchema, name: string, depth: number, raws: string[]): unknown {
    if (this.chance(0.12)) {
      // A hostile value of any type.
      const r = this.rnd();
      if (r < 0.3) return this.pick(EDGE_STRINGS);
      if (r < 0.45) {
        raws.push(this.pick(['1e309', '-1e309', '1e21', '-0', '9007199254740993', '1.5', '123456789012345678901234567890']));
        return `__RAW_${raws.length - 1}__`;
      }
      if (r < 0.6) return this.pick([null, true, false, 0, -1, 1.5, [], {}, [null], { __proto__: null, a: 1 }]);
      if (r < 0.75) return JSON.parse(this.pick(['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', '{"hasOwnProperty":1}']));
      return { nested: [[[{ x: '\u0000' }]]] };
    }
    const alt = s.anyOf ?? s.oneOf;
    if (alt?.length) return this.jsonValue(this.pick(alt), name, depth, raws);
    const t = typeOf(s);
    switch (t) {
      case 'enum':
        // A discriminator (`provider_id: "mcp"`) is where a lookup by the sent value happens.
        if (this.chance(0.15)) return this.pick(['constructor', '__proto__', 'toString', 'hasOwnProperty', '']);
        return s.enum ? this.pick(s.enum) : s.const;
      case 'object': {
        const out: Record<string, unknown> = {};
        if (depth > 6) return out;
        for (const [k, v] of Object.entries(s.properties ?? {})) {
          if (s.required?.includes(k) || this.chance(0.6)) out[k] = this.jsonValue(v, k, depth + 1, raws);
        }
        if (this.chance(0.08)) out[this.pick(['__proto__', 'constructor', 'unknown_field', ''])] = { admin: true };
        return out;
      }
      case 'array': {
        const n = this.pick([0, 1, 1, 2, 3]);
        return Array.from({ length: n }, () => this.jsonValue(s.items ?? {}, name, depth + 1, raws));
      }
      case 'integer':
      case 'number':
        if (this.chance(0.5)) return Number(this.plausible(name, s));
        raws.push(this.pick(EDGE_NUMBERS.filter((n) => /^-?[\d.e+]+$/.test(n) && !Number.isNaN(Number(n)) && !/^0\d/.test(n) && !/^-?\./.test(n) && !/\.$/.test(n))));
        return `__RAW_${raws.length - 1}__`;
      case 'boolean':
        return this.chance(0.8) ? this.chance(0.5) : this.pick(['true', 1, null]);
      default:
        return this.chance(0.5) ? this.plausible(name, s) : this.pick(EDGE_STRINGS);
    }
  }

  private jsonBody(schema: JsonSchema): string {
    const r = this.rnd();
    if (r < 0.05) return this.pick(JSON_TYPES_WRONG);
    if (r < 0.08) return `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    if (r < 0.1) return `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    if (r < 0.12) return this.pick(['{"a":', '', '{', '{"a":1,}', "{'a':1}", '\u0000', '{"a":"\\ud800"}', '{"a":1}garbage']);
    const raws: string[] = [];
    let text = JSON.stringify(this.jsonValue(schema, 'body', 0, raws)) ?? 'null';
    text = text.replace(/"__RAW_(\d+)__"/g, (_m, i: string) => raws[Number(i)]!);
    if (r < 0.16 && text.startsWith('{"')) {
      // Duplicate keys: the first field again, with another value.
      const key = /^\{"((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
      if (key !== undefined) text = `{"${key}":"dup1","${key}":${this.pick(['"dup2"', '1', 'null', '{}'])},${text.slice(1)}`;
    }
    return text;
  }

  private multipartBody(schema: JsonSchema): { body: Buffer; contentType: string } {
    const boundary = `fuzz${randomBytes(8).toString('hex')}`;
    const parts: Buffer[] = [];
    const props = Object.entries(schema.properties ?? {});
    for (const [k, v] of props) {
      if (!schema.required?.includes(k) && !this.chance(0.7)) continue;
      const binary = v.format === 'binary' || (v as { isFile?: boolean }).isFile === true || typeOf(v) === 'object';
      const name = this.chance(0.05) ? this.pick(EDGE_STRINGS).replace(/["\r\n]/g, '') : k;
      if (binary || this.chance(0.1)) {
        const content = this.chance(0.5) ? randomBytes(this.pick([0, 1, 100, 2048])) : Buffer.from(this.pick(EDGE_STRINGS));
        parts.push(
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${this.pick(['f.tgz', '../../x', 'a\u0000b', ''])}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
            'latin1',
          ),
        );
        parts.push(content, Buffer.from('\r\n'));
      } else {
        const value = this.chance(0.5) ? this.plausible(k, v) : this.pick(EDGE_STRINGS);
        parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`, 'utf8'));
      }
    }
    if (!this.chance(0.05)) parts.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(parts), contentType: this.chance(0.05) ? 'multipart/form-data' : `multipart/form-data; boundary=${boundary}` };
  }

  /** The next request: one operation, each parameter plausible or hostile, a body if it takes one. */
  next(): FuzzRequest {
    if (this.extraRate > 0 && this.chance(this.extraRate)) return this.extra();
    const op = this.pick(this.ops);
    const headers: Record<string, string> = {};
    const token = this.pick(this.tokens);
    if (token) {
      if (op.path.startsWith('/v2') && this.chance(0.3)) headers.authorization = `Basic ${Buffer.from(`fuzz:${token}`).toString('base64')}`;
      else if (this.chance(0.8)) headers.authorization = `Bearer ${token}`;
      else headers['x-api-key'] = token;
    }
    // At most a few hostile parameters per request, so the others let it reach deeper code.
    const hostile = new Set<string>();
    const nHostile = this.pick([0, 1, 1, 1, 2, 3]);
    for (let i = 0; i < nHostile && op.parameters.length > 0; i++) hostile.add(this.pick(op.parameters).name);
    let path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      const p = op.parameters.find((x) => x.name === name && x.in === 'path');
      const schema = p?.schema ?? {};
      if (!hostile.has(name)) return this.encode(this.plausible(name, schema));
      return this.chance(0.25) ? this.pick(RAW_SEGMENTS) : this.encode(this.edge(schema));
    });
    const query: string[] = [];
    for (const p of op.parameters.filter((x) => x.in === 'query')) {
      if (hostile.has(p.name)) query.push(`${p.name}=${this.chance(0.15) ? this.pick(RAW_SEGMENTS) : this.encode(this.edge(p.schema))}`);
      else if (p.required || this.chance(0.3)) query.push(`${p.name}=${this.encode(this.plausible(p.name, p.schema))}`);
    }
    if (this.chance(0.05)) query.push(`${this.pick(['__proto__', 'constructor', 'limit', 'page'])}=${this.encode(this.pick(EDGE_NUMBERS))}`);
    if (this.chance(0.03)) query.push('limit=1&limit=2');
    if (query.length) path += `?${query.join('&')}`;
    for (const p of op.parameters.filter((x) => x.in === 'header')) {
      const value = hostile.has(p.name) ? this.edge(p.schema) : this.plausible(p.name, p.schema);
      // Only what an HTTP client can send in a header at all.
      if (/^[\x20-\x7e]*$/.test(value)) headers[p.name] = value;
    }
    let body: Buffer | undefined;
    const isOci = op.path.startsWith('/v2/') && ['PUT', 'POST', 'PATCH'].includes(op.method);
    if (op.bodies.length > 0 || isOci) {
      const choice =
        op.bodies.length > 0
          ? this.pick(op.bodies)
          : { contentType: this.pick(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/octet-stream']), schema: {} };
      if (choice.contentType === 'multipart/form-data') {
        const mp = this.multipartBody(choice.schema);
        body = mp.body;
        headers['content-type'] = mp.contentType;
      } else if (choice.contentType.includes('json')) {
        body = Buffer.from(isOci && this.chance(0.5) ? ociManifest(this) : this.jsonBody(choice.schema), 'utf8');
        headers['content-type'] = this.chance(0.05) ? this.pick(['text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded']) : choice.contentType;
      } else {
        body = randomBytes(this.pick([0, 10, 512]));
        headers['content-type'] = choice.contentType;
      }
    }
    return { method: op.method, path, headers, body, operation: `${op.method} ${op.path}` };
  }

  private authHeaders(): Record<string, string> {
    const token = this.pick(this.tokens);
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  /** A request the schema does not describe: odd headers, Range, JSON-RPC edge cases, multipart extremes, OCI names. */
  private extra(): FuzzRequest {
    const kind = this.pick(['headers', 'range', 'path', 'oci-name', 'jsonrpc', 'jsonrpc', 'multipart'] as const);
    switch (kind) {
      case 'headers': {
        const r = this.next();
        const name = this.pick(EXTRA_HEADER_NAMES);
        r.headers[name] = this.pick(EXTRA_HEADER_VALUES);
        if (this.chance(0.2)) for (let i = 0; i < this.pick([50, 200]); i++) r.headers[`x-fuzz-${i}`] = 'v'.repeat(this.pick([1, 40]));
        r.operation = `${r.operation} +header ${name}`;
        return r;
      }
      case 'range': {
        const op = this.pick(this.ops.filter((o) => o.method === 'GET' && /blob|download|files|content|tarball/.test(o.path)));
        const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => this.encode(this.plausible(name, {})));
        return { method: this.pick(['GET', 'HEAD']), path, headers: { ...this.authHeaders(), range: this.pick(RANGES) }, operation: `${op.method} ${op.path} +range` };
      }
      case 'path': {
        const op = this.pick(this.ops.filter((o) => o.path.includes('{')));
        const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
        const target = this.pick(params);
        const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => (name === target ? this.pick(TRAVERSALS) : this.encode(this.plausible(name, {}))));
        return { method: op.method, path, headers: this.authHeaders(), operation: `${op.method} ${op.path} +traversal` };
      }
      case 'oci-name': {
        const name = this.pick(OCI_NAMES);
        const route = this.pick([
          `/v2/${name}/tags/list`,
          `/v2/${name}/manifests/latest`,
          `/v2/${name}/blobs/sha256:${'0'.repeat(64)}`,
          `/v2/${name}/blobs/uploads/`,
          `/v2/${name}/referrers/sha256:${'0'.repeat(64)}`,
        ]);
        const method = route.endsWith('uploads/') ? 'POST' : this.pick(['GET', 'HEAD', 'DELETE', 'PUT']);
        const headers = this.authHeaders();
        if (method === 'PUT') headers['content-type'] = 'application/vnd.oci.image.manifest.v1+json';
        return { method, path: route, headers, body: method === 'PUT' ? Buffer.from(ociManifest(this)) : undefined, operation: `${method} /v2/{unicode name}` };
      }
      case 'jsonrpc': {
        const a2a = this.pick(this.ops.filter((o) => o.method === 'POST' && (o.path === '/mcp' || o.path.startsWith('/a2a') || /^\/workloads\/\{name\}\/(mcp|messages)$/.test(o.path))));
        const path = a2a.path.replace(/\{([^}]+)\}/g, (_m, name: string) => this.encode(this.plausible(name, {})));
        const headers: Record<string, string> = {
          ...this.authHeaders(),
          'content-type': 'application/json',
          accept: this.pick(['application/json, text/event-stream', 'text/event-stream', '*/*', 'application/json']),
        };
        if (this.chance(0.2)) headers['mcp-session-id'] = this.pick(['x', '', '\u00ff', 'a'.repeat(2000), '00000000-0000-0000-0000-000000000000']);
        if (this.chance(0.2)) headers['mcp-protocol-version'] = this.pick(['1999-01-01', '', 'x'.repeat(300), '2025-06-18']);
        return { method: 'POST', path, headers, body: Buffer.from(this.jsonRpcBody(path.startsWith('/a2a'))), operation: `POST ${a2a.path} +jsonrpc` };
      }
      case 'multipart': {
        const op = this.pick(this.ops.filter((o) => o.bodies.some((b) => b.contentType === 'multipart/form-data')));
        const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => this.encode(this.plausible(name, {})));
        const { body, contentType } = this.extremeMultipart();
        return { method: op.method, path, headers: { ...this.authHeaders(), 'content-type': contentType }, body, operation: `${op.method} ${op.path} +multipart` };
      }
    }
  }

  private jsonRpcBody(a2a: boolean): string {
    const methods = a2a
      ? ['message/send', 'message/stream', 'tasks/get', 'tasks/cancel', 'tasks/resubscribe', 'tasks/pushNotificationConfig/set', 'agent/getAuthenticatedExtendedCard']
      : ['initialize', 'tools/list', 'tools/call', 'resources/list', 'resources/read', 'prompts/list', 'prompts/get', 'ping', 'notifications/initialized', 'completion/complete', 'logging/setLevel'];
    const one = (): unknown => {
      const msg: Record<string, unknown> = {};
      if (!this.chance(0.1)) msg.jsonrpc = this.chance(0.8) ? '2.0' : this.pick(['1.0', 2, null, '']);
      if (!this.chance(0.15)) msg.id = this.pick([1, 0, -1, 'x', '', null, 1.5, { a: 1 }, [1], true, 'a'.repeat(5000), '__proto__']);
      if (!this.chance(0.05))
        msg.method = this.chance(0.7) ? this.pick(methods) : this.pick(['', '__proto__', 'constructor', 'toString', 'rpc.discover', 'a'.repeat(3000), 1, null, 'tools/call\u0000']);
      const r = this.rnd();
      if (r < 0.3) msg.params = this.rpcParams(a2a);
      else if (r < 0.45)
        msg.params = this.pick([
          [],
          'x',
          1,
          null,
          { __proto__: null },
          JSON.parse('{"__proto__":{"admin":true}}'),
          { name: this.pick(EDGE_STRINGS), arguments: this.pick([[], 'x', null, { a: '\u0000' }]) },
        ]);
      else if (r < 0.5) msg.params = { nested: JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) };
      return msg;
    };
    const r = this.rnd();
    if (r < 0.08) return this.pick(['[]', '{}', 'null', '"x"', '1', '[1,2]', '{"jsonrpc":"2.0"', '']);
    if (r < 0.16) return JSON.stringify(Array.from({ length: this.pick([2, 10, 500]) }, one));
    return JSON.stringify(one()) ?? 'null';
  }

  private rpcParams(a2a: boolean): unknown {
    if (a2a) {
      return {
        message: {
          kind: this.pick(['message', 'task', '', 1]),
          role: this.pick(['user', 'agent', 'system', '']),
          messageId: this.pick(['m1', '', 'a'.repeat(3000), 1]),
          parts: this.pick([[], [{ kind: 'text', text: 'hi' }], [{ kind: 'file', file: { uri: 'http://169.254.169.254/' } }], [{ kind: 'data', data: { a: 1 } }], [{ kind: '__proto__' }], 'x']),
          ...(this.chance(0.3) ? { taskId: this.pick(['t', '', '\u0000', '../x']) } : {}),
          ...(this.chance(0.3) ? { contextId: this.pick(['c', '', 'a'.repeat(2000)]) } : {}),
        },
        id: this.pick(['t1', '', '\u0000', 1]),
        ...(this.chance(0.3) ? { configuration: { blocking: this.pick([true, 'x']), historyLength: this.pick([1, -1, 1e21, 'x']) } } : {}),
      };
    }
    return {
      name: this.pick(['search_packages', 'get_package', 'run_agent', 'nope', '', '__proto__', 'constructor']),
      arguments: this.pick([{}, { query: this.pick(EDGE_STRINGS) }, { scope: '__proto__', name: 'constructor' }, { limit: 1e21 }, [], null, 'x']),
      uri: this.pick(['agentry://package/@a/b', '', 'file:///etc/passwd', 'http://127.0.0.1/', 'agentry://__proto__']),
      protocolVersion: this.pick(['2025-06-18', '', 'x']),
      capabilities: this.pick([{}, null, []]),
      clientInfo: this.pick([{ name: 'f', version: '1' }, {}, null]),
      cursor: this.pick(['', 'x', '\u0000', 'a'.repeat(3000), '-1']),
      level: this.pick(['debug', 'x', '']),
    };
  }

  private extremeMultipart(): { body: Buffer; contentType: string } {
    const boundary = this.pick([`fz${randomBytes(6).toString('hex')}`, 'a'.repeat(70), '-', '"quoted"']);
    const b = boundary.replace(/"/g, '');
    const parts: Buffer[] = [];
    const r = this.rnd();
    if (r < 0.3) {
      // Many small parts.
      for (let i = 0; i < this.pick([1000, 5000]); i++) parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="f${i % 7}"\r\n\r\nv\r\n`));
    } else if (r < 0.5) {
      // A huge field name, a huge filename.
      const big = 'n'.repeat(this.pick([10_000, 200_000]));
      parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${big}"; filename="${this.chance(0.5) ? big : 'x.tgz'}"\r\nContent-Type: application/gzip\r\n\r\nxx\r\n`));
    } else if (r < 0.65) {
      // Many files.
      for (let i = 0; i < this.pick([100, 1500]); i++)
        parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${this.pick(['tarball', 'file', 'files', 'archive', 'bundle'])}"; filename="f${i}.tgz"\r\n\r\n\x1f\x8b\r\n`, 'latin1'));
    } else if (r < 0.8) {
      // Odd part headers: none, no name, a huge header, a header with only a colon.
      parts.push(Buffer.from(`--${b}\r\n\r\nno headers\r\n`));
      parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data\r\n\r\nno name\r\n`));
      parts.push(Buffer.from(`--${b}\r\nX-Big: ${'h'.repeat(100_000)}\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n`));
      parts.push(Buffer.from(`--${b}\r\n:\r\nContent-Disposition: form-data; name*=UTF-8''%C3%BC%00\r\n\r\nv\r\n`));
    } else {
      // A part that never ends, or a nested multipart.
      parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="tarball"; filename="p.tgz"\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n--inner\r\n\r\nx\r\n--inner--\r\n`));
      if (this.chance(0.5)) parts.push(Buffer.from(`\r\n--${b}--\r\n`));
      return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
    }
    parts.push(Buffer.from(`--${b}--\r\n`));
    return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
  }

  /** Exposed for the OCI manifest builder. */
  hostileString(): string {
    return this.pick(EDGE_STRINGS);
  }

  coin(p: number): boolean {
    return this.chance(p);
  }
}

/** An OCI manifest with hostile values in the places the registry reads (media types, annotations, digests, subject). */
const ociManifest = (g: FuzzGenerator): string => {
  const digest = g.coin(0.5) ? `sha256:${'0'.repeat(64)}` : g.hostileString();
  const manifest: Record<string, unknown> = {
    schemaVersion: g.coin(0.8) ? 2 : g.hostileString(),
    mediaType: g.coin(0.7) ? 'application/vnd.oci.image.manifest.v1+json' : g.hostileString(),
    artifactType: g.coin(0.5) ? 'application/vnd.agentry.fuzz' : g.hostileString(),
    config: { mediaType: g.coin(0.5) ? 'application/vnd.oci.empty.v1+json' : g.hostileString(), digest, size: g.coin(0.5) ? 2 : -1 },
    layers: g.coin(0.5) ? [] : [{ mediaType: g.hostileString(), digest, size: 1e21 }],
    annotations: { [g.hostileString()]: g.hostileString(), 'org.opencontainers.image.created': g.hostileString() },
  };
  if (g.coin(0.3)) manifest.subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 2 };
  return JSON.stringify(manifest);
};

const describeRequest = (r: FuzzRequest): string => {
  const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${k === 'authorization' || k === 'x-api-key' ? '<token>' : v}`);
  const body = r.body ? `\n  body (${r.body.length} bytes): ${JSON.stringify(r.body.subarray(0, 300).toString('utf8'))}` : '';
  return `${r.method} ${r.path}  [${r.operation}]\n  ${headers.join('\n  ')}${body}`;
};

/** Sends one request exactly as built (the path is not normalised or re-encoded). */
export const send = (base: string, r: FuzzRequest, agent: Agent, timeoutMs = 15_000): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const url = new URL(base);
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body) headers['content-length'] = r.body.length;
    const req = httpRequest({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent, timeout: timeoutMs }, (res) => {
      // An event stream that was opened is an answer; it may never end (a live session), so it is not read.
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream') && (res.statusCode ?? 0) < 300) {
        resolve({ status: res.statusCode ?? 0, body: '(an event stream)' });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 4096) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 600) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });

/**
 * Sends `count` generated requests, `concurrency` at a time, and checks `/healthz` every few hundred.
 * A 5xx (or no answer) is a failure, recorded with the request that caused it.
 */
export const runFuzz = async (opts: {
  base: string;
  ops: FuzzOperation[];
  seed: number;
  count: number;
  concurrency?: number;
  tokens: Array<string | undefined>;
  known: KnownValues;
  /** A 5xx that is the documented answer of this request (not a failure), e.g. 502 from a call to another server. */
  deliberate?: (r: FuzzRequest, status: number) => boolean;
  /** Share of hand-built requests (odd headers, Range, traversal, OCI names, JSON-RPC, multipart extremes); 0 by default. */
  extraRate?: number;
}): Promise<FuzzResult> => {
  const gen = new FuzzGenerator(opts.ops, opts.seed, opts.tokens, opts.known, opts.extraRate ?? 0);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 6 });
  const result: FuzzResult = { sent: 0, skipped: 0, statuses: {}, failures: [] };
  // Built up front so the sequence does not depend on answer timing.
  const requests = Array.from({ length: opts.count }, () => gen.next());
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < requests.length) {
      const r = requests[nextIndex++]!;
      let answer: { status: number; body: string };
      try {
        answer = await send(opts.base, r, agent);
      } catch (e) {
        const code = (e as { code?: string }).code;
        // A request the HTTP client refuses to build was never sent.
        if (code === 'ERR_INVALID_CHAR' || code === 'ERR_UNESCAPED_CHARACTERS' || code === 'ERR_INVALID_HTTP_TOKEN') {
          result.skipped++;
          continue;
        }
        result.failures.push({ request: describeRequest(r), status: 'no answer', response: (e as Error).message });
        continue;
      }
      result.sent++;
      const bucket = `${Math.floor(answer.status / 100)}xx`;
      result.statuses[bucket] = (result.statuses[bucket] ?? 0) + 1;
      if (answer.status >= 500 && !opts.deliberate?.(r, answer.status)) result.failures.push({ request: describeRequest(r), status: answer.status, response: answer.body });
      if (result.sent % 300 === 0) {
        const health = await fetch(`${opts.base}/healthz`).catch(() => undefined);
        if (health?.status !== 200) result.failures.push({ request: 'GET /healthz', status: health?.status ?? 'no answer', response: `after ${result.sent} requests` });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency ?? 6 }, worker));
  } finally {
    agent.destroy();
  }
  return result;
};

export const formatFailures = (failures: FuzzFailure[], seed: number, max = 25): string =>
  [`${failures.length} failing request(s); reproduce with AGENTRY_FUZZ_SEED=${seed}`, ...failures.slice(0, max).map((f, i) => `#${i + 1} → ${f.status}\n${f.request}\n  answer: ${f.response}`)].join(
    '\n\n',
  );
