/**
 * A small schema language for Alquimia's models: each shape checks a JSON value (collecting
 * every problem with its path, as Pydantic does) and describes itself as JSON Schema, so the
 * rule that validates and the OpenAPI document that shows it are one definition.
 */
import { ownValue } from '../own-value.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonSchema = Record<string, unknown>;

export interface Shape {
  check(value: unknown, path: string, errors: string[]): void;
  schema(): JsonSchema;
}

const at = (path: string) => path || '(root)';
const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const str = (o: { max?: number; min?: number; pattern?: RegExp; enum?: readonly string[]; description?: string } = {}): Shape => ({
  check(v, path, errors) {
    if (typeof v !== 'string') return void errors.push(`${at(path)}: must be a string (got ${kindOf(v)})`);
    if (o.min !== undefined && v.length < o.min) errors.push(`${at(path)}: must be at least ${o.min} character${o.min === 1 ? '' : 's'}`);
    if (o.max !== undefined && v.length > o.max) errors.push(`${at(path)}: must be at most ${o.max} characters (got ${v.length})`);
    if (o.pattern && !o.pattern.test(v)) errors.push(`${at(path)}: must match ${o.pattern.source}`);
    if (o.enum && !o.enum.includes(v)) errors.push(`${at(path)}: must be one of ${o.enum.map((e) => `'${e}'`).join(', ')} (got '${v.slice(0, 60)}')`);
  },
  schema: () => ({
    type: 'string',
    ...(o.min !== undefined ? { minLength: o.min } : {}),
    ...(o.max !== undefined ? { maxLength: o.max } : {}),
    ...(o.pattern ? { pattern: o.pattern.source } : {}),
    ...(o.enum ? { enum: [...o.enum] } : {}),
    ...(o.description ? { description: o.description } : {}),
  }),
});

export const int = (o: { min?: number; max?: number; description?: string } = {}): Shape => ({
  check(v, path, errors) {
    if (typeof v !== 'number' || !Number.isInteger(v)) return void errors.push(`${at(path)}: must be an integer (got ${kindOf(v)})`);
    if (o.min !== undefined && v < o.min) errors.push(`${at(path)}: must be at least ${o.min}`);
    if (o.max !== undefined && v > o.max) errors.push(`${at(path)}: must be at most ${o.max}`);
  },
  schema: () => ({ type: 'integer', ...(o.min !== undefined ? { minimum: o.min } : {}), ...(o.max !== undefined ? { maximum: o.max } : {}), ...(o.description ? { description: o.description } : {}) }),
});

export const num = (o: { min?: number; max?: number } = {}): Shape => ({
  check(v, path, errors) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return void errors.push(`${at(path)}: must be a number (got ${kindOf(v)})`);
    if (o.min !== undefined && v < o.min) errors.push(`${at(path)}: must be at least ${o.min}`);
    if (o.max !== undefined && v > o.max) errors.push(`${at(path)}: must be at most ${o.max}`);
  },
  schema: () => ({ type: 'number', ...(o.min !== undefined ? { minimum: o.min } : {}), ...(o.max !== undefined ? { maximum: o.max } : {}) }),
});

export const bool = (): Shape => ({
  check(v, path, errors) {
    if (typeof v !== 'boolean') errors.push(`${at(path)}: must be true or false (got ${kindOf(v)})`);
  },
  schema: () => ({ type: 'boolean' }),
});

export const literal = (value: string): Shape => ({
  check(v, path, errors) {
    if (v !== value) errors.push(`${at(path)}: must be '${value}'`);
  },
  schema: () => ({ const: value }),
});

export const nullable = (inner: Shape): Shape => ({
  check(v, path, errors) {
    if (v !== null) inner.check(v, path, errors);
  },
  schema: () => ({ anyOf: [inner.schema(), { type: 'null' }] }),
});

