import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('health, metrics and the OpenAPI document', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('answers /healthz with both ok and status', async () => {
    const r = await fetch(`${server.url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true, status: 'healthy', store: 'sqlite', auth_required: true, read_only: false });
  });

  it('serves Prometheus metrics', async () => {
    await fetch(`${server.url}/api/v1/agents`);
    const r = await fetch(`${server.url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/agentry_http_requests_total\{method="GET",route="\/api\/v1\/agents",status="200"\} 1/);
    expect(text).toMatch(/agentry_packages 0/);
    expect(text).toMatch(/agentry_process_resident_memory_bytes/);
  });

  it('documents every route, and every documented path is served', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(30);
    expect(doc.paths['/api/v1/agents/{scope}/{name}'].put).toBeDefined();
    const publish = doc.paths['/api/v1/agents/{scope}/{name}'].put as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } };
    expect(publish.requestBody.content['multipart/form-data'].schema.properties.tarball).toMatchObject({ type: 'string', format: 'binary' });
    for (const [path, ops] of Object.entries(doc.paths)) {
      const url =
        server.url +
        path
          .replace(/\{scope\}/g, '@nobody')
          .replace(/\{digest\}/g, `sha256:${'0'.repeat(64)}`)
          .replace(/\{[^}]+\}/g, '1');
      for (const method of Object.keys(ops)) {
        if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
        const r = await fetch(url, { method: method.toUpperCase() });
        const body = await r.text();
        // Served means a route answered: never the "No route" 404 of an unknown path.
        expect(body, `${method.toUpperCase()} ${path}`).not.toMatch(/No route for/);
        // A 501 is an answer only where the document says the route may give one (the MCP registry's optional routes).
        const documents501 = (ops[method] as { responses?: Record<string, unknown> }).responses?.['501'] !== undefined;
        if (!(r.status === 501 && documents501)) expect(r.status, `${method.toUpperCase()} ${path}`).toBeLessThan(500);
      }
    }
  });

  it('answers unknown routes with a 404 in the native error shape', async () => {
    const r = await fetch(`${server.url}/api/v1/nope`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: 'No route for GET /api/v1/nope' });
  });
});
