import Anthropic from '@anthropic-ai/sdk';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../cli/cli-harness.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { testStores } from '../helpers/server.js';
import { startFakeProviders, type FakeProviders } from './fake-providers.js';

const ENTRY = fileURLToPath(new URL('./logging-server-entry.mjs', import.meta.url));

/** Every secret the scan sends; none may come back in a response body or show in a log line. */
const SECRETS = {
  vault002: 'LEAK-vault-002-secret-a1',
  vault002Rotated: 'LEAK-vault-002-rotated-b2',
  vault002Object: 'LEAK-vault-002-object-c3',
  bearer: 'LEAK-bearer-token-d4',
  bearerRotated: 'LEAK-bearer-rotated-e5',
  envValue: 'LEAK-env-value-f6',
  oauthAccess: 'LEAK-oauth-access-g7',
  oauthRefresh: 'LEAK-oauth-refresh-h8',
  oauthClient: 'LEAK-oauth-client-i9',
  modelKey: 'sk-LEAK-model-key-j10-zz9f',
  modelKeyBad: 'sk-LEAK-model-bad-k11',
  header: 'LEAK-custom-header-l12',
};

describe.each(testStores)('leak scan: secrets never in a response body or a log line (%s)', (store) => {
  let child: ChildProcess;
  let logs = '';
  let url = '';
  let dataDir = '';
  let schema: string | undefined;
  let prov: FakeProviders;
  const bodies: Array<{ what: string; body: string }> = [];
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;

  const recordingFetch = async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init);
    bodies.push({ what: `${init?.method ?? 'GET'} ${String(input)}`, body: await res.clone().text() });
    return res;
  };
  const raw = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await recordingFetch(`${url}${path}`, {
      method,
      headers: { 'x-api-key': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };

  beforeAll(async () => {
    assertBuilt();
    prov = await startFakeProviders(SECRETS.modelKey);
    dataDir = mkdtempSync(join(tmpdir(), 'agentry-leak-'));
    schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
    child = spawn(process.execPath, [ENTRY], {
      env: {
        PATH: process.env.PATH,
        AGENTRY_DATA_DIR: dataDir,
        AGENTRY_ADMIN_TOKEN: adminToken,
        AGENTRY_LOG_LEVEL: 'trace',
        // The fake model provider listens on loopback: allowed explicitly, as a user would.
        AGENTRY_EGRESS_ALLOW: '127.0.0.1',
        AGENTRY_RATE_LIMIT_USER: 'off',
        AGENTRY_RATE_LIMIT_ANONYMOUS: 'off',
        AGENTRY_DATABASE_URL: store === 'postgres' ? (process.env.AGENTRY_TEST_DATABASE_URL ?? '') : '',
        AGENTRY_DATABASE_SCHEMA: schema ?? '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (logs += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${logs}`)), 50_000);
      const poll = setInterval(() => {
        const line = logs.split('\n').find((l) => l.startsWith('{"url"'));
        if (line) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        }
      }, 20);
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await prov?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('runs every secret-bearing route, good and bad, then finds no secret anywhere', async () => {
    const user = await raw(adminToken, 'POST', '/api/v1/users', { username: 'alice' });
    expect(user.status).toBe(201);
    const token = user.body.token as string;
    const rt = await raw(adminToken, 'POST', '/api/v1/tokens', { name: 'worker', permission: 'runtime', account: 'alice' });
    const runtime = rt.body.token as string;
    const sdk = new Anthropic({ apiKey: token, baseURL: url, maxRetries: 0, fetch: recordingFetch as typeof fetch });

    // 002 vaults: secret in the body, rotated by PATCH, bad bodies.
    const v = await raw(token, 'POST', '/v1/vaults', { name: 'v', secret: SECRETS.vault002 });
    expect(v.status).toBe(200);
    expect((await raw(token, 'PATCH', `/v1/vaults/${v.body.id}`, { secret: SECRETS.vault002Rotated })).status).toBe(200);
    expect((await raw(token, 'POST', '/v1/vaults', { name: 'o', secret: { TOKEN: SECRETS.vault002Object } })).status).toBe(200);
    expect((await raw(token, 'POST', '/v1/vaults', { secret: SECRETS.vault002, bogus: SECRETS.vault002 })).status).toBe(400);
    expect((await raw(token, 'PATCH', '/v1/vaults/vlt_missing', { secret: SECRETS.vault002 })).status).toBe(404);
    await raw(token, 'GET', `/v1/vaults/${v.body.id}`);
    await raw(token, 'GET', '/v1/vaults');

    // SDK vault credentials of every kind, a rotation, and refusals.
    const sv = await sdk.beta.vaults.create({ display_name: 'sdk' });
    const bearer = await sdk.beta.vaults.credentials.create(sv.id, { auth: { type: 'static_bearer', token: SECRETS.bearer, mcp_server_url: 'https://mcp.example' } });
    await sdk.beta.vaults.credentials.create(sv.id, { auth: { type: 'environment_variable', secret_name: 'K', secret_value: SECRETS.envValue, networking: { type: 'unrestricted' } } });
    await sdk.beta.vaults.credentials.create(sv.id, {
      auth: {
        type: 'mcp_oauth',
        access_token: SECRETS.oauthAccess,
        mcp_server_url: 'https://mcp.example',
        refresh: {
          client_id: 'c',
          refresh_token: SECRETS.oauthRefresh,
          token_endpoint: 'https://a.example/t',
          token_endpoint_auth: { type: 'client_secret_basic', client_secret: SECRETS.oauthClient },
        },
      },
    });
    await sdk.beta.vaults.credentials.update(bearer.id, { vault_id: sv.id, auth: { type: 'static_bearer', token: SECRETS.bearerRotated } });
    await expect(sdk.beta.vaults.credentials.update(bearer.id, { vault_id: sv.id, auth: { type: 'mcp_oauth', access_token: SECRETS.oauthAccess } })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(sdk.beta.vaults.credentials.create(sv.id, { auth: { type: 'static_bearer', token: SECRETS.bearer } as never })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    for await (const c of sdk.beta.vaults.credentials.list(sv.id, { limit: 1 })) expect(c.type).toBe('vault_credential');
    await sdk.beta.vaults.credentials.archive(bearer.id, { vault_id: sv.id });

    // Model cards: create (probed), a refused rotation, lists, the runtime read, a delete.
    const card = await raw(token, 'POST', '/v1/model_cards', {
      model_id: 'm',
      provider: 'oai-compatible',
      model: 'gpt-4o',
      base_url: `${prov.url}/oai/v1`,
      api_key: SECRETS.modelKey,
      custom_headers: { 'x-extra': SECRETS.header },
    });
    expect(card.status).toBe(200);
    expect((await raw(token, 'POST', `/v1/model_cards/${card.body.id}`, { api_key: SECRETS.modelKeyBad })).status).toBe(400);
    expect((await raw(token, 'POST', '/v1/model_cards', { model_id: 'n', provider: 'ant-compatible', model: 'x', base_url: `${prov.url}/ant`, api_key: SECRETS.modelKeyBad })).status).toBe(400);
    expect((await raw(token, 'POST', '/v1/model_cards', { model_id: 'n', provider: 'nope', model: 'x', api_key: SECRETS.modelKeyBad })).status).toBe(400);
    await raw(token, 'GET', '/v1/model_cards');
    await raw(token, 'GET', `/v1/model_cards/${card.body.id}`);
    expect((await raw(token, 'GET', `/v1/model_cards/${card.body.id}/key`)).status).toBe(403);
    // The one answer that carries a key by design: the runtime read. It is checked, then left out of the scan.
    const key = await fetch(`${url}/v1/model_cards/${card.body.id}/key`, { headers: { authorization: `Bearer ${runtime}` } });
    expect(((await key.json()) as { api_key: string }).api_key).toBe(SECRETS.modelKey);
    expect((await raw(token, 'DELETE', `/v1/model_cards/${card.body.id}`)).status).toBe(200);
    expect((await raw(token, 'DELETE', `/v1/vaults/${v.body.id}`)).status).toBe(200);
    await sdk.beta.vaults.delete(sv.id);

    // Let the server flush its log lines, then scan.
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(bodies.length).toBeGreaterThan(20);
    expect(logs).toMatch(/"reqId"/);
    for (const [name, secret] of Object.entries(SECRETS)) {
      const inBody = bodies.find((b) => b.body.includes(secret));
      expect(inBody, `${name} leaked in the answer to ${inBody?.what}`).toBeUndefined();
      expect(logs.includes(secret), `${name} leaked in a log line`).toBe(false);
    }
  });
});
