import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { A2aRemoteAgentClient } from '../../src/adapters/a2a/a2a-client.js';
import { HttpAgentCardSource } from '../../src/adapters/a2a/card-fetcher.js';
import { EgressPolicy, type Resolver } from '../../src/adapters/egress/index.js';
import { SlackWebApi } from '../../src/adapters/integrations/slack-web-api.js';
import { connectRemoteMcp } from '../../src/adapters/mcp-client/remote-mcp.js';
import { HttpAgentryUpstream } from '../../src/adapters/mirrors/agentry-upstream.js';
import { HttpMcpUpstream } from '../../src/adapters/mirrors/mcp-upstream.js';
import { HttpOciUpstream } from '../../src/adapters/mirrors/oci-upstream.js';
import { modelClients } from '../../src/adapters/model-providers/index.js';
import { HttpTokenRefresher } from '../../src/adapters/oauth/token-refresh.js';
import { webFetchTool } from '../../src/adapters/tools/web-fetch.js';
import { HttpWebhookSender } from '../../src/adapters/webhooks/http-webhook-sender.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The outbound adapters that `test/api/egress.test.ts` does not drive through a server (model
 * providers, remote MCP servers, A2A cards and remote agents, the three mirror upstreams, webhooks,
 * Slack, OAuth token refresh, the web_fetch tool), each given the server's kind of policy: every one
 * refuses 127.0.0.1, 10.0.0.1, 169.254.169.254, [::1], a name resolving to 127.0.0.1 and a redirect
 * from an allowed host to a refused one — its upstream sees nothing and no error names the network's
 * state — and reaches the upstream once `*` is allowed (so the test can fail).
 */

type Call = (policy: EgressPolicy, url: string) => Promise<unknown>;

