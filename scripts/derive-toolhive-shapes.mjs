#!/usr/bin/env node
// Derives test/fixtures/toolhive-shapes.json from ToolHive's OpenAPI document (stacklok/toolhive
// docs/server/swagger.json, which stays out of this repository): for each operation Agentry serves,
// the success response's JSON Schema with every $ref resolved, and objects closed
// (additionalProperties: false) so that a field ToolHive does not document is caught.
// Usage: node scripts/derive-toolhive-shapes.mjs /path/to/swagger.json > test/fixtures/toolhive-shapes.json
import { readFileSync } from 'node:fs';

const doc = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const OPERATIONS = [
  ['get', '/api/v1beta/groups', '200'],
  ['post', '/api/v1beta/groups', '201'],
  ['get', '/api/v1beta/groups/{name}', '200'],
  ['get', '/api/v1beta/clients', '200'],
  ['post', '/api/v1beta/clients', '200'],
  ['post', '/api/v1beta/clients/register', '200'],
  ['get', '/api/v1beta/discovery/clients', '200'],
  ['post', '/api/v1beta/secrets', '201'],
  ['get', '/api/v1beta/secrets/default', '200'],
  ['get', '/api/v1beta/secrets/default/keys', '200'],
  ['post', '/api/v1beta/secrets/default/keys', '201'],
  ['put', '/api/v1beta/secrets/default/keys/{key}', '200'],
  ['get', '/api/v1beta/version', '200'],
  ['get', '/api/v1beta/skills', '200'],
  ['post', '/api/v1beta/skills', '201'],
  ['get', '/api/v1beta/skills/{name}', '200'],
  ['post', '/api/v1beta/skills/validate', '200'],
  ['get', '/api/v1beta/skills/content', '200'],
  ['get', '/api/openapi.json', '200'],
];

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
    if (['description', 'x-enum-varnames', 'uniqueItems', 'summary'].includes(k)) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, resolve(s, seen)])) : resolve(v, seen);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
};

const shapes = {};
for (const [method, path, status] of OPERATIONS) {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`${method} ${path} is not in the document`);
  shapes[`${method.toUpperCase()} ${path}`] = { status: Number(status), schema: resolve(op.responses[status].content['application/json'].schema) };
}
process.stdout.write(`${JSON.stringify({ source: `stacklok/toolhive docs/server/swagger.json (${doc.info.title} ${doc.info.version})`, shapes }, null, 2)}\n`);
