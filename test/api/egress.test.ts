import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEmbeddings, type FakeEmbeddings } from '../managed/fake-embeddings.js';
import { startFakeProviders, type FakeProviders } from '../managed/fake-providers.js';
import { startOAuthProvider, type LocalOAuthProvider } from '../helpers/oauth-provider.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { startVaultKv2Server, type VaultKv2Server } from '../helpers/vault-kv2-server.js';

/**
 * The egress policy, end to end: every outbound adapter of a real server (capability probe,
 * embeddings, Vault, OAuth, the OCI client behind agentspace repositories/tags/pull/publish and OCI
 * mirrors) refuses
 * loopback, private, metadata and IPv6-loopback addresses and names resolving to them, never follows
 * a redirect to them, calls its upstream once the allow-list names it (by host, host:port or CIDR),
 * and answers a refused address, a closed port and an unknown host with the same bytes.
 */

const KEY = 'sk-egress-test-key-0000009f3a';
type Res = { status: number; body: any; headers: Headers };
type Adapter = 'probe' | 'embeddings' | 'vault' | 'oauth' | 'oci-repositories' | 'oci-tags' | 'oci-pull' | 'oci-publish' | 'oci-mirror';
const ADAPTERS: Adapter[] = ['probe', 'embeddings', 'vault', 'oauth', 'oci-repositories', 'oci-tags', 'oci-pull', 'oci-publish', 'oci-mirror'];

/** Where a variant sends an upstream's URL (`http://127.0.0.1:<port>/path`). */
type Rewrite = (live: string) => string;
const withHost =
  (host: string): Rewrite =>
  (live) => {
    const u = new URL(live);
    return `${u.protocol}//${host}:${u.port}${u.pathname}`;
  };

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
};

