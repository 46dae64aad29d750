import { randomBytes } from 'node:crypto';
import { Agent, request, type IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Api, agentTarball, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/** A multipart publish body, so a test can send it in pieces at its own pace. */
const publishBody = (tarball: Buffer): { body: Buffer; contentType: string } => {
  const boundary = `b${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="tarball"; filename="p.tgz"\r\nContent-Type: application/gzip\r\n\r\n`),
    tarball,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
};

const readAll = (res: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(testStores)('graceful shutdown (%s)', (store) => {
  const withServer = async (fn: (server: TestServer, api: Api) => Promise<void>) => {
    const server = await startTestServer({ store });
    try {
      await fn(server, new Api(server.url, server.adminToken));
    } finally {
      await server.close(2_000).catch(() => undefined);
    }
  };

  it('closes at once after a streamed download on a kept-alive connection', async () => {
    const server = await startTestServer({ store });
    const api = new Api(server.url, server.adminToken);
    const big = randomBytes(3 * 1024 * 1024).toString('base64');
    const tgz = await makeTarball({
      'agent.yaml': ['name: big', 'version: 1.0.0', 'description: A big one', 'author: "@admin"', 'license: MIT'].join('\n'),
      'README.md': '# big\n',
      'data/blob.txt': big,
    });
    expect((await api.publish('/api/v1/agents/@admin/big', tgz)).status).toBe(200);
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    const url = new URL(server.url);
    const get = (path: string) =>
      new Promise<Buffer>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path, agent }, (res) => {
          expect(res.statusCode).toBe(200);
          readAll(res).then(resolve, reject);
        });
        req.on('error', reject);
        req.end();
      });
    const resolved = JSON.parse((await get('/api/v1/agents/@admin/big/download/1.0.0')).toString()) as { tarball_url: string };
    const downloaded = await get(new URL(resolved.tarball_url).pathname);
    expect(downloaded.length).toBe(tgz.length);
    // The socket is back in the agent's pool, kept alive, idle.
    await sleep(50);
    expect(Object.values(agent.freeSockets).flat().length).toBe(1);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    agent.destroy();
  });

  it('lets an upload in flight finish, refuses new connections, then closes', async () => {
    await withServer(async (server, api) => {
      const { body, contentType } = publishBody(await agentTarball({ name: 'slow', version: '1.0.0', scope: 'admin', readme: randomBytes(200_000).toString('hex') }));
      const url = new URL(server.url);
      const half = Math.floor(body.length / 2);
      let answered: { status: number; body: string } | undefined;
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            method: 'PUT',
            path: '/api/v1/agents/@admin/slow',
            headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': contentType, 'content-length': body.length },
          },
          (res) => readAll(res).then((b) => resolve((answered = { status: res.statusCode ?? 0, body: b.toString() })), reject),
        );
        req.on('error', reject);
        req.write(body.subarray(0, half));
        setTimeout(() => req.end(body.subarray(half)), 800);
      });
      await sleep(300);
      let closed = false;
      const closing = server.close(10_000).then(() => (closed = true));
      await sleep(150);
      // No new connection is accepted while the upload finishes.
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
      expect(closed).toBe(false);
      const r = await response;
      expect(r.status, r.body).toBe(200);
      expect(JSON.parse(r.body).full_name).toBe('@admin/slow');
      const closeStarted = Date.now();
      await closing;
      // Closed as soon as the upload's answer went out, not at the keep-alive timeout or the grace period.
      expect(Date.now() - closeStarted).toBeLessThan(2_000);
      expect(answered).toBeDefined();
      expect(closed).toBe(true);
      void api;
    });
  });

  it('does not wait past the grace period for a request that never ends', async () => {
    const server = await startTestServer({ store });
    const url = new URL(server.url);
    const failed = new Promise<string>((resolve) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/api/v1/agents/@admin/stalled',
          headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'multipart/form-data; boundary=x', 'content-length': 1_000_000 },
        },
        (res) => resolve(`answered ${res.statusCode}`),
      );
      req.on('error', (e) => resolve(e.message));
      req.write('--x\r\nContent-Disposition: form-data; name="tarball"; filename="a.tgz"\r\n\r\n');
    });
    await sleep(300);
    const started = Date.now();
    await server.close(500);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await failed).toBeTruthy();
  });
});
