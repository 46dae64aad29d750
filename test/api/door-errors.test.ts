import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { a2aErrorHandler } from '../../src/api/a2a/errors.js';
import { alquimiaErrorHandler } from '../../src/api/alquimia/errors.js';
import { managedErrorHandler } from '../../src/api/managed/errors.js';
import { mcpErrorHandler } from '../../src/api/mcp/errors.js';
import { nativeErrorHandler } from '../../src/api/native/errors.js';
import { ociErrorHandler } from '../../src/api/oci/errors.js';
import { praisonaiErrorHandler } from '../../src/api/praisonai/errors.js';
import { jsonRpcErrorHandler } from '../../src/api/shared/jsonrpc-errors.js';
import { newRequestId, sendRequestId } from '../../src/api/shared/request-id.js';
import { toolhiveRegistryErrorHandler, toolhiveTextErrorHandler } from '../../src/api/toolhive/errors.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const REQUEST_ID = /^req_[0-9a-f]{24}$/;

/** Unknown routes and refusals in each door's own error shape, and one request id on every answer. */
describe.each(testStores)('each door answers in its own shape, with a request-id (%s)', (store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store });
  });
  afterAll(async () => server?.close());

  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(server.url + path, init);
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* text */
    }
    return { status: res.status, body, text, headers: res.headers, type: res.headers.get('content-type') ?? '' };
  };

  it('answers an unknown /v1 route outside the recipe routes as Anthropic does: not_found_error with the request id', async () => {
    for (const path of ['/v1/nope', '/v1/nope/sesn_123/events', '/v1/messages', '/v1/nope?x=1']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body).toEqual({ type: 'error', error: { type: 'not_found_error', message: `No route for GET ${path.split('?')[0]}` }, request_id: r.headers.get('request-id') });
      expect(r.headers.get('request-id')).toMatch(REQUEST_ID);
    }
    const post = await get('/v1/nope', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(404);
    expect(post.body.error.type).toBe('not_found_error');
  });

  it('keeps PraisonAI’s shape under its own routes', async () => {
    const r = await get('/v1/recipes/a/b/c/d');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: 'No route for GET /v1/recipes/a/b/c/d', code: 404 });
  });

  it('answers every prefix’s unknown routes in that door’s shape', async () => {
    const cases: Array<[string, (r: Awaited<ReturnType<typeof get>>) => void]> = [
      ['/api/v1/nope', (r) => expect(r.body).toEqual({ error: 'No route for GET /api/v1/nope' })],
      ['/nope', (r) => expect(r.body).toEqual({ error: 'No route for GET /nope' })],
      ['/v2/a/b/c/d/e', (r) => expect(r.body.errors[0].code).toBe('NAME_UNKNOWN')],
      ['/v0/nope', (r) => (expect(r.type).toMatch(/application\/problem\+json/), expect(r.body).toMatchObject({ title: 'Not Found', status: 404 }))],
      ['/v0.1/nope', (r) => expect(r.body).toMatchObject({ title: 'Not Found', status: 404 })],
      ['/api/v1beta/nope', (r) => (expect(r.type).toMatch(/text\/plain/), expect(r.text).toBe('No route for GET /api/v1beta/nope\n'))],
      ['/registry/default/v0.1/nope', (r) => expect(r.body).toEqual({ code: 'not_found', message: 'No route for GET /registry/default/v0.1/nope' })],
      ['/registry/nope/deeper', (r) => expect(r.body).toEqual({ detail: 'No route for GET /registry/nope/deeper' })],
      ['/mcp/nope', (r) => expect(r.body).toEqual({ jsonrpc: '2.0', error: { code: -32001, message: 'No route for GET /mcp/nope' }, id: null })],
      // The doors added after the issue: the workload proxy owns all of /workloads/, A2A all of /a2a.
      ['/workloads/nope', (r) => expect(r.body).toEqual({ jsonrpc: '2.0', error: { code: -32001, message: 'No route for GET /workloads/nope' }, id: null })],
      ['/workloads/x/nope', (r) => expect(r.body).toEqual({ jsonrpc: '2.0', error: { code: -32001, message: 'No route for GET /workloads/x/nope' }, id: null })],
      ['/workloads', (r) => expect(r.body).toEqual({ jsonrpc: '2.0', error: { code: -32001, message: 'No route for GET /workloads' }, id: null })],
      ['/a2a/nope', (r) => expect(r.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'No route for GET /a2a/nope' } })],
      ['/a2a/agents/x/nope', (r) => expect(r.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { message: 'No route for GET /a2a/agents/x/nope' } })],
    ];
    for (const [path, check] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      check(r);
      expect(r.headers.get('request-id'), path).toMatch(REQUEST_ID);
    }
  });

  it('answers a URL the router cannot read in the door’s shape', async () => {
    const cases: Array<[string, (b: any) => boolean]> = [
      ['/v1/agents/%zz', (b) => b.type === 'error' && b.error.type === 'invalid_request_error'],
      ['/v1/sessions/%zz', (b) => b.type === 'error'],
      ['/v1/recipes/%zz', (b) => typeof b.error === 'string' && b.code === 400],
      ['/v2/a/%zz/tags/list', (b) => Array.isArray(b.errors)],
      ['/v0.1/servers/%zz', (b) => b.status === 400 && typeof b.title === 'string'],
      ['/registry/agent/%zz', (b) => typeof b.detail === 'string'],
      ['/api/v1/packages/%zz', (b) => typeof b.error === 'string'],
      ['/workloads/%zz/mcp', (b) => b.jsonrpc === '2.0' && b.id === null],
      ['/workloads/%zz', (b) => b.jsonrpc === '2.0' && b.id === null],
      ['/a2a/%zz', (b) => b.jsonrpc === '2.0' && b.id === null],
    ];
    for (const [path, shaped] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(shaped(r.body), `${path}: ${r.text}`).toBe(true);
      expect(r.headers.get('request-id'), path).toMatch(REQUEST_ID);
    }
  });

  it('puts a fresh request-id on every answer of every door', async () => {
    const paths = [
      '/healthz',
      '/openapi.json',
      '/api/v1/packages',
      '/v2/',
      '/v2/_catalog',
      '/v0.1/servers',
      '/openapi.yaml',
      '/v1/recipes',
      '/v1/agents',
      '/registry/default/v0.1/servers',
      '/api/v1beta/registry',
      '/registry/agent',
      '/metrics',
    ];
    const seen = new Set<string>();
    for (const path of paths) {
      const r = await get(path);
      const id = r.headers.get('request-id');
      expect(id, `${path} (${r.status})`).toMatch(REQUEST_ID);
      expect(seen.has(id!), path).toBe(false);
      seen.add(id!);
    }
  });
});

