import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

/**
 * `agentry publish` sends an Idempotency-Key and, when the reply is lost, sends the same bytes with
 * the same key again: the server answers the retry with the first publish's success, never a 409.
 * A proxy in front of a real server forwards every request, and for the first `lose` publishes
 * lets the publish happen but cuts the connection (or answers 502) instead of passing the reply on.
 */
describe('publish retries after a lost reply', () => {
  let server: TestServer;
  let proxy: Server;
  let ws: CliWorkspace;
  let mode: 'reset' | '502' | 'pass' = 'pass';
  let lose = 0;
  const keys: string[] = [];
  let aliceToken = '';

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    const upstream = new URL(server.url);
    proxy = createServer((req, res) => {
      const isPublish = req.method === 'PUT' || (req.method === 'POST' && (req.url?.startsWith('/v1/recipes/') || /^\/v1\/agents\/[^/]+\/publish$/.test(req.url ?? '')));
      if (isPublish) keys.push(String(req.headers['idempotency-key'] ?? ''));
      const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up: IncomingMessage) => {
        if (isPublish && lose > 0) {
          lose -= 1;
          up.resume();
          up.on('end', () => {
            if (mode === '502') res.writeHead(502, { 'content-type': 'text/plain' }).end('Bad Gateway');
            else res.socket?.destroy();
          });
          return;
        }
        res.writeHead(up.statusCode ?? 500, up.headers);
        up.pipe(res);
      });
      req.pipe(out);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    ws = new CliWorkspace(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    const alice = await ws.json<{ token: string }>(['user', 'add', 'alice', '--token', server.adminToken]);
    aliceToken = alice.token;
    await ws.ok(['login', '--token', alice.token]);
    await ws.ok(['init', 'tool', '--kind', 'agent', '--name', 'tool', '--scope', 'alice']);
  });
  afterAll(async () => {
    ws?.cleanup();
    await new Promise<void>((r) => proxy?.close(() => r()));
    await server?.close();
  });

  it('publishes once and succeeds when the connection is reset after the server published', async () => {
    mode = 'reset';
    lose = 2;
    keys.length = 0;
    const r = await ws.run(['publish', 'tool', '--json'], { env: { AGENTRY_PUBLISH_ATTEMPTS: '4' } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, version: '0.1.0', full_name: '@alice/tool' });
    expect(r.stderr).toMatch(/reply to the upload was lost .*sending it again/);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size, JSON.stringify(keys)).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    // A new `agentry publish` is a new publish: a new key, and the documented 409.
    const again = await ws.run(['publish', 'tool']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);
    expect(keys[3]).not.toBe(keys[0]);
  });

  it('retries a 502 from a proxy with the same key, and gives up after the attempts allowed', async () => {
    const file = ws.path('tool', 'agent.yaml');
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').replace('version: 0.1.0', 'version: 0.2.0'));
    mode = '502';
    lose = 1;
    keys.length = 0;
    const ok = await ws.run(['publish', 'tool', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);

    writeFileSync(file, readFileSync(file, 'utf8').replace('version: 0.2.0', 'version: 0.3.0'));
    lose = 10;
    keys.length = 0;
    const failed = await ws.run(['publish', 'tool'], { env: { AGENTRY_PUBLISH_ATTEMPTS: '2' } });
    expect(failed.code).not.toBe(0);
    expect(keys).toHaveLength(2);
    lose = 0;
    // The version was published by the first attempt; a retry by hand with a new key meets the 409.
    const versions = await fetch(`${server.url}/api/v1/agents/@alice/tool/versions`).then((x) => x.json() as Promise<{ versions: Array<{ version: string }> }>);
    expect(versions.versions.map((v) => v.version)).toContain('0.3.0');
  });

  it('agent publish sends a key and retries a lost reply with it: one publish, the first answer', async () => {
    const created = await fetch(`${server.url}/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Retry Bot', model: 'claude-sonnet-4-6' }),
    }).then((x) => x.json() as Promise<{ id: string }>);
    mode = 'reset';
    lose = 1;
    keys.length = 0;
    const r = await ws.run(['agent', 'publish', created.id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ package: '@alice/retry-bot', version: '1.0.0', agent_id: created.id, agent_version: 1 });
    expect(r.stderr).toMatch(/reply to the publish was lost .*sending it again/);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    // A new command is a new publish: a new key, and the 409.
    const again = await ws.run(['agent', 'publish', created.id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);
    expect(keys[2]).not.toBe(keys[0]);
  });
});
