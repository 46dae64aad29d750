import { badRequest, validationFailed } from '../errors.js';
import { ASSISTANT_ID } from './assistant-config.js';
import { anyJson, arr, bool, either, obj, opt, req, str, type JsonSchema } from './shape.js';

/**
 * Agentry's ParameterDef (Alquimia documents none): a typed value agents' prompts can use as
 * `{{ params.<key> }}`. `value` (else `default`) is what `resolve` renders; a `required`
 * parameter with neither makes resolving an agent that uses it fail.
 */
export type ParameterType = 'string' | 'number' | 'boolean' | 'enum' | 'json';
export interface ParameterDef {
  key: string;
  type: ParameterType;
  enum?: string[];
  default?: unknown;
  value?: unknown;
  required?: boolean;
  description?: string | null;
  assistant_id?: string | null;
}

export const PARAMETER_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const shape = obj({
  key: req(str({ min: 1, max: 64, pattern: PARAMETER_KEY })),
  type: req(str({ enum: ['string', 'number', 'boolean', 'enum', 'json'] })),
  enum: opt(arr(str({ min: 1, max: 256 }), { max: 200 })),
  default: opt(anyJson()),
  value: opt(anyJson()),
  required: opt(bool()),
  description: opt(either('a string or null', str({ max: 1000 }), { check: (v, p, e) => void (v !== null && e.push(`${p}: must be null`)), schema: () => ({ type: 'null' }) })),
  assistant_id: opt(either('an assistant id or null', str({ pattern: ASSISTANT_ID }), { check: (v, p, e) => void (v !== null && e.push(`${p}: must be null`)), schema: () => ({ type: 'null' }) })),
});

export const parameterDefSchema = (): JsonSchema => shape.schema();

const typeProblem = (def: ParameterDef, field: 'default' | 'value', v: unknown): string | undefined => {
  switch (def.type) {
    case 'string':
      return typeof v === 'string' ? undefined : `${field}: must be a string for a string parameter`;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? undefined : `${field}: must be a number for a number parameter`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `${field}: must be true or false for a boolean parameter`;
    case 'enum':
      return typeof v === 'string' && def.enum?.includes(v) ? undefined : `${field}: must be one of ${(def.enum ?? []).map((e) => `'${e}'`).join(', ')}`;
    case 'json':
      return undefined;
  }
};

/** Checks a definition and its values; throws `validation_failed` with every problem. */
export const checkParameterDef = (input: unknown): ParameterDef => {
  const errors: string[] = [];
  shape.check(input, '', errors);
  if (errors.length > 0) throw validationFailed(errors, 'Invalid parameter definition');
  const def = input as ParameterDef;
  if (def.type === 'enum') {
    if (!def.enum || def.enum.length === 0) errors.push("enum: an 'enum' parameter needs a non-empty list of values");
    else if (new Set(def.enum).size !== def.enum.length) errors.push('enum: values must be unique');
  } else if (def.enum !== undefined) errors.push(`enum: only an 'enum' parameter takes a list of values`);
  for (const field of ['default', 'value'] as const) {
    if (def[field] === undefined || def[field] === null) continue;
    const p = typeProblem(def, field, def[field]);
    if (p) errors.push(p);
  }
  if (errors.length > 0) throw validationFailed(errors, 'Invalid parameter definition');
  return def;
};

/** The value `resolve` uses: `value`, else `default`. */
export const parameterValue = (def: ParameterDef): unknown => (def.value !== undefined && def.value !== null ? def.value : def.default);

const PARAM_REF = /\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The parameter keys a prompt uses. */
export const parameterRefsIn = (text: string): string[] => [...new Set([...text.matchAll(PARAM_REF)].map((m) => m[1]))];

/** Renders `{{ params.key }}`; other Jinja stays for the runtime. Throws listing every parameter it cannot fill. */
export const renderParams = (text: string, params: Map<string, ParameterDef>): string => {
  const problems: string[] = [];
  for (const key of parameterRefsIn(text)) {
    const def = params.get(key);
    if (!def) problems.push(`{{ params.${key} }}: no parameter '${key}' is defined for this agent`);
    else if (parameterValue(def) === undefined || parameterValue(def) === null) problems.push(`{{ params.${key} }}: parameter '${key}' has no value and no default`);
  }
  if (problems.length > 0) throw badRequest('The system prompt uses parameters that cannot be filled', problems);
  return text.replace(PARAM_REF, (_m, key: string) => {
    const v = parameterValue(params.get(key)!);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
};
