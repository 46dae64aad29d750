import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestModel } from '../helpers/dev-model.js';
import { Api, agentYaml, makeTarball } from '../helpers/packages.js';
import { onStore } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores } from '../helpers/server.js';
import { setUpAgent } from '../managed/session-harness.js';

describe.each(testStores)('run keys migration 0029 (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-runkeys-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('keeps the oldest of agents a race made twice for one package version, and counts the sessions earlier servers recorded', async () => {
    const model = await startTestModel();
    const opts = { store, dataDir, adminToken, postgresSchema: schema, egressAllow: '127.0.0.1' };
    let server = await startTestServer(opts);
    try {
      const admin = new Api(server.url, server.adminToken);
      const token = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string;
      const alice = admin.with(token);
      const env = (await setUpAgent(alice, model)).environmentId;
      const tgz = await makeTarball({ 'agent.yaml': agentYaml({ name: 'haiku', version: '1.0.0', scope: 'alice', description: 'Haiku', extra: 'config:\n  model: dev-ant' }) });
      expect((await alice.publish('/api/v1/agents/@alice/haiku', tgz)).status).toBe(200);
      const run = () => alice.req('POST', '/v1/sessions', { agent: { type: 'package', name: '@alice/haiku' }, environment_id: env });
      const first = await run();
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      await server.close();

      // The store as a server before 0029 left it after a race: the version's agent twice, under one key, and no counts.
      await onStore(store, dataDir, schema, [
        "DELETE FROM agentry_migrations WHERE name = '0029-run-keys'",
        'DROP INDEX managed_objects_run_key_uq',
        'ALTER TABLE versions DROP COLUMN session_count',
        `INSERT INTO managed_objects (id, kind, account_id, parent_id, ref_id, name, digest, version, data, archived_at, expires_at, created_at, updated_at)
         SELECT 'agent_racedcopy', kind, account_id, parent_id, ref_id, name, digest, version, data, archived_at, expires_at, created_at, updated_at
         FROM managed_objects WHERE kind = 'agent' AND name IS NOT NULL`,
      ]);
      server = await startTestServer(opts);
      const after = new Api(server.url, token);
      const versions = async () => (await after.req('GET', '/api/v1/agents/@alice/haiku/versions')).body.versions[0].session_count;
      expect(await versions()).toBe(1);
      const again = await after.req('POST', '/v1/sessions', { agent: { type: 'package', name: '@alice/haiku' }, environment_id: env });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body.agent.id).toBe(first.body.agent.id);
      expect(await versions()).toBe(2);
      // The copy stays, as a plain agent of alice's.
      expect((await after.req('GET', '/v1/agents/agent_racedcopy')).status).toBe(200);
    } finally {
      await server.close();
      await model.close();
    }
  });
});