/** Runs a call; a refusal may be a thrown error or a failure value (webhooks, tools, Slack). */
const outcome = async (call: () => Promise<unknown>): Promise<{ ok: boolean; text: string }> => {
  try {
    const v = (await call()) as Record<string, unknown> | undefined;
    const failed = v !== undefined && v !== null && (v.kind === 'error' || v.ok === false || v.isError === true || v.is_error === true);
    return { ok: !failed, text: JSON.stringify(v ?? null) };
  } catch (e) {
    return { ok: false, text: e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` : String(e) };
  }
};

const ADAPTERS: Record<string, Call> = {
  'model provider (openai-compatible)': (p, url) =>
    modelClients(p)({ provider: 'oai-compatible', baseUrl: `${url}/v1`, model: 'm', apiKey: 'sk-x', headers: {} }).stream(
      { model: 'm', system: null, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [], maxTokens: 8 },
      { onText: () => undefined },
      AbortSignal.timeout(20_000),
    ),
  'model provider (anthropic)': (p, url) =>
    modelClients(p)({ provider: 'ant', baseUrl: url, model: 'm', apiKey: 'sk-x', headers: {} }).stream(
      { model: 'm', system: null, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [], maxTokens: 8 },
      { onText: () => undefined },
      AbortSignal.timeout(20_000),
    ),
  'remote MCP server': async (p, url) => {
    const c = await connectRemoteMcp(`${url}/mcp`, {}, p.fetch, AbortSignal.timeout(20_000));
    await c.close();
  },
  'A2A card import': (p, url) => new HttpAgentCardSource(p, 10_000).fetchCard(`${url}/.well-known/agent-card.json`),
  'A2A remote agent': (p, url) =>
    new A2aRemoteAgentClient(p).send({ remote: { name: 'r', url: `${url}/a2a`, transport: 'JSONRPC', streaming: false }, text: 'hi', messageId: 'm1' }, () => undefined, AbortSignal.timeout(20_000)),
  'agentry mirror': (p, url) => new HttpAgentryUpstream({ fetch: p.fetch }).package({ url }, 'acme', 'pkg'),
  'MCP registry mirror': (p, url) => new HttpMcpUpstream({ fetch: p.fetch }).page({ url }, { limit: 1 }),
  'OCI mirror': (p, url) => new HttpOciUpstream({ fetch: p.fetch, downloadDir: downloads }).repositories({ url }),
  webhook: (p, url) => new HttpWebhookSender(p).send({ url: `${url}/hook`, headers: {}, body: '{}', timeoutMs: 10_000 }),
  'Slack web API': (p, url) => new SlackWebApi(p.fetch).postMessage(url, 'xoxb-secret', { channel: 'C1', threadId: null, text: 'hi' } as never),
  'OAuth token refresh': (p, url) => new HttpTokenRefresher(p, 10_000).refresh({ tokenEndpoint: `${url}/token`, refreshToken: 'r', clientId: 'c', auth: 'none' }),
  'web_fetch tool': (p, url) => webFetchTool(p.fetch, {}, { url: `${url}/page` }),
};

let downloads: string;

/** Adapters that follow no redirect at all (a redirect is an answer, or a failure): the refusal case is then the not-following. */
const FOLLOWS_NO_REDIRECT = new Set(['remote MCP server', 'MCP registry mirror', 'webhook']);

describe('every outbound adapter goes through the egress policy', () => {
  let upstream: Server;
  let redirector: Server;
  let port: number;
  let redirectPort: number;
  let hits = 0;
  /** `internal.test` resolves to loopback, as a hostile DNS name would. */
  const resolve: Resolver = (hostname, cb) => (hostname === 'internal.test' ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []));

  beforeAll(async () => {
    downloads = mkdtempSync(join(tmpdir(), 'egress-adapters-'));
    // Listens on every address (IPv4 and IPv6), so 127.0.0.1 and [::1] both reach it when allowed.
    upstream = createServer((req, res) => {
      hits += 1;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => upstream.listen(0, '::', r));
    port = (upstream.address() as AddressInfo).port;
    redirector = createServer((req, res) => res.writeHead(302, { location: `http://127.0.0.1:${port}${req.url ?? '/'}` }).end());
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    redirectPort = (redirector.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => upstream?.close(r));
    await new Promise((r) => redirector?.close(r));
    rmSync(downloads, { recursive: true, force: true });
  });

  const targets: Array<[string, () => string, () => string | undefined]> = [
    ['127.0.0.1', () => `http://127.0.0.1:${port}`, () => undefined],
    ['10.0.0.1', () => `http://10.0.0.1:${port}`, () => undefined],
    ['169.254.169.254', () => `http://169.254.169.254:${port}`, () => undefined],
    ['[::1]', () => `http://[::1]:${port}`, () => undefined],
    ['a name resolving to 127.0.0.1', () => `http://internal.test:${port}`, () => undefined],
    ['a redirect from an allowed host to 127.0.0.1', () => `http://127.0.0.1:${redirectPort}`, () => `127.0.0.1:${redirectPort}`],
  ];

  describe.each(Object.entries(ADAPTERS))('%s', (name, call) => {
    it.each(targets)('refuses %s: its upstream sees nothing', async (_t, url, allow) => {
      const policy = new EgressPolicy({ allow: allow(), resolve, connectTimeoutMs: 2_000 });
      try {
        const before = hits;
        const r = await outcome(() => call(policy, url()));
        if (!(allow() && FOLLOWS_NO_REDIRECT.has(name))) expect(r.ok, r.text).toBe(false);
        expect(hits, r.text).toBe(before);
        expect(r.text).not.toMatch(/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|getaddrinfo|ECONNRESET/);
      } finally {
        await policy.close();
      }
    });

    it('reaches its upstream once allow-listed (directly, and through the redirect if it follows one)', async () => {
      const policy = new EgressPolicy({ allow: '*', resolve });
      try {
        for (const url of [`http://internal.test:${port}`, `http://127.0.0.1:${redirectPort}`]) {
          const before = hits;
          const r = await outcome(() => call(policy, url));
          if (url.includes('internal.test') || !FOLLOWS_NO_REDIRECT.has(name)) expect(hits, `${url}: ${r.text}`).toBeGreaterThan(before);
          else expect(hits, `${url}: ${r.text}`).toBe(before);
        }
      } finally {
        await policy.close();
      }
    });
  });

  it.each([
    ['10.0.0.1', () => `http://10.0.0.1:${port}`],
    ['a name resolving to 127.0.0.1', () => `http://internal.test:${port}`],
  ])('OCI mirror: %s, which the policy refuses, is asked once and not retried as a passing failure', async (_t, url) => {
    const policy = new EgressPolicy({ resolve, connectTimeoutMs: 2_000 });
    let calls = 0;
    const counted: typeof globalThis.fetch = (input, init) => {
      calls += 1;
      return policy.fetch(input, init);
    };
    try {
      const r = await outcome(() => new HttpOciUpstream({ fetch: counted, downloadDir: downloads }).repositories({ url: url() }));
      expect(r.ok, r.text).toBe(false);
      expect(calls, r.text).toBe(1);
    } finally {
      await policy.close();
    }
  });
});
