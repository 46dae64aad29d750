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
