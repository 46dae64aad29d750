import { isStrictSemver, semverScheme, type VersionScheme } from '../version-scheme.js';

/**
 * A small checker for manifest fields that collects every problem as one line
 * (`agent.yaml: missing required field 'description'`) instead of stopping at the first.
 */
export class FieldChecker {
  readonly problems: string[] = [];

  constructor(
    private readonly file: string,
    private readonly data: Record<string, unknown>,
  ) {}

  problem(message: string): void {
    this.problems.push(`${this.file}: ${message}`);
  }

  unknownFields(allowed: readonly string[]): void {
    for (const key of Object.keys(this.data)) {
      if (!allowed.includes(key)) this.problem(`unknown field '${key}'`);
    }
  }

  string(field: string, opts: { required?: boolean; max?: number; pattern?: RegExp; patternHint?: string; oneOf?: readonly string[] } = {}): string | undefined {
    const value = this.data[field];
    if (value === undefined || value === null || value === '') {
      if (opts.required) this.problem(`missing required field '${field}'`);
      return undefined;
    }
    if (typeof value !== 'string') {
      this.problem(`field '${field}' must be a string`);
      return undefined;
    }
    if (opts.max !== undefined && value.length > opts.max) this.problem(`field '${field}' is longer than ${opts.max} characters`);
    if (opts.pattern && !opts.pattern.test(value)) this.problem(`field '${field}' value '${clip(value)}' ${opts.patternHint ?? `must match ${opts.pattern}`}`);
    if (opts.oneOf && !opts.oneOf.includes(value)) this.problem(`field '${field}' must be one of: ${opts.oneOf.join(', ')}`);
    return value;
  }

  /** A version field, checked by the kind's version scheme (strict semver unless told). */
  version(field = 'version', required = true, scheme: VersionScheme = semverScheme): string | undefined {
    const value = this.string(field, { required });
    const problem = value === undefined ? undefined : scheme.problem(value);
    if (problem) this.problem(problem);
    return value;
  }

  stringList(field: string, opts: { max?: number; itemMax?: number } = {}): string[] {
    const value = this.data[field];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      this.problem(`field '${field}' must be a list of strings`);
      return [];
    }
    if (opts.max !== undefined && value.length > opts.max) this.problem(`field '${field}' has more than ${opts.max} entries`);
    if (opts.itemMax !== undefined && value.some((v: string) => v.length > opts.itemMax!)) this.problem(`entries of '${field}' must be at most ${opts.itemMax} characters`);
    return value as string[];
  }

  object(field: string): Record<string, unknown> | undefined {
    const value = this.data[field];
    if (value === undefined || value === null) return undefined;
    if (!isPlainObject(value)) {
      this.problem(`field '${field}' must be a mapping`);
      return undefined;
    }
    return value;
  }

  list(field: string): unknown[] | undefined {
    const value = this.data[field];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      this.problem(`field '${field}' must be a list`);
      return undefined;
    }
    return value;
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export { isStrictSemver };

const clip = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);
