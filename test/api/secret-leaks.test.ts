import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { exampleAgent } from '../helpers/alquimia.js';
import { Api } from '../helpers/packages.js';
import { storeQuery } from '../helpers/on-store.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { startVaultKv2Server, type VaultKv2Server } from '../helpers/vault-kv2-server.js';

/**
 * Secrets are the crown jewels: through a whole agentspace life (define, list, query, inspect,
 * validate, hold, publish, pull, tags, audit, errors with values in them), no response, log line
 * (pino at trace level), audit entry, published artifact or stored row holds a secret value. Only
 * `resolve`, for a runtime token, hands values out, and the test checks it does (so the scan can see).
 */
const run = dockerRegistryAvailable() || dockerRegistryRequired();

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });

/** An Api that keeps every byte it receives (status line, headers, body). */
class RecordingApi extends Api {
  constructor(
    base: string,
    token: string | undefined,
    readonly seen: string[],
  ) {
    super(base, token);
  }
  override with(token: string | undefined): RecordingApi {
    return new RecordingApi(this.base, token, this.seen);
  }
  override async req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const r = await super.req(method, path, body, headers);
    this.seen.push(`${method} ${path} ${r.status} ${JSON.stringify([...r.headers])} ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`);
    return r;
  }
}

describe.skipIf(!run).each(testStores.flatMap((store) => (['builtin', 'vault'] as const).map((backend) => [store, backend] as const)))('no secret value leaks (%s, %s backend)', (store, backend) => {
  // Letters outside hex, so no digest can hold one by chance; the scan looks for any 8 characters of each.
  const word = () => Array.from(randomBytes(24), (b) => 'ghijklmnopqrstuvwxyz'[b % 20]).join('');
  const VALUES = [`sk-${word()}`, word(), word()];
  const pieces = (v: string) => Array.from({ length: v.length - 7 }, (_, i) => v.slice(i, i + 8));
  const log: string[] = [];
  const seen: string[] = [];
  const handedOut: string[] = [];
  let reg: DockerRegistry;
  let vault: VaultKv2Server | undefined;
  let server: TestServer;
  let alice: RecordingApi;
  let admin: RecordingApi;
  let runtime: RecordingApi;

  beforeAll(async () => {
    reg = await startDockerRegistry();
    const env: NodeJS.ProcessEnv = { AGENTRY_OCI_REGISTRY_DEFAULT: reg.host };
    if (backend === 'vault') {
      vault = await startVaultKv2Server();
      Object.assign(env, { AGENTRY_SECRET_BACKEND: 'vault', AGENTRY_VAULT_ADDR: vault.url, AGENTRY_VAULT_TOKEN: vault.token, AGENTRY_VAULT_PATH_PREFIX: 'teams/agentry' });
    }
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => log.push(c.toString('utf8')));
    server = await startTestServer({ store, env, egressAllow: '127.0.0.1', log: { level: 'trace', stream } });
    admin = new RecordingApi(server.url, server.adminToken, seen);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string);
    runtime = admin.with((await admin.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime', account: 'alice' })).body.token as string);
  });
  afterAll(async () => {
    await server?.close();
    await reg?.stop();
    await vault?.close();
  });

  it('runs a whole agentspace life', async () => {
    const tools = [{ provider_id: 'mcp', url: 'https://mcp.example.com', headers: { Authorization: { $secretRef: 'MCP_TOKEN' } }, env: { LOCAL: { $secretRef: 'LOCAL_KEY' } } }];
    expect((await alice.req('POST', '/registry/', { name: 'leaks', namespace: 'prod' })).status).toBe(201);
    expect((await alice.req('POST', '/registry/agent', exampleAgent('a1', { response: { ...exampleAgent().response, profile: { system_prompt: 'Hi', tools } } }))).status).toBe(200);
    const put = [
      await alice.req('POST', '/registry/secret', { secret: { key: 'OPENAI_API_KEY', scope: 'global', description: 'OpenAI' }, value: VALUES[0] }),
      await alice.req('POST', '/registry/secret', { secret: { key: 'MCP_TOKEN', scope: 'shared' }, value: VALUES[1] }),
      await alice.req('POST', '/registry/secret?assistant_id=a1', { secret: { key: 'LOCAL_KEY', scope: 'local' }, value: VALUES[2] }),
    ];
    for (const r of put) expect(r.status).toBe(200);
    // Refusals that carry a value in the request never echo it.
    const refusals = [
      await alice.req('POST', '/registry/secret', { secret: { key: '9bad', scope: 'shared' }, value: VALUES[0] }),
      await alice.req('POST', '/registry/secret', { secret: { key: 'K', scope: 'local' }, value: VALUES[1] }),
      await alice.req('POST', '/registry/secret?agentspace_id=nope', { secret: { key: 'K', scope: 'shared' }, value: VALUES[2] }),
      await alice.req('POST', '/registry/secret', { secret: { key: 'K', scope: 'shared' }, value: VALUES[0], extra: VALUES[1] }),
      await alice.req('POST', '/registry/secret', `{"secret": {"key": "K", "scope": "shared"}, "value": ${VALUES[2]}}`, { 'content-type': 'application/json' }),
      await alice.req('POST', '/registry/agent', { ...exampleAgent('bad'), nickname: VALUES[0].repeat(5) }),
    ];
    for (const r of refusals) expect(r.status).toBeGreaterThanOrEqual(400);
    // JSON.parse quotes the text around a syntax error: the door says only where it is.
    expect(refusals[4].status).toBe(400);
    expect(refusals[4].body.detail).toBe('Malformed JSON in request body');
    await alice.req('GET', '/registry/secret');
    await alice.req('POST', '/registry/secret/query', {});
    await alice.req('POST', '/registry/secret/inspect/a1');
    await alice.req('POST', '/registry/validate?dry_run=true');
    await alice.req('POST', '/registry/validate');
    await alice.req('POST', '/registry/agent/query', {});
    await alice.req('PUT', '/registry/agent/hold/a1');
    await runtime.req('GET', '/registry/agent/resolve/a1?owner=alice');
    await alice.req('PUT', '/registry/agent/unhold/a1');
    const resolved = await runtime.req('GET', '/registry/agent/resolve/a1?owner=alice');
    expect(resolved.status).toBe(200);
    handedOut.push(seen.pop()!);
    expect(JSON.stringify(resolved.body)).toContain(VALUES[0]);
    expect(JSON.stringify(resolved.body)).toContain(VALUES[1]);
    expect(JSON.stringify(resolved.body)).toContain(VALUES[2]);
    const pub = await alice.req('PUT', '/registry/publish?tag=v1.0.0', { description: 'leak test' });
    expect(pub.status, JSON.stringify(pub.body)).toBe(200);
    expect((await alice.req('POST', `/registry/pull?agentspace_id=copy&target=${reg.host}/alice/leaks:v1.0.0`)).status).toBe(200);
    await alice.req('POST', '/registry/secret/inspect/a1?agentspace_id=copy');
    await alice.req('GET', '/registry/tags?repo_id=alice/leaks');
    await alice.req('GET', '/registry/repositories');
    await alice.req('DELETE', '/registry/secret', { key: 'MCP_TOKEN' });
    await alice.req('GET', '/api/v1/audit');
    await admin.req('GET', '/api/v1/audit?limit=100');
    await admin.req('GET', '/openapi.json');
    await alice.req('DELETE', '/registry/?agentspace_id=copy');
  });

  it('finds no value in any response, log line, audit entry or published artifact', async () => {
    expect(seen.length).toBeGreaterThan(25);
    expect(log.join('').length).toBeGreaterThan(1000);
    const artifactBytes: string[] = [];
    for (const f of files(reg.storageDir)) artifactBytes.push(readFileSync(f).toString('latin1'));
    expect(artifactBytes.join('')).toContain('application/vnd.alquimia.registry.v1');
    const haystacks: Array<[string, string]> = [
      ['responses', seen.join('\n')],
      ['log', log.join('')],
      ['published artifact', artifactBytes.join('\n')],
    ];
    for (const [where, text] of haystacks) for (const v of VALUES) for (const p of pieces(v)) expect(text.includes(p), `${where} holds '${p}' of a value`).toBe(false);
    // The one place values go out is resolve, to a runtime token; the scan would see them there.
    for (const v of VALUES) expect(handedOut.join('')).toContain(v);
  });

  it('stores no value in plain text where Agentry keeps its data', async () => {
    let stored = '';
    if (store === 'sqlite') {
      stored = files(server.dataDir)
        .map((f) => readFileSync(f).toString('latin1'))
        .join('\n');
    } else {
      for (const t of ['secret_values', 'agentspace_secrets', 'agentspace_agents', 'audit_log']) stored += JSON.stringify((await storeQuery(server, `SELECT * FROM ${t}`)).rows);
    }
    expect(stored.length).toBeGreaterThan(0);
    for (const v of VALUES) for (const p of pieces(v)) expect(stored.includes(p), `store holds '${p}' of a value`).toBe(false);
    if (backend === 'vault') {
      // With Vault the values live in Vault, and only there.
      expect(vault!.read('teams/agentry/alice/agentspaces/_global/OPENAI_API_KEY')).toEqual({ value: VALUES[0] });
      expect(stored).not.toContain('hvs.');
    }
  });
});
