import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

describe.each(testStores)('dist-tags, deprecation, unpublish and gc (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let dana: Api;
  const path = '/api/v1/agents/@dana/notes';

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    dana = admin.with((await admin.req('POST', '/api/v1/users', { username: 'dana' })).body.token);
    for (const version of ['1.0.0', '1.1.0', '2.0.0-rc.1']) {
      expect((await dana.publish(path, await agentTarball({ name: 'notes', version, scope: 'dana' }))).status).toBe(200);
    }
  });
  afterAll(() => server.close());

  it('sets, lists and removes dist-tags; pinning latest and unpinning it', async () => {
    expect((await dana.req('GET', `${path}/dist-tags`)).body.dist_tags).toEqual({ latest: '1.1.0' });
    const next = await dana.req('PUT', `${path}/dist-tags/next`, { version: '2.0.0-rc.1' });
    expect(next.body.dist_tags).toEqual({ latest: '1.1.0', next: '2.0.0-rc.1' });
    const dl = await dana.req('GET', `${path}/download/next`);
    expect(dl.status).toBe(200);

    expect((await dana.req('PUT', `${path}/dist-tags/latest`, { version: '1.0.0' })).body.dist_tags.latest).toBe('1.0.0');
    await dana.publish(path, await agentTarball({ name: 'notes', version: '1.2.0', scope: 'dana' }));
    expect((await dana.req('GET', path)).body.latest_version).toBe('1.0.0');
    expect((await dana.req('DELETE', `${path}/dist-tags/latest`)).body.dist_tags.latest).toBe('1.2.0');

    expect((await dana.req('PUT', `${path}/dist-tags/1.0.0`, { version: '1.0.0' })).status).toBe(400);
    expect((await dana.req('PUT', `${path}/dist-tags/beta`, { version: '9.9.9' })).status).toBe(404);
    expect((await dana.req('DELETE', `${path}/dist-tags/nope`)).status).toBe(404);
    expect((await dana.with(undefined).req('PUT', `${path}/dist-tags/x`, { version: '1.0.0' })).status).toBe(401);
  });

  it('deprecates and un-deprecates a version', async () => {
    const r = await dana.req('POST', `${path}/versions/1.0.0/deprecate`, { message: 'use 1.2.0' });
    expect(r.body).toEqual({ success: true, version: '1.0.0', deprecated: 'use 1.2.0' });
    const versions = (await dana.req('GET', `${path}/versions`)).body.versions;
    expect(versions.find((v: { version: string }) => v.version === '1.0.0').deprecated).toBe('use 1.2.0');
    expect((await dana.req('POST', `${path}/versions/1.0.0/deprecate`, { message: '' })).body.deprecated).toBeNull();
  });

  it('unpublishes a version, moves latest and never lets the version come back', async () => {
    const before = await dana.req('GET', `${path}/download/1.2.0`);
    const r = await dana.req('DELETE', `${path}/1.2.0`);
    expect(r.body).toEqual({ success: true, message: 'Version 1.2.0 unpublished' });
    expect((await dana.req('GET', path)).body.latest_version).toBe('1.1.0');
    expect((await dana.req('GET', `${path}/download/1.2.0`)).status).toBe(404);
    const again = await dana.publish(path, await agentTarball({ name: 'notes', version: '1.2.0', scope: 'dana' }));
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/unpublished and can never be reused/);
    expect((await dana.req('DELETE', `${path}/1.2.0`)).status).toBe(404);

    // gc: a dry run reports the orphan, the real run (no grace) removes it, referenced blobs stay.
    const dry = await admin.req('POST', '/api/v1/admin/gc', { dry_run: true, grace_seconds: 0 });
    expect(dry.body.removed).toEqual([`sha256:${before.body.sha256}`]);
    // Nothing refers to an unpublished version's tarball: its URL is a 404 even before gc (blobs are
    // reached only through what owns them); the real run below removing it shows the dry run kept it.
    expect((await fetch(before.body.tarball_url)).status).toBe(404);
    expect((await dana.req('POST', '/api/v1/admin/gc', {})).status).toBe(403);
    const gc = await admin.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 });
    expect(gc.body).toMatchObject({ removed: [`sha256:${before.body.sha256}`], dry_run: false });
    expect((await fetch(before.body.tarball_url)).status).toBe(404);
    const live = await dana.req('GET', `${path}/download/1.1.0`);
    expect((await fetch(live.body.tarball_url)).status).toBe(200);
    const withGrace = await admin.req('POST', '/api/v1/admin/gc', {});
    expect(withGrace.body.removed).toEqual([]);
  });
});
