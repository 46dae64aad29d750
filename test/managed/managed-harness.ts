import Anthropic from '@anthropic-ai/sdk';
import { Api } from '../helpers/packages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** A server with two tenants (alice, bob), each with a raw-HTTP client and an SDK client. */
export interface ManagedFixture {
  server: TestServer;
  admin: Api;
  alice: Api;
  bob: Api;
  aliceToken: string;
  bobToken: string;
  sdk: Anthropic;
  bobSdk: Anthropic;
}

export const sdkFor = (url: string, token: string): Anthropic => new Anthropic({ apiKey: token, baseURL: url, maxRetries: 0 });

export const startManagedFixture = async (store: 'sqlite' | 'postgres', opts: Parameters<typeof startTestServer>[0] = {}): Promise<ManagedFixture> => {
  const server = await startTestServer({ store, ...opts });
  const admin = new Api(server.url, server.adminToken);
  const a = await admin.req('POST', '/api/v1/users', { username: 'alice' });
  const b = await admin.req('POST', '/api/v1/users', { username: 'bob' });
  if (a.status !== 201 || b.status !== 201) throw new Error(`could not create users: ${a.status} ${b.status}`);
  return {
    server,
    admin,
    alice: admin.with(a.body.token),
    bob: admin.with(b.body.token),
    aliceToken: a.body.token,
    bobToken: b.body.token,
    sdk: sdkFor(server.url, a.body.token),
    bobSdk: sdkFor(server.url, b.body.token),
  };
};

/** Asserts the managed door's error shape: status, error type, a request id in body and header. */
export const expectManagedError = (res: { status: number; body: any; headers: Headers }, status: number, type: string, message?: RegExp): void => {
  const seen = { status: res.status, type: res.body?.type, errorType: res.body?.error?.type };
  if (seen.status !== status || seen.type !== 'error' || seen.errorType !== type) {
    throw new Error(`expected ${status} ${type}, got ${JSON.stringify({ status: res.status, body: res.body })}`);
  }
  if (typeof res.body.request_id !== 'string' || res.body.request_id !== res.headers.get('request-id')) {
    throw new Error(`request_id ${res.body.request_id} does not match the request-id header ${res.headers.get('request-id')}`);
  }
  if (message && !message.test(res.body.error.message)) throw new Error(`message '${res.body.error.message}' does not match ${message}`);
};

/**
 * Makes `n` requests at once as alice, alternately on the fixture's server and on a second server
 * process of the same store (what two processes of one deployment are), and asserts they all
 * succeeded with one agent: the id of that agent.
 */
export const sameAgentFromTwoProcesses = async (f: ManagedFixture, n: number, request: (alice: Api) => Promise<{ status: number; body: any }>): Promise<string> => {
  const other = await startTestServer({ store: f.server.store, dataDir: f.server.dataDir, adminToken: f.server.adminToken, postgresSchema: f.server.schema, egressAllow: '127.0.0.1' });
  try {
    const apis = [f.alice, new Api(other.url, f.aliceToken)];
    const runs = await Promise.all(Array.from({ length: n }, (_, i) => request(apis[i % 2])));
    for (const r of runs) if (r.status !== 200) throw new Error(`a run failed: ${r.status} ${JSON.stringify(r.body)}`);
    const ids = [...new Set(runs.map((r) => r.body.agent.id as string))];
    if (ids.length !== 1) throw new Error(`the runs made ${ids.length} agents: ${ids.join(', ')}`);
    return ids[0];
  } finally {
    await other.close();
  }
};
