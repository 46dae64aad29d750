import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { DEFAULT_SETTINGS_FILE, settingNamed, type FileSettings, type SettingSpec } from './settings.js';

export interface LoadedSettingsFile extends FileSettings {
  /** Things the operator should fix that do not stop the server (a world-readable file holding secrets). */
  warnings: string[];
}

/**
 * The settings file to read: `--config FILE` (which must exist), else `./agentry.yaml` when it exists,
 * else none.
 */
export const loadSettingsFile = (explicit: string | undefined, cwd: string = process.cwd()): LoadedSettingsFile | undefined => {
  if (explicit !== undefined) return readSettingsFile(resolve(cwd, explicit));
  const fallback = resolve(cwd, DEFAULT_SETTINGS_FILE);
  return existsSync(fallback) ? readSettingsFile(fallback) : undefined;
};

/**
 * Reads a YAML mapping of settings keyed by their long flag (`data-dir: /srv/agentry`). Every key
 * must be a setting and every value fit the setting's type; a wrong one stops the server with a
 * message naming the key and the file.
 */
export const readSettingsFile = (path: string): LoadedSettingsFile => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `config file ${path} does not exist` : `cannot read config file ${path} (${code ?? String(e)})`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`config file ${path} is not valid YAML: ${doc.errors[0].message}`);
  const values = new Map<string, string>();
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return { path, values, warnings: [] };
  if (!isMap(root)) throw new Error(`config file ${path} must be a mapping of settings (such as 'port: 8080'), one per line`);
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (typeof key !== 'string') throw new Error(`config file ${path}: every key must be a setting name (got ${String(pair.key)})`);
    const spec = settingNamed(key);
    if (!spec) throw new Error(`config file ${path}: unknown setting '${key}' (the keys are the long flags of 'agentry serve --help' without their dashes)`);
    const value = valueOf(spec, pair.value, path);
    if (value !== undefined) values.set(key, value);
  }
  const warnings: string[] = [];
  const secrets = [...values.keys()].filter((k) => settingNamed(k)?.secret);
  if (secrets.length > 0 && process.platform !== 'win32' && (statSync(path).mode & 0o004) !== 0) {
    warnings.push(`config file ${path} holds secrets (${secrets.join(', ')}) and every user of this machine can read it: chmod o-r ${path}`);
  }
  return { path, values, warnings };
};

/** A YAML value as the string the flag or variable would have given; null (`key:` alone) is unset. */
const valueOf = (spec: SettingSpec, node: unknown, path: string): string | undefined => {
  const where = `config file ${path}: '${spec.name}'`;
  if (node === null || node === undefined) return undefined;
  if (spec.type === 'list' && isSeq(node)) {
    return node.items
      .map((item) => {
        const v = isScalar(item) ? item.value : undefined;
        if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`${where} must be a list of strings`);
        return String(v);
      })
      .join(',');
  }
  const v = isScalar(node) ? node.value : undefined;
  if (v === null) return undefined;
  switch (spec.type) {
    case 'boolean':
      if (typeof v === 'boolean') return String(v);
      if (typeof v === 'string') return v;
      throw new Error(`${where} must be true or false`);
    case 'int':
      if (typeof v === 'number' || typeof v === 'string') return String(v);
      throw new Error(`${where} must be a whole number`);
    case 'list':
      if (typeof v === 'string') return v;
      throw new Error(`${where} must be a list or a comma-separated string`);
    case 'string':
      if (typeof v === 'string' || typeof v === 'number') return String(v);
      throw new Error(`${where} must be a string`);
  }
};
