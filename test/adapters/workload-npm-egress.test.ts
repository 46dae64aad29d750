import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AllowList, EgressPolicy, EgressProxy } from '../../src/adapters/egress/index.js';
import { UnsandboxedRunner } from '../../src/adapters/sandbox/unsandboxed.js';
import { ProcessLauncher } from '../../src/adapters/workloads/launcher.js';
import { alive, childrenWith } from '../helpers/alive.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * A workload's npm package is installed through the egress policy: npm talks to a local egress
 * proxy that lets it reach the registry's host only, and the proxy's decisions land in the workload's
 * log. A real install from registry.npmjs.org (into a fresh npm cache, so npm must ask the registry),
 * and one whose registry is a loopback address, which the policy refuses.
 */
describe('npm installs of workloads go through the egress policy', { timeout: 240_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'agentry-npm-egress-'));
  const egress = new EgressPolicy();
  const launcher = (name: string, npmRegistry: string, policy = egress) =>
    new ProcessLauncher({
      sandbox: new UnsandboxedRunner(),
      unsafeLocal: true,
      packagesDir: join(root, name, 'packages'),
      npmCache: join(root, name, 'npm-cache'),
      fetch: policy.fetch,
      egress: policy,
      npmRegistry,
    });
  afterAll(async () => {
    await egress.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('installs a real package from the npm registry through the proxy, which saw the CONNECT to the registry host', async () => {
    const lines: string[] = [];
    const { dir, bin } = await launcher('ok', 'https://registry.npmjs.org/').installNpm('is-number', '7.0.0', (l) => lines.push(l));
    expect(existsSync(join(dir, 'node_modules', 'is-number', 'package.json'))).toBe(true);
    expect(bin).toBe(join(dir, 'node_modules', 'is-number', 'index.js'));
    expect(lines).toContain('[agentry] npm install: egress proxy allowed CONNECT registry.npmjs.org:443');
    expect(lines.filter((l) => l.includes('refused'))).toEqual([]);
  });

  it('refuses a registry the policy refuses, says so, and leaves nothing behind', async () => {
    const lines: string[] = [];
    const l = launcher('refused', 'http://127.0.0.1:9/');
    const err = await l
      .installNpm('is-number', '7.0.0', (line) => lines.push(line))
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err?.message).toMatch(/^npm install is-number@7\.0\.0 failed: .*403.*; the egress policy refused 127\.0\.0\.1:9 /s);
    expect(err?.message).not.toMatch(/npm:[A-Za-z0-9_-]{10,}@/); // the proxy's one-time password is not in the message
    expect(lines.some((line) => line.includes("egress proxy refused GET 127.0.0.1:9 (127.0.0.1 is refused by the server's egress policy)"))).toBe(true);
    expect(readdirSync(join(root, 'refused', 'packages'))).toEqual([]);
  });

  it.each([
    ['10.0.0.1', 'http://10.0.0.1:9/', /^npm install is-number@7\.0\.0 failed: .*403.*; the egress policy refused 10\.0\.0\.1:9 /s],
    ['169.254.169.254', 'http://169.254.169.254/', /^npm install is-number@7\.0\.0 failed: .*403.*; the egress policy refused 169\.254\.169\.254:80 /s],
    ['[::1]', 'http://[::1]:9/', /^npm install is-number@7\.0\.0 failed: .*403.*; the egress policy refused \[::1\]:9 /s],
    // A name passes the proxy's host check and is refused when the policy connects to its address: the
    // proxy answers a 502, which npm would retry with its back-off (a minute); the install stops at once.
    [
      'a name resolving to loopback',
      'http://localhost:9/',
      /^npm install is-number@7\.0\.0 failed: stopped: the registry's host localhost is refused, and npm's retries would be refused alike; the egress policy refused localhost:9 /,
    ],
  ])('refuses a registry on %s and leaves nothing behind', async (what, registry, message) => {
    const lines: string[] = [];
    const name = `refused-${what.replace(/[^a-z0-9]/gi, '')}`;
    const err = await launcher(name, registry)
      .installNpm('is-number', '7.0.0', (line) => lines.push(line))
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err?.message).toMatch(message);
    expect(
      lines.some((line) => /egress proxy refused/.test(line)),
      lines.join('\n'),
    ).toBe(true);
    expect(readdirSync(join(root, name, 'packages'))).toEqual([]);
  });

  it('a start stopped during its install kills npm at once (not at its timeout) and leaves nothing behind', async () => {
    // A registry that takes every request and never answers: npm waits on it for minutes.
    const asked: ServerResponse[] = [];
    const silent = createServer((_req, res) => asked.push(res));
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const loopback = new EgressPolicy({ allow: ['127.0.0.1'] });
    const stop = new AbortController();
    let launching: Promise<Error | undefined> | undefined;
    try {
      const l = launcher('stopped', `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, loopback);
      const plan = {
        name: 'stopped',
        source: { kind: 'npm' as const, package: 'is-number', version: '7.0.0', args: [] },
        env: {},
        headers: {},
        profile: { read: [], write: [], network: { outbound: {} } },
        networkIsolation: false,
      };
      launching = l
        .launch(plan, () => undefined, 60_000, undefined, stop.signal)
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      await waitFor('npm to ask the registry', async () => (asked.length > 0 ? true : undefined));
      // npm sets its process title to its command: the install's own words.
      const npm = childrenWith('npm install is-number@7.0.0');
      expect(npm.length).toBeGreaterThan(0);
      const t0 = Date.now();
      stop.abort();
      const err = await launching;
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(err?.message).toBe('the start was stopped');
      expect(npm.filter(alive), 'npm left running after its start was stopped').toEqual([]);
      expect(readdirSync(join(root, 'stopped', 'packages'))).toEqual([]);
    } finally {
      stop.abort();
      await launching;
      for (const res of asked) res.destroy();
      silent.closeAllConnections();
      await new Promise<void>((done) => silent.close(() => done()));
      await loopback.close();
    }
  });

  it("a start stopped while npm looks up its configured registry kills that npm at once (not at the lookup's 30 s)", async () => {
    // npm's user configuration a FIFO no one writes: `npm config get registry` waits on it for good.
    const home = join(root, 'fifo-home');
    mkdirSync(home);
    execFileSync('mkfifo', [join(home, '.npmrc')]);
    const homeBefore = process.env.HOME;
    process.env.HOME = home;
    const stop = new AbortController();
    let installing: Promise<Error | undefined> | undefined;
    try {
      const l = new ProcessLauncher({
        sandbox: new UnsandboxedRunner(),
        unsafeLocal: true,
        packagesDir: join(root, 'lookup', 'packages'),
        fetch: egress.fetch,
        egress,
      });
      installing = l
        .installNpm('is-number', '7.0.0', () => undefined, stop.signal)
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      const npm = await waitFor('npm config get registry to start', async () => {
        const found = childrenWith('npm');
        return found.length > 0 ? found : undefined;
      });
      // Still waiting on its configuration a second later.
      await new Promise((r) => setTimeout(r, 1000));
      expect(npm.filter(alive)).toEqual(npm);
      const t0 = Date.now();
      stop.abort();
      const err = await installing;
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(err?.message).toBe('the start was stopped');
      expect(npm.filter(alive), 'npm config get registry left running after its start was stopped').toEqual([]);
    } finally {
      stop.abort();
      await installing;
      process.env.HOME = homeBefore;
    }
  });

  it('refuses a registry URL that is not http(s)', async () => {
    await expect(launcher('bad', 'file:///etc/').installNpm('is-number', '7.0.0', () => undefined)).rejects.toThrow(/not an http\(s\) URL/);
  });

  it("the install's loopback proxy answers only requests carrying its one-time password", async () => {
    const proxy = await EgressProxy.start({ policy: egress, allow: new AllowList(['registry.npmjs.org:443']), credentials: 'npm:secret' });
    const connect = (auth?: string) =>
      new Promise<number | undefined>((done, fail) => {
        const req = request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: 'registry.npmjs.org:443', headers: auth ? { 'proxy-authorization': auth } : {} });
        req.on('connect', (res, socket) => {
          socket.destroy();
          done(res.statusCode);
        });
        req.on('response', (res) => done(res.statusCode));
        req.on('error', fail);
        req.end();
      });
    try {
      expect(await connect()).toBe(407);
      expect(await connect(`Basic ${Buffer.from('npm:wrong').toString('base64')}`)).toBe(407);
      expect(await connect(`Basic ${Buffer.from('npm:secret').toString('base64')}`)).toBe(200);
    } finally {
      await proxy.close();
    }
  });
});
