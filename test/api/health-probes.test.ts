import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/app/config.js';
import { storeQuery } from '../helpers/on-store.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const get = async (url: string, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { headers });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, body: r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
};

describe.each(testStores)('liveness and readiness probes (%s)', (store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store });
  });
  afterAll(() => server.close());

  it('answers /livez without touching anything', async () => {
    const r = await get(`${server.url}/livez`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true, status: 'alive' });
  });

  it('answers /readyz 200 when the database, its migrations and the blob store are fine', async () => {
    const r = await get(`${server.url}/readyz`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      ok: true,
      status: 'ready',
      checks: [
        { name: 'database', ok: true },
        { name: 'migrations', ok: true },
        { name: 'blobs', ok: true },
      ],
    });
  });

  it('answers 503 naming the blob store when it cannot take a write, and 200 again once it can', async () => {
    const tmp = join(server.dataDir, 'blobs', 'tmp');
    rmSync(tmp, { recursive: true, force: true });
    writeFileSync(tmp, 'not a folder');
    try {
      const r = await get(`${server.url}/readyz`);
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('not ready');
      expect(r.body.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([{ name: 'blobs', ok: false, reason: expect.stringMatching(/ENOTDIR/) }]);
      // Liveness does not depend on it: restarting would not help.
      expect((await get(`${server.url}/livez`)).status).toBe(200);
    } finally {
      rmSync(tmp, { force: true });
      mkdirSync(tmp);
    }
    expect((await get(`${server.url}/readyz`)).status).toBe(200);
  });

  it('answers 503 naming a migration the database has not run', async () => {
    const [row] = (await storeQuery(server, "SELECT * FROM agentry_migrations WHERE name = '0008-managed'")).rows;
    expect(row).toBeDefined();
    await storeQuery(server, "DELETE FROM agentry_migrations WHERE name = '0008-managed'");
    try {
      const r = await get(`${server.url}/readyz`);
      expect(r.status).toBe(503);
      expect(r.body.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([{ name: 'migrations', ok: false, reason: 'not applied: 0008-managed' }]);
    } finally {
      await storeQuery(server, 'INSERT INTO agentry_migrations (name, timestamp) VALUES (?, ?)', [row.name, row.timestamp]);
    }
    expect((await get(`${server.url}/readyz`)).status).toBe(200);
  });

  it('documents both probes', async () => {
    const doc = (await get(`${server.url}/openapi.json`)).body as { paths: Record<string, { get?: { responses: Record<string, unknown> } }> };
    expect(Object.keys(doc.paths['/livez'].get!.responses)).toEqual(['200']);
    expect(Object.keys(doc.paths['/readyz'].get!.responses)).toEqual(['200', '503']);
  });
});

describe('/metrics behind a token', () => {
  const token = 'metrics-secret-0123456789';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { AGENTRY_METRICS_TOKEN: token } });
  });
  afterAll(() => server.close());

  it('answers only a Bearer of the metrics token', async () => {
    const none = await get(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="agentry-metrics"');
    expect(none.body).toEqual({ error: 'The metrics need a Bearer token' });
    for (const wrong of [`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, 'Bearer x', `Basic ${token}`, token]) {
      const r = await get(`${server.url}/metrics`, { authorization: wrong });
      expect(r.status, wrong).toBe(401);
      expect(r.text).not.toContain('agentry_http_requests_total');
    }
    // The server's admin token is not the metrics token.
    expect((await get(`${server.url}/metrics`, { authorization: `Bearer ${server.adminToken}` })).status).toBe(401);
    const ok = await get(`${server.url}/metrics`, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/agentry_http_requests_total\{method="GET",route="\/metrics",status="401"\} \d+/);
  });

  it('leaves the other probes open', async () => {
    for (const path of ['/livez', '/readyz', '/healthz']) expect((await get(`${server.url}${path}`)).status, path).toBe(200);
  });

  it('takes the token from --metrics-token or AGENTRY_METRICS_TOKEN, and refuses a short or spaced one', () => {
    expect(resolveConfig({}, {}).metricsToken).toBeUndefined();
    expect(resolveConfig({}, { AGENTRY_METRICS_TOKEN: token }).metricsToken).toBe(token);
    expect(resolveConfig({ metricsToken: `${token}-flag` }, { AGENTRY_METRICS_TOKEN: token }).metricsToken).toBe(`${token}-flag`);
    expect(() => resolveConfig({ metricsToken: 'short' }, {})).toThrow(/at least 16 printable characters/);
    expect(() => resolveConfig({}, { AGENTRY_METRICS_TOKEN: 'has a space in it, sadly' })).toThrow(/without spaces/);
  });
});
