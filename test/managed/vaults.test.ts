import Anthropic from '@anthropic-ai/sdk';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';

/** True when `text` appears in any file of the data folder (the SQLite file, its WAL, blobs, keys). */
const onDisk = (dir: string, text: string): boolean =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .some((d) => readFileSync(join(d.parentPath ?? d.path, d.name)).includes(Buffer.from(text)));

describe.each(testStores)('managed vaults (%s)', (store) => {
  let f: ManagedFixture;
  beforeAll(async () => {
    f = await startManagedFixture(store);
  });
  afterAll(() => f?.server.close());

  it('manages vaults and credentials through the SDK, never returning a secret', async () => {
    const v = await f.sdk.beta.vaults.create({ display_name: 'GitHub', metadata: { env: 'prod' } });
    expect(v).toMatchObject({ type: 'vault', display_name: 'GitHub', metadata: { env: 'prod' }, archived_at: null });
    const cred = await f.sdk.beta.vaults.credentials.create(v.id, {
      display_name: 'gh token',
      auth: { type: 'static_bearer', token: 'ghp_SDKSECRET0001', mcp_server_url: 'https://mcp.github.example/sse' },
    });
    expect(cred).toMatchObject({ type: 'vault_credential', vault_id: v.id, auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.github.example/sse' } });
    expect(JSON.stringify(cred)).not.toContain('ghp_SDKSECRET0001');

    const env = await f.sdk.beta.vaults.credentials.create(v.id, {
      auth: { type: 'environment_variable', secret_name: 'API_KEY', secret_value: 'envSECRET0002', networking: { type: 'unrestricted' } },
    });
    expect(env.auth).toEqual({ type: 'environment_variable', secret_name: 'API_KEY', networking: { type: 'unrestricted' }, injection_location: { body: false, header: false } });
    const oauth = await f.sdk.beta.vaults.credentials.create(v.id, {
      auth: {
        type: 'mcp_oauth',
        access_token: 'oauthACCESS0003',
        mcp_server_url: 'https://mcp.example/oauth',
        refresh: {
          client_id: 'cid',
          refresh_token: 'oauthREFRESH0004',
          token_endpoint: 'https://auth.example/token',
          token_endpoint_auth: { type: 'client_secret_post', client_secret: 'oauthCLIENT0005' },
        },
      },
    });
    expect(oauth.auth).toMatchObject({ type: 'mcp_oauth', refresh: { client_id: 'cid', token_endpoint_auth: { type: 'client_secret_post' } } });
    expect(JSON.stringify(oauth)).not.toMatch(/oauth(ACCESS|REFRESH|CLIENT)/);

    const rotated = await f.sdk.beta.vaults.credentials.update(cred.id, { vault_id: v.id, auth: { type: 'static_bearer', token: 'ghp_SDKSECRET0006' }, display_name: 'rotated' });
    expect(rotated).toMatchObject({ display_name: 'rotated', auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.github.example/sse' } });
    await expect(f.sdk.beta.vaults.credentials.update(cred.id, { vault_id: v.id, auth: { type: 'mcp_oauth' } })).rejects.toBeInstanceOf(Anthropic.BadRequestError);

    const ids: string[] = [];
    for await (const c of f.sdk.beta.vaults.credentials.list(v.id, { limit: 2 })) ids.push(c.id);
    expect(ids).toEqual([oauth.id, env.id, cred.id]);
    expect((await f.sdk.beta.vaults.credentials.retrieve(cred.id, { vault_id: v.id })).display_name).toBe('rotated');
    expect((await f.sdk.beta.vaults.credentials.archive(env.id, { vault_id: v.id })).archived_at).not.toBeNull();
    expect(await f.sdk.beta.vaults.credentials.delete(oauth.id, { vault_id: v.id })).toMatchObject({ id: oauth.id, type: 'vault_credential_deleted' });

    expect((await f.sdk.beta.vaults.update(v.id, { display_name: 'GitHub org' })).display_name).toBe('GitHub org');
    expect((await f.sdk.beta.vaults.retrieve(v.id)).display_name).toBe('GitHub org');
    for (let i = 0; i < 3; i++) await f.sdk.beta.vaults.create({ display_name: `v${i}` });
    const names: string[] = [];
    for await (const x of f.sdk.beta.vaults.list({ limit: 2 })) names.push(x.display_name);
    expect(names).toEqual(['v2', 'v1', 'v0', 'GitHub org']);
    expect((await f.sdk.beta.vaults.archive(v.id)).archived_at).not.toBeNull();
    expect(await f.sdk.beta.vaults.delete(v.id)).toMatchObject({ id: v.id, type: 'vault_deleted' });
    await expect(f.sdk.beta.vaults.retrieve(v.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("serves 002's form: the secret in the create body, rotated by PATCH, never read back, encrypted at rest", async () => {
    const c = await f.alice.req('POST', '/v1/vaults', { name: 'openai', secret: 'sk-002SECRET-AAAA' });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ name: 'openai', has_secret: true });
    expect(JSON.stringify(c.body)).not.toContain('sk-002SECRET');
    const r = await f.alice.req('PATCH', `/v1/vaults/${c.body.id}`, { secret: 'sk-002SECRET-BBBB' });
    expect(r.status).toBe(200);
    expect(r.body.secret_updated_at).toEqual(expect.any(String));
    for (const body of [(await f.alice.req('GET', `/v1/vaults/${c.body.id}`)).body, (await f.alice.req('GET', '/v1/vaults')).body, r.body]) {
      expect(JSON.stringify(body)).not.toContain('sk-002SECRET');
    }
    if (store === 'sqlite') expect(onDisk(f.server.dataDir, 'sk-002SECRET')).toBe(false);
    expectManagedError(await f.bob.req('GET', `/v1/vaults/${c.body.id}`), 404, 'not_found_error');
    expectManagedError(await f.bob.req('PATCH', `/v1/vaults/${c.body.id}`, { secret: 'x' }), 404, 'not_found_error');
    expectManagedError(await f.alice.req('POST', '/v1/vaults', { secret: 'x' }), 400, 'invalid_request_error', /display_name/);
    expectManagedError(await f.alice.req('POST', '/v1/vaults', { name: 'x', secret: '' }), 400, 'invalid_request_error');
    expect((await f.alice.req('DELETE', `/v1/vaults/${c.body.id}`)).status).toBe(200);
    expectManagedError(await f.alice.req('GET', `/v1/vaults/${c.body.id}`), 404, 'not_found_error');
    expectManagedError(await f.alice.req('DELETE', `/v1/vaults/${c.body.id}`), 404, 'not_found_error');
    for (const [method, path] of [
      ['GET', '/v1/vaults'],
      ['POST', '/v1/vaults'],
      ['PATCH', '/v1/vaults/vlt_x'],
      ['DELETE', '/v1/vaults/vlt_x'],
    ]) {
      expectManagedError(await f.alice.with(undefined).req(method, path, method === 'GET' || method === 'DELETE' ? undefined : { name: 'x' }), 401, 'authentication_error');
    }
  });
});
