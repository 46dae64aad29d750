import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got, with whether its signature checked out against the secret. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  signed: boolean;
}

export interface WebhookReceiver {
  url: string;
  got: Received[];
  close(): Promise<void>;
}

/** Verifies `X-Agentry-Signature` the way docs/webhooks.md tells receivers to. */
export const verifySignature = (secret: string, header: string | undefined, body: string): boolean => {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  const fresh = Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
  return fresh && timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
};

/**
 * A webhook receiver on 127.0.0.1 that checks each request's signature with `secretFor(path)` and
 * answers `answer(path, n)` (n: how many requests that path has had, this one included; default 200).
 */
export const startWebhookReceiver = async (secretFor: (path: string) => string, answer: (path: string, n: number) => [number, string] = () => [200, 'ok']): Promise<WebhookReceiver> => {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const path = req.url ?? '';
      got.push({ path, headers: req.headers, body, signed: verifySignature(secretFor(path), req.headers['x-agentry-signature'] as string | undefined, body) });
      const [status, text] = answer(path, got.filter((g) => g.path === path).length);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    got,
    close: () => new Promise((r) => server.close(() => r())),
  };
};
