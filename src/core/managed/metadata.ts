import { badRequest } from '../errors.js';
import { isPlainObject } from '../packages/manifest/fields.js';

/** Free-form string metadata on managed objects: at most 16 keys of ≤ 64 characters, values ≤ 512. */
export type Metadata = Record<string, string>;

const MAX_KEYS = 16;
const MAX_KEY = 64;
const MAX_VALUE = 512;

export const metadataProblems = (value: unknown, field = 'metadata'): string[] => {
  if (value === undefined) return [];
  if (!isPlainObject(value)) return [`${field} must be an object of strings`];
  const problems: string[] = [];
  const entries = Object.entries(value);
  if (entries.length > MAX_KEYS) problems.push(`${field} has ${entries.length} keys; at most ${MAX_KEYS} are allowed`);
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > MAX_KEY) problems.push(`${field} key '${k.slice(0, 80)}' must be 1-${MAX_KEY} characters`);
    if (v !== null && typeof v !== 'string') problems.push(`${field}.${k} must be a string`);
    else if (typeof v === 'string' && v.length > MAX_VALUE) problems.push(`${field}.${k} is longer than ${MAX_VALUE} characters`);
  }
  return problems;
};

/** Metadata given on create: checked, copied. */
export const newMetadata = (value: Record<string, string | null> | undefined): Metadata => {
  const problems = metadataProblems(value);
  if (problems.length > 0) throw badRequest('Invalid metadata', problems);
  const out: Metadata = {};
  for (const [k, v] of Object.entries(value ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
};

/** An update's metadata: keys set to a string are set, keys set to null are removed, others kept; null clears all. */
export const patchMetadata = (current: Metadata, patch: Record<string, string | null> | null | undefined): Metadata => {
  if (patch === undefined) return current;
  if (patch === null) return {};
  const problems = metadataProblems(patch);
  if (problems.length > 0) throw badRequest('Invalid metadata', problems);
  const out: Metadata = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  const total = metadataProblems(out);
  if (total.length > 0) throw badRequest('Invalid metadata', total);
  return out;
};
