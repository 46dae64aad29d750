import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import schema from './schema/2025-12-11.json' with { type: 'json' };

/** A step of a JSON path: a property name or an array index. */
export type Segment = string | number;

/**
 * One violation of the official server.json schema, at `path` (`['packages', 0, 'transport']`).
 * `keyword` is the JSON Schema keyword that failed (`required`, `type`, `enum`, ...), plus
 * `anyRequired` for "one of these properties is required"; `params` are ajv's; `data` is the
 * offending value.
 */
export interface SchemaIssue {
  path: Segment[];
  keyword: string;
  params: Record<string, unknown>;
  data: unknown;
  /** ajv's own sentence, used only for keywords the messages do not know. */
  message: string;
}

/** The `$id` of the embedded schema (the 2025-12-11 server.json schema). */
export const SERVER_JSON_SCHEMA_ID: string = schema.$id;

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One ajv for the process: the schema is compiled on first use and kept (ajv caches every
 * compiled schema by `$id`, so the branch validators below are compiled once too). `verbose`
 * gives each error its schema and data, which the union handling below reads; `example` is an
 * OpenAPI keyword the generated schema carries; `strictRequired` is off because the schema
 * requires `valueHint`/`value` in `anyOf` branches that do not redeclare them.
 */
let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

const compiled = (ref: string): ValidateFunction => {
  let v = validators.get(ref);
  if (!v) {
    if (!ajv) {
      ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false });
      ajv.addKeyword('example');
      formats.default(ajv, ['uri']);
      ajv.addSchema(schema);
    }
    v = ajv.getSchema(ref);
    if (!v) throw new Error(`server.json schema has no ${ref}`);
    validators.set(ref, v);
  }
  return v;
};

const definition = (ref: string): Node | undefined => {
  const name = /^#\/definitions\/([^/]+)$/.exec(ref)?.[1];
  const defs: unknown = (schema as Node).definitions;
  return name && isNode(defs) && isNode(defs[name]) ? (defs[name] as Node) : undefined;
};

/** The values a union branch's `type` property takes (`properties.type.enum`, also inside `allOf`). */
const typeValues = (node: Node | undefined): string[] => {
  if (!node) return [];
  const own = isNode(node.properties) && isNode(node.properties.type) && Array.isArray(node.properties.type.enum) ? node.properties.type.enum.filter((v): v is string => typeof v === 'string') : [];
  const nested = Array.isArray(node.allOf) ? node.allOf.flatMap((n) => (isNode(n) ? typeValues(n) : [])) : [];
  return [...own, ...nested];
};

/** Splits an ajv instance path (a JSON pointer) into segments, indices as numbers where the data is an array. */
const segments = (pointer: string, data: unknown): Segment[] => {
  const out: Segment[] = [];
  let at = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) {
      out.push(Number(key));
      at = at[Number(key)];
    } else {
      out.push(key);
      at = isNode(at) ? at[key] : undefined;
    }
  }
  return out;
};

const under = (path: Segment[], prefix: Segment[]): boolean => path.length >= prefix.length && prefix.every((s, i) => path[i] === s);

const issueOf = (e: ErrorObject, root: unknown, prefix: Segment[]): SchemaIssue => {
  const path = [...prefix, ...segments(e.instancePath, root)];
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty: string }).missingProperty);
    return { path: [...path, missing], keyword: 'required', params: e.params, data: undefined, message: e.message ?? '' };
  }
  return { path, keyword: e.keyword, params: e.params, data: e.data, message: e.message ?? '' };
};

/**
 * Validates `data` with the validator of `ref` and returns its issues. ajv reports a failed
 * `anyOf` as every branch's errors followed by the `anyOf` error itself, which reads badly for
 * the schema's tagged unions (transports, arguments). So a union whose branches are `$ref`s is
 * resolved by its `type`: a missing or unknown `type` is one issue listing the allowed values,
 * and a known one is validated against that branch alone. An `anyOf` of `required` branches
 * becomes one `anyRequired` issue.
 */
const issuesFor = (ref: string, data: unknown, prefix: Segment[]): SchemaIssue[] => {
  const validate = compiled(ref);
  if (validate(data)) return [];
  const errors = [...(validate.errors ?? [])];
  const out: SchemaIssue[] = [];
  for (const e of errors) {
    if (e.keyword !== 'anyOf' || !Array.isArray(e.schema)) {
      out.push(issueOf(e, data, prefix));
      continue;
    }
    const branches = e.schema.filter(isNode);
    const path = [...prefix, ...segments(e.instancePath, data)];
    if (branches.every((b) => Array.isArray(b.required) && Object.keys(b).length === 1)) {
      const names = branches.flatMap((b) => b.required as string[]);
      // Drop the branches' own `required` errors, which come right before.
      while (out.length > 0 && out.at(-1)!.keyword === 'required' && names.includes(String(out.at(-1)!.path.at(-1))) && under(out.at(-1)!.path, path)) out.pop();
      out.push({ path, keyword: 'anyRequired', params: { names }, data: e.data, message: e.message ?? '' });
      continue;
    }
    if (!branches.every((b) => typeof b.$ref === 'string')) {
      out.push(issueOf(e, data, prefix));
      continue;
    }
    // A tagged union: drop what its branches said and resolve it by `type`.
    while (out.length > 0 && under(out.at(-1)!.path, path)) out.pop();
    const refs = branches.map((b) => b.$ref as string);
    const value = e.data;
    if (!isNode(value)) {
      out.push({ path, keyword: 'type', params: { type: 'object' }, data: value, message: 'must be object' });
      continue;
    }
    const allowed = refs.flatMap((r) => typeValues(definition(r)));
    const chosen = refs.find((r) => typeValues(definition(r)).includes(value.type as string));
    if (value.type === undefined) out.push({ path: [...path, 'type'], keyword: 'required', params: { missingProperty: 'type' }, data: undefined, message: '' });
    else if (typeof value.type !== 'string') out.push({ path: [...path, 'type'], keyword: 'type', params: { type: 'string' }, data: value.type, message: '' });
    else if (!chosen) out.push({ path: [...path, 'type'], keyword: 'enum', params: { allowedValues: allowed }, data: value.type, message: '' });
    else out.push(...issuesFor(`${SERVER_JSON_SCHEMA_ID}${chosen}`, value, path));
  }
  return dedupe(out);
};

/** Branches of `allOf` can report the same thing twice (an Input checked through two `$ref`s). */
const dedupe = (issues: SchemaIssue[]): SchemaIssue[] => {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = JSON.stringify([i.path, i.keyword, i.params]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

/** Every violation of the official server.json schema in `data`, in document order. */
export const schemaIssues = (data: unknown): SchemaIssue[] => issuesFor(SERVER_JSON_SCHEMA_ID, data, []);

const packageProperty = (name: 'registryType' | 'registryBaseUrl'): string[] => schema.definitions.Package.properties[name].examples;

/** The registries the official schema names for a server's packages: its `registryType` and `registryBaseUrl` examples. */
export const SCHEMA_REGISTRIES = { types: packageProperty('registryType'), baseUrls: packageProperty('registryBaseUrl') };