export const arr = (item: Shape, o: { max?: number } = {}): Shape => ({
  check(v, path, errors) {
    if (!Array.isArray(v)) return void errors.push(`${at(path)}: must be an array (got ${kindOf(v)})`);
    if (o.max !== undefined && v.length > o.max) errors.push(`${at(path)}: must have at most ${o.max} items`);
    v.forEach((x, i) => item.check(x, `${path}[${i}]`, errors));
  },
  schema: () => ({ type: 'array', items: item.schema(), ...(o.max !== undefined ? { maxItems: o.max } : {}) }),
});

export const record = (value: Shape): Shape => ({
  check(v, path, errors) {
    if (!isPlainObject(v)) return void errors.push(`${at(path)}: must be an object (got ${kindOf(v)})`);
    for (const [k, x] of Object.entries(v)) value.check(x, path ? `${path}.${k}` : k, errors);
  },
  schema: () => ({ type: 'object', additionalProperties: value.schema() }),
});

/** Any JSON object: for the parts of Alquimia's models whose fields no public document shows. */
export const openObject = (description: string): Shape => ({
  check(v, path, errors) {
    if (!isPlainObject(v)) errors.push(`${at(path)}: must be an object (got ${kindOf(v)})`);
  },
  schema: () => ({ type: 'object', additionalProperties: true, description }),
});

export const anyJson = (): Shape => ({ check: () => undefined, schema: () => ({}) });

export interface Field {
  shape: Shape;
  required?: boolean;
}
export const req = (shape: Shape): Field => ({ shape, required: true });
export const opt = (shape: Shape): Field => ({ shape });

/** An object with known fields; any other field is an error (Alquimia's models forbid extras). */
export const obj = (fields: Record<string, Field>, o: { description?: string } = {}): Shape & { fields: Record<string, Field> } => ({
  fields,
  check(v, path, errors) {
    if (!isPlainObject(v)) return void errors.push(`${at(path)}: must be an object (got ${kindOf(v)})`);
    for (const [k, f] of Object.entries(fields)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in v) || v[k] === undefined) {
        if (f.required) errors.push(`${p}: field required`);
        continue;
      }
      f.shape.check(v[k], p, errors);
    }
    for (const k of Object.keys(v)) if (!(k in fields)) errors.push(`${path ? `${path}.${k}` : k}: unknown field (extra fields are not permitted)`);
  },
  schema: () => ({
    type: 'object',
    properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.shape.schema()])),
    required: Object.entries(fields)
      .filter(([, f]) => f.required)
      .map(([k]) => k),
    additionalProperties: false,
    ...(o.description ? { description: o.description } : {}),
  }),
});

/** One of several object shapes, told apart by the value of `tag` (Pydantic's discriminated union). */
export const tagged = (tag: string, variants: Record<string, Shape>): Shape => ({
  check(v, path, errors) {
    if (!isPlainObject(v)) return void errors.push(`${at(path)}: must be an object (got ${kindOf(v)})`);
    const t = v[tag];
    const variant = typeof t === 'string' ? ownValue(variants, t) : undefined;
    if (!variant) {
      const p = path ? `${path}.${tag}` : tag;
      return void errors.push(
        `${p}: must be one of ${Object.keys(variants)
          .map((k) => `'${k}'`)
          .join(', ')}${t === undefined ? ' (field required)' : ` (got ${JSON.stringify(t).slice(0, 60)})`}`,
      );
    }
    variant.check(v, path, errors);
  },
  schema: () => ({ oneOf: Object.values(variants).map((s) => s.schema()), discriminator: { propertyName: tag } }),
});

/** The first shape that accepts the value wins; otherwise the message names what was expected. */
export const either = (expected: string, ...shapes: Shape[]): Shape => ({
  check(v, path, errors) {
    for (const s of shapes) {
      const e: string[] = [];
      s.check(v, path, e);
      if (e.length === 0) return;
    }
    errors.push(`${at(path)}: must be ${expected}`);
  },
  schema: () => ({ anyOf: shapes.map((s) => s.schema()) }),
});
