import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFetch, takeNodeBody } from './node-fetch.js';

describe('nodeFetch', () => {
  let server: Server;
  let base: string;
  const big = Buffer.alloc(3 * 65536 + 17, 7);

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/json') {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ token: 't', method: req.method, auth: req.headers.authorization ?? null }));
      }
      if (req.url === '/big') return res.end(big);
      if (req.url === '/gone') return res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[]}');
      if (req.url === '/moved') return res.writeHead(307, { location: '/json' }).end();
      if (req.url === '/empty') return res.writeHead(204).end();
      let n = 0;
      req.on('data', (d: Buffer) => (n += d.length)).on('end', () => res.end(`got ${n}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('answers status, headers (several values of one name too) and a JSON body, sending the headers asked for', async () => {
    const res = await nodeFetch(`${base}/json`, { headers: { authorization: 'Bearer x' } });
    expect([res.status, res.ok, res.statusText]).toEqual([200, true, 'OK']);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ token: 't', method: 'GET', auth: 'Bearer x' });
  });

  it('gives the Node stream once to a reader that takes every piece, and the web stream to the others', async () => {
    const viaNode = await nodeFetch(`${base}/big`);
    const stream = takeNodeBody(viaNode);
    expect(stream).toBeDefined();
    expect(takeNodeBody(viaNode)).toBeUndefined();
    const pieces: Buffer[] = [];
    for await (const p of stream ?? []) pieces.push(p as Buffer);
    expect(Buffer.concat(pieces).equals(big)).toBe(true);

    const viaWeb = await nodeFetch(`${base}/big`);
    expect(viaWeb.body).not.toBeNull();
    expect(takeNodeBody(viaWeb)).toBeUndefined();
    expect(Buffer.from(await viaWeb.arrayBuffer()).equals(big)).toBe(true);
    expect(takeNodeBody(await fetch(`${base}/big`))).toBeUndefined();
  });

  it('does not follow redirects, answers errors and bodyless statuses, and sends requests with a body through fetch', async () => {
    const moved = await nodeFetch(`${base}/moved`, { method: 'GET', redirect: 'manual' });
    expect([moved.status, moved.headers.get('location')]).toEqual([307, '/json']);
    await moved.body?.cancel();
    const gone = await nodeFetch(`${base}/gone`);
    expect([gone.status, await gone.text()]).toEqual([404, '{"errors":[]}']);
    const empty = await nodeFetch(`${base}/empty`, { method: 'DELETE' });
    expect([empty.status, empty.body]).toEqual([204, null]);
    const head = await nodeFetch(`${base}/json`, { method: 'HEAD' });
    expect([head.status, head.body]).toEqual([200, null]);
    const put = await nodeFetch(`${base}/upload`, { method: 'PUT', body: 'x'.repeat(1000) });
    expect(await put.text()).toBe('got 1000');
  });

  it('fails a connection that cannot be made the way fetch does, with the code in the cause', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await nodeFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(((err as TypeError).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });
});
