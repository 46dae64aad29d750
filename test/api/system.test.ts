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

  it('counts every answer once under its method, route pattern and status, with its duration', async () => {
    const scrape = async () => (await fetch(`${server.url}/metrics`)).text();
    const value = (text: string, line: string): number => {
      const found = text.split('\n').find((l) => l.startsWith(`${line} `));
      return found === undefined ? 0 : Number(found.slice(line.length + 1));
    };
    const get = 'method="GET",route="/api/v1/agents/:scope/:name"';
    const head = 'method="HEAD",route="/api/v1/agents/:scope/:name"';
    const before = await scrape();
    expect((await fetch(`${server.url}/api/v1/agents/@nobody/nothing`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/v1/agents/@nobody/nothing`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/v1/agents/@nobody/nothing`, { method: 'HEAD' })).status).toBe(404);
    expect((await fetch(`${server.url}/no/such/route`)).status).toBe(404);
    const after = await scrape();
    const grew = (line: string) => value(after, line) - value(before, line);
    expect(grew(`agentry_http_requests_total{${get},status="404"}`)).toBe(2);
    // A GET route's HEAD twin is its own series, counted once per answer.
    expect(grew(`agentry_http_requests_total{${head},status="404"}`)).toBe(1);
    expect(grew('agentry_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(grew(`agentry_http_request_duration_seconds_count{${get}}`)).toBe(2);
    expect(grew(`agentry_http_request_duration_seconds_bucket{le="+Inf",${get}}`)).toBe(2);
    expect(value(after, `agentry_http_request_duration_seconds_sum{${get}}`)).toBeGreaterThan(0);
    // Buckets are cumulative: each holds at least what the one below it holds.
    const buckets = after.split('\n').filter((l) => l.startsWith('agentry_http_request_duration_seconds_bucket{') && l.includes(`,${get}} `));
    expect(buckets).toHaveLength(12);
    const counts = buckets.map((l) => Number(l.split(' ').at(-1)));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(after).toMatch(/# TYPE agentry_http_requests_total counter\n/);
    expect(after).toMatch(/# TYPE agentry_http_request_duration_seconds histogram\n/);
    // The metrics route counts its own answers too (the scrape before this one).
    expect(value(after, 'agentry_http_requests_total{method="GET",route="/metrics",status="200"}')).toBeGreaterThan(0);
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
