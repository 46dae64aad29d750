import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { OciClient, sha256 } from '../helpers/oci.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { storeQuery } from '../helpers/on-store.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/** Backdates every upload session of a server's store, as if started `days` ago. */
const ageUploads = async (server: TestServer, days: number): Promise<void> => {
  const at = new Date(Date.now() - days * 86_400_000).toISOString();
  await storeQuery(server, 'UPDATE oci_uploads SET created_at = ?', [at]);
};

describe.each(testStores)('OCI distribution: uploads survive restarts, abandoned ones are swept (%s)', (store) => {
  it('resumes a chunked upload after the server restarts: the partial upload is on disk, not in memory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agentry-oci-'));
    // A schema neither server owns, so it outlives the first one.
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const first = await startTestServer({ store, dataDir, postgresSchema: schema });
    let second: TestServer | undefined;
    try {
      const c1 = new OciClient(first.url).withToken(first.adminToken);
      const loc = (await c1.req('POST', '/v2/admin/resume/blobs/uploads/')).headers.get('location')!;
      expect((await c1.req('PATCH', loc, 'first half, ', { 'content-range': '0-11', 'content-type': 'application/octet-stream' })).status).toBe(202);
      await first.close();
      second = await startTestServer({ store, dataDir, adminToken: first.adminToken, postgresSchema: schema });
      const c2 = new OciClient(second.url).withToken(first.adminToken);
      const status = await c2.req('GET', loc);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-11');
      await c2.req('PATCH', loc, 'second half', { 'content-range': '12-22', 'content-type': 'application/octet-stream' });
      const done = await c2.req('PUT', `${loc}?digest=${sha256('first half, second half')}`);
      expect(done.status).toBe(201);
      expect((await c2.req('GET', `/v2/admin/resume/blobs/${sha256('first half, second half')}`)).body.toString()).toBe('first half, second half');
    } finally {
      await second?.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (store === 'postgres') await dropTestSchema(schema);
    }
  });

  it('sweeps upload sessions abandoned for more than a week when gc runs, and keeps recent ones', async () => {
    const server = await startTestServer({ store });
    try {
      const c = new OciClient(server.url).withToken(server.adminToken);
      const old = (await c.req('POST', '/v2/admin/sweep/blobs/uploads/')).headers.get('location')!;
      await c.req('PATCH', old, 'stale bytes', { 'content-type': 'application/octet-stream' });
      await ageUploads(server, 8);
      const fresh = (await c.req('POST', '/v2/admin/sweep/blobs/uploads/')).headers.get('location')!;
      expect(readdirSync(join(server.dataDir, 'uploads'))).toHaveLength(2);
      const gc = await new Api(server.url, server.adminToken).req('POST', '/api/v1/admin/gc', { grace_seconds: 3600 });
      expect(gc.status).toBe(200);
      expect((await c.req('GET', old)).status).toBe(404);
      expect((await c.req('GET', fresh)).status).toBe(204);
      expect(readdirSync(join(server.dataDir, 'uploads'))).toEqual([fresh.split('/').pop()]);
      const audit = await new Api(server.url, server.adminToken).req('GET', '/api/v1/audit?action=blobs.gc');
      expect(audit.body.entries[0].details.swept).toEqual({ oci_uploads: 1 });
    } finally {
      await server.close();
    }
  });
});
