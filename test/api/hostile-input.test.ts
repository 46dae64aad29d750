import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * The outside audit's 5xx cases, each answered below 500 in the shape of the door it was sent to:
 * numbers past every bound, prototype keys as path segments, JSON nested 20,000 deep, control
 * characters and unicode in OCI repository names, NUL wherever it could reach SQL or a header.
 */
describe.each(testStores)('hostile input is a 4xx in the door’s shape, never a 5xx (%s)', (store) => {
  let server: TestServer;
  let api: Api;
  let user: Api;

  /** A raw request; the path is sent as written (fetch would normalise `..` and re-encode). */
  const raw = async (method: string, path: string, init: { body?: string | Buffer | FormData; headers?: Record<string, string>; token?: string } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(server.url + path, { method, headers, body: init.body as RequestInit['body'] });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* text */
    }
    return { status: res.status, body, text, headers: res.headers };
  };

  /** Each door's error shape, recognised from the body. */
  const shapes = {
    native: (b: any) => typeof b?.error === 'string' && b.code === undefined,
    managed: (b: any) => b?.type === 'error' && typeof b.error?.type === 'string' && typeof b.request_id === 'string',
    oci: (b: any) => Array.isArray(b?.errors) && typeof b.errors[0]?.code === 'string',
    mcp: (b: any) => typeof b?.title === 'string' && typeof b.status === 'number' && typeof b.detail === 'string',
    praisonai: (b: any) => typeof b?.error === 'string' && typeof b.code === 'number',
    alquimia: (b: any) => typeof b?.detail === 'string',
    toolhiveRegistry: (b: any) => typeof b?.code === 'string' && typeof b.message === 'string',
    text: (b: any) => typeof b === 'string' && b.length > 0,
  };

  beforeAll(async () => {
    server = await startTestServer({ store });
    api = new Api(server.url, server.adminToken);
    const created = await api.req('POST', '/api/v1/users', { username: 'hostile' });
    expect(created.status).toBe(201);
    user = api.with(created.body.token);
    expect((await user.publish('/api/v1/agents/@hostile/pkg', await agentTarball({ name: 'pkg', version: '1.0.0', scope: 'hostile' }))).status).toBe(200);
  });
  afterAll(async () => server?.close());

  describe('numbers past every bound in paging parameters', () => {
    const cases: Array<[string, keyof typeof shapes]> = [
      ['/api/v1/packages?limit=', 'native'],
      ['/api/v1/packages?page=', 'native'],
      ['/api/v1/mcp-servers?limit=', 'native'],
      ['/api/v1/trending?limit=', 'native'],
      ['/api/v1/users/hostile/agents?limit=', 'native'],
      ['/v2/_catalog?n=', 'oci'],
      ['/v2/hostile/pkg/tags/list?n=', 'oci'],
      ['/v0.1/servers?limit=', 'mcp'],
      ['/v0/servers?limit=', 'mcp'],
      ['/v1/recipes?limit=', 'praisonai'],
      ['/v1/recipes?page=', 'praisonai'],
      ['/v1/search?q=a&limit=', 'praisonai'],
      ['/v1/agents?limit=', 'managed'],
      ['/v1/files?limit=', 'managed'],
    ];
    for (const [path, shape] of cases) {
      it(`${path}1e309 / 1e21 / -1e309 / 10^21`, async () => {
        for (const n of ['1e309', '-1e309', '1e21', '1000000000000000000000', 'Infinity', '1e9999']) {
          const r = await raw('GET', `${path}${n}`, { token: user.token });
          expect(r.status, `${path}${n}: ${r.text}`).toBeGreaterThanOrEqual(400);
          expect(r.status, `${path}${n}: ${r.text}`).toBeLessThan(500);
          expect(shapes[shape](r.body), `${path}${n}: ${r.text}`).toBe(true);
        }
      });
    }

    it('/registry/default/v0.1/servers?limit=1e309 / 1e21 / -1e309 / 10^21: defaulted, as ToolHive does with what strconv.Atoi refuses', async () => {
      for (const n of ['1e309', '-1e309', '1e21', '1000000000000000000000', 'Infinity', '1e9999']) {
        const r = await raw('GET', `/registry/default/v0.1/servers?limit=${n}&page=${n}`, { token: user.token });
        expect(r.status, `${n}: ${r.text}`).toBe(200);
        expect(r.body.metadata, n).toMatchObject({ page: 1, limit: 50 });
      }
    });

    it('bounds integers in bodies and queries by the columns that keep them', async () => {
      const agent = await raw('POST', '/v1/agents', { token: user.token, body: JSON.stringify({ name: 'bounded', model: 'claude-sonnet-4-5' }), headers: { 'content-type': 'application/json' } });
      expect(agent.status, agent.text).toBe(200);
      for (const version of ['99999999999', '2147483648', '1e21', '1e309']) {
        const r = await raw('POST', `/v1/agents/${agent.body.id}`, { token: user.token, body: `{"version":${version},"description":"x"}`, headers: { 'content-type': 'application/json' } });
        expect(r.status, `${version}: ${r.text}`).toBe(400);
        expect(shapes.managed(r.body)).toBe(true);
      }
      const pub = await raw('POST', `/v1/agents/${agent.body.id}/publish`, { token: user.token, body: '{"agent_version":99999999999}', headers: { 'content-type': 'application/json' } });
      expect(pub.status, pub.text).toBe(400);
      const audit = await raw('GET', '/api/v1/audit?page=1e15', { token: server.adminToken });
      expect(audit.status, audit.text).toBe(400);
    });

    it('keeps a large but finite page a plain empty page or a 400', async () => {
      const r = await raw('GET', '/api/v1/packages?page=100000');
      expect([200, 400]).toContain(r.status);
    });
  });

  describe('prototype keys as path segments', () => {
    const keys = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'prototype', '__defineGetter__'];
    const paths = (k: string) => [
      `/api/v1/packages/${k}`,
      `/api/v1/packages/@hostile/${k}`,
      `/api/v1/packages/@${k}/pkg`,
      `/api/v1/agents/@hostile/pkg/${k}`,
      `/api/v1/agents/@hostile/pkg/download/${k}`,
      `/api/v1/agents/@hostile/pkg/versions/${k}`,
      `/v1/recipes/pkg/${k}`,
      `/api/v1/users/${k}`,
      `/api/v1/orgs/${k}`,
      `/api/v1/categories/${k}`,
      `/v0.1/servers/${k}`,
      `/v0.1/servers/${k}/versions/${k}`,
      `/v2/${k}/pkg/tags/list`,
      `/v2/hostile/pkg/manifests/${k}`,
      `/v1/recipes/${k}`,
      `/v1/agents/${k}`,
      `/v1/vaults/${k}`,
      `/registry/${k}/v0.1/servers`,
      `/api/v1beta/registry/${k}`,
      `/api/v1beta/registry/default/servers/${k}`,
      `/registry/agent/${k}`,
    ];
    for (const k of keys) {
      it(k, async () => {
        for (const path of paths(k)) {
          for (const token of [undefined, user.token]) {
            const r = await raw('GET', path, { token });
            // ToolHive's catalogue answers an empty list for any registry name; everything else is a 4xx.
            expect(r.status, `${path}: ${r.text}`).toBeLessThan(500);
            if (r.status === 200) expect(path).toMatch(/^\/registry\/[^/]+\/v0\.1\/servers$/);
          }
        }
      });
    }
  });

  it('never takes a prototype key for a variant of a tagged union (Alquimia agent channels, tools)', async () => {
    for (const k of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const body = JSON.stringify({ assistant_id: 'proto', channels: [{ provider_id: k }], response: { provider_id: 'alquimia', config: { provider_id: k } } });
      const r = await raw('POST', '/registry/agent', { token: user.token, body, headers: { 'content-type': 'application/json' } });
      expect(r.status, `${k}: ${r.text}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${k}: ${r.text}`).toBeLessThan(500);
      expect(shapes.alquimia(r.body)).toBe(true);
    }
  });

  describe('JSON nested 20,000 deep', () => {
    const deepArray = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const deepObject = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const cases: Array<[string, string, keyof typeof shapes]> = [
      ['POST', '/api/v1/tokens', 'native'],
      ['POST', '/api/v1/orgs', 'native'],
      ['POST', '/v0.1/publish', 'mcp'],
      ['POST', '/v1/agents', 'managed'],
      ['POST', '/v1/vaults', 'managed'],
      ['POST', '/v1/recipes', 'praisonai'],
      ['POST', '/registry/agent', 'alquimia'],
      ['POST', '/api/v1beta/skills/validate', 'text'],
    ];
    for (const [method, path, shape] of cases) {
      it(`${method} ${path}`, async () => {
        for (const body of [deepArray, deepObject]) {
          for (const token of [undefined, user.token]) {
            const r = await raw(method, path, { body, token, headers: { 'content-type': 'application/json' } });
            expect(r.status, `${path}: ${r.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
            expect(r.status, `${path}: ${r.text.slice(0, 300)}`).toBeLessThan(500);
            expect(shapes[shape](r.body), `${path}: ${r.text.slice(0, 300)}`).toBe(true);
          }
        }
      });
    }

    it('says what is wrong when the caller may send it', async () => {
      const r = await raw('POST', '/api/v1/tokens', { body: deepObject, token: user.token, headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/nested too deeply/);
      expect(r.body.details[0]).toMatch(/at most 64 levels/);
    });

    it('refuses an OCI manifest nested 20,000 deep', async () => {
      const r = await raw('PUT', '/v2/hostile/deep/manifests/v1', { body: deepObject, token: user.token, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      expect(r.status).toBe(400);
      expect(shapes.oci(r.body)).toBe(true);
    });

    it('leaves OCI blob bytes alone whatever their Content-Type (a blob is opaque)', async () => {
      const { createHash } = await import('node:crypto');
      const blob = Buffer.from(`{"a":"\\u0000",${'['.repeat(100)}${']'.repeat(100)}}`);
      const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
      const r = await fetch(`${server.url}/v2/hostile/blobby/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/vnd.oci.image.config.v1+json', 'content-length': String(blob.length) },
        body: blob,
      });
      expect(r.status, await r.text()).toBe(201);
    });

    it('still takes ordinary nesting', async () => {
      const r = await user.req('POST', '/api/v1/tokens', { name: 'nested-ok', permission: 'read' });
      expect(r.status).toBe(201);
    });
  });

  describe('control characters and unicode in OCI repository names', () => {
    const names = ['a%01b', 'a%00b', 'a%7fb', 'a%0d%0ab', '%E2%80%8B', '%E2%80%AE', '%C4%B0', '%EF%BF%BF', 'A%20b'];
    it('answers NAME_INVALID (400) or NAME_UNKNOWN, with no internal code, on every repository route', async () => {
      for (const n of names) {
        const paths: Array<[string, string]> = [
          ['GET', `/v2/hostile/${n}/tags/list`],
          ['GET', `/v2/${n}/pkg/manifests/latest`],
          ['HEAD', `/v2/hostile/${n}/manifests/latest`],
          ['GET', `/v2/hostile/${n}/blobs/sha256:${'0'.repeat(64)}`],
          ['POST', `/v2/hostile/${n}/blobs/uploads/`],
          ['PATCH', `/v2/${n}/pkg/blobs/uploads/x`],
          ['DELETE', `/v2/hostile/${n}/blobs/uploads/x`],
          ['GET', `/v2/hostile/${n}/referrers/sha256:${'0'.repeat(64)}`],
        ];
        for (const [method, path] of paths) {
          for (const token of [undefined, user.token]) {
            const r = await raw(method, path, { token });
            expect(r.status, `${method} ${path}: ${r.text}`).toBeGreaterThanOrEqual(400);
            expect(r.status, `${method} ${path}: ${r.text}`).toBeLessThan(500);
            if (method !== 'HEAD') {
              expect(shapes.oci(r.body), `${method} ${path}: ${r.text}`).toBe(true);
              expect(['NAME_INVALID', 'NAME_UNKNOWN', 'UNAUTHORIZED', 'DENIED'], `${method} ${path}: ${r.text}`).toContain(r.body.errors[0].code);
              expect(r.text).not.toMatch(/SQLITE|ERR_|sqlstate|internal/i);
            }
          }
        }
      }
    });

    it('names the bad component', async () => {
      const r = await raw('GET', '/v2/hostile/a%01b/tags/list', { token: user.token });
      expect(r.status).toBe(400);
      expect(r.body.errors[0].code).toBe('NAME_INVALID');
    });
  });

  describe('NUL bytes wherever they could reach SQL', () => {
    it('refuses NUL and control characters in path segments and query values, in each door’s shape', async () => {
      const cases: Array<[string, keyof typeof shapes]> = [
        ['/api/v1/packages/@hostile/p%00kg', 'native'],
        ['/api/v1/packages?q=a%00b', 'native'],
        ['/api/v1/search?q=%00', 'native'],
        ['/api/v1/users/ho%00stile', 'native'],
        ['/v0.1/servers?search=a%00', 'mcp'],
        ['/v0.1/servers/a%00b', 'mcp'],
        ['/v1/recipes/a%00b', 'praisonai'],
        ['/v1/search?q=a%00b', 'praisonai'],
        ['/v1/agents/a%00b', 'managed'],
        ['/v1/agents?limit=1&after_id=a%00b', 'managed'],
        ['/registry/default/v0.1/servers?search=%00', 'toolhiveRegistry'],
        ['/registry/agent/a%00b', 'alquimia'],
        ['/api/v1/packages?q=a%0d%0aSet-Cookie:%20x', 'native'],
      ];
      for (const [path, shape] of cases) {
        const r = await raw('GET', path, { token: user.token });
        expect(r.status, `${path}: ${r.text}`).toBe(400);
        expect(shapes[shape](r.body), `${path}: ${r.text}`).toBe(true);
      }
    });

    it('refuses a \\u0000 in a JSON body before it is parsed', async () => {
      for (const [path, body] of [
        ['/api/v1/tokens', { name: 'a\u0000b', permission: 'read' }],
        ['/v1/agents', { name: 'a\u0000b', model: 'claude' }],
        ['/api/v1/orgs', { name: 'org\u0000' }],
      ] as const) {
        const r = await user.req('POST', path, body);
        expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(400);
      }
    });

    it('refuses a NUL in a multipart field', async () => {
      const form = new FormData();
      form.set('tarball', new Blob([await agentTarball({ name: 'pkg', version: '1.0.1', scope: 'hostile' })]), 'p.tgz');
      form.set('tag', 'be\u0000ta');
      const r = await user.req('PUT', '/api/v1/agents/@hostile/pkg', form);
      expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
    });

    it('refuses a NUL inside a published manifest (it would reach SQL as the description)', async () => {
      const tgz = await makeTarball({
        'agent.yaml': ['name: nul', 'version: 1.0.0', 'description: "A \\0 in the middle"', 'author: "@hostile"', 'license: MIT'].join('\n'),
        'README.md': '# nul\n',
      });
      const r = await user.publish('/api/v1/agents/@hostile/nul', tgz);
      expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
      expect((await api.req('GET', '/api/v1/packages/@hostile/nul')).status).toBe(404);
    });

    it('refuses a NUL in the Alquimia door’s JSON body', async () => {
      const r = await raw('POST', '/registry/agent', { token: user.token, body: '{"name":"a\\u0000"}', headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(400);
      expect(shapes.alquimia(r.body)).toBe(true);
    });
  });

  describe('duplicate keys and wrong JSON types', () => {
    it('answers below 500 for every wrong top-level type', async () => {
      for (const body of ['[]', '"x"', '1', 'null', 'true', '1e309', '{"name":"a","name":{"x":1}}', '{"__proto__":{"admin":true},"name":"x","permission":"read"}']) {
        for (const path of ['/api/v1/tokens', '/v1/agents', '/v0.1/publish', '/registry/agent', '/v1/recipes']) {
          const r = await raw('POST', path, { body, token: user.token, headers: { 'content-type': 'application/json' } });
          expect(r.status, `${path} ${body}: ${r.text}`).toBeLessThan(500);
        }
      }
    });

    it('grants nothing through a __proto__ key', async () => {
      const r = await raw('POST', '/api/v1/tokens', {
        body: '{"__proto__":{"permission":"admin"},"name":"proto","permission":"read"}',
        token: user.token,
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).toBeLessThan(500);
      if (r.status === 201) expect(r.body.permission).toBe('read');
    });
  });

  it('refuses a Host header that is not a host before any door builds a URL from it', async () => {
    const { request } = await import('node:http');
    const url = new URL(server.url);
    const send = (host: string, path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path, headers: { host } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const host of ['exa mple', '[::1', 'x:99999', '%', 'a@b', 'a/b']) {
      for (const path of ['/v2/', '/v2/hostile/pkg/tags/list', '/api/v1/agents/@hostile/pkg/download/1.0.0', '/v1/agents']) {
        const r = await send(host, path);
        expect(r.status, `Host '${host}' ${path}: ${r.body}`).toBe(400);
      }
    }
    expect((await send(`${url.hostname}:${url.port}`, '/v2/')).status).toBe(401);
    // No Host header at all on HTTP/1.1 (node's client always sends one: write the request by hand).
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write('GET /v2/ HTTP/1.1\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('keeps serving after all of the above', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
