import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, assertBuilt } from './cli-harness.js';

/** Starts `agentry serve`, waits for its "listening" line, and stops it with a signal. */
const serve = (args: string[], env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, [join(ROOT, 'bin/agentry.js'), 'serve', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    for (const w of waiters) w();
  });
  /** Resolves with the first match of `pattern` in stdout; rejects if the server exits first. */
  const waitFor = (pattern: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = pattern.exec(stdout);
        if (m) resolve(m[1]);
      };
      waiters.push(check);
      check();
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
  const listening = waitFor(/Agentry listening on (\S+)\n/);
  return { child, listening, waitFor, exited, output: () => stdout };
};

describe('agentry serve', () => {
  let dataDir: string;
  beforeAll(() => {
    assertBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'agentry-serve-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints its URL and the one-time admin token, serves, and exits 0 on SIGTERM', async () => {
    const s = serve(['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'silent']);
    const url = await s.listening;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const token = await s.waitFor(/\n {3}(agentry_[A-Za-z0-9_-]{43})\n/);
    expect(s.output()).toContain(`Log in with: agentry login --registry ${url} --token <token>`);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const who = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await who.json()) as { username: string }).username).toBe('admin');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('reads its settings from the environment, shows no token it was given, and exits 0 on SIGINT', async () => {
    const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
    const s = serve([], { AGENTRY_PORT: '0', AGENTRY_DATA_DIR: join(dataDir, 'env'), AGENTRY_ADMIN_TOKEN: adminToken, AGENTRY_LOG_LEVEL: 'silent' });
    const url = await s.listening;
    expect(s.output()).not.toContain('admin account was created');
    const who = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(who.status).toBe(200);
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
  });

  it('says plainly at start when agents cannot run bash (no sandbox), and when --unsafe-local-tools runs it unisolated', async () => {
    const missing = serve(['--port', '0', '--data-dir', join(dataDir, 'nobwrap'), '--log-level', 'silent'], { AGENTRY_BWRAP: '/nonexistent/bwrap' });
    await missing.listening;
    await missing.waitFor(/(Agent tools: .*)\n/);
    expect(missing.output()).toMatch(/Agent tools: bash is unavailable: \/nonexistent\/bwrap is not an executable file\. Install bubblewrap, or start the server with --unsafe-local-tools/);
    missing.child.kill('SIGTERM');
    expect(await missing.exited).toBe(0);
    const unsafe = serve(['--port', '0', '--data-dir', join(dataDir, 'nobwrap'), '--log-level', 'silent', '--unsafe-local-tools'], { AGENTRY_BWRAP: '/nonexistent/bwrap' });
    await unsafe.listening;
    await unsafe.waitFor(/(Agent tools: .*)\n/);
    expect(unsafe.output()).toMatch(/Agent tools: WARNING: no sandbox .*bash runs as this server's user/);
    unsafe.child.kill('SIGTERM');
    expect(await unsafe.exited).toBe(0);
  });
});
