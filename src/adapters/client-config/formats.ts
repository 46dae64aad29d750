import { applyEdits, modify, parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import type { ClientConfigTarget } from '../../core/clients/client-config-files.js';

/** A settings file Agentry will not edit: its own parser refused it, or it is not shaped as the client expects. */
export class MalformedConfig extends Error {}

type Entry = Record<string, unknown>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The servers container of a parsed document, checked to be what the storage kind expects (or absent). */
const serversIn = (root: unknown, t: ClientConfigTarget): unknown => {
  if (!isObject(root)) throw new MalformedConfig('the top level is not an object');
  let node: unknown = root;
  for (const [i, k] of t.serversKey.entries()) {
    if (node === undefined || node === null) return undefined;
    if (!isObject(node)) throw new MalformedConfig(`'${t.serversKey.slice(0, i).join('.')}' is not an object`);
    node = node[k];
  }
  if (node === undefined || node === null) return undefined;
  if (t.storage === 'map' && !isObject(node)) throw new MalformedConfig(`'${t.serversKey.join('.')}' is not an object`);
  if (t.storage === 'array' && !Array.isArray(node)) throw new MalformedConfig(`'${t.serversKey.join('.')}' is not a list`);
  return node;
};

const namesOf = (servers: unknown): string[] => {
  if (Array.isArray(servers)) return servers.flatMap((s) => (isObject(s) && typeof s.name === 'string' ? [s.name] : []));
  return isObject(servers) ? Object.keys(servers) : [];
};

// --- JSON and JSONC (comments and formatting kept: jsonc-parser edits the text in place) ---

const parseJson = (text: string): unknown => {
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  if (errors.length > 0) {
    const e = errors[0];
    const line = text.slice(0, e.offset).split('\n').length;
    throw new MalformedConfig(`${printParseErrorCode(e.error)} at line ${line}`);
  }
  return value ?? {};
};

const indentOf = (text: string): { insertSpaces: boolean; tabSize: number } => {
  const m = /\n([ \t]+)\S/.exec(text);
  if (!m) return { insertSpaces: true, tabSize: 2 };
  return m[1].startsWith('\t') ? { insertSpaces: false, tabSize: 1 } : { insertSpaces: true, tabSize: m[1].length };
};

const editJson = (text: string, t: ClientConfigTarget, name: string, entry: Entry | undefined): string | undefined => {
  const base = text.trim() === '' ? '{}\n' : text;
  const servers = serversIn(parseJson(base), t);
  const opts = { formattingOptions: { ...indentOf(base), eol: '\n' } };
  let path: (string | number)[] = [...t.serversKey, name];
  if (t.storage === 'array') {
    const list = (servers as unknown[] | undefined) ?? [];
    const i = list.findIndex((s) => isObject(s) && s.name === name);
    if (entry === undefined && i < 0) return undefined;
    path = [...t.serversKey, i < 0 ? list.length : i];
    if (servers === undefined) path = [...t.serversKey];
    const value = servers === undefined ? [entry] : entry;
    return applyEdits(base, modify(base, path, value, { ...opts, isArrayInsertion: i < 0 && servers !== undefined }));
  }
  if (entry === undefined && !(isObject(servers) && name in servers)) return undefined;
  return applyEdits(base, modify(base, path, entry, opts));
};

// --- YAML (comments kept: the yaml package edits its document model and prints it back) ---

const parseYaml = (text: string): Document => {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new MalformedConfig(doc.errors[0].message.split('\n')[0]);
  if (doc.contents !== null && !isMap(doc.contents)) throw new MalformedConfig('the top level is not a mapping');
  return doc;
};

const editYaml = (text: string, t: ClientConfigTarget, name: string, entry: Entry | undefined): string | undefined => {
  const doc = parseYaml(text);
  const servers = serversIn(doc.toJS() ?? {}, t);
  if (t.storage === 'array') {
    const list = (servers as unknown[] | undefined) ?? [];
    const i = list.findIndex((s) => isObject(s) && s.name === name);
    if (entry === undefined) {
      if (i < 0) return undefined;
      doc.deleteIn([...t.serversKey, i]);
    } else if (i >= 0) {
      doc.setIn([...t.serversKey, i], doc.createNode(entry));
    } else if (isSeq(doc.getIn(t.serversKey, true))) {
      doc.addIn(t.serversKey, doc.createNode(entry));
    } else {
      doc.setIn(t.serversKey, doc.createNode([entry]));
    }
  } else {
    if (entry === undefined) {
      if (!(isObject(servers) && name in servers)) return undefined;
      doc.deleteIn([...t.serversKey, name]);
    } else {
      if (doc.contents === null) doc.contents = doc.createNode({});
      doc.setIn([...t.serversKey, name], doc.createNode(entry));
    }
  }
  return doc.toString();
};

// --- TOML (smol-toml: the file stays valid TOML; comments are not kept) ---

const parseTomlText = (text: string): Record<string, unknown> => {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) throw new MalformedConfig(e.message.split('\n')[0]);
    throw e;
  }
};

const editToml = (text: string, t: ClientConfigTarget, name: string, entry: Entry | undefined): string | undefined => {
  const root = parseTomlText(text);
  const servers = serversIn(root, t);
  if (entry === undefined) {
    if (!(isObject(servers) && name in servers)) return undefined;
    delete servers[name];
  } else {
    let node: Record<string, unknown> = root;
    for (const k of t.serversKey) {
      if (!isObject(node[k])) node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
    node[name] = entry;
  }
  return `${stringifyToml(root)}\n`;
};

/** The new text with the server entry set (or removed, when `entry` is undefined); undefined when nothing changes. Throws MalformedConfig. */
export const editServers = (text: string, t: ClientConfigTarget, name: string, entry: Entry | undefined): string | undefined => {
  switch (t.format) {
    case 'json':
      return editJson(text, t, name, entry);
    case 'yaml':
      return editYaml(text, t, name, entry);
    case 'toml':
      return editToml(text, t, name, entry);
  }
};

const serversOf = (text: string, t: ClientConfigTarget): unknown => {
  const root = t.format === 'json' ? parseJson(text.trim() === '' ? '{}' : text) : t.format === 'yaml' ? (parseYaml(text).toJS() ?? {}) : parseTomlText(text);
  return serversIn(root, t);
};

/** The server names a settings file holds. Throws MalformedConfig. */
export const serverNames = (text: string, t: ClientConfigTarget): string[] => namesOf(serversOf(text, t));

/** Every server entry a settings file holds, by name. Throws MalformedConfig. */
export const serverEntries = (text: string, t: ClientConfigTarget): Record<string, Record<string, unknown>> => {
  const servers = serversOf(text, t);
  const out: Record<string, Record<string, unknown>> = {};
  if (Array.isArray(servers)) {
    for (const s of servers) if (isObject(s) && typeof s.name === 'string') out[s.name] = s;
  } else if (isObject(servers)) {
    for (const [k, v] of Object.entries(servers)) out[k] = isObject(v) ? v : {};
  }
  return out;
};
