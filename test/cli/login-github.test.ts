import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthProvider, type LocalOAuthProvider } from '../helpers/oauth-provider.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertBuilt, CliWorkspace, ROOT } from './cli-harness.js';

/** Runs `agentry login --github` and hands back the sign-in URL and callback it prints, while it waits. */
const startLogin = (ws: CliWorkspace, registry: string) => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AGENTRY_')) env[k] = v;
  const child = spawn(process.execPath, [join(ROOT, 'bin/agentry.js'), 'login', '--github', '--port', '0', '--no-browser', '--timeout', '30'], {
    cwd: ws.cwd,
    env: { ...env, AGENTRY_CONFIG: ws.configPath, AGENTRY_REGISTRY: registry },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  const prompt = new Promise<{ authUrl: string; callback: string }>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      const url = /^\s+(http\S+)$/m.exec(stderr);
      const cb = /Waiting for the sign-in at (\S+) /.exec(stderr);
      if (url && cb) resolve({ authUrl: url[1], callback: cb[1] });
    });
    child.on('close', () => reject(new Error(`login exited before printing the sign-in URL: ${stderr}`)));
  });
  return { prompt, exited };
};

describe('agentry login --github', () => {
  let provider: LocalOAuthProvider;
  let server: TestServer;
  const workspaces: CliWorkspace[] = [];

  beforeAll(async () => {
    assertBuilt();
    provider = await startOAuthProvider({ id: 4242, login: 'sinan', name: 'Sinan', avatar_url: null, email: null });
    server = await startTestServer({ egressAllow: '127.0.0.1', env: provider.env() });
  });
  afterAll(async () => {
    await server.close();
    await provider.close();
    for (const w of workspaces) w.cleanup();
  });

  it('signs in through the browser redirect flow and saves the token', async () => {
    const ws = new CliWorkspace(server.url);
    workspaces.push(ws);
    const { prompt, exited } = startLogin(ws, server.url);
    const { authUrl, callback } = await prompt;
    expect(callback).toMatch(/^http:\/\/localhost:\d+\/callback$/);
    expect(new URL(authUrl).searchParams.get('redirect_uri')).toBe(callback);
    // The test is the browser: open the URL, let the provider redirect to the CLI's listener.
    const page = await fetch(authUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/Signed in to .* as sinan/);
    const done = await exited;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toBe(`Logged in to ${server.url} as sinan (signed in with GitHub)\n`);
    const who = await ws.json<{ username: string; display_name: string }>(['whoami']);
    expect(who).toMatchObject({ username: 'sinan', display_name: 'Sinan' });
  });

  it('fails clearly when the provider sends the browser back with an error', async () => {
    const ws = new CliWorkspace(server.url);
    workspaces.push(ws);
    const { prompt, exited } = startLogin(ws, server.url);
    const { callback } = await prompt;
    const page = await fetch(`${callback}?error=access_denied&error_description=The+user+said+no`);
    expect(page.status).toBe(400);
    const done = await exited;
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/agentry: sign-in was not completed at the provider \(access_denied\)\n {2}The user said no\n$/);
  });

  it('refuses --github with --token', async () => {
    const ws = new CliWorkspace(server.url);
    workspaces.push(ws);
    const r = await ws.run(['login', '--github', '--token', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('agentry: --github and --token do not go together: pick one way to log in\n');
  });
});
