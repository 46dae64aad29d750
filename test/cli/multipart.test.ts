import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildMultipartBody } from '../../src/cli/multipart.js';

describe('streamed multipart body', () => {
  const data = Buffer.alloc(200_000, 7);
  const parts = () => [
    { name: 'tarball', filename: 'helper-1.0.0.tgz', contentType: 'application/gzip', data },
    { name: 'readme', value: '# Helper\n\nünïcødé\r\n' },
    { name: 'tag', value: 'beta' },
  ];

  it('is valid multipart/form-data of exactly the announced length', async () => {
    let counted = 0;
    const body = buildMultipartBody(parts(), (n) => (counted += n));
    const bytes = Buffer.from(await new Response(body.stream).arrayBuffer());
    expect(bytes.length).toBe(body.length);
    expect(counted).toBe(body.length);
    const form = await new Response(bytes, { headers: { 'content-type': body.contentType } }).formData();
    const file = form.get('tarball') as File;
    expect(file.name).toBe('helper-1.0.0.tgz');
    expect(file.type).toBe('application/gzip');
    expect(Buffer.from(await file.arrayBuffer()).equals(data)).toBe(true);
    expect(form.get('readme')).toBe('# Helper\n\nünïcødé\r\n');
    expect(form.get('tag')).toBe('beta');
  });

  it('is sent by fetch with its Content-Length, in chunks the progress bar can follow', async () => {
    let received: { headers: IncomingHttpHeaders; length: number } | undefined;
    const server = createServer((req, res) => {
      let length = 0;
      req.on('data', (c: Buffer) => (length += c.length));
      req.on('end', () => {
        received = { headers: req.headers, length };
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const chunks: number[] = [];
      const body = buildMultipartBody(parts(), (n) => chunks.push(n));
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'PUT',
        headers: { 'content-type': body.contentType, 'content-length': String(body.length) },
        body: body.stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(200);
      expect(received?.headers['content-length']).toBe(String(body.length));
      expect(received?.headers['transfer-encoding']).toBeUndefined();
      expect(received?.length).toBe(body.length);
      expect(chunks.length).toBeGreaterThan(3);
    } finally {
      server.close();
    }
  });
});
