#!/usr/bin/env node
// Writes Agentry's OpenAPI document (the one /openapi.json serves) to stdout or to the file named.
// It starts the app from dist/ (run after `tsc`) on a throwaway data dir and a free loopback port,
// reads the document and stops, so the web console's typed client is generated from the
// same schemas that validate every request: a schema change that breaks the console breaks its build.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const { resolveConfig } = await import('../dist/app/config.js');
const { startServer } = await import('../dist/app/server.js');

const dataDir = mkdtempSync(join(tmpdir(), 'agentry-openapi-'));
const out = process.argv[2];
let server;
try {
  const config = resolveConfig({ host: '127.0.0.1', port: 0, dataDir, adminToken: `agentry_${randomBytes(32).toString('base64url')}`, logLevel: 'silent' }, {});
  server = await startServer(config);
  const res = await fetch(`${server.url}/openapi.json`);
  if (!res.ok) throw new Error(`/openapi.json answered ${res.status}`);
  const doc = JSON.stringify(await res.json(), null, 2) + '\n';
  if (out) writeFileSync(out, doc);
  else process.stdout.write(doc);
} finally {
  await server?.close(0);
  rmSync(dataDir, { recursive: true, force: true });
}