describe.each(testStores)('egress policy (%s)', (store) => {
  let prov: FakeProviders;
  let emb: FakeEmbeddings;
  let vault: VaultKv2Server;
  let oauth: LocalOAuthProvider;
  /** Another Agentry: the "other registry" the OCI client talks to. */
  let remote: TestServer;
  /** 307s `/to/<port>/<rest>` to `http://127.0.0.1:<port>/<rest>`, and every other path to the other registry. */
  let redirector: Server;
  let redirectPort: number;
  let redirects = 0;
  let closedPort: number;
  const livePorts = (): number[] => [prov.url, emb.url, vault.url, oauth.env().AGENTRY_OAUTH_TOKEN_URL, remote.url].map((u) => Number(new URL(u).port));

  beforeAll(async () => {
    prov = await startFakeProviders(KEY);
    emb = await startFakeEmbeddings();
    vault = await startVaultKv2Server({ mount: 'kv' });
    oauth = await startOAuthProvider({ id: 7, login: 'egress', name: null, avatar_url: null, email: null });
    remote = await startTestServer({ store });
    redirector = createServer((req, res) => {
      redirects += 1;
      const m = /^\/to\/(\d+)(\/.*)$/.exec(req.url ?? '');
      const location = m ? `http://127.0.0.1:${m[1]}${m[2]}` : `${remote.url}${req.url ?? '/'}`;
      res.writeHead(307, { location }).end();
    });
    redirectPort = await listen(redirector);
    const probe = createServer();
    closedPort = await listen(probe);
    await new Promise((r) => probe.close(r));
  });
  afterAll(async () => {
    await remote?.close();
    await Promise.all([prov?.close(), emb?.close(), vault?.close(), oauth?.close()]);
    await new Promise((r) => redirector?.close(r));
  });

  /** A server whose configured upstreams (embeddings, Vault, OAuth token endpoint) go where `rewrite` says. */
  const serverFor = async (rewrite: Rewrite, egressAllow?: string) => {
    const server = await startTestServer({
      store,
      ...(egressAllow !== undefined ? { egressAllow } : {}),
      env: {
        ...oauth.env(),
        AGENTRY_OAUTH_TOKEN_URL: rewrite(oauth.env().AGENTRY_OAUTH_TOKEN_URL),
        AGENTRY_EMBEDDINGS_URL: rewrite(emb.url),
        AGENTRY_SECRET_BACKEND: 'vault',
        AGENTRY_VAULT_ADDR: rewrite(vault.url),
        AGENTRY_VAULT_TOKEN: vault.token,
        AGENTRY_VAULT_MOUNT: 'kv',
      },
    });
    const api = new Api(server.url, server.adminToken);
    expect((await api.req('POST', '/registry/', { name: 'Egress', namespace: 'prod' })).status).toBe(201);
    return { server, api };
  };

  let cards = 0;
  /** One call through one adapter, with the upstream's URL rewritten. */
  const attempt = async (api: Api, adapter: Adapter, rewrite: Rewrite): Promise<Res> => {
    const target = new URL(rewrite(remote.url));
    const registry = `${target.protocol}//${target.host}`;
    switch (adapter) {
      case 'probe':
        return api.req('POST', '/v1/model_cards', { model_id: `card-${++cards}`, provider: 'oai-compatible', model: 'local-llama', base_url: rewrite(`${prov.url}/oai/v1`), api_key: KEY });
      case 'embeddings': {
        const s = await api.req('POST', '/v1/memory_stores', { name: `s${++cards}` });
        return api.req('POST', `/v1/memory_stores/${s.body.id}/entries`, { content: 'a memory' });
      }
      case 'vault':
        return api.req('POST', '/registry/secret', { secret: { key: 'EGRESS_KEY', scope: 'global' }, value: 'a-secret-value' });
      case 'oauth': {
        const anon = new Api(api.base);
        const start = await anon.req('POST', '/api/v1/auth/github', { redirect_uri: 'http://localhost:9876/callback' });
        const state = new URL(start.body.auth_url).searchParams.get('state')!;
        return anon.req('GET', `/api/v1/auth/callback?code=not-a-code&state=${encodeURIComponent(state)}`);
      }
      case 'oci-repositories':
        return api.req('GET', `/registry/repositories?registry=${encodeURIComponent(registry)}`);
      case 'oci-tags':
        return api.req('GET', `/registry/tags?repo_id=${encodeURIComponent(`${registry}/someone/agents`)}`);
      case 'oci-pull':
        return api.req('POST', `/registry/pull?agentspace_id=pulled&target=${encodeURIComponent(`${registry}/someone/agents:v1.0.0`)}`);
      case 'oci-publish':
        return api.req('PUT', `/registry/publish?agentspace_id=default&tag=v1.0.0&registry=${encodeURIComponent(registry)}`, {});
      case 'oci-mirror': {
        // A pull-through mirror of the other registry: the first pull fetches from it.
        const name = `card-${++cards}`;
        expect((await api.req('POST', '/api/v1/mirrors', { kind: 'oci', name, url: registry })).status).toBe(201);
        return api.req('GET', `/v2/${name}/someone/agents/manifests/v1.0.0`);
      }
    }
  };

  /** What the upstreams have seen so far: a refused call adds nothing. */
  const seen = () => ({ probe: prov.seen.length, embeddings: emb.requests.length, vault: vault.requests.length, oauth: oauth.exchanges.length });

  const expectUnreachable = (adapter: Adapter, r: Res): void => {
    const text = JSON.stringify(r.body);
    if (adapter === 'probe') {
      expect(r.status, text).toBe(400);
      expect(text).toMatch(/unreachable/);
    } else {
      expect(r.status, text).toBe(502);
      expect(text).toMatch(/could not be reached|is unreachable/);
    }
    expect(text).not.toMatch(/ECONNREFUSED|ENOTFOUND|EGRESS|refused by|getaddrinfo|fetch failed|private|loopback|metadata/);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(vault.token);
  };

  const refused: Array<[string, Rewrite, () => string | undefined]> = [
    ['127.0.0.1', (u) => u, () => undefined],
    ['10.0.0.1', withHost('10.0.0.1'), () => undefined],
    ['169.254.169.254', withHost('169.254.169.254'), () => undefined],
    ['[::1]', withHost('[::1]'), () => undefined],
    ['localhost (a name resolving to loopback)', withHost('localhost'), () => undefined],
    [
      'a redirect from an allowed host to a refused one',
      (u) => {
        const x = new URL(u);
        return `http://127.0.0.1:${redirectPort}/to/${x.port}${x.pathname}`;
      },
      () => `127.0.0.1:${redirectPort}`,
    ],
  ];

  it.each(refused)('every adapter refuses %s and its upstream sees nothing', async (_name, rewrite, allow) => {
    const { server, api } = await serverFor(rewrite, allow());
    try {
      const before = seen();
      const redirectsBefore = redirects;
      for (const adapter of ADAPTERS) expectUnreachable(adapter, await attempt(api, adapter, rewrite));
      expect(seen()).toEqual(before);
      if (allow()) expect(redirects).toBeGreaterThan(redirectsBefore);
    } finally {
      await server.close();
    }
  });

  const allowed: Array<[string, Rewrite, () => string]> = [
    ['by host (localhost)', withHost('localhost'), () => 'localhost'],
    [
      'by host:port',
      (u) => u,
      () =>
        livePorts()
          .map((p) => `127.0.0.1:${p}`)
          .join(','),
    ],
    ['by CIDR', (u) => u, () => '127.0.0.0/8'],
  ];

  it.each(allowed)('every adapter calls its upstream once allow-listed %s', async (_name, rewrite, allow) => {
    const { server, api } = await serverFor(rewrite, allow());
    try {
      const before = seen();
      const probe = await attempt(api, 'probe', rewrite);
      expect(probe.status, JSON.stringify(probe.body)).toBe(200);
      expect((await attempt(api, 'embeddings', rewrite)).status).toBe(200);
      expect((await attempt(api, 'vault', rewrite)).status).toBe(200);
      // The provider answered (and refused the made-up code): the call went out.
      const signIn = await attempt(api, 'oauth', rewrite);
      expect(signIn.status, JSON.stringify(signIn.body)).toBe(400);
      const after = seen();
      for (const k of ['probe', 'embeddings', 'vault', 'oauth'] as const) expect(after[k], k).toBeGreaterThan(before[k]);
      const repos = await attempt(api, 'oci-repositories', rewrite);
      expect(repos.status, JSON.stringify(repos.body)).toBe(200);
      // The other registry answered: a missing repository, or a refused anonymous push, not "unreachable".
      for (const adapter of ['oci-tags', 'oci-pull', 'oci-publish', 'oci-mirror'] as const) {
        const r = await attempt(api, adapter, rewrite);
        expect(JSON.stringify(r.body), adapter).not.toMatch(/could not be reached|unreachable/);
      }
    } finally {
      await server.close();
    }
  });

  it('answers a refused address, a closed port and an unknown host with the same bytes', async () => {
    const closed: Rewrite = withHost(`127.0.0.1`);
    const toClosed: Rewrite = (u) =>
      closed(u)
        .replace(/:\d+\//, `:${closedPort}/`)
        .replace(/:\d+$/, `:${closedPort}`);
    const unknown: Rewrite = (u) => toClosed(u).replace('127.0.0.1', 'no-such-host.invalid');
    const variants = [
      { name: 'refused', ...(await serverFor(toClosed)) },
      { name: 'closed port', ...(await serverFor(toClosed, '127.0.0.0/8')) },
      { name: 'unknown host', ...(await serverFor(unknown, '*')) },
    ];
    try {
      const normal = (r: Res): string =>
        JSON.stringify({ status: r.status, body: r.body })
          .replaceAll('no-such-host.invalid', '127.0.0.1')
          .replace(/"request_id":"[^"]*"/g, '"request_id":"…"')
          .replace(/card-\d+/g, 'card-n')
          // A publish pushes its blobs at once (their digests carry a timestamp): whichever check fails first is named.
          .replace(/sha256:[0-9a-f]{64}/g, 'sha256:…');
      for (const adapter of ADAPTERS) {
        const answers = [];
        for (const v of variants) {
          const r = await attempt(v.api, adapter, v.name === 'unknown host' ? unknown : toClosed);
          expectUnreachable(adapter, r);
          answers.push(normal(r));
        }
        expect(answers[1], `${adapter}: closed port vs refused`).toBe(answers[0]);
        expect(answers[2], `${adapter}: unknown host vs refused`).toBe(answers[0]);
      }
    } finally {
      for (const v of variants) await v.server.close();
    }
  });
});
