import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/** The detail read is cached in memory: every write must show at once, in every process. */
describe.each(testStores)('cached package views stay fresh (%s)', (store) => {
  let a: TestServer;
  let adminA: Api;
  let eve: Api;
  const path = '/api/v1/agents/@eve/tracker';

  beforeAll(async () => {
    a = await startTestServer({ store });
    adminA = new Api(a.url, a.adminToken);
    eve = adminA.with((await adminA.req('POST', '/api/v1/users', { username: 'eve' })).body.token);
    expect((await eve.publish(path, await agentTarball({ name: 'tracker', version: '1.0.0', scope: 'eve' }))).status).toBe(200);
  });
  afterAll(() => a.close());

  it('shows publishes, tags, deprecations, unpublishes and downloads right after they happen', async () => {
    expect((await eve.req('GET', path)).body.latest_version).toBe('1.0.0');
    await eve.publish(path, await agentTarball({ name: 'tracker', version: '1.1.0', scope: 'eve', description: 'Now with more tracking' }));
    const after = (await eve.req('GET', path)).body;
    expect(after).toMatchObject({ latest_version: '1.1.0', description: 'Now with more tracking' });
    await eve.req('PUT', `${path}/dist-tags/stable`, { version: '1.0.0' });
    expect((await eve.req('GET', path)).body.dist_tags).toEqual({ latest: '1.1.0', stable: '1.0.0' });
    await eve.req('POST', `${path}/versions/1.1.0/deprecate`, { message: 'broken' });
    expect((await eve.req('GET', path)).body.deprecated).toBe('broken');
    await eve.req('GET', `${path}/download/1.1.0`);
    expect((await eve.req('GET', path)).body.download_count).toBe(1);
    await eve.req('DELETE', `${path}/1.1.0`);
    expect((await eve.req('GET', path)).body.latest_version).toBe('1.0.0');
  });

  it.runIf(store === 'postgres')('shows a write made through another server process on the same database', async () => {
    const b = await startTestServer({ store, dataDir: a.dataDir, adminToken: a.adminToken, postgresSchema: a.schema });
    try {
      const viaB = new Api(b.url);
      expect((await viaB.req('GET', path)).body.latest_version).toBe('1.0.0');
      await eve.publish(path, await agentTarball({ name: 'tracker', version: '2.0.0', scope: 'eve' }));
      let seen = '';
      for (let i = 0; i < 50 && seen !== '2.0.0'; i++) {
        seen = (await viaB.req('GET', path)).body.latest_version;
        if (seen !== '2.0.0') await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toBe('2.0.0');
    } finally {
      await b.close();
    }
  });
});
