import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingServerJson, EVERYTHING_VERSION } from '../helpers/everything-server.js';
import { Api, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { runCli } from '../cli/cli-harness.js';

/**
 * Workloads made from Agentry's own registry: an MCP server package whose server.json names an npm
 * package runs (installed once, then node under the sandbox); upgrade checks compare its version
 * with the registry's latest and report env-var drift; an upgrade that fails its health check is
 * rolled back. The npm package is the reference everything server at the version the dev
 * dependencies hold, so its install is served from npm's cache.
 */

const TIMINGS = { initTimeoutMs: 30_000, healthTimeoutMs: 10_000, healthIntervalMs: 2_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 2 };

describe.each(testStores)('workloads from the registry (%s)', { timeout: 240_000 }, (store) => {
  let server: TestServer;
  let admin: Api;
  const status = async (name: string) => (await admin.req('GET', `/api/v1beta/workloads/${name}/status`)).body?.status as string;

  beforeAll(async () => {
    server = await startTestServer({ store, workloadTimings: TIMINGS });
    admin = new Api(server.url, server.adminToken);
    expect((await admin.publish('/api/v1/mcp-servers/@admin/everything', await everythingServerJson('1.0.0'))).status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs a registry entry from its npm package and proxies it', async () => {
    const created = await admin.req('POST', '/api/v1beta/workloads', { server: 'admin/everything', registry: 'default' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.name).toBe('everything');
    await waitFor('running', async () => ((await status('everything')) === 'running' ? true : undefined), 120_000);
    const detail = (await admin.req('GET', '/api/v1beta/workloads/everything')).body;
    expect(detail).toMatchObject({ image: `npx://@modelcontextprotocol/server-everything@${EVERYTHING_VERSION}`, registry: 'default', server: 'admin/everything', cmd_arguments: ['stdio'] });
    const c = new Client({ name: 't', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/workloads/everything/mcp`), { requestInit: { headers: { authorization: `Bearer ${server.adminToken}` } } }));
    expect(JSON.stringify((await c.callTool({ name: 'echo', arguments: { message: 'from npm' } })).content)).toContain('from npm');
    await c.close();
    expect((await admin.req('GET', '/api/v1beta/workloads/everything/upgrade-check')).body).toEqual({
      result: {
        workload_name: 'everything',
        status: 'up-to-date',
        current_image: `npx://@modelcontextprotocol/server-everything@${EVERYTHING_VERSION}`,
        candidate_image: `npx://@modelcontextprotocol/server-everything@${EVERYTHING_VERSION}`,
        registry_server: 'admin/everything',
      },
    });
    expect((await admin.req('POST', '/api/v1beta/workloads/everything/upgrade', {})).status).toBe(422);
  });

  it('refuses unknown servers and explicit workloads without registry data', async () => {
    expect((await admin.req('POST', '/api/v1beta/workloads', { server: 'admin/nothing' })).status).toBe(404);
    expect((await admin.req('POST', '/api/v1beta/workloads', { server: '../etc' })).status).toBe(400);
    const explicit = await admin.req('POST', '/api/v1beta/workloads', { name: 'remote', url: 'https://mcp.example.invalid/mcp' });
    expect(explicit.status).toBe(201);
    expect((await admin.req('GET', '/api/v1beta/workloads/remote/upgrade-check')).body.result.status).toBe('not-registry-sourced');
    expect((await admin.req('DELETE', '/api/v1beta/workloads/remote')).status).toBe(202);
    // OCI packages need a container engine; none answers here.
    expect(
      (
        await admin.publish(
          '/api/v1/mcp-servers/@admin/boxed',
          await makeTarball({
            'server.json': JSON.stringify({
              name: 'admin/boxed',
              description: 'An image',
              version: '1.0.0',
              packages: [{ registryType: 'oci', identifier: 'ghcr.io/example/boxed:1.0.0', transport: { type: 'stdio' } }],
            }),
          }),
        )
      ).status,
    ).toBe(200);
    const oci = await admin.req('POST', '/api/v1beta/workloads', { server: 'admin/boxed' });
    expect(oci.status).toBe(503);
    expect(String(oci.body)).toMatch(/container engine/);
  });

  it('rolls back an upgrade whose new version fails its health check', async () => {
    expect((await admin.publish('/api/v1/mcp-servers/@admin/everything', await everythingServerJson('1.1.0', { packageArguments: [{ type: 'positional', value: 'no-such-transport' }] }))).status).toBe(
      200,
    );
    const check = (await admin.req('GET', '/api/v1beta/workloads/upgrade-check')).body.results.find((r: { workload_name: string }) => r.workload_name === 'everything');
    expect(check.status).toBe('upgrade-available');
    const res = await admin.req('POST', '/api/v1beta/workloads/everything/upgrade', {});
    expect(res.status, String(res.body)).toBe(422);
    expect(String(res.body)).toMatch(/failed its health check; rolled back/);
    await waitFor('running again', async () => ((await status('everything')) === 'running' ? true : undefined), 120_000);
    expect((await admin.req('GET', '/api/v1beta/workloads/everything/export')).body.cmd_args).toEqual(['stdio']);
  });

  it('reports env-var drift and applies an upgrade with the settings it needs', async () => {
    expect(
      (
        await admin.publish(
          '/api/v1/mcp-servers/@admin/everything',
          await everythingServerJson('1.2.0', { environmentVariables: [{ name: 'GREETING', description: 'What to say', isRequired: true }] }),
        )
      ).status,
    ).toBe(200);
    const check = (await admin.req('GET', '/api/v1beta/workloads/everything/upgrade-check')).body.result;
    expect(check).toMatchObject({ status: 'upgrade-available', env_var_drift: { added: [{ name: 'GREETING', description: 'What to say', required: true, secret: false }] } });
    const without = await admin.req('POST', '/api/v1beta/workloads/everything/upgrade', {});
    expect(without.status).toBe(400);
    expect(String(without.body)).toMatch(/GREETING is required/);
    const res = await admin.req('POST', '/api/v1beta/workloads/everything/upgrade', { env: { GREETING: 'hello' } });
    expect(res.status, String(res.body)).toBe(200);
    expect(res.body.result.status).toBe('up-to-date');
    expect(await status('everything')).toBe('running');
    expect((await admin.req('GET', '/api/v1beta/workloads/everything')).body.env_vars).toEqual({ GREETING: 'hello' });
    expect((await admin.req('GET', '/api/v1beta/workloads/everything/upgrade-check')).body.result.status).toBe('up-to-date');
  });

  it('runs, lists, shows the logs of and stops workloads from the CLI, over HTTP', async () => {
    const env = { AGENTRY_REGISTRY: server.url, AGENTRY_TOKEN: server.adminToken };
    const run = await runCli(['mcp', 'run', 'admin/everything', '--name', 'cli-run', '--env', 'GREETING=hi', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name: 'cli-run', status: 'running', url: `${server.url}/workloads/cli-run/mcp` });
    const ls = await runCli(['mcp', 'ls'], { env });
    expect(ls.stdout).toMatch(/cli-run\s+npx:\/\/@modelcontextprotocol\/server-everything@\S+\s+running/);
    const logs = await runCli(['mcp', 'logs', 'cli-run'], { env });
    expect(logs.stdout).toContain('Starting default (STDIO) server');
    expect((await runCli(['mcp', 'logs', 'cli-run', '--proxy'], { env })).stdout).toContain('"event":"created"');
    expect((await runCli(['mcp', 'stop', 'cli-run'], { env })).code).toBe(0);
    await waitFor('stopped', async () => ((await status('cli-run')) === 'stopped' ? true : undefined), 120_000);
    expect((await runCli(['mcp', 'ls'], { env })).stdout).not.toContain('cli-run');
    expect((await runCli(['mcp', 'ls', '--all'], { env })).stdout).toContain('cli-run');
    const missing = await runCli(['mcp', 'stop', 'nope'], { env });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("Workload 'nope' not found");
    const bad = await runCli(['mcp', 'run', 'admin/everything', '--env', 'NOEQUALS'], { env });
    expect(bad.code).toBe(2);
  });
});
