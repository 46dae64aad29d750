import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, startServe } from './cli-harness.js';

/** `agentry serve` with `args` and `env`: resolves with its URL once listening, or with its exit code and stderr. */
const serve = (args: string[], env: Record<string, string> = {}) => startServe(['--port', '0', '--log-level', 'silent', ...args], { env });

describe('agentry serve --default-visibility and --auth-required-for-reads', () => {
  let dataDir: string;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  beforeAll(() => {
    assertBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'agentry-serve-vis-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const get = (url: string, token?: string) => fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('takes both settings as flags', async () => {
    const s = serve(['--data-dir', join(dataDir, 'flags'), '--admin-token', adminToken, '--default-visibility', 'private', '--auth-required-for-reads']);
    const { url } = await s.started;
    expect(url).toBeDefined();
    expect((await get(`${url}/healthz`)).status).toBe(200);
    expect((await get(`${url}/api/v1/agents`)).status).toBe(401);
    const scope = await get(`${url}/api/v1/access/@admin`, adminToken);
    expect(await scope.json()).toEqual({ scope: '@admin', visibility: 'private' });
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('takes both settings from the environment', async () => {
    const s = serve([], { AGENTRY_DATA_DIR: join(dataDir, 'env'), AGENTRY_ADMIN_TOKEN: adminToken, AGENTRY_DEFAULT_VISIBILITY: 'Internal', AGENTRY_AUTH_REQUIRED_FOR_READS: 'true' });
    const { url } = await s.started;
    expect((await get(`${url}/v0.1/servers`)).status).toBe(401);
    expect(await (await get(`${url}/api/v1/access/@admin`, adminToken)).json()).toEqual({ scope: '@admin', visibility: 'internal' });
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('refuses a visibility it does not know, naming the setting', async () => {
    const bad = await serve(['--data-dir', join(dataDir, 'bad'), '--default-visibility', 'secret']).started;
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--default-visibility must be one of public, internal, private/);
    const badEnv = await serve(['--data-dir', join(dataDir, 'bad')], { AGENTRY_AUTH_REQUIRED_FOR_READS: 'maybe' }).started;
    expect(badEnv.code).not.toBe(0);
    expect(badEnv.stderr).toMatch(/AGENTRY_AUTH_REQUIRED_FOR_READS must be true or false/);
  });
});
