import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleAgent } from '../helpers/alquimia.js';
import { Api } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { assertBuilt, CliWorkspace } from '../cli/cli-harness.js';

describe.each(testStores)('root key rotation while serving (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-rotate-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  let server: TestServer;
  let alice: Api;
  let runtime: Api;
  const N = 60;

  beforeAll(async () => {
    server = await startTestServer({ store, dataDir, postgresSchema: schema });
    const admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string);
    runtime = admin.with((await admin.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime', account: 'alice' })).body.token as string);
    await alice.req('POST', '/registry/', { name: 'rot', namespace: 'prod' });
    await alice.req('POST', '/registry/agent', exampleAgent());
    await alice.req('POST', '/registry/secret', { secret: { key: 'OPENAI_API_KEY', scope: 'shared' }, value: 'value-before-rotation' });
    for (let i = 0; i < N; i++) await alice.req('POST', '/registry/secret', { secret: { key: `K${i}`, scope: 'global' }, value: `v${i}` });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('re-encrypts every value with `agentry secrets rotate-key` while resolves keep answering', async () => {
    assertBuilt();
    const ws = new CliWorkspace(server.url);
    try {
      let stop = false;
      let served = 0;
      const failures: string[] = [];
      const reader = (async () => {
        while (!stop) {
          const r = await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=alice');
          if (r.status !== 200 || r.body.response.config.connector.api_key !== 'value-before-rotation') failures.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
          served++;
        }
      })();
      const keyBefore = readFileSync(join(server.dataDir, 'secret.key'), 'utf8');
      const out = await ws.ok(['secrets', 'rotate-key', '--token', server.adminToken]);
      const again = await ws.json<{ active_key_id: string; reencrypted: number; retired_key_ids: string[] }>(['secrets', 'rotate-key', '--token', server.adminToken, '--json']);
      stop = true;
      await reader;
      expect(out).toMatch(new RegExp(`^Re-encrypted ${N + 1} secret values under root key [0-9a-f]{16}\\nNo value needs root key [0-9a-f]{16} any more\\n$`));
      expect(again.reencrypted).toBe(N + 1);
      expect(readFileSync(join(server.dataDir, 'secret.key'), 'utf8')).not.toBe(keyBefore);
      expect(served).toBeGreaterThan(0);
      expect(failures).toEqual([]);
      const denied = await ws.run(['secrets', 'rotate-key', '--token', alice.token!]);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/this action needs 'admin'/);
    } finally {
      ws.cleanup();
    }
  });

  it('still opens every value after a restart on the rotated key', async () => {
    await server.close();
    server = await startTestServer({ store, dataDir, adminToken: server.adminToken, postgresSchema: schema });
    runtime = new Api(server.url, runtime.token);
    const r = await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=alice');
    expect(r.status).toBe(200);
    expect(r.body.response.config.connector.api_key).toBe('value-before-rotation');
  });
});

describe('the environment backend through the API', () => {
  let server: TestServer;
  let alice: Api;
  let runtime: Api;

  beforeAll(async () => {
    server = await startTestServer({ env: { AGENTRY_SECRET_BACKEND: 'env', SECRET_OPENAI_API_KEY: 'from-the-environment', AGENTRY_ADMIN_TOKEN: 'ignored' } });
    const admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string);
    runtime = admin.with((await admin.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime', account: 'alice' })).body.token as string);
    await alice.req('POST', '/registry/', { name: 'env', namespace: 'prod' });
    await alice.req('POST', '/registry/agent', exampleAgent());
  });
  afterAll(async () => server?.close());

  it('refuses a value (the environment is read-only) and resolves definitions from variables', async () => {
    const withValue = await alice.req('POST', '/registry/secret', { secret: { key: 'OPENAI_API_KEY', scope: 'global' }, value: 'x' });
    expect(withValue.status).toBe(400);
    expect(withValue.body.detail).toMatch(/environment secret backend is read-only: set SECRET_ALICE__AGENTSPACES_GLOBAL__OPENAI_API_KEY or SECRET_OPENAI_API_KEY/);
    expect((await alice.req('GET', '/registry/secret')).body).toEqual([]);
    expect((await alice.req('POST', '/registry/secret', { secret: { key: 'OPENAI_API_KEY', scope: 'global' } })).status).toBe(200);
    expect((await alice.req('POST', '/registry/secret/inspect/my-agent')).body).toEqual({ secrets: [{ key: 'OPENAI_API_KEY', scope: 'global' }], errors: [] });
    expect((await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=alice')).body.response.config.connector.api_key).toBe('from-the-environment');
    expect((await alice.req('DELETE', '/registry/secret', { key: 'OPENAI_API_KEY' })).status).toBe(200);
  });
});