describe('an unexpected error is a bare 500 with the request id, in every door’s shape', () => {
  const handlers: Array<[string, (err: unknown, req: FastifyRequest, reply: FastifyReply) => void]> = [
    ['native', nativeErrorHandler],
    ['managed', managedErrorHandler],
    ['oci', ociErrorHandler(undefined)],
    ['mcp', mcpErrorHandler],
    ['praisonai', praisonaiErrorHandler],
    ['alquimia', alquimiaErrorHandler],
    ['toolhive text', toolhiveTextErrorHandler],
    ['toolhive registry', toolhiveRegistryErrorHandler],
    ['MCP endpoint and workload proxy (JSON-RPC)', jsonRpcErrorHandler],
    ['a2a', a2aErrorHandler],
  ];
  for (const [door, handler] of handlers) {
    it(door, async () => {
      const lines: string[] = [];
      const app = Fastify({ genReqId: newRequestId, logger: { level: 'info', stream: { write: (l: string) => void lines.push(l) } } });
      app.addHook('onRequest', sendRequestId);
      app.setErrorHandler(handler);
      app.get('/boom', async () => {
        const e = new Error('SQLITE_CONSTRAINT: internal detail with agentry_secret') as Error & { code: string };
        e.code = 'SQLITE_CONSTRAINT';
        throw e;
      });
      const r = await app.inject('/boom');
      await app.close();
      const id = r.headers['request-id'];
      expect(r.statusCode).toBe(500);
      expect(id).toMatch(REQUEST_ID);
      expect(r.body).toContain(String(id));
      expect(r.body).not.toMatch(/SQLITE|internal detail|agentry_secret/);
      // Logged once, at error level, with the stack, under the same request id.
      const errors = lines.map((l) => JSON.parse(l) as { level: number; reqId: string; err?: { stack?: string } }).filter((l) => l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.reqId).toBe(id);
      expect(errors[0]!.err?.stack).toMatch(/SQLITE_CONSTRAINT/);
    });
  }
});
