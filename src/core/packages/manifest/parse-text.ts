import { parse as parseYaml } from 'yaml';
import { isPlainObject } from './fields.js';

/** Parses YAML or JSON text into a mapping, or returns a one-line problem. */
export const parseMapping = (file: string, text: string, format: 'yaml' | 'json'): { data?: Record<string, unknown>; problem?: string } => {
  let value: unknown;
  try {
    value = format === 'json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100, prettyErrors: false });
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : 'parse error';
    return { problem: `${file}: not valid ${format.toUpperCase()} (${reason})` };
  }
  if (!isPlainObject(value)) return { problem: `${file}: must be a ${format === 'json' ? 'JSON object' : 'YAML mapping'}` };
  return { data: value };
};
