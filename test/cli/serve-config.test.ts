import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/app/config.js';
import { readSettingsFile } from '../../src/app/settings-file.js';
import { SETTINGS, envName, withSettingsTable } from '../../src/app/settings.js';
import { buildProgram } from '../../src/cli/main.js';
import { ROOT, assertBuilt, startServe } from './cli-harness.js';

const serve = (args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) => startServe(args, opts);

describe('settings: one declaration each', () => {
  it('keeps the README configuration table current (run `npm run docs:settings`)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(withSettingsTable(readme), 'the README configuration table is stale: run `npm run docs:settings`').toBe(readme);
  });

  it('gives `agentry serve` a long flag per setting, with its variable in the help', () => {
    const serveCommand = buildProgram().commands.find((c) => c.name() === 'serve');
    const longs = serveCommand?.options.map((o) => o.long) ?? [];
    for (const s of SETTINGS) expect(longs).toContain('negated' in s && s.negated ? `--no-${s.name}` : `--${s.name}`);
    expect(longs).toContain('--config');
    const help = serveCommand?.helpInformation() ?? '';
    for (const s of SETTINGS) expect(help).toContain(envName(s.name));
    expect(new Set(SETTINGS.map((s) => s.name)).size).toBe(SETTINGS.length);
  });
});

describe('settings: config file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentry-settings-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string, mode = 0o600): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };

  it('reads keys spelled as the long flags, with precedence flag > env > file > default', () => {
    const path = file('precedence.yaml', 'port: 9001\nlog-level: warn\nread-only: true\nmax-files: 12\negress-allow: [10.0.0.0/8, vault.internal:8200]\nrecipe-scope: cookbook\n');
    const loaded = readSettingsFile(path);
    expect(loaded.warnings).toEqual([]);
    const fromFile = resolveConfig({}, {}, loaded);
    expect(fromFile.port).toBe(9001);
    expect(fromFile.logLevel).toBe('warn');
    expect(fromFile.readOnly).toBe(true);
    expect(fromFile.limits.maxFiles).toBe(12);
    expect(fromFile.egressAllow).toEqual(['10.0.0.0/8', 'vault.internal:8200']);
    expect(fromFile.recipeScope).toBe('cookbook');
    expect(fromFile.host).toBe('127.0.0.1');
    const env = { AGENTRY_PORT: '9002', AGENTRY_READ_ONLY: 'false', AGENTRY_LOG_LEVEL: '' };
    const fromEnv = resolveConfig({}, env, loaded);
    expect(fromEnv.port).toBe(9002);
    expect(fromEnv.readOnly).toBe(false);
    expect(fromEnv.logLevel).toBe('warn');
    expect(resolveConfig({ port: '9003' }, env, loaded).port).toBe(9003);
  });

  it('refuses an unknown key, naming it and the file', () => {
    const path = file('typo.yaml', 'port: 8080\nhots: 0.0.0.0\n');
    expect(() => readSettingsFile(path)).toThrow(`config file ${path}: unknown setting 'hots'`);
    const camel = file('camel.yaml', 'dataDir: /srv\n');
    expect(() => readSettingsFile(camel)).toThrow(/unknown setting 'dataDir'/);
  });

  it('refuses a value of the wrong type or a bad value, naming the key and the file', () => {
    expect(() => readSettingsFile(file('list.yaml', 'read-only: [yes]\n'))).toThrow(/'read-only' must be true or false/);
    expect(() => readSettingsFile(file('map.yaml', 'host: {a: 1}\n'))).toThrow(/'host' must be a string/);
    expect(() => readSettingsFile(file('scalar.yaml', 'just a string\n'))).toThrow(/must be a mapping of settings/);
    expect(() => readSettingsFile(file('broken.yaml', 'port: [1\n'))).toThrow(/is not valid YAML/);
    expect(() => readSettingsFile(file('twice.yaml', 'port: 1\nport: 2\n'))).toThrow(/is not valid YAML/);
    const vis = file('vis.yaml', 'default-visibility: secretive\n');
    expect(() => resolveConfig({}, {}, readSettingsFile(vis))).toThrow(`'default-visibility' in ${vis} must be one of public, internal, private`);
    const port = file('port.yaml', 'port: 70000\n');
    expect(() => resolveConfig({}, {}, readSettingsFile(port))).toThrow(`'port' in ${port} must be a whole number from 0 to 65535`);
    expect(() => readSettingsFile(join(dir, 'absent.yaml'))).toThrow(/does not exist/);
  });

  it('takes an empty file and unset keys as no settings', () => {
    expect(resolveConfig({}, {}, readSettingsFile(file('empty.yaml', ''))).port).toBe(8080);
    expect(resolveConfig({}, {}).runtime).toBe(true);
    expect(resolveConfig({}, {}, readSettingsFile(file('no-runtime.yaml', 'runtime: false\n'))).runtime).toBe(false);
    expect(resolveConfig({}, { AGENTRY_RUNTIME: 'true' }, readSettingsFile(file('no-runtime2.yaml', 'runtime: false\n'))).runtime).toBe(true);
    expect(resolveConfig({ runtime: false }, { AGENTRY_RUNTIME: 'true' }).runtime).toBe(false);
    expect(() => resolveConfig({}, { AGENTRY_RUNTIME: 'sometimes' })).toThrow("AGENTRY_RUNTIME must be true or false (got 'sometimes')");
    expect(resolveConfig({}, {}, readSettingsFile(file('nulls.yaml', 'port:\nadmin-token:\n'))).port).toBe(8080);
  });

  it('warns when a file holding secrets is world-readable, not otherwise', () => {
    const token = `agentry_${randomBytes(32).toString('base64url')}`;
    expect(readSettingsFile(file('open.yaml', `admin-token: ${token}\n`, 0o644)).warnings).toEqual([expect.stringMatching(/holds secrets \(admin-token\) and every user/)]);
    expect(readSettingsFile(file('closed.yaml', `admin-token: ${token}\n`, 0o600)).warnings).toEqual([]);
    expect(readSettingsFile(file('plain.yaml', 'port: 0\n', 0o644)).warnings).toEqual([]);
  });
});

