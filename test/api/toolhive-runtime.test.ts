import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * ToolHive's groups, clients, discovery, secrets, version and system routes (issue 15, point 4),
 * over real HTTP, with every success body checked against the shapes derived from ToolHive's own
 * OpenAPI document (test/fixtures/toolhive-shapes.json, made by scripts/derive-toolhive-shapes.mjs).
 */
const fixture = JSON.parse(readFileSync(new URL('../fixtures/toolhive-shapes.json', import.meta.url), 'utf8')) as {
  shapes: Record<string, { status: number; schema: object }>;
};
const ajv = new Ajv({ strict: false, allErrors: true });
const conforms = (operation: string, res: { status: number; body: unknown }) => {
  const shape = fixture.shapes[operation];
  expect(shape, operation).toBeDefined();
  expect(res.status, `${operation}: ${JSON.stringify(res.body)}`).toBe(shape.status);
  const validate = ajv.compile(shape.schema);
  expect(validate(res.body) ? [] : validate.errors, `${operation} body ${JSON.stringify(res.body)}`).toEqual([]);
};

describe.each(testStores)('ToolHive runtime API on %s', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let anon: Api;
  let home: string;

  beforeAll(async () => {
    server = await startTestServer({ store });
    home = join(server.dataDir, 'home');
    anon = new Api(server.url);
    admin = anon.with(server.adminToken);
    alice = anon.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
  }, 60_000);
  afterAll(async () => server?.close());

  describe('groups', () => {
    it('lists the default group, creates, gets and deletes groups', async () => {
      const list = await alice.req('GET', '/api/v1beta/groups');
      conforms('GET /api/v1beta/groups', list);
      expect(list.body.groups.map((g: { name: string }) => g.name)).toEqual(['default']);

      const created = await admin.req('POST', '/api/v1beta/groups', { name: 'team-a' });
      conforms('POST /api/v1beta/groups', created);
      expect(created.body).toEqual({ name: 'team-a' });

      const got = await alice.req('GET', '/api/v1beta/groups/team-a');
      conforms('GET /api/v1beta/groups/{name}', got);
      expect(got.body).toEqual({ name: 'team-a', registered_clients: [], skills: [], plugins: [] });

      const dup = await admin.req('POST', '/api/v1beta/groups', { name: 'team-a' });
      expect(dup.status).toBe(409);
      expect(typeof dup.body).toBe('string');
      expect(dup.body).toContain('already exists');

      expect((await admin.req('DELETE', '/api/v1beta/groups/team-a')).status).toBe(204);
      expect((await alice.req('GET', '/api/v1beta/groups/team-a')).status).toBe(404);
      expect((await admin.req('DELETE', '/api/v1beta/groups/team-a')).status).toBe(404);
    });

    it('refuses bad names, the default group, anonymous callers and non-administrators', async () => {
      for (const name of ['../etc', 'Team', '', 'a/b', 'x'.repeat(64), '.hidden']) {
        const res = await admin.req('POST', '/api/v1beta/groups', { name });
        expect(res.status, name).toBe(400);
        expect(typeof res.body).toBe('string');
      }
      expect((await admin.req('GET', '/api/v1beta/groups/..%2F..%2Fetc')).status).toBe(400);
      expect((await admin.req('POST', '/api/v1beta/groups', {})).status).toBe(400);
      expect((await admin.req('POST', '/api/v1beta/groups', '{not json', { 'content-type': 'application/json' })).status).toBe(400);
      const def = await admin.req('DELETE', '/api/v1beta/groups/default');
      expect(def.status).toBe(400);
      expect(def.body).toContain('default group');
      expect((await anon.req('GET', '/api/v1beta/groups')).status).toBe(401);
      expect((await alice.req('POST', '/api/v1beta/groups', { name: 'mine' })).status).toBe(403);
      expect((await alice.req('DELETE', '/api/v1beta/groups/default')).status).toBe(403);
    });
  });

  describe('clients', () => {
    it('discovers clients from their settings folders below the configured home', async () => {
      const before = await admin.req('GET', '/api/v1beta/discovery/clients');
      conforms('GET /api/v1beta/discovery/clients', before);
      const ids = before.body.clients.map((c: { client_type: string }) => c.client_type);
      for (const id of ['claude-code', 'cursor', 'vscode', 'cline', 'windsurf', 'gemini-cli', 'zed', 'continue', 'goose', 'codex']) expect(ids).toContain(id);
      expect(before.body.clients.every((c: { installed: boolean }) => !c.installed)).toBe(true);

      mkdirSync(join(home, '.cursor'), { recursive: true });
      mkdirSync(join(home, '.config', 'goose'), { recursive: true });
      writeFileSync(join(home, '.claude.json'), '{}');
      const after = await admin.req('GET', '/api/v1beta/discovery/clients');
      const installed = after.body.clients.filter((c: { installed: boolean }) => c.installed).map((c: { client_type: string }) => c.client_type);
      expect(installed.sort()).toEqual(['claude-code', 'cursor', 'goose']);
      expect(after.body.clients.find((c: { client_type: string }) => c.client_type === 'zed').supports_skills).toBe(false);
      expect(after.body.clients.find((c: { client_type: string }) => c.client_type === 'claude-code').supports_skills).toBe(true);
    });

    it('registers clients to groups, lists them, and unregisters them', async () => {
      const one = await admin.req('POST', '/api/v1beta/clients', { name: 'cursor' });
      conforms('POST /api/v1beta/clients', one);
      expect(one.body).toEqual({ name: 'cursor', groups: ['default'] });

      expect((await admin.req('POST', '/api/v1beta/groups', { name: 'dev' })).status).toBe(201);
      const bulk = await admin.req('POST', '/api/v1beta/clients/register', { names: ['codex', 'zed'], groups: ['dev'] });
      conforms('POST /api/v1beta/clients/register', bulk);
      expect(bulk.body).toEqual([
        { name: 'codex', groups: ['dev'] },
        { name: 'zed', groups: ['dev'] },
      ]);

      const list = await admin.req('GET', '/api/v1beta/clients');
      conforms('GET /api/v1beta/clients', list);
      expect(list.body).toEqual([
        { name: 'codex', groups: ['dev'] },
        { name: 'cursor', groups: ['default'] },
        { name: 'zed', groups: ['dev'] },
      ]);
      expect((await admin.req('GET', '/api/v1beta/groups/dev')).body.registered_clients).toEqual(['codex', 'zed']);
      const disc = await admin.req('GET', '/api/v1beta/discovery/clients');
      expect(disc.body.clients.find((c: { client_type: string }) => c.client_type === 'codex').registered).toBe(true);

      expect((await admin.req('DELETE', '/api/v1beta/clients/zed/groups/dev')).status).toBe(204);
      expect((await admin.req('DELETE', '/api/v1beta/clients/zed/groups/dev')).status).toBe(404);
      expect((await admin.req('POST', '/api/v1beta/clients/unregister', { names: ['codex'] })).status).toBe(204);
      expect((await admin.req('DELETE', '/api/v1beta/clients/cursor')).status).toBe(204);
      expect((await admin.req('GET', '/api/v1beta/clients')).body).toEqual([]);
      // Deleting a group drops its registrations.
      await admin.req('POST', '/api/v1beta/clients/register', { names: ['goose'], groups: ['dev'] });
      expect((await admin.req('DELETE', '/api/v1beta/groups/dev')).status).toBe(204);
      expect((await admin.req('GET', '/api/v1beta/clients')).body).toEqual([]);
    });

    it('refuses unknown clients, traversal in names, unknown groups and non-administrators', async () => {
      const unknown = await admin.req('POST', '/api/v1beta/clients', { name: 'notepad' });
      expect(unknown.status).toBe(400);
      expect(unknown.body).toContain("unsupported client type 'notepad'");
      const notYet = await admin.req('POST', '/api/v1beta/clients', { name: 'lm-studio' });
      expect(notYet.status).toBe(400);
      expect(notYet.body).toContain('not supported by Agentry yet');
      for (const name of ['../../.ssh', '..', 'cursor/../../x']) {
        expect((await admin.req('POST', '/api/v1beta/clients', { name })).status, name).toBe(400);
      }
      expect((await admin.req('DELETE', `/api/v1beta/clients/${encodeURIComponent('../x')}`)).status).toBe(400);
      expect((await admin.req('POST', '/api/v1beta/clients/register', { names: [] })).status).toBe(400);
      const noGroup = await admin.req('POST', '/api/v1beta/clients/register', { names: ['cursor'], groups: ['nope'] });
      expect(noGroup.status).toBe(400);
      expect(noGroup.body).toContain("Group 'nope' not found");
      expect((await admin.req('POST', '/api/v1beta/clients/register', { names: ['cursor'], groups: ['../x'] })).status).toBe(400);
      expect((await alice.req('POST', '/api/v1beta/clients', { name: 'cursor' })).status).toBe(403);
      expect((await alice.req('GET', '/api/v1beta/discovery/clients')).status).toBe(403);
      expect((await anon.req('GET', '/api/v1beta/clients')).status).toBe(401);
      expect((await admin.req('GET', '/api/v1beta/clients')).body).toEqual([]);
      expect(existsSync(join(home, '.cursor', 'mcp.json'))).toBe(false);
    });
  });

  describe('secrets', () => {
    it("keeps each account's secrets in the secret store, never returning values", async () => {
      const provider = await alice.req('GET', '/api/v1beta/secrets/default');
      conforms('GET /api/v1beta/secrets/default', provider);
      expect(provider.body).toEqual({
        name: 'default',
        provider_type: 'encrypted',
        capabilities: { can_read: true, can_write: true, can_delete: true, can_list: true, can_cleanup: true },
      });
      conforms('POST /api/v1beta/secrets', await alice.req('POST', '/api/v1beta/secrets', { provider_type: 'encrypted' }));
      const other = await alice.req('POST', '/api/v1beta/secrets', { provider_type: '1password' });
      expect(other.status).toBe(400);
      expect(other.body).toContain('AGENTRY_SECRET_BACKEND');
      expect((await alice.req('POST', '/api/v1beta/secrets', { provider_type: 'lastpass' })).status).toBe(400);

      const created = await alice.req('POST', '/api/v1beta/secrets/default/keys', { key: 'GITHUB_TOKEN', value: 'ghp_secret' });
      conforms('POST /api/v1beta/secrets/default/keys', created);
      expect(created.body).toEqual({ key: 'GITHUB_TOKEN', message: 'Secret created successfully' });
      expect((await alice.req('POST', '/api/v1beta/secrets/default/keys', { key: 'GITHUB_TOKEN', value: 'x' })).status).toBe(409);

      const keys = await alice.req('GET', '/api/v1beta/secrets/default/keys');
      conforms('GET /api/v1beta/secrets/default/keys', keys);
      expect(keys.body).toEqual({ keys: [{ key: 'GITHUB_TOKEN' }] });
      expect(JSON.stringify(keys.body)).not.toContain('ghp_secret');
      // Another account has its own set.
      expect((await admin.req('GET', '/api/v1beta/secrets/default/keys')).body).toEqual({ keys: [] });
      expect((await admin.req('PUT', '/api/v1beta/secrets/default/keys/GITHUB_TOKEN', { value: 'y' })).status).toBe(404);

      const updated = await alice.req('PUT', '/api/v1beta/secrets/default/keys/GITHUB_TOKEN', { value: 'ghp_new' });
      conforms('PUT /api/v1beta/secrets/default/keys/{key}', updated);
      expect((await alice.req('DELETE', '/api/v1beta/secrets/default/keys/GITHUB_TOKEN')).status).toBe(204);
      expect((await alice.req('DELETE', '/api/v1beta/secrets/default/keys/GITHUB_TOKEN')).status).toBe(404);
      expect((await alice.req('PUT', '/api/v1beta/secrets/default/keys/MISSING', { value: 'v' })).status).toBe(404);
    });

    it('refuses bad keys, empty values and anonymous callers', async () => {
      for (const key of ['../x', '1ABC', 'a b', '']) {
        expect((await alice.req('POST', '/api/v1beta/secrets/default/keys', { key, value: 'v' })).status, key).toBe(400);
      }
      expect((await alice.req('PUT', `/api/v1beta/secrets/default/keys/${encodeURIComponent('../x')}`, { value: 'v' })).status).toBe(400);
      expect((await alice.req('POST', '/api/v1beta/secrets/default/keys', { key: 'K', value: '' })).status).toBe(400);
      expect((await alice.req('POST', '/api/v1beta/secrets/default/keys', { key: 'K' })).status).toBe(400);
      expect((await anon.req('GET', '/api/v1beta/secrets/default/keys')).status).toBe(401);
    });
  });

  describe('version and system', () => {
    it('answers version, health and its OpenAPI document', async () => {
      const v = await anon.req('GET', '/api/v1beta/version');
      conforms('GET /api/v1beta/version', v);
      expect(v.body.version).toMatch(/^\d+\.\d+\.\d+/);
      const h = await anon.req('GET', '/health');
      expect(h.status).toBe(204);
      expect(h.body).toBeUndefined();
      const doc = await anon.req('GET', '/api/openapi.json');
      conforms('GET /api/openapi.json', doc);
      expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1beta/groups', '/api/v1beta/clients/register', '/api/v1beta/secrets/default/keys/{key}']));
    });
  });
});

describe('ToolHive secrets on a read-only (environment) backend', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { AGENTRY_SECRET_BACKEND: 'env' } });
  }, 60_000);
  afterAll(async () => server?.close());

  it('answers 405 for writes, as ToolHive does for a provider that cannot write', async () => {
    const admin = new Api(server.url, server.adminToken);
    const p = await admin.req('GET', '/api/v1beta/secrets/default');
    expect(p.body.provider_type).toBe('environment');
    expect(p.body.capabilities.can_write).toBe(false);
    const w = await admin.req('POST', '/api/v1beta/secrets/default/keys', { key: 'K', value: 'v' });
    expect(w.status).toBe(405);
    expect(typeof w.body).toBe('string');
    expect((await admin.req('DELETE', '/api/v1beta/secrets/default/keys/K')).status).toBe(405);
  });
});
