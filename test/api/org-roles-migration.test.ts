import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { onStore } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores } from '../helpers/server.js';

describe.each(testStores)('org roles migration (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-roles-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('turns members from before roles existed into maintainers, who keep publishing; owners stay owners', async () => {
    const opts = { store, dataDir, adminToken, postgresSchema: schema };
    let server = await startTestServer(opts);
    const admin = new Api(server.url, server.adminToken);
    const carol = admin.with((await admin.req('POST', '/api/v1/users', { username: 'carol' })).body.token);
    await admin.req('POST', '/api/v1/users', { username: 'bob' });
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'bob' })).status).toBe(201);
    expect((await admin.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' })).status).toBe(200);
    await server.close();

    // The store as a server before roles left it: carol is a 'member' (who then published) and
    // the roles migration has not run.
    await onStore(store, dataDir, schema, ["DELETE FROM agentry_migrations WHERE name = '0009-org-roles'", "UPDATE org_members SET role = 'member' WHERE role <> 'owner'"]);

    server = await startTestServer(opts);
    try {
      const after = await new Api(server.url).req('GET', '/api/v1/orgs/acme');
      expect(after.body.members).toEqual([
        { username: 'bob', role: 'owner' },
        { username: 'carol', role: 'maintainer' },
      ]);
      const published = await new Api(server.url, carol.token).publish('/api/v1/agents/@acme/bot', await agentTarball({ name: 'bot', version: '1.0.0', scope: 'acme' }));
      expect(published.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
