import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

describe.each(testStores)('read-only mode (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-ro-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  let server: TestServer;
  let admin: Api;
  let erin: Api;
  const path = '/api/v1/agents/@erin/notes';

  beforeAll(async () => {
    // Publish on a writable server, then reopen the same store read-only.
    const writable = await startTestServer({ store, dataDir, postgresSchema: schema });
    admin = new Api(writable.url, writable.adminToken);
    const erinToken = (await admin.req('POST', '/api/v1/users', { username: 'erin' })).body.token as string;
    expect((await admin.with(erinToken).publish(path, await agentTarball({ name: 'notes', version: '1.0.0', scope: 'erin' }))).status).toBe(200);
    await writable.close();
    server = await startTestServer({ store, dataDir, adminToken: writable.adminToken, postgresSchema: schema, readOnly: true });
    admin = new Api(server.url, server.adminToken);
    erin = admin.with(erinToken);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('says so in /healthz and still serves reads', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ok: true, read_only: true });
    expect((await erin.req('GET', path)).body.latest_version).toBe('1.0.0');
    expect((await erin.req('GET', `${path}/download/1.0.0`)).status).toBe(200);
  });

  it('refuses every write with 403 and a clear message, and writes nothing', async () => {
    const refusals = [
      await erin.publish(path, await agentTarball({ name: 'notes', version: '1.1.0', scope: 'erin' })),
      await erin.req('PUT', `${path}/dist-tags/beta`, { version: '1.0.0' }),
      await erin.req('POST', `${path}/versions/1.0.0/deprecate`, { message: 'old' }),
      await erin.req('DELETE', `${path}/1.0.0`),
      await erin.req('POST', '/api/v1/tokens', { name: 'ci', permission: 'read' }),
      await admin.req('POST', '/api/v1/users', { username: 'frank' }),
      await admin.req('POST', '/api/v1/admin/gc', {}),
    ];
    for (const r of refusals) {
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      expect(r.body.error).toMatch(/read-only/);
    }
    const view = await erin.req('GET', path);
    expect(view.body.latest_version).toBe('1.0.0');
    expect((await erin.req('GET', `${path}/versions`)).body.versions).toHaveLength(1);
  });
});
