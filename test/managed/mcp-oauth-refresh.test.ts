import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { startOAuthProvider, type LocalOAuthProvider } from '../helpers/oauth-provider.js';
import { testStores } from '../helpers/server.js';
import { startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent } from './session-harness.js';

/**
 * A vault's `mcp_oauth` credential refreshed for real: a local OAuth provider (refresh-token grant,
 * rotating refresh tokens) and a local MCP server that takes only the provider's live access tokens.
 * An expired credential is refreshed before it is sent; a 401 with a live-looking one is refreshed and
 * the call tried once more; the new tokens are stored, never shown.
 */

/** A stateless Streamable HTTP MCP server with one tool, `whoami`, behind a bearer the provider must know. */
const startBearerMcp = async (provider: LocalOAuthProvider): Promise<{ url: string; refused: number; close(): Promise<void> }> => {
  const state = { refused: 0 };
  const http: Server = createServer(async (req, res) => {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !provider.validAccess(bearer)) {
      state.refused++;
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' }).end('{"error":"invalid_token"}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const server = new McpServer({ name: 'notes', version: '1.0.0' });
    server.tool('whoami', 'Who the bearer is', async () => ({ content: [{ type: 'text', text: `hello ${provider.user.login}` }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close().catch(() => undefined));
    await server.connect(transport);
    await transport.handleRequest(req, res, chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    get refused() {
      return state.refused;
    },
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
};

describe.each(testStores)('vaults: mcp_oauth credentials refresh (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let provider: LocalOAuthProvider;
  let mcp: Awaited<ReturnType<typeof startBearerMcp>>;

  beforeAll(async () => {
    [model, provider] = await Promise.all([startTestModel(), startOAuthProvider({ id: 7, login: 'octo', name: null, avatar_url: null, email: null })]);
    mcp = await startBearerMcp(provider);
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await Promise.all([mcp?.close(), model?.close(), provider?.close()]);
  });
  beforeEach(() => model.reset());

  it('refreshes an expired token before use and a refused one after a 401, stores the new tokens and retries once', async () => {
    const first = provider.issue();
    const agent = await setUpAgent(f.alice, model, { tools: [{ type: 'mcp_toolset', mcp_server_name: 'notes' }] });
    const patched = await f.alice.req('POST', `/v1/agents/${agent.agentId}`, { version: 1, mcp_servers: [{ type: 'url', name: 'notes', url: mcp.url }] });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const vault = await f.sdk.beta.vaults.create({ display_name: 'oauth' });
    const cred = await f.sdk.beta.vaults.credentials.create(vault.id, {
      auth: {
        type: 'mcp_oauth',
        mcp_server_url: mcp.url,
        access_token: first.access_token,
        expires_at: new Date(Date.now() - 60_000).toISOString(),
        refresh: {
          token_endpoint: `${provider.url}/login/oauth/access_token`,
          client_id: provider.clientId,
          refresh_token: first.refresh_token,
          token_endpoint_auth: { type: 'client_secret_basic', client_secret: provider.clientSecret },
        },
      },
    } as any);

    const run = async (): Promise<any[]> => {
      model.script([{ toolCalls: [{ name: 'mcp__notes__whoami', input: {} }] }, { text: 'done' }]);
      const s = await f.sdk.beta.sessions.create({ agent: agent.agentId, environment_id: agent.environmentId, vault_ids: [vault.id] });
      const stream = await f.sdk.beta.sessions.events.stream(s.id);
      await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'who am I?' }] }] });
      return collectSdk(stream);
    };

    // 1. Expired: refreshed before the first request; the server never sees the old token.
    let events = await run();
    expect(events.find((e) => e.type === 'agent.mcp_tool_result')).toMatchObject({ is_error: false, content: [{ type: 'text', text: 'hello octo' }] });
    expect(provider.exchanges.filter((x) => x.code === 'refresh').map((x) => x.outcome)).toEqual(['ok']);
    expect(mcp.refused).toBe(0);
    const after = (await f.sdk.beta.vaults.credentials.retrieve(cred.id, { vault_id: vault.id })) as any;
    expect(Date.parse(after.auth.expires_at)).toBeGreaterThan(Date.now() + 3000_000);
    expect(JSON.stringify(after)).not.toMatch(/gh[or]_/);

    // 2. The provider ends every access token although expires_at says it is live: a 401, one refresh, and the call succeeds.
    provider.expireAccessTokens();
    events = await run();
    expect(events.find((e) => e.type === 'agent.mcp_tool_result')).toMatchObject({ is_error: false, content: [{ type: 'text', text: 'hello octo' }] });
    expect(mcp.refused).toBe(1);
    // The rotated refresh token was stored and used (the first one is spent: reusing it would be invalid_grant).
    expect(provider.exchanges.filter((x) => x.code === 'refresh').map((x) => x.outcome)).toEqual(['ok', 'ok']);
    expect(JSON.stringify(events)).not.toMatch(/gh[or]_/);

    // 3. A refresh the provider refuses: the turn stops with an authentication error naming the endpoint, no token.
    provider.expireAccessTokens();
    await f.sdk.beta.vaults.credentials.update(cred.id, { vault_id: vault.id, auth: { type: 'mcp_oauth', refresh: { refresh_token: 'ghr_revoked' } } } as any);
    events = await run();
    const error = events.find((e) => e.type === 'session.error');
    expect(JSON.stringify(error)).toMatch(/mcp_authentication_failed_error/);
    expect(JSON.stringify(events)).not.toContain('ghr_revoked');
  }, 90_000);
});
