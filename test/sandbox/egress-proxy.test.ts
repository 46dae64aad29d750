import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressPolicy, type Resolver } from '../../src/adapters/egress/index.js';
import { BubblewrapSandbox } from '../../src/adapters/sandbox/bubblewrap.js';
import type { SandboxProfile } from '../../src/core/sandbox/sandbox.js';
import { runSandboxed } from '../helpers/sandbox.js';

/**
 * A sandbox with an outbound allow-list, for real: curl inside bubblewrap reaches an allowed host through
 * the egress proxy (plain HTTP and a CONNECT tunnel), is refused others, cannot go around the proxy, and
 * the server's egress policy still applies to allowed hosts. Names resolve through the policy's own
 * resolver, so `allowed.test` and `denied.test` both point at a local server.
 */
const bwrapInstalled = existsSync('/usr/bin/bwrap') || existsSync('/usr/local/bin/bwrap') || existsSync('/bin/bwrap');
const run = bwrapInstalled || process.env.CI === 'true' || Boolean(process.env.AGENTRY_TEST_DATABASE_URL);
if (!run) console.warn('skipping the egress proxy sandbox tests: bwrap is not installed (apt-get install -y bubblewrap; the tests also use curl)');

const resolver: Resolver = (hostname, callback) => {
  if (hostname === 'allowed.test' || hostname === 'denied.test' || hostname === 'sub.wild.test') callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};

describe.runIf(run)('egress proxy of the bubblewrap sandbox', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      res.end(`hello from ${req.headers.host}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const profile = (allow_host: string[], allow_port?: number[]): SandboxProfile => ({ read: [], write: [], network: { outbound: { allow_host, ...(allow_port ? { allow_port } : {}) } } });

  const curl = (sandbox: BubblewrapSandbox, p: SandboxProfile, args: string[]) => runSandboxed(sandbox, { command: 'curl', args: ['-sS', '--max-time', '20', ...args], env: {}, profile: p });

  // The operator allows the loopback (as a test of a local service would); the environment allows one name.
  const sandbox = new BubblewrapSandbox({ egress: new EgressPolicy({ allow: ['127.0.0.1'], resolve: resolver }) });

  it('reaches an allowed host over plain HTTP through the proxy', async () => {
    const before = hits;
    const r = await curl(sandbox, profile(['allowed.test']), [`http://allowed.test:${port}/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`hello from allowed.test:${port}`);
    expect(hits).toBe(before + 1);
  });

  it('reaches an allowed host through a CONNECT tunnel (how HTTPS goes)', async () => {
    const r = await curl(sandbox, profile(['allowed.test']), ['--proxytunnel', `http://allowed.test:${port}/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`hello from allowed.test:${port}`);
  });

  it('matches *.domain entries', async () => {
    const r = await curl(sandbox, profile(['*.wild.test']), [`http://sub.wild.test:${port}/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('hello');
  });

  it('refuses a host that is not allowed, over HTTP and CONNECT, and says why', async () => {
    const before = hits;
    const plain = await curl(sandbox, profile(['allowed.test']), ['-w', '%{http_code}', `http://denied.test:${port}/`]);
    expect(plain.stdout).toContain('denied.test is not an allowed host of this sandbox');
    expect(plain.stdout).toMatch(/403$/);
    const tunnel = await curl(sandbox, profile(['allowed.test']), ['--proxytunnel', `http://denied.test:${port}/`]);
    expect(tunnel.code).not.toBe(0);
    expect(tunnel.stderr).toMatch(/403/);
    expect(hits).toBe(before);
  });

  it('refuses a port outside allow_port', async () => {
    const r = await curl(sandbox, profile(['allowed.test'], [443]), ['-w', '%{http_code}', `http://allowed.test:${port}/`]);
    expect(r.stdout).toContain(`port ${port} is not allowed`);
  });

  it('cannot go around the proxy: there is no other network', async () => {
    const before = hits;
    const r = await curl(sandbox, profile(['allowed.test']), ['--noproxy', '*', `http://127.0.0.1:${port}/`]);
    expect(r.code).not.toBe(0);
    expect(hits).toBe(before);
  });

  it("still applies the server's egress policy to allowed hosts (loopback refused unless the operator allows it)", async () => {
    const strict = new BubblewrapSandbox({ egress: new EgressPolicy({ resolve: resolver }) });
    const before = hits;
    const r = await curl(strict, profile(['allowed.test', '127.0.0.1']), ['-w', '%{http_code}', `http://allowed.test:${port}/`]);
    expect(r.stdout).toMatch(/could not be reached[\s\S]*502$/);
    // (127.0.0.1 itself is in NO_PROXY: inside the sandbox it is the sandbox's own loopback.)
    const literal = await curl(strict, profile(['10.1.2.3']), ['-w', '%{http_code}', `http://10.1.2.3:${port}/`]);
    expect(literal.stdout).toMatch(/refused by the server's egress policy[\s\S]*403$/);
    expect(hits).toBe(before);
  });
});
