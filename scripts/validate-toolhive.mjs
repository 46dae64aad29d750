#!/usr/bin/env node
// Validates Agentry's answers to every operation of ToolHive's OpenAPI document tagged workloads,
// logs, groups, clients, discovery, secrets or version against that document (stacklok/toolhive
// docs/server/swagger.json, which stays out of this repository): for each operation, real requests
// to a real server (dist/, temp SQLite data dir, workloads under bubblewrap); each answer's status
// must be one the operation documents, and its body must match that status's schema (every $ref
// resolved, objects closed: a field ToolHive does not document fails). Prints pass/fail per operation.
//
//   npm run build && node scripts/validate-toolhive.mjs /path/to/swagger.json
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Ajv } from 'ajv';
import { resolveConfig } from '../dist/app/config.js';
import { startServer } from '../dist/app/server.js';

const doc = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8'));
const TAGS = new Set(['workloads', 'logs', 'groups', 'clients', 'discovery', 'secrets', 'version']);

const resolve = (schema, seen = []) => {
  if (Array.isArray(schema)) return schema.map((s) => resolve(s, seen));
  if (typeof schema !== 'object' || schema === null) return schema;
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    if (seen.includes(name)) return {};
    return resolve(doc.components.schemas[name], [...seen, name]);
  }
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (['description', 'x-enum-varnames', 'uniqueItems', 'summary', 'example'].includes(k)) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, resolve(s, seen)])) : resolve(v, seen);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
};

/**
 * Fields Agentry sends beyond the document, allowed by name and printed beside the operation:
 * `permission_profile` is in ToolHive's own RunConfig (json:"permission_profile", swaggerignore:"true"),
 * so its server exports it though the document omits it; `command` (an explicit command, which
 * ToolHive has no field for) and `visibility` (Agentry's access rule) are Agentry's additions.
 */
const EXTENSIONS = {
  'GET /api/v1beta/workloads/{name}': { command: { type: 'string' }, visibility: { type: 'string', enum: ['public', 'internal', 'private'] } },
  'GET /api/v1beta/workloads/{name}/export': { permission_profile: { type: 'object' } },
};

const operations = [];
for (const [path, ops] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(ops)) if ((op.tags ?? []).some((t) => TAGS.has(t))) operations.push(`${method.toUpperCase()} ${path}`);
}
const ajv = new Ajv({ strict: false, allErrors: true });
const results = new Map(operations.map((o) => [o, { calls: 0, asToolhiveSends: 0, problems: [] }]));

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));
const dataDir = mkdtempSync(join(tmpdir(), 'agentry-validate-th-'));
const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
const server = await startServer({
  ...resolveConfig({ host: '127.0.0.1', port: 0, dataDir, adminToken, logLevel: 'silent' }, { AGENTRY_CLIENTS_HOME: join(dataDir, 'home') }),
  workloadTimings: { healthIntervalMs: 600_000 },
});

/** Calls `method path` and checks the answer against the document's `operation`. */
const call = async (operation, method, path, body) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const r = results.get(operation);
  if (!r) throw new Error(`${operation} is not an operation of the document`);
  r.calls++;
  const [m, p] = operation.split(' ');
  const documented = doc.paths[p][m.toLowerCase()].responses[String(res.status)];
  if (!documented) {
    r.problems.push(`${method} ${path}: status ${res.status} is not documented (${Object.keys(doc.paths[p][m.toLowerCase()].responses).join(', ')}): ${text.slice(0, 200)}`);
    return { status: res.status, text };
  }
  const content = documented.content ?? {};
  const [type, media] = Object.entries(content)[0] ?? [];
  if (!type) {
    if (text !== '') r.problems.push(`${method} ${path}: ${res.status} documents no body, got ${text.slice(0, 100)}`);
    return { status: res.status, text };
  }
  const got = res.headers.get('content-type') ?? '';
  // `{string} string` in the handlers' annotations becomes `application/json` + `type: string`, but
  // ToolHive's own server answers those with http.Error (text/plain) or WriteHeader alone (no body):
  // those wire forms are accepted for such responses, and counted.
  if (JSON.stringify(media.schema) === '{"type":"string"}' && (got.startsWith('text/plain') || text === '')) {
    r.asToolhiveSends++;
    return { status: res.status, text };
  }
  if (!got.startsWith(type)) r.problems.push(`${method} ${path}: ${res.status} is ${type}, got content-type ${got}`);
  let value = text;
  if (type === 'application/json') {
    try {
      value = JSON.parse(text);
    } catch {
      r.problems.push(`${method} ${path}: body is not JSON: ${text.slice(0, 100)}`);
      return { status: res.status, text };
    }
  }
  const schema = resolve(media.schema ?? {});
  const extra = res.status < 300 ? EXTENSIONS[operation] : undefined;
  if (extra) schema.properties = { ...schema.properties, ...extra };
  const validate = ajv.compile(schema);
  if (!validate(value))
    r.problems.push(
      `${method} ${path} ${res.status}: ${(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` '${e.params.additionalProperty}'` : ''}`).join('; ')} in ${text.slice(0, 120)}`,
    );
  return { status: res.status, text, body: type === 'application/json' ? value : undefined };
};

const waitRunning = async (name) => {
  for (let i = 0; i < 300; i++) {
    const r = await fetch(`${server.url}/api/v1beta/workloads/${name}/status`, { headers: { authorization: `Bearer ${adminToken}` } });
    if ((await r.json()).status === 'running') return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${name} did not start`);
};

