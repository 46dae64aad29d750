import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Api } from './packages.js';
import type { TestServer } from './server.js';

/** Everything a refused request must leave untouched, read through the API and the blob folder. */
export interface RegistryState {
  packages: unknown[];
  versions: Record<string, unknown>;
  search: Record<string, unknown>;
  blobs: string[];
  tmp: string[];
  auditTotal: number;
}

const listDir = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name).slice(dir.length + 1))
    .sort();
};

/**
 * The registry as a client and an operator see it: every package (all kinds) with its versions,
 * the results of `terms` in search, the blob files on disk and the audit log's length.
 */
export const registryState = async (server: TestServer, admin: Api, terms: string[] = []): Promise<RegistryState> => {
  const anon = admin.with(undefined);
  const list = await anon.req('GET', '/api/v1/packages?limit=100&sort=name');
  expect(list.status).toBe(200);
  const versions: Record<string, unknown> = {};
  for (const p of list.body.packages as Array<{ full_name: string }>) {
    versions[p.full_name] = (await anon.req('GET', `/api/v1/packages/${p.full_name}/versions`)).body;
  }
  const search: Record<string, unknown> = {};
  for (const t of terms) search[t] = (await anon.req('GET', `/api/v1/search?kind=all&q=${encodeURIComponent(t)}`)).body;
  const audit = await admin.req('GET', '/api/v1/audit?limit=1');
  expect(audit.status).toBe(200);
  return {
    packages: list.body.packages,
    versions,
    search,
    blobs: listDir(join(server.dataDir, 'blobs', 'sha256')),
    tmp: listDir(join(server.dataDir, 'blobs', 'tmp')),
    auditTotal: audit.body.total,
  };
};

/** Asserts a refused request wrote nothing (same state as `before`) and that the server still serves. */
export const expectNothingWritten = async (server: TestServer, admin: Api, before: RegistryState, terms: string[] = Object.keys(before.search)): Promise<void> => {
  const after = await registryState(server, admin, terms);
  expect(after, 'a refused request changed the registry').toEqual(before);
  await expectHealthy(server);
};

export const expectHealthy = async (server: TestServer): Promise<void> => {
  const h = await fetch(`${server.url}/healthz`);
  expect(h.status).toBe(200);
  expect(await h.json()).toMatchObject({ ok: true, status: 'healthy' });
};

/** Asserts the native error shape: a status, the exact message and, when given, the exact details. */
export const expectError = (res: { status: number; body: any }, status: number, error: string | RegExp, details?: Array<string | RegExp>): void => {
  expect(res.body, `expected a ${status} error body`).toBeTypeOf('object');
  const seen = { status: res.status, error: res.body.error };
  expect(seen).toEqual({ status, error: typeof error === 'string' ? error : expect.stringMatching(error) });
  if (details) expect(res.body.details).toEqual(details.map((d) => (typeof d === 'string' ? d : expect.stringMatching(d))));
  else if (res.body.details !== undefined) expect(res.body.details).toEqual(expect.arrayContaining([expect.any(String)]));
};