describe('agentry serve --config', () => {
  let dir: string;
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'agentry-serve-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ./agentry.yaml when present, warns about its readable secret, and lets a flag win', async () => {
    const cwd = join(dir, 'cwd');
    mkdirSync(cwd);
    const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
    writeFileSync(join(cwd, 'agentry.yaml'), `port: 0\nlog-level: silent\ndata-dir: ${join(dir, 'data')}\nadmin-token: ${adminToken}\nread-only: true\n`);
    chmodSync(join(cwd, 'agentry.yaml'), 0o644);
    const s = serve(['--host', '127.0.0.1'], { cwd });
    const { url, stderr } = await s.started;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stderr).toContain(`warning: config file ${join(cwd, 'agentry.yaml')} holds secrets (admin-token)`);
    expect(stderr).not.toContain(adminToken);
    const who = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(who.status).toBe(200);
    const write = await fetch(`${url}/api/v1/orgs`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: '{"name":"acme"}' });
    expect(write.status).toBe(403);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('takes a setting that is on by default (runtime) from the file, the environment or --no-runtime', async () => {
    const cwd = join(dir, 'runtime');
    mkdirSync(cwd);
    const base = `port: 0\nlog-level: silent\ndata-dir: ${join(dir, 'runtime-data')}\n`;
    const off = /No session workers in this process \(--no-runtime\)/;
    writeFileSync(join(cwd, 'agentry.yaml'), `${base}runtime: false\n`);
    // No --no-runtime flag given: commander's default for it must not hide the file's value.
    const fromFile = serve(['--host', '127.0.0.1'], { cwd });
    expect((await fromFile.started).stdout).toMatch(off);
    fromFile.child.kill('SIGTERM');
    expect(await fromFile.exited).toBe(0);
    writeFileSync(join(cwd, 'agentry.yaml'), base);
    const on = serve(['--host', '127.0.0.1'], { cwd });
    const started = await on.started;
    expect(started.url).toBeDefined();
    expect(started.stdout).not.toMatch(off);
    on.child.kill('SIGTERM');
    expect(await on.exited).toBe(0);
    const flag = serve(['--host', '127.0.0.1', '--no-runtime'], { cwd, env: { AGENTRY_RUNTIME: 'true' } });
    expect((await flag.started).stdout).toMatch(off);
    flag.child.kill('SIGTERM');
    expect(await flag.exited).toBe(0);
  });

  it('stops with a clear message on an unknown key or a missing --config file', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'port: 0\nrate-limit: 10/min\n');
    const typo = await serve(['--config', bad]).started;
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(`config file ${bad}: unknown setting 'rate-limit'`);
    const missing = await serve(['--config', join(dir, 'nope.yaml')]).started;
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`config file ${join(dir, 'nope.yaml')} does not exist`);
  });
});