try {
  const spec = (name, extra = {}) => ({ name, command: process.execPath, cmd_arguments: [EVERYTHING, 'stdio'], permission_profile: { read: [NODE_MODULES] }, ...extra });
  await call('GET /api/v1beta/version', 'GET', '/api/v1beta/version');
  // groups
  await call('GET /api/v1beta/groups', 'GET', '/api/v1beta/groups');
  await call('POST /api/v1beta/groups', 'POST', '/api/v1beta/groups', { name: 'team' });
  await call('POST /api/v1beta/groups', 'POST', '/api/v1beta/groups', { name: 'team' });
  await call('POST /api/v1beta/groups', 'POST', '/api/v1beta/groups', { name: '../x' });
  await call('GET /api/v1beta/groups/{name}', 'GET', '/api/v1beta/groups/team');
  await call('GET /api/v1beta/groups/{name}', 'GET', '/api/v1beta/groups/nope');
  // secrets
  await call('POST /api/v1beta/secrets', 'POST', '/api/v1beta/secrets', { provider_type: 'encrypted' });
  await call('POST /api/v1beta/secrets', 'POST', '/api/v1beta/secrets', { provider_type: 'lastpass' });
  await call('GET /api/v1beta/secrets/default', 'GET', '/api/v1beta/secrets/default');
  await call('POST /api/v1beta/secrets/default/keys', 'POST', '/api/v1beta/secrets/default/keys', { key: 'token', value: 's3cret' });
  await call('POST /api/v1beta/secrets/default/keys', 'POST', '/api/v1beta/secrets/default/keys', { key: 'token', value: 'again' });
  await call('GET /api/v1beta/secrets/default/keys', 'GET', '/api/v1beta/secrets/default/keys');
  await call('PUT /api/v1beta/secrets/default/keys/{key}', 'PUT', '/api/v1beta/secrets/default/keys/token', { value: 'n3w' });
  await call('PUT /api/v1beta/secrets/default/keys/{key}', 'PUT', '/api/v1beta/secrets/default/keys/nope', { value: 'x' });
  // workloads
  await call('POST /api/v1beta/workloads', 'POST', '/api/v1beta/workloads', spec('everything', { group: 'team', secrets: [{ name: 'token', target: 'TOKEN' }], env_vars: { A: 'b' } }));
  await call('POST /api/v1beta/workloads', 'POST', '/api/v1beta/workloads', spec('everything'));
  await call('POST /api/v1beta/workloads', 'POST', '/api/v1beta/workloads', spec('../bad'));
  await waitRunning('everything');
  await call('GET /api/v1beta/workloads', 'GET', '/api/v1beta/workloads');
  await call('GET /api/v1beta/workloads', 'GET', '/api/v1beta/workloads?all=true&group=team');
  await call('GET /api/v1beta/workloads', 'GET', '/api/v1beta/workloads?group=nope');
  await call('GET /api/v1beta/workloads/{name}', 'GET', '/api/v1beta/workloads/everything');
  await call('GET /api/v1beta/workloads/{name}', 'GET', '/api/v1beta/workloads/nope');
  await call('GET /api/v1beta/workloads/{name}/status', 'GET', '/api/v1beta/workloads/everything/status');
  await call('GET /api/v1beta/workloads/{name}/status', 'GET', '/api/v1beta/workloads/nope/status');
  await call('GET /api/v1beta/workloads/{name}/export', 'GET', '/api/v1beta/workloads/everything/export');
  await call('GET /api/v1beta/workloads/{name}/export', 'GET', '/api/v1beta/workloads/nope/export');
  await call('GET /api/v1beta/workloads/{name}/logs', 'GET', '/api/v1beta/workloads/everything/logs');
  await call('GET /api/v1beta/workloads/{name}/logs', 'GET', '/api/v1beta/workloads/nope/logs');
  await call('GET /api/v1beta/workloads/{name}/proxy-logs', 'GET', '/api/v1beta/workloads/everything/proxy-logs');
  await call('GET /api/v1beta/workloads/{name}/proxy-logs', 'GET', '/api/v1beta/workloads/nope/proxy-logs');
  await call('GET /api/v1beta/workloads/{name}/upgrade-check', 'GET', '/api/v1beta/workloads/everything/upgrade-check');
  await call('GET /api/v1beta/workloads/{name}/upgrade-check', 'GET', '/api/v1beta/workloads/nope/upgrade-check');
  await call('GET /api/v1beta/workloads/upgrade-check', 'GET', '/api/v1beta/workloads/upgrade-check');
  await call('POST /api/v1beta/workloads/{name}/upgrade', 'POST', '/api/v1beta/workloads/everything/upgrade', {});
  await call('POST /api/v1beta/workloads/{name}/upgrade', 'POST', '/api/v1beta/workloads/nope/upgrade', {});
  await call('POST /api/v1beta/workloads/{name}/edit', 'POST', '/api/v1beta/workloads/everything/edit', { tools: ['echo'], permission_profile: { read: [NODE_MODULES] } });
  await call('POST /api/v1beta/workloads/{name}/edit', 'POST', '/api/v1beta/workloads/nope/edit', { tools: ['echo'] });
  await waitRunning('everything');
  await call('POST /api/v1beta/workloads/{name}/stop', 'POST', '/api/v1beta/workloads/everything/stop');
  await call('POST /api/v1beta/workloads/{name}/stop', 'POST', '/api/v1beta/workloads/nope/stop');
  await call('POST /api/v1beta/workloads/{name}/restart', 'POST', '/api/v1beta/workloads/everything/restart');
  await call('POST /api/v1beta/workloads/{name}/restart', 'POST', '/api/v1beta/workloads/nope/restart');
  await waitRunning('everything');
  await call('POST /api/v1beta/workloads', 'POST', '/api/v1beta/workloads', spec('second', { group: 'team' }));
  await waitRunning('second');
  await call('POST /api/v1beta/workloads/stop', 'POST', '/api/v1beta/workloads/stop', { names: ['second'] });
  await call('POST /api/v1beta/workloads/stop', 'POST', '/api/v1beta/workloads/stop', {});
  await call('POST /api/v1beta/workloads/restart', 'POST', '/api/v1beta/workloads/restart', { group: 'team' });
  await call('POST /api/v1beta/workloads/restart', 'POST', '/api/v1beta/workloads/restart', { names: ['a'], group: 'team' });
  await waitRunning('second');
  await call('POST /api/v1beta/workloads/delete', 'POST', '/api/v1beta/workloads/delete', { names: ['second'] });
  await call('POST /api/v1beta/workloads/delete', 'POST', '/api/v1beta/workloads/delete', {});
  await call('DELETE /api/v1beta/workloads/{name}', 'DELETE', '/api/v1beta/workloads/everything');
  await call('DELETE /api/v1beta/workloads/{name}', 'DELETE', '/api/v1beta/workloads/nope');
  // clients and discovery
  await call('GET /api/v1beta/discovery/clients', 'GET', '/api/v1beta/discovery/clients');
  await call('POST /api/v1beta/clients', 'POST', '/api/v1beta/clients', { name: 'cursor' });
  await call('POST /api/v1beta/clients', 'POST', '/api/v1beta/clients', { name: 'no-such-client' });
  await call('POST /api/v1beta/clients/register', 'POST', '/api/v1beta/clients/register', { names: ['codex', 'zed'], groups: ['team'] });
  await call('POST /api/v1beta/clients/register', 'POST', '/api/v1beta/clients/register', { names: [] });
  await call('GET /api/v1beta/clients', 'GET', '/api/v1beta/clients');
  await call('DELETE /api/v1beta/clients/{name}/groups/{group}', 'DELETE', '/api/v1beta/clients/zed/groups/team');
  await call('DELETE /api/v1beta/clients/{name}/groups/{group}', 'DELETE', '/api/v1beta/clients/zed/groups/team');
  await call('POST /api/v1beta/clients/unregister', 'POST', '/api/v1beta/clients/unregister', { names: ['codex'] });
  await call('POST /api/v1beta/clients/unregister', 'POST', '/api/v1beta/clients/unregister', {});
  await call('DELETE /api/v1beta/clients/{name}', 'DELETE', '/api/v1beta/clients/cursor');
  await call('DELETE /api/v1beta/clients/{name}', 'DELETE', '/api/v1beta/clients/no-such-client');
  // cleanup operations last
  await call('DELETE /api/v1beta/secrets/default/keys/{key}', 'DELETE', '/api/v1beta/secrets/default/keys/token');
  await call('DELETE /api/v1beta/secrets/default/keys/{key}', 'DELETE', '/api/v1beta/secrets/default/keys/token');
  await call('DELETE /api/v1beta/groups/{name}', 'DELETE', '/api/v1beta/groups/team');
  await call('DELETE /api/v1beta/groups/{name}', 'DELETE', '/api/v1beta/groups/team');
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}

let failed = 0;
console.log(`ToolHive ${doc.info.title} ${doc.info.version}: ${operations.length} operations tagged ${[...TAGS].join(', ')}`);
for (const [op, r] of results) {
  const ok = r.calls > 0 && r.problems.length === 0;
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${op} (${r.calls} calls${r.asToolhiveSends ? `, ${r.asToolhiveSends} plain-text or empty as ToolHive's server sends them` : ''})`);
  for (const p of r.problems) console.log(`     ${p}`);
  if (EXTENSIONS[op]) console.log(`     fields beyond the document: ${Object.keys(EXTENSIONS[op]).join(', ')}`);
  if (r.calls === 0) console.log('     not called');
}
console.log(`${operations.length - failed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
