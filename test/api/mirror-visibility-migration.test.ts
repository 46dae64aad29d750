import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { onStore } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores } from '../helpers/server.js';

/**
 * Migration 0049-mirror-visibility on a store as an earlier server left it: mirrors had no
 * visibility and what they fetched was public. A mirror with a password becomes private, with the
 * packages of the scopes it holds; one without a password stays public, with its packages.
 */
describe.each(testStores)('mirror visibility migration 0049 (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-mirrorvis-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('makes a mirror with a password private with what it fetched; leaves one without a password public', async () => {
    const opts = { store, dataDir, adminToken, postgresSchema: schema };
    let server = await startTestServer(opts);
    try {
      const admin = new Api(server.url, server.adminToken);
      for (const scope of ['locked', 'open']) {
        const token = (await admin.req('POST', '/api/v1/users', { username: scope })).body.token as string;
        expect((await admin.with(token).publish(`/api/v1/agents/@${scope}/helper`, await agentTarball({ name: 'helper', version: '1.0.0', scope }))).status).toBe(200);
      }
      // Fetched before, so documents are kept for them.
      expect((await new Api(server.url).req('GET', '/api/v1/agents/@locked/helper')).status).toBe(200);
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'agentry', name: 'withpw', url: 'https://up.example.com', username: 'token', password: 'pw' })).status).toBe(201);
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'agentry', name: 'nopw', url: 'https://open.example.com' })).status).toBe(201);
      await server.close();

      // The store as a server before 0049 left it: no visibility, the two scopes taken by the mirrors.
      const at = new Date().toISOString();
      await onStore(store, dataDir, schema, [
        "DELETE FROM agentry_migrations WHERE name = '0049-mirror-visibility'",
        'ALTER TABLE mirrors DROP COLUMN visibility',
        `INSERT INTO mirror_scopes (scope, mirror, upstream, created_at) VALUES ('locked', 'withpw', 'https://up.example.com', '${at}')`,
        `INSERT INTO mirror_scopes (scope, mirror, upstream, created_at) VALUES ('open', 'nopw', 'https://open.example.com', '${at}')`,
      ]);
      server = await startTestServer(opts);
      const anon = new Api(server.url);
      const again = new Api(server.url, server.adminToken);
      expect((await again.req('GET', '/api/v1/mirrors/withpw')).body.visibility).toBe('private');
      expect((await again.req('GET', '/api/v1/mirrors/nopw')).body.visibility).toBe('public');
      expect((await anon.req('GET', '/api/v1/agents/@locked/helper')).status).toBe(404);
      expect((await again.req('GET', '/api/v1/access/@locked/helper')).body.visibility).toBe('private');
      expect((await again.req('GET', '/api/v1/access/@locked')).body.visibility).toBe('private');
      expect((await anon.req('GET', '/api/v1/agents/@open/helper')).status).toBe(200);
      expect((await anon.req('GET', '/api/v1/packages?q=helper')).body.packages.map((p: { full_name: string }) => p.full_name)).toEqual(['@open/helper']);
    } finally {
      await server.close();
    }
  });
});
