import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

describe.each(testStores)('secret store administration (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-secadm-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  let server: TestServer;
  let admin: Api;
  let alice: Api;

  beforeAll(async () => {
    server = await startTestServer({ store, dataDir, postgresSchema: schema });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('creates the root key file with mode 0600 in the data directory', () => {
    expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
  });

  it('lets only an administrator create a runtime token, which can do nothing else', async () => {
    const refused = await alice.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime' });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/Only an administrator with an 'admin' token can create a 'runtime' token/);
    const created = await admin.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime' });
    expect(created.status).toBe(201);
    expect(created.body.permission).toBe('runtime');
    const runtime = admin.with(created.body.token as string);
    expect((await runtime.req('GET', '/api/v1/whoami')).body.token.permission).toBe('runtime');
    const mint = await runtime.req('POST', '/api/v1/tokens', { name: 'x', permission: 'read' });
    expect(mint.status).toBe(403);
    const gc = await runtime.req('POST', '/api/v1/admin/gc', {});
    expect(gc.status).toBe(403);
    expect((await runtime.req('POST', '/api/v1/admin/secrets/rotate-key')).status).toBe(403);
  });

  it('rotates the root key over HTTP for an admin only, and audits it', async () => {
    expect((await alice.req('POST', '/api/v1/admin/secrets/rotate-key')).status).toBe(403);
    const before = readFileSync(join(dataDir, 'secret.key'), 'utf8');
    const r = await admin.req('POST', '/api/v1/admin/secrets/rotate-key');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ active_key_id: expect.stringMatching(/^[0-9a-f]{16}$/), reencrypted: 0 });
    expect(readFileSync(join(dataDir, 'secret.key'), 'utf8')).not.toBe(before);
    const audit = await admin.req('GET', '/api/v1/audit?action=secrets.rotate_key');
    expect(audit.body.entries[0]).toMatchObject({ actor: 'admin', target: `secret-key:${r.body.active_key_id}` });
    expect(JSON.stringify(audit.body)).not.toContain(before.trim());
  });

  it('refuses to start with a wrong root key, with a clear message', async () => {
    await server.close();
    const wrong = randomBytes(32).toString('base64');
    const err = await startTestServer({ store, dataDir, postgresSchema: schema, adminToken: server.adminToken, env: { AGENTRY_SECRET_KEY: wrong } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/Wrong secret root key: this registry's secrets are encrypted under root key [0-9a-f]{16}/);
    expect((err as Error).message).not.toContain(wrong);
    server = await startTestServer({ store, dataDir, postgresSchema: schema, adminToken: server.adminToken });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
