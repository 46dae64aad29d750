import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const report = (over: Record<string, unknown> = {}) => ({
  agent_name: '@tess/runner',
  agent_version: '1.0.0',
  success: true,
  duration_ms: 1000,
  os: 'linux',
  cli_version: '0.1.0',
  ...over,
});

describe.each(testStores)('telemetry (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let anon: Api;
  let tess: Api;
  let otto: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    tess = admin.with((await admin.req('POST', '/api/v1/users', { username: 'tess' })).body.token);
    otto = admin.with((await admin.req('POST', '/api/v1/users', { username: 'otto' })).body.token);
    for (const version of ['1.0.0', '1.1.0']) {
      expect((await tess.publish('/api/v1/agents/@tess/runner', await agentTarball({ name: 'runner', version, scope: 'tess' }))).status).toBe(200);
    }
  });
  afterAll(() => server.close());

  it('takes reports anonymously and shows the owner success rate and p50/p95 by version', async () => {
    // 1.0.0: 10 runs, 8 succeed, durations 100..1000 ms. 1.1.0: 4 runs, all succeed, 2000 ms.
    for (let i = 1; i <= 10; i++) {
      const r = await anon.req('POST', '/api/v1/telemetry', report({ success: i <= 8, duration_ms: i * 100 }));
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ ok: true });
    }
    for (let i = 0; i < 4; i++) expect((await anon.req('POST', '/api/v1/telemetry', report({ agent_name: 'runner', agent_version: '1.1.0', duration_ms: 2000 }))).status).toBe(200);

    const s = await tess.req('GET', '/api/v1/agents/@tess/runner/telemetry');
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ full_name: '@tess/runner', days: 30, runs: 14, successes: 12, failures: 2, success_rate: 0.8571 });
    const [v11, v10] = s.body.versions;
    expect(v11).toMatchObject({ version: '1.1.0', runs: 4, successes: 4, failures: 0, success_rate: 1 });
    expect(v10).toMatchObject({ version: '1.0.0', runs: 10, successes: 8, failures: 2, success_rate: 0.8 });
    // Percentiles come from duration buckets, within 7% of the true value (500 ms and 1000 ms here).
    expect(Math.abs(v10.p50_duration_ms - 500) / 500).toBeLessThan(0.075);
    expect(Math.abs(v10.p95_duration_ms - 1000) / 1000).toBeLessThan(0.075);
    expect(Math.abs(v11.p50_duration_ms - 2000) / 2000).toBeLessThan(0.075);
    const oneDay = await tess.req('GET', '/api/v1/agents/@tess/runner/telemetry?days=1');
    expect(oneDay.body.runs).toBe(14);
  });

  it('shows the figures to the owner (and admins) only', async () => {
    expect((await anon.req('GET', '/api/v1/agents/@tess/runner/telemetry')).status).toBe(401);
    const other = await otto.req('GET', '/api/v1/agents/@tess/runner/telemetry');
    expect(other.status).toBe(403);
    expect(other.body.error).toBe('Only members of @tess can see this');
    expect((await admin.req('GET', '/api/v1/agents/@tess/runner/telemetry')).status).toBe(200);
    const readToken = (await tess.req('POST', '/api/v1/tokens', { name: 'stats', permission: 'read' })).body.token;
    expect((await anon.with(readToken).req('GET', '/api/v1/agents/@tess/runner/telemetry')).status).toBe(200);
    expect((await tess.req('GET', '/api/v1/agents/@tess/runner/telemetry?days=91')).status).toBe(400);
    expect((await tess.req('GET', '/api/v1/agents/@tess/nothing/telemetry')).status).toBe(404);
  });

  it('refuses malformed, oversized and unknown-field bodies, and records nothing for them', async () => {
    const before = (await tess.req('GET', '/api/v1/agents/@tess/runner/telemetry')).body.runs;
    const post = (body: string | Record<string, unknown>, headers: Record<string, string> = {}) =>
      anon.req('POST', '/api/v1/telemetry', typeof body === 'string' ? body : body, typeof body === 'string' ? { 'content-type': 'application/json', ...headers } : headers);

    const cases: Array<[string | Record<string, unknown>, number, string[] | RegExp]> = [
      ['{"agent_name": "@tess/runner", ', 400, /Malformed JSON/],
      ['[1, 2]', 400, ['body: must be object']],
      ['"just a string"', 400, ['body: must be object']],
      [report({ extra: 'x' }), 400, ["body: unknown field 'extra'"]],
      [report({ success: 'true' }), 400, ['body.success: must be boolean']],
      [report({ duration_ms: '3500' }), 400, ['body.duration_ms: must be integer']],
      [report({ duration_ms: -1 }), 400, ['body.duration_ms: must be >= 0']],
      [report({ duration_ms: 1.5 }), 400, ['body.duration_ms: must be integer']],
      [report({ duration_ms: 86_400_001 }), 400, ['body.duration_ms: must be <= 86400000']],
      [report({ os: 'x'.repeat(33) }), 400, ['body.os: must not have more than 32 characters']],
      [report({ agent_name: '../../etc' }), 400, /body\.agent_name/],
      [report({ agent_version: 'v1' }), 400, ["agent_version: 'v1' is not valid semver"]],
      [{ agent_name: '@tess/runner' }, 400, ["body: missing required field 'agent_version'", "body: missing required field 'success'", "body: missing required field 'duration_ms'"]],
      [report({ agent_name: '@tess/ghost' }), 404, /Agent not found/],
      [report({ agent_version: '9.9.9' }), 404, /Version not found/],
      [JSON.stringify({ ...report(), os: 'a'.repeat(3000) }), 413, /too large/],
    ];
    for (const [body, status, expected] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      if (Array.isArray(expected)) expect(r.body.details).toEqual(expected);
      else expect(JSON.stringify(r.body)).toMatch(expected);
    }
    const text = await anon.req('POST', '/api/v1/telemetry', 'agent_name=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(400);
    expect(text.body.details).toEqual(['body: must be object']);
    const after = (await tess.req('GET', '/api/v1/agents/@tess/runner/telemetry')).body.runs;
    expect(after).toBe(before);
  });
});
