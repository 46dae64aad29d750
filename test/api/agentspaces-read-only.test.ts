import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleAgent } from '../helpers/alquimia.js';
import { Api } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

describe.each(testStores)('agentspaces on a read-only server (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-as-ro-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  let server: TestServer;
  let alice: Api;
  let runtime: Api;

  beforeAll(async () => {
    const writable = await startTestServer({ store, dataDir, postgresSchema: schema });
    const admin = new Api(writable.url, writable.adminToken);
    const aliceToken = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string;
    const runtimeToken = (await admin.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime', account: 'alice' })).body.token as string;
    alice = admin.with(aliceToken);
    await alice.req('POST', '/registry/', { name: 'ro', namespace: 'prod' });
    await alice.req('POST', '/registry/agent', exampleAgent());
    await alice.req('POST', '/registry/secret', { secret: { key: 'OPENAI_API_KEY', scope: 'shared' }, value: 'v' });
    await writable.close();
    server = await startTestServer({ store, dataDir, adminToken: writable.adminToken, postgresSchema: schema, readOnly: true });
    alice = new Api(server.url, aliceToken);
    runtime = new Api(server.url, runtimeToken);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('serves reads and resolve, and refuses every write with 403', async () => {
    expect((await alice.req('GET', '/registry/')).status).toBe(200);
    expect((await alice.req('GET', '/registry/secret')).body).toHaveLength(1);
    expect((await alice.req('POST', '/registry/validate?dry_run=true')).status).toBe(200);
    expect((await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=alice')).body.response.config.connector.api_key).toBe('v');
    const writes = [
      await alice.req('POST', '/registry/', { name: 'x', namespace: 'y' }),
      await alice.req('PUT', '/registry/', { agentspace_id: 'default', name: 'z' }),
      await alice.req('DELETE', '/registry/?agentspace_id=default'),
      await alice.req('POST', '/registry/agent', exampleAgent('two')),
      await alice.req('DELETE', '/registry/agent', { assistant_id: 'my-agent' }),
      await alice.req('PUT', '/registry/agent/hold/my-agent'),
      await alice.req('POST', '/registry/secret', { secret: { key: 'K', scope: 'shared' }, value: 'v' }),
      await alice.req('DELETE', '/registry/secret', { key: 'OPENAI_API_KEY' }),
      await alice.req('POST', '/registry/parameter', { key: 'k', type: 'string' }),
      await alice.req('POST', '/registry/validate'),
      await alice.req('PUT', '/registry/publish?tag=v1'),
      await alice.req('POST', '/registry/pull?target=127.0.0.1:9/a/b:c'),
    ];
    for (const r of writes) {
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      expect(r.body.detail).toMatch(/read-only/);
    }
    expect((await alice.req('POST', '/registry/agent/query', {})).body).toHaveLength(1);
  });
});
