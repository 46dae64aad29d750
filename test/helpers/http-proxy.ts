import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small HTTP proxy on 127.0.0.1 in front of a real server, for tests that need a registry to
 * misbehave: `intercept` sees every request first and may answer it itself (return true) — a 503, a
 * reset connection, a 401 challenge — or let it through to `target` unchanged (return false).
 * `transform` may rewrite a forwarded response body (to corrupt bytes on purpose).
 */
export interface TestProxy {
  url: string;
  host: string;
  /** Every request seen, as `METHOD path`. */
  seen: string[];
  close(): Promise<void>;
}

export interface ProxyOptions {
  intercept?: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => boolean | Promise<boolean>;
  transform?: (req: http.IncomingMessage, body: Buffer) => Buffer;
}

export const startProxy = async (target: string, opts: ProxyOptions = {}): Promise<TestProxy> => {
  const upstream = new URL(target);
  const seen: string[] = [];
  const server = http.createServer(async (req, res) => {
    const n = seen.push(`${req.method} ${req.url}`) - 1;
    if (opts.intercept && (await opts.intercept(req, res, n))) return;
    const headers = { ...req.headers, host: upstream.host };
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      const rewrite = (location: string | undefined) => (location ? location.replace(upstream.origin, `http://${req.headers.host}`) : location);
      const h = { ...up.headers, ...(up.headers.location ? { location: rewrite(up.headers.location) } : {}) };
      if (!opts.transform) {
        res.writeHead(up.statusCode ?? 502, h);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = opts.transform!(req, Buffer.concat(chunks));
        res.writeHead(up.statusCode ?? 502, { ...h, 'content-length': String(body.length) });
        res.end(body);
      });
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
};
